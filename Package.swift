// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        .library(name: "KilnIR", targets: ["KilnIR"]),
        .library(name: "KilnONNX", targets: ["KilnONNX"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .target(name: "KilnIR"),
        .target(
            name: "KilnONNX",
            dependencies: ["KilnIR", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .systemLibrary(name: "CLapack", path: "Sources/CLapack"),
        .target(name: "KilnPasses", dependencies: ["KilnIR", "CLapack"]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd"),
        .target(name: "KilnCodegen", dependencies: ["KilnIR", "KilnPasses", "CZstd"]),
        .target(
            name: "CKiln",
            path: "Runtime",
            exclude: ["Makefile", "PLAN_FORMAT.md", "tools", "tests"],
            sources: ["src"],
            publicHeadersPath: "include",
            // Release builds compile the kernels like the runtime's Makefile does for a native
            // build (-O3 -march=native -ffp-contract=fast): SwiftPM's default -O2 for the
            // baseline x86-64 target leaves the elementwise and depthwise loops at SSE2 width
            // without FMA.
            cSettings: [
                .define("KILN_USE_BLAS"), .define("KILN_USE_ZSTD"),
                .unsafeFlags(["-O3", "-march=native", "-ffp-contract=fast"], .when(configuration: .release)),
            ],
            linkerSettings: [.linkedLibrary("openblas"), .linkedLibrary("zstd"), .linkedLibrary("m")]),
        .target(name: "KilnRuntime", dependencies: ["CKiln"]),
        .executableTarget(
            name: "kiln",
            dependencies: [
                "KilnIR", "KilnONNX", "KilnPasses", "KilnCodegen", "KilnRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Test-only support code shared by several test targets (the fuzz mutator).
        .target(name: "KilnTestSupport", path: "Tests/KilnTestSupport"),
        .testTarget(name: "KilnIRTests", dependencies: ["KilnIR", "KilnTestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "KilnONNXTests",
            dependencies: [
                "KilnIR", "KilnONNX", "KilnTestSupport", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "KilnCodegenTests", dependencies: ["KilnIR", "KilnCodegen", "KilnONNX", "KilnPasses", "KilnRuntime"]),
        .testTarget(name: "KilnPassesTests", dependencies: ["KilnIR", "KilnPasses"], exclude: ["Inputs"]),
        .testTarget(name: "KilnRuntimeTests", dependencies: ["KilnRuntime"]),
    ]
)
