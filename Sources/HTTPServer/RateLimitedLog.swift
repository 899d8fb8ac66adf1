import Synchronization

/// libmicrohttpd's lines, at most one per cause each `interval`, so that no
/// client can turn its requests (or connections) into log lines: the first line
/// of a cause is written at once, the next ones are counted, and when the
/// interval ends the count is written once, after the latest of them:
/// `… (41 similar suppressed in the last 60 s)`. A cause is the line's first
/// 64 characters with its numbers masked (libmicrohttpd's lines are a format
/// string and values); past `maxCauses` of them, the others share one.
final class RateLimitedLog: Sendable {
    static let defaultInterval: Duration = .seconds(60)

    private struct Cause {
        var since: ContinuousClock.Instant
        var suppressed = 0
        var latest: String
    }
    private let causes = Mutex<[String: Cause]>([:])
    private let interval: Duration
    private let maxCauses: Int
    private let write: @Sendable (String) -> Void

    init(interval: Duration = defaultInterval, maxCauses: Int = 64, write: @escaping @Sendable (String) -> Void) {
        self.interval = interval
        self.maxCauses = maxCauses
        self.write = write
    }

    func log(_ line: String, now: ContinuousClock.Instant = .now) {
        let written: String? = causes.withLock { causes in
            var key = Self.cause(of: line)
            if causes[key] == nil && causes.count >= maxCauses { key = "" }
            guard var cause = causes[key] else {
                causes[key] = Cause(since: now, latest: line)
                return line
            }
            guard now - cause.since >= interval else {
                cause.suppressed += 1
                cause.latest = line
                causes[key] = cause
                return nil
            }
            // Not flushed yet: this line starts the next interval and carries the count.
            causes[key] = Cause(since: now, latest: line)
            return summary(line, suppressed: cause.suppressed, over: now - cause.since)
        }
        written.map(write)
    }

    /// Writes the count of each cause whose interval is over (`everything`: of
    /// every cause, when the server stops), and forgets the causes that were
    /// quiet; a cause that was not starts its next interval now.
    func flush(now: ContinuousClock.Instant = .now, everything: Bool = false) {
        let lines: [String] = causes.withLock { causes in
            var lines: [String] = []
            for (key, cause) in causes where everything || now - cause.since >= interval {
                if cause.suppressed > 0 {
                    lines.append(summary(cause.latest, suppressed: cause.suppressed, over: now - cause.since))
                    causes[key] = everything ? nil : Cause(since: now, latest: cause.latest)
                } else {
                    causes[key] = nil
                }
            }
            return lines
        }
        lines.forEach(write)
    }

    private func summary(_ line: String, suppressed: Int, over elapsed: Duration) -> String {
        guard suppressed > 0 else { return line }
        let seconds = Int((min(elapsed, interval) / .seconds(1)).rounded(.up))
        return "\(line) (\(suppressed) similar suppressed in the last \(seconds) s)"
    }

    /// The line's first 64 characters, each run of digits as one `#`.
    static func cause(of line: String) -> String {
        var key = ""
        var inNumber = false
        for character in line.prefix(64) {
            if character.isASCII && character.isNumber {
                if !inNumber { key.append("#") }
                inNumber = true
            } else {
                key.append(character)
                inNumber = false
            }
        }
        return key
    }
}
