/// How the exposition is cut into slots, each rendered and compressed on its
/// own: per family, one slot per block of mappings (or tenants), so a change to
/// one mapping re-renders a few blocks of 64 mappings, not the whole body. A
/// family's first block carries its HELP and TYPE lines, which keeps every
/// family's samples contiguous under them, as both formats require. The
/// families with one series each (reloads, the store's health, build info)
/// share one last slot.
struct ExpositionLayout: Sendable {
    /// 64 mappings: ~300 KB for the largest family (the duration histogram).
    /// Larger configurations get larger blocks, so that a body stays within
    /// `maxBlocksPerFamily` chunks per family, under `PreparedResponse.maxChunks`
    /// (libmicrohttpd copies a response's iovec into each connection's pool).
    static let minimumMappingBlock = 64
    /// `PreparedResponse.maxChunks` (256) less the global slot, the process metrics,
    /// EOF, and a gzip body's header and trailer.
    static let chunksForFamilies = 251
    static let maxBlocksPerFamily = chunksForFamilies / (MetricFamily.perMapping.count + MetricFamily.perTenant.count)
    static let minimumTenantBlock = 4

    enum Slot: Equatable {
        case mapping(family: Int, block: Int)
        case tenant(family: Int, block: Int)
        case global
    }

    /// Mappings, and tenants, per block.
    let mappingBlock: Int
    let tenantBlock: Int
    let mappingBlocks: Int
    let tenantBlocks: Int

    init(mappings: Int, tenants: Int) {
        mappingBlock = max(Self.minimumMappingBlock, (mappings + Self.maxBlocksPerFamily - 1) / Self.maxBlocksPerFamily)
        mappingBlocks = max(1, (mappings + mappingBlock - 1) / mappingBlock)
        tenantBlock = max(Self.minimumTenantBlock, (tenants + Self.maxBlocksPerFamily - 1) / Self.maxBlocksPerFamily)
        tenantBlocks = max(1, (tenants + tenantBlock - 1) / tenantBlock)
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
        return .global
    }

    /// Whether a slot's bytes are the same in both formats, so one segment serves
    /// both: a gauge's samples are, and so is its header unless OpenMetrics adds a UNIT line.
    func isSharedBetweenFormats(_ slot: Int) -> Bool {
        let family: MetricFamily
        let first: Bool
        switch describe(slot) {
        case .mapping(let index, let block): (family, first) = (MetricFamily.perMapping[index], block == 0)
        case .tenant(let index, let block): (family, first) = (MetricFamily.perTenant[index], block == 0)
        case .global: return false
        }
        return family.kind == .gauge && !(first && family.unit != nil) && !family.help.contains("\"")
    }
}
