/// One media range of an `Accept` header (RFC 9110 §12.5.1), e.g.
/// `application/openmetrics-text;version=1.0.0;q=0.75`.
struct MediaRange: Equatable {
    /// What the server can produce: a concrete type with its parameters.
    struct Offer {
        let type: String
        let subtype: String
        let parameters: [String: String]
    }

    var type: String
    var subtype: String
    /// Parameters other than q, names lower-cased.
    var parameters: [String: String]
    /// 0 … 1000 (thousandths: q has at most three decimals).
    var quality: Int

    /// The ranges of a header; a malformed range is skipped, not fatal.
    static func parseList(_ header: String) -> [MediaRange] {
        splitOutsideQuotes(Substring(header), on: ",").compactMap { parse($0) }
    }

    static func parse(_ text: Substring) -> MediaRange? {
        let fields = splitOutsideQuotes(text, on: ";")
        guard let first = fields.first else { return nil }
        let kind = first.trimmingWhitespace().lowercased()
        let parts = kind.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, isToken(parts[0]), isToken(parts[1]) else { return nil }
        // `*/json` names no range.
        if parts[0] == "*" && parts[1] != "*" { return nil }
        var range = MediaRange(type: String(parts[0]), subtype: String(parts[1]), parameters: [:], quality: 1000)
        for field in fields.dropFirst() {
            let trimmed = field.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else { return nil }
            let name = trimmed[..<equals].trimmingWhitespace().lowercased()
            var value = trimmed[trimmed.index(after: equals)...].trimmingWhitespace()
            guard isToken(Substring(name)) else { return nil }
            if value.count >= 2, value.first == "\"", value.last == "\"" {
                value = unquote(value.dropFirst().dropLast())
            }
            if name == "q" {
                guard let quality = parseQuality(value) else { return nil }
                range.quality = quality
                // Parameters after q are accept-extensions, not media-type parameters.
                break
            }
            range.parameters[name] = value
        }
        return range
    }

    /// The q-value the client gives `offer`: that of the most specific range
    /// matching it (RFC 9110: `text/plain;version=0.0.4` over `text/plain` over
    /// `text/*` over `*/*`); 0 when none matches.
    static func quality(of offer: Offer, in ranges: [MediaRange]) -> Int {
        var best: (specificity: Int, quality: Int)?
        for range in ranges {
            guard let specificity = range.specificity(matching: offer) else { continue }
            if best == nil || specificity > best!.specificity
                || (specificity == best!.specificity && range.quality > best!.quality) {
                best = (specificity, range.quality)
            }
        }
        return best?.quality ?? 0
    }

    /// How specifically this range names `offer`, or nil when it does not.
    func specificity(matching offer: Offer) -> Int? {
        if type == "*" { return 0 }
        guard type == offer.type else { return nil }
        if subtype == "*" { return 1 }
        guard subtype == offer.subtype else { return nil }
        for (name, value) in parameters {
            // A parameter the offer does not have (or has with another value) excludes it:
            // `version=0.0.1` asks for an OpenMetrics this exporter does not write.
            guard let offered = offer.parameters[name], offered.equalsIgnoringCase(value) else { return nil }
        }
        return 2 + parameters.count
    }

    /// `1`, `0.5`, `0.125`, `1.000`: at most three decimals, at most 1.
    static func parseQuality(_ text: String) -> Int? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, whole == "0" || whole == "1" else { return nil }
        var thousandths = whole == "1" ? 1000 : 0
        if parts.count == 2 {
            let decimals = parts[1]
            guard decimals.count <= 3, decimals.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            let padded = decimals + String(repeating: "0", count: 3 - decimals.count)
            guard let value = Int(padded) else { return nil }
            if whole == "1" && value != 0 { return nil }
            thousandths += value
        }
        return thousandths
    }

    private static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && !"()<>@,;:\\\"/[]?={}".utf8.contains(byte)
        } || text == "*"
    }

    private static func unquote(_ text: Substring) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if escaped { result.append(character); escaped = false } else if character == "\\" { escaped = true } else {
                result.append(character)
            }
        }
        return result
    }

    /// Splits on `separator` except inside a quoted string.
    private static func splitOutsideQuotes(_ text: Substring, on separator: Character) -> [Substring] {
        var pieces: [Substring] = []
        var start = text.startIndex
        var quoted = false
        var escaped = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if escaped {
                escaped = false
            } else if quoted && character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == separator && !quoted {
                pieces.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        pieces.append(text[start...])
        return pieces
    }
}

private extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}

private extension String {
    func equalsIgnoringCase(_ other: String) -> Bool { lowercased() == other.lowercased() }
}
