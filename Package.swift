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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
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
        .target(
            name: "LanternPrices",
            dependencies: ["LanternModel", .product(name: "Yams", package: "Yams")],
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
                "LanternModel", "LanternStore", "LanternCollector", "LanternPrices",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "LanternModelTests", dependencies: ["LanternModel", "LanternPrices", "LanternTesting"], swiftSettings: strict),
        .testTarget(name: "LanternCollectorTests", dependencies: ["LanternCollector", "LanternModel", "LanternTesting"], swiftSettings: strict),
        .testTarget(name: "LanternStoreTests", dependencies: ["LanternStore", "LanternModel", "LanternCollector", "LanternPrices", "LanternTesting"], swiftSettings: strict),
        .testTarget(name: "LanternCLITests", dependencies: ["LanternTesting"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
