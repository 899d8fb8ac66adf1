extension TriggerPlanner {
    /// A fixed offset in `[0, bound)` for the mapping named `mappingKey` (such as
    /// `"tenant/mapping"`), so that the 200 mappings due at 02:00 spread their POSTs
    /// over the bound instead of sending them in the same second.
    ///
    /// The bound is `min(maximum, period / 10)` when the schedule has a period, so a
    /// mapping never drifts by more than a tenth of its spacing, else `maximum`. The
    /// offset comes from a 64-bit FNV-1a hash of the key's UTF-8 bytes, not from
    /// Swift's `Hasher` (seeded randomly per process): the same key gets the same
    /// offset on every start and every machine. Millisecond resolution.
    public static func jitter(for mappingKey: String, schedule: Schedule,
                              maximum: Duration = .seconds(60)) -> Duration {
        let bound = schedule.period.map { min(maximum, $0 / 10) } ?? maximum
        let boundInMilliseconds = bound.components.seconds * 1000
            + bound.components.attoseconds / 1_000_000_000_000_000
        guard boundInMilliseconds > 0 else { return .zero }
        let offset = fnv1a64(mappingKey) % UInt64(boundInMilliseconds)
        return .milliseconds(Int64(offset))
    }

    /// The 64-bit FNV-1a hash of `text`'s UTF-8 bytes.
    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
