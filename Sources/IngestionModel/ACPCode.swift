/// An Adobe Experience Platform error code such as `ACP-880056`, found in a
/// response's `info` text.
public struct ACPCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// The label value used when a failure carries no code.
    public static let noneLabel = "none"

    public init?(rawValue: String) {
        guard ACPCode.firstCode(in: rawValue) == rawValue else { return nil }
        self.rawValue = rawValue
    }

    private init(unchecked: String) { self.rawValue = unchecked }

    /// The first `ACP-<digits>` in `info`, or nil.
    public static func find(in info: String?) -> ACPCode? {
        guard let info, let code = firstCode(in: info) else { return nil }
        return ACPCode(unchecked: code)
    }

    private static func firstCode(in text: String) -> String? {
        let chars = Array(text.utf8)
        let prefix = Array("ACP-".utf8)
        var index = 0
        while index + prefix.count < chars.count {
            if Array(chars[index..<index + prefix.count]) == prefix {
                var end = index + prefix.count
                while end < chars.count, chars[end] >= UInt8(ascii: "0"), chars[end] <= UInt8(ascii: "9") {
                    end += 1
                }
                if end > index + prefix.count {
                    return String(decoding: chars[index..<end], as: UTF8.self)
                }
            }
            index += 1
        }
        return nil
    }

    public var description: String { rawValue }
}

extension Optional where Wrapped == ACPCode {
    /// `ACP-880056`, or `none` for a failure without a code.
    public var labelValue: String { self?.rawValue ?? ACPCode.noneLabel }
}
