import Logging
import Synchronization

/// Keeps every log line written through it (level, message and metadata), at every level.
public final class LogCapture: LogHandler, Sendable {
    private let lines = Mutex<[(level: Logger.Level, text: String)]>([])

    public init() {}

    /// A logger that writes here only.
    public var logger: Logger {
        var logger = Logger(label: "test") { _ in self }
        logger.logLevel = .trace
        return logger
    }

    public var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    public var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    public func log(event: LogEvent) {
        let text = "\(event.level) \(event.message) \(event.metadata ?? [:]) \(event.error.map { "\($0)" } ?? "")"
        lines.withLock { $0.append((event.level, text)) }
    }

    /// Every line, as `level message [metadata] error`.
    public var all: [String] { lines.withLock { $0.map(\.text) } }

    /// How many lines of `level` were written.
    public func count(_ level: Logger.Level) -> Int { lines.withLock { $0.filter { $0.level == level }.count } }
}
