// swift-tools-version:6.0
import PackageDescription

// The exporter's version: its one spelling (the Makefile reads it from here).
let version = "0.1.0"

// Build stamp: `make` exports ACS_BUILD_* (see the Makefile); they become -D defines of
// CBuildInfo alone, so a new commit recompiles one C file and relinks, nothing else.
// SwiftPM re-evaluates this manifest when the environment changes.
let buildStamp: [CSetting] = {
    let environment = Context.environment
    // Each value reaches clang as a C string literal: a character that would need escaping becomes "_".
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-:/@")
    func literal(_ value: String) -> String { "\"" + String(value.map { allowed.contains($0) ? $0 : "_" }) + "\"" }

    var settings: [CSetting] = [.define("ACS_BUILD_VERSION", to: literal(version))]
    for name in ["ACS_BUILD_REVISION", "ACS_BUILD_BRANCH", "ACS_BUILD_DATE", "ACS_BUILD_USER", "ACS_SWIFT_VERSION"] {
        if let value = environment[name], !value.isEmpty { settings.append(.define(name, to: literal(value))) }
    }
    // make always exports ACS_BUILD_REVISION (empty outside git); a plain `swift build` does not.
    if environment["ACS_BUILD_REVISION"] != nil { settings.append(.define("ACS_BUILD_STAMPED")) }
    return settings
}()

// Data flows one way: config → collector → API client → store → metrics → HTTP.
// Each box is a module; the C libraries fixed by the design card (libmicrohttpd,
// SQLite, zlib) are system library targets found through pkg-config.
let package = Package(
    name: "acs-ingestion-exporter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "acs-ingestion-exporter", targets: ["acs-ingestion-exporter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd",
                       providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // glibc extras: mallopt, per-thread priority.
        .systemLibrary(name: "CGlibcExtras"),

        // The build stamp (version, git revision, date, compiler) and its Swift face.
        .target(name: "CBuildInfo", cSettings: buildStamp),
        .target(name: "BuildInfo", dependencies: ["CBuildInfo"]),

        // A libmicrohttpd wrapper that knows nothing of ingestion.
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD"]),
        // Pure domain types: statuses, ACP codes, the API's bodies, time.
        .target(name: "IngestionModel"),
        // Adobe IMS tokens and the two ingestion calls.
        .target(name: "AdobeIngestionClient", dependencies: [
            "IngestionModel",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Typed YAML reads that name file, line and key: the config and scenario files.
        .target(name: "YAMLSupport", dependencies: [
            "IngestionModel", .product(name: "Yams", package: "Yams"),
        ]),
        // A stand-in for Adobe's gateway, IMS and ingestion service.
        .target(name: "AdobeSimulator", dependencies: ["IngestionModel", "HTTPServer", "YAMLSupport"]),
        // SQLite: the source of truth for every request and observation.
        .target(name: "IngestionStore", dependencies: ["IngestionModel", "CSQLite"]),
        // The in-memory metric model and its cached text exposition.
        .target(name: "ExporterMetrics", dependencies: ["IngestionModel", "CZlib"]),
        // Configuration, the collector loop and the exporter's HTTP routes.
        .target(name: "ExporterCore", dependencies: [
            "IngestionModel", "CGlibcExtras", "AdobeIngestionClient", "AdobeSimulator", "IngestionStore",
            "ExporterMetrics", "HTTPServer", "YAMLSupport", "BuildInfo",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "acs-ingestion-exporter", dependencies: [
            "ExporterCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // bench/run.sh's data generator; not shipped.
        .executableTarget(name: "acs-bench-seed", dependencies: ["IngestionStore", "ExporterMetrics", "IngestionModel"],
                          path: "bench/seed"),

        // The seed's bodies as test fixtures, for the test targets.
        .target(name: "TestFixtures", path: "Tests/TestFixtures"),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer"]),
        .testTarget(name: "IngestionModelTests", dependencies: ["IngestionModel", "TestFixtures"]),
        .testTarget(name: "AdobeIngestionClientTests", dependencies: [
            "AdobeIngestionClient", "AdobeSimulator", "IngestionModel", "TestFixtures",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "IngestionStoreTests", dependencies: ["IngestionStore", "IngestionModel"]),
        .testTarget(name: "ExporterMetricsTests", dependencies: ["ExporterMetrics", "IngestionModel"]),
        .testTarget(name: "ExporterCoreTests", dependencies: [
            "ExporterCore", "AdobeSimulator", "IngestionStore", "IngestionModel", "HTTPServer", "AdobeIngestionClient",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
