import Foundation

/// A fresh temporary folder, removed by `cleanUp()`, and in any case when the test process exits.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    public init() throws {
        url = Self.processFolder.appendingPathComponent(String(UUID().uuidString.prefix(13)))
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// This test process's folder in the system's temporary folder (`acs-test-<pid>`): every
    /// temporary folder of the process is made in it, and it goes, with whatever a test left
    /// there (a helper that made files and returned), when the process exits normally.
    public static let processFolder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("acs-test-\(getpid())")
        try? FileManager.default.removeItem(at: url)   // a crashed run's, whose pid came round again
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: TemporaryDirectory.processFolder) }
        return url
    }()

    public var path: String { url.path }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    public func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    public func cleanUp() { try? FileManager.default.removeItem(at: url) }
}
