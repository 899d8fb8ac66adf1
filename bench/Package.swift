// swift-tools-version:6.0
import PackageDescription

// The benchmark tools, apart from the exporter's package so that its build and tests never
// compile them: `make bench` builds them (scratch path .build-bench). Not shipped.
let package = Package(
    name: "acs-ingestion-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "acs-ingestion-exporter", path: ".."),
    ],
    targets: [
        // bench/run.sh's data generator, and the renderer's CPU per model change.
        .executableTarget(name: "acs-bench-seed", dependencies: [
            .product(name: "SQLiteStore", package: "acs-ingestion-exporter"),
            .product(name: "ExporterMetrics", package: "acs-ingestion-exporter"),
            .product(name: "Exposition", package: "acs-ingestion-exporter"),
            .product(name: "IngestionModel", package: "acs-ingestion-exporter"),
        ], path: "seed"),
        // bench/store.sh's seeder and measurer, SQLite and PostgreSQL side by side.
        .executableTarget(name: "acs-bench-store", dependencies: [
            .product(name: "IngestionModel", package: "acs-ingestion-exporter"),
            .product(name: "IngestionStore", package: "acs-ingestion-exporter"),
            .product(name: "SQLiteStore", package: "acs-ingestion-exporter"),
            .product(name: "PostgresStore", package: "acs-ingestion-exporter"),
        ], path: "store"),
    ]
)
