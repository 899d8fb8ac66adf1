// swift-tools-version:6.0
// libFuzzer targets for every parser on the exporter's input paths. Built apart
// from the main package (its own scratch path, .build-fuzz) because every
// module is compiled with -sanitize=fuzzer,address. `make fuzz` builds and runs
// them (fuzz/run.sh); Sources/ holds links to the repository's modules.
import PackageDescription

let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
    ("fuzz-decode-status", ["IngestionModel"]),
    ("fuzz-decode-trigger", ["IngestionModel"]),
    ("fuzz-decode-catalog", ["IngestionModel"]),
    ("fuzz-listen-address", ["HTTPServer"]),
    ("fuzz-query-string", ["HTTPServer", "WireFormat"]),
    ("fuzz-percent-decoding", ["WireFormat"]),
    ("fuzz-accept-encoding", ["WireFormat"]),
    ("fuzz-authorization", ["WireFormat"]),
    ("fuzz-web-config", ["WebConfig"]),
    ("fuzz-config-fields", ["YAMLSupport", .product(name: "Yams", package: "Yams")]),
]

let package = Package(
    name: "acs-ingestion-exporter-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd"),
        .systemLibrary(name: "CGnuTLS", pkgConfig: "gnutls"),
        .systemLibrary(name: "CCrypt", pkgConfig: "libxcrypt"),
        .target(name: "IngestionModel"),
        .target(name: "WireFormat"),
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD", "CGnuTLS", "WireFormat"]),
        .target(name: "WebConfig", dependencies: [
            "HTTPServer", "WireFormat", "CCrypt", "CGnuTLS", .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "YAMLSupport", dependencies: ["IngestionModel", .product(name: "Yams", package: "Yams")]),
        .target(name: "FuzzDriver", path: "Support/FuzzDriver"),
    ] + fuzzTargets.map { target in
        // Parsed as a library: the entry point is `<target>_main`, which starts libFuzzer's driver.
        .executableTarget(name: target.name, dependencies: target.dependencies + ["FuzzDriver"],
                          path: "Targets/\(target.name)", swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    }
)
