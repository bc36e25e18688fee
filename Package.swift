// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "lantern",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lantern", targets: ["lantern"]),
        .library(name: "LanternModel", targets: ["LanternModel"]),
        .library(name: "LanternStore", targets: ["LanternStore"]),
        .library(name: "LanternCollector", targets: ["LanternCollector"]),
        .library(name: "LanternAnalyzer", targets: ["LanternAnalyzer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", providers: [.apt(["libzstd-dev"])]),
        .target(name: "LanternModel", swiftSettings: strict),
        .target(
            name: "LanternStore",
            dependencies: ["LanternModel", "CSQLite", "CZstd"],
            swiftSettings: strict
        ),
        .target(
            name: "LanternCollector",
            dependencies: ["LanternModel", "CZlib"],
            swiftSettings: strict
        ),
        // Metrics over stored spans: reports and comparisons (Metrics/), drift tests (Drift/), monitors (Monitors/).
        // Typed reads of YAML nodes with every problem and its line (configuration and monitors files).
        .target(name: "LanternYAML", dependencies: ["LanternModel", .product(name: "Yams", package: "Yams")], swiftSettings: strict),
        .target(
            name: "LanternAnalyzer",
            dependencies: ["LanternModel", "LanternYAML", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "LanternPrices",
            dependencies: ["LanternModel", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "LanternServer",
            dependencies: [
                "LanternModel", "LanternCollector", "LanternStore", "LanternAnalyzer", "LanternYAML",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // OTLP/gRPC (TraceService, MetricsService, LogsService Export) over the same ingest core as
        // OTLP/HTTP. A target of its own so the gRPC packages' long first build stays out of the others.
        .target(
            name: "LanternGRPC",
            dependencies: [
                "LanternServer", "LanternCollector",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "LanternTesting",
            dependencies: ["LanternModel", "LanternCollector", "LanternStore"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "lantern",
            dependencies: [
                "LanternModel", "LanternStore", "LanternCollector", "LanternPrices", "LanternServer", "LanternGRPC",
                "LanternAnalyzer", "LanternYAML",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "LanternModelTests", dependencies: ["LanternModel", "LanternPrices", "LanternTesting"], swiftSettings: strict),
        .testTarget(name: "LanternCollectorTests", dependencies: ["LanternCollector", "LanternModel", "LanternTesting"], swiftSettings: strict),
        .testTarget(
            name: "LanternStoreTests",
            dependencies: ["LanternStore", "LanternModel", "LanternCollector", "LanternPrices", "LanternTesting", "LanternAnalyzer"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LanternAnalyzerTests", dependencies: ["LanternAnalyzer", "LanternModel", "LanternYAML"],
            exclude: ["Resources"], swiftSettings: strict
        ),
        .testTarget(name: "LanternCLITests", dependencies: ["LanternTesting"], swiftSettings: strict),
        .testTarget(
            name: "LanternServerTests",
            dependencies: [
                "LanternServer", "LanternStore", "LanternCollector", "LanternModel", "LanternTesting", "LanternGRPC", "LanternYAML",
                "LanternAnalyzer",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                // A real HTTP listener for the webhook delivery tests.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
