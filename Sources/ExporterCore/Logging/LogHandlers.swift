import Foundation
import IngestionModel
import Logging
import Synchronization

/// `--log.format`: logfmt (as Prometheus' own tools write) or one JSON object a line.
public enum LogFormat: String, Sendable, CaseIterable {
    case logfmt, json
}

/// Writes log lines to standard error in logfmt or JSON.
public struct StderrLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: LogFormat
    private static let lock = Mutex(())

    public init(label: String, level: Logger.Level, format: LogFormat) {
        self.label = label
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = event.level, message = event.message, extra = event.metadata
        let fields = metadata.merging(extra ?? [:]) { $1 }
        let time = Timestamp.rfc3339(Date())
        let levelName = level == .warning ? "warn" : level.rawValue
        var text: String
        switch format {
        case .logfmt:
            text = "ts=\(time) level=\(levelName) msg=\(Self.quote(message.description))"
            for key in fields.keys.sorted() { text += " \(key)=\(Self.quote(fields[key]!.description))" }
        case .json:
            var object: [String: String] = ["ts": time, "level": levelName, "msg": message.description]
            for (key, value) in fields { object[key] = value.description }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            text = String(decoding: data, as: UTF8.self)
        }
        text += "\n"
        Self.lock.withLock { _ in FileHandle.standardError.write(Data(text.utf8)) }
    }

    static func quote(_ value: String) -> String {
        let plain = !value.isEmpty && !value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
        if plain { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}

/// `--log.level`, spelled as Prometheus' tools spell it.
public enum LogLevel: String, Sendable, CaseIterable {
    case debug, info, warn, error

    public var level: Logger.Level {
        switch self {
        case .debug: return .debug
        case .info: return .info
        case .warn: return .warning
        case .error: return .error
        }
    }
}
