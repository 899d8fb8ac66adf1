import Foundation

/// The repository's `Tests/Fixtures` folder and the shared seed beside the repository.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func seedBody(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent("seed/\(name).json")))
    }

    /// Adobe's page, when `../shared` is laid beside the repository (as in CI).
    static let seedPage = root.deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/seeds/000_ac555237ad51036e.txt")
}
