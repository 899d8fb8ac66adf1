import CBuildInfo

/// What the build stamped into this binary: the version, the git revision and branch,
/// the commit's date (so two builds of one commit are identical), who built it and with
/// which Swift compiler. `--version` and `acs_ingestion_exporter_build_info` read it.
///
/// `make build` stamps the values (see the Makefile and Package.swift); a plain
/// `swift build` stamps only the version, and a value that was not stamped reads `unknown`.
public enum BuildInfo {
    /// How a value that was not stamped reads, here and in the build_info metric.
    public static let unknown = "unknown"

    public static let version = stamped(acs_build_version())
    /// The full git commit id, as `git rev-parse HEAD` prints it.
    public static let revision = stamped(acs_build_revision())
    public static let branch = stamped(acs_build_branch())
    /// The commit's date, UTC, as Prometheus prints a build date (`20060102-15:04:05`).
    public static let date = stamped(acs_build_date())
    public static let user = stamped(acs_build_user())
    public static let swiftVersion = stamped(acs_build_swift_version())

    /// `linux/amd64`: GOOS/GOARCH spellings, as Prometheus binaries print their platform
    /// and name their release tarballs.
    public static let platform: String = {
        #if os(Linux) && arch(x86_64)
        return "linux/amd64"
        #elseif os(Linux) && arch(arm64)
        return "linux/arm64"
        #elseif os(macOS) && arch(arm64)
        return "darwin/arm64"
        #elseif os(macOS) && arch(x86_64)
        return "darwin/amd64"
        #else
        return "\(unknown)/\(unknown)"
        #endif
    }()

    /// Why the revision is unknown, or nil when it is known.
    public static var missingRevisionReason: String? {
        guard revision == unknown else { return nil }
        return acs_build_stamped() != 0
            ? "not built from a git checkout"
            : "built without make (make build stamps it)"
    }

    /// `--version`'s text, laid out as Prometheus binaries print theirs.
    public static func versionText(program: String) -> String {
        var lines = [
            "\(program), version \(version) (branch: \(branch), revision: \(revision))",
            "  build user:       \(user)",
            "  build date:       \(date)",
            "  swift version:    \(swiftVersion)",
            "  platform:         \(platform)",
        ]
        if let reason = missingRevisionReason { lines.append("  revision unknown: \(reason)") }
        return lines.joined(separator: "\n")
    }

    private static func stamped(_ value: UnsafePointer<CChar>?) -> String {
        value.map { String(cString: $0) } ?? unknown
    }
}
