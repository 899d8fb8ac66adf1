/// Durations written as Prometheus writes them: `500ms`, `30s`, `5m`, `1h30m`,
/// `400d`, `2w`, `1y` (365 days).
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600),
                                         ("d", 86400), ("w", 604_800), ("y", 31_536_000)]
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        var total = 0.0
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let value = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let letters = rest.prefix { $0.isLetter }
            guard let unit = units.first(where: { $0.0 == letters }) else { return nil }
            rest = rest.dropFirst(letters.count)
            total += value * unit.1
        }
        return .milliseconds(Int64((total * 1000).rounded()))
    }

    /// The shortest exact spelling: 90 s is `1m30s`, 0.5 s is `500ms`.
    public static func format(_ duration: Duration) -> String {
        var milliseconds = Int64((duration.seconds * 1000).rounded())
        if milliseconds == 0 { return "0s" }
        var out = ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
            if milliseconds >= size {
                out += "\(milliseconds / size)\(unit)"
                milliseconds %= size
            }
        }
        return out
    }
}

import Foundation
