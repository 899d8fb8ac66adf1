import Foundation

/// The repository's `Tests/Fixtures` folder (the seed's bodies) and the seed page beside the repository,
/// shared by the test targets.
public enum Fixtures {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    public static func seedBody(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent("seed/\(name).json")))
    }

    /// Adobe's page, when `../shared` is laid beside the repository (as in CI).
    public static let seedPage = root.deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/seeds/000_ac555237ad51036e.txt")
}
