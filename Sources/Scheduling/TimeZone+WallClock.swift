import Foundation
import IngestionModel

// Conversions between instants and wall-clock readings in a zone, both counted in
// whole seconds since 1970-01-01 00:00 (a wall-clock reading is counted as if the
// zone were UTC, so 02:30 local on a day is `days * 86_400 + 9_000`).
//
// Why not `Calendar.date(from:)`: for a wall time in a spring-forward gap it returns
// a shifted instant that does not read that wall time, and for a repeated wall time
// it picks one of the two occurrences without saying which. Here every candidate is
// checked by converting it back, so a gap gives nil and a repeat gives the earlier.
extension TimeZone {
    /// What a clock in this zone reads at `instant` (seconds since 1970, UTC).
    func wallClockSeconds(at instant: Int) -> Int {
        instant + secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant)))
    }

    /// The earliest instant at which a clock in this zone reads `wallClock`, or nil when
    /// it never does (the wall time falls in a spring-forward gap).
    ///
    /// An instant reading `wallClock` is `wallClock - offset` for the offset in force at
    /// that instant, so it lies within 14 hours of `wallClock` read as UTC (offsets span
    /// −12 h…+14 h). The offsets in force one day before, at, and one day after that
    /// point therefore include every offset in force in the window, given that a zone
    /// changes offset at most once in two days (true of every current tz rule). Each
    /// candidate is kept only if the offset in force at it is the one that produced it.
    func firstInstant(ofWallClock wallClock: Int) -> Int? {
        var earliest: Int?
        var triedOffsets: [Int] = []
        for probe in [wallClock - 86_400, wallClock, wallClock + 86_400] {
            let offset = secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(probe)))
            guard !triedOffsets.contains(offset) else { continue }
            triedOffsets.append(offset)
            let candidate = wallClock - offset
            guard wallClockSeconds(at: candidate) == wallClock else { continue }
            earliest = min(earliest ?? candidate, candidate)
        }
        return earliest
    }
}
