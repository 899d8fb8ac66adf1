/// How the exposition is cut into slots, each rendered and compressed on its
/// own: per family, one slot per block of mappings (or tenants), so a change to
/// one mapping re-renders a few blocks of 64 mappings, not the whole body. A
/// family's first block carries its HELP and TYPE lines, which keeps every
/// family's samples contiguous under them, as both formats require.
struct ExpositionLayout: Sendable {
    /// 64 mappings: ~270 KB for the largest family (the duration histogram),
    /// and ~330 slots at 100k series — few enough for one iovec per slot.
    static let mappingBlock = 64
    static let tenantBlock = 4

    enum Slot: Equatable {
        case mapping(family: Int, block: Int)
        case tenant(family: Int, block: Int)
        case buildInfo
    }

    let mappingBlocks: Int
    let tenantBlocks: Int

    init(mappings: Int, tenants: Int) {
        mappingBlocks = max(1, (mappings + Self.mappingBlock - 1) / Self.mappingBlock)
        tenantBlocks = max(1, (tenants + Self.tenantBlock - 1) / Self.tenantBlock)
    }

    var count: Int { MetricFamily.perMapping.count * mappingBlocks + MetricFamily.perTenant.count * tenantBlocks + 1 }

    func mappingSlot(_ family: Int, block: Int) -> Int { family * mappingBlocks + block }

    func tenantSlot(_ family: Int, block: Int) -> Int {
        MetricFamily.perMapping.count * mappingBlocks + family * tenantBlocks + block
    }

    func describe(_ slot: Int) -> Slot {
        let mappingSlots = MetricFamily.perMapping.count * mappingBlocks
        if slot < mappingSlots { return .mapping(family: slot / mappingBlocks, block: slot % mappingBlocks) }
        let tenantSlot = slot - mappingSlots
        if tenantSlot < MetricFamily.perTenant.count * tenantBlocks {
            return .tenant(family: tenantSlot / tenantBlocks, block: tenantSlot % tenantBlocks)
        }
        return .buildInfo
    }

    /// Whether a slot's bytes are the same in both formats, so one segment serves
    /// both: a gauge's samples are, and so is its header unless OpenMetrics adds a UNIT line.
    func isSharedBetweenFormats(_ slot: Int) -> Bool {
        let family: MetricFamily
        let first: Bool
        switch describe(slot) {
        case .mapping(let index, let block): (family, first) = (MetricFamily.perMapping[index], block == 0)
        case .tenant(let index, let block): (family, first) = (MetricFamily.perTenant[index], block == 0)
        case .buildInfo: (family, first) = (MetricFamily.buildInfo, true)
        }
        return family.kind == .gauge && !(first && family.unit != nil) && !family.help.contains("\"")
    }
}
