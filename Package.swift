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
// Each box is a module and dependencies point down that line: pure domain types
// at the bottom (IngestionModel), the executable on top. The daemon's library
// (ExporterCore) never links the simulator: demo mode is wired in ExporterDemo.
// The C libraries (libmicrohttpd, SQLite, zlib) are system library targets found
// through pkg-config. `scripts/check-imports.py` fails when a file imports a
// module its target does not declare below.
let package = Package(
    name: "acs-ingestion-exporter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "acs-ingestion-exporter", targets: ["acs-ingestion-exporter"]),
        // For the benchmark tools, a package of their own (bench/Package.swift); not an API.
        .library(name: "IngestionModel", targets: ["IngestionModel"]),
        .library(name: "IngestionStore", targets: ["IngestionStore"]),
        .library(name: "SQLiteStore", targets: ["SQLiteStore"]),
        .library(name: "PostgresStore", targets: ["PostgresStore"]),
        .library(name: "ExporterMetrics", targets: ["ExporterMetrics"]),
        .library(name: "Exposition", targets: ["Exposition"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd",
                       providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CGnuTLS", pkgConfig: "gnutls", providers: [.apt(["libgnutls28-dev"])]),
        // libxcrypt's crypt_r: bcrypt for basic_auth_users.
        .systemLibrary(name: "CCrypt", pkgConfig: "libxcrypt", providers: [.apt(["libcrypt-dev"])]),
        // glibc extras: mallopt, per-thread priority.
        .systemLibrary(name: "CGlibcExtras"),

        // The build stamp (version, git revision, date, compiler) and its Swift face.
        .target(name: "CBuildInfo", cSettings: buildStamp),
        .target(name: "BuildInfo", dependencies: ["CBuildInfo"]),

        // Pure domain types: statuses, ACP codes, records, totals, the API's bodies, time.
        .target(name: "IngestionModel"),
        // Cron expressions in a time zone, schedules, and the trigger planner (retries, missed runs, jitter).
        .target(name: "Scheduling", dependencies: ["IngestionModel"]),
        // Percent-encoding and Authorization headers, for the server and the client alike.
        .target(name: "WireFormat"),
        // A libmicrohttpd wrapper (TLS through GnuTLS) that knows nothing of ingestion.
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD", "CGnuTLS", "WireFormat"]),
        // exporter-toolkit's web configuration file: types, validation, loading, reloading, basic auth.
        .target(name: "WebConfig", dependencies: [
            "HTTPServer", "WireFormat", "CCrypt", "CGnuTLS", .product(name: "Yams", package: "Yams"),
        ]),
        // Adobe IMS tokens and the two ingestion calls.
        .target(name: "AdobeIngestionClient", dependencies: [
            "IngestionModel", "WireFormat",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // Typed YAML reads that name file, line and key: the config and scenario files.
        .target(name: "YAMLSupport", dependencies: [
            "IngestionModel", .product(name: "Yams", package: "Yams"),
        ]),
        // A stand-in for Adobe's gateway, IMS and ingestion service.
        .target(name: "AdobeSimulator", dependencies: ["IngestionModel", "HTTPServer", "WireFormat", "YAMLSupport"]),
        // The store interface every implementation conforms to, and its queries.
        .target(name: "IngestionStore", dependencies: ["IngestionModel"]),
        // The embedded store: SQLite through its C API, on a serial executor of its own.
        .target(name: "SQLiteStore", dependencies: ["IngestionModel", "IngestionStore", "CSQLite"]),
        // The shared store: PostgreSQL through PostgresNIO's connection pool.
        .target(name: "PostgresStore", dependencies: [
            "IngestionModel", "IngestionStore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The in-memory metric model: families, samples, exemplars, and the text each part renders to.
        .target(name: "ExporterMetrics", dependencies: ["IngestionModel", "IngestionStore", "BuildInfo"]),
        // From the metric model to the bytes a scrape gets: the segmented, cached body,
        // gzip, content negotiation, and the publisher that renders on change.
        .target(name: "Exposition", dependencies: ["ExporterMetrics", "IngestionModel", "HTTPServer", "CZlib", "CGlibcExtras"]),
        // The HTTP API's request and response bodies, shared by the routes and the command line.
        .target(name: "ExporterAPI", dependencies: ["IngestionModel"]),
        // The configuration file: its types, each key once, loading and validation.
        .target(name: "ExporterConfiguration", dependencies: [
            "IngestionModel", "AdobeIngestionClient", "PostgresStore", "Scheduling", "YAMLSupport",
        ]),
        // The collector: one worker per tenant triggers on schedule and polls open requests,
        // within the tenant's limits and upstream manners; the store's health; liveness.
        .target(name: "IngestionCollector", dependencies: [
            "ExporterConfiguration", "IngestionModel", "AdobeIngestionClient", "IngestionStore", "Scheduling", "ExporterMetrics",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Replicas sharing a PostgreSQL database: leases, the coordinator that splits the
        // tenants and hands them to the collector, trigger-now forwarding.
        .target(name: "Cluster", dependencies: [
            "IngestionCollector", "IngestionModel", "IngestionStore", .product(name: "Logging", package: "swift-log"),
        ]),
        // Opening the store a configuration names: SQLite at once, PostgreSQL once it answers.
        .target(name: "StoreOpening", dependencies: [
            "ExporterConfiguration", "IngestionModel", "IngestionStore", "SQLiteStore", "PostgresStore",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The exporter on HTTP: its routes (probes, /metrics, the JSON API, trigger-now, the
        // status page, the lifecycle API) on the HTTP server, the exposition they serve, the
        // web configuration watcher.
        .target(name: "ExporterWeb", dependencies: [
            "ExporterConfiguration", "IngestionCollector", "Cluster", "Exposition", "ExporterMetrics", "ExporterAPI", "IngestionModel",
            "IngestionStore", "AdobeIngestionClient", "Scheduling", "HTTPServer", "WireFormat", "WebConfig", "BuildInfo",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The daemon's wiring: the store, the collector, the cluster and the web front as
        // services of one group, signals, reload and a bounded shutdown.
        .target(name: "ExporterCore", dependencies: [
            "ExporterConfiguration", "StoreOpening", "IngestionCollector", "Cluster", "ExporterWeb", "ExporterMetrics", "IngestionModel",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // `--demo`: the exporter wired to an in-process simulator.
        .target(name: "ExporterDemo", dependencies: [
            "ExporterCore", "ExporterConfiguration", "AdobeSimulator", "AdobeIngestionClient", "IngestionModel", "HTTPServer",
            "SQLiteStore",
        ]),
        .executableTarget(name: "acs-ingestion-exporter", dependencies: [
            "ExporterCore", "ExporterWeb", "BuildInfo", "ExporterConfiguration", "ExporterDemo", "ExporterAPI", "ExporterMetrics", "AdobeSimulator", "HTTPServer", "IngestionModel",
            "IngestionStore", "SQLiteStore", "PostgresStore", "WireFormat", "CGlibcExtras", "WebConfig",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // The benchmark tools (acs-bench-seed, acs-bench-store) are a package of their own: bench/Package.swift.

        // What the test targets share: the seed's bodies as fixtures, injectable
        // clocks, temporary directories, HTTP and process helpers.
        .target(name: "TestSupport", dependencies: [
            "IngestionModel", "HTTPServer", .product(name: "Logging", package: "swift-log"),
        ], path: "Tests/TestSupport"),
        // Real clients for the HTTP tests: curl, openssl and certificates made with it, raw sockets.
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "WireFormat", "IngestionModel", "TestSupport"]),
        .testTarget(name: "WebConfigTests", dependencies: ["WebConfig", "HTTPServer", "WireFormat", "TestSupport"]),
        .testTarget(name: "IngestionModelTests", dependencies: ["IngestionModel", "TestSupport"]),
        .testTarget(name: "SchedulingTests", dependencies: ["Scheduling", "IngestionModel"]),
        .testTarget(name: "AdobeIngestionClientTests", dependencies: [
            "AdobeIngestionClient", "AdobeSimulator", "IngestionModel", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "IngestionStoreTests", dependencies: [
            "IngestionStore", "SQLiteStore", "PostgresStore", "IngestionModel", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ExporterMetricsTests", dependencies: ["ExporterMetrics", "IngestionModel", "TestSupport"]),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition", "ExporterMetrics", "HTTPServer", "IngestionModel", "TestSupport"]),
        .testTarget(name: "ExporterCoreTests", dependencies: [
            "ExporterCore", "ExporterWeb", "BuildInfo", "IngestionCollector", "Cluster", "ExporterConfiguration", "ExporterAPI", "ExporterMetrics", "AdobeSimulator", "IngestionStore", "SQLiteStore", "IngestionModel", "HTTPServer",
            "AdobeIngestionClient", "YAMLSupport", "Scheduling", "TestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
