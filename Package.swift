// swift-tools-version:6.1
// PCIeSim: a PCIe fabric and IOMMU simulator with Linux-conformant P2P DMA semantics.
import PackageDescription

let package = Package(
    name: "PCIeSim",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Sim", targets: ["Sim"]),
        .library(name: "Scenarios", targets: ["Scenarios"]),
        .executable(name: "simrun", targets: ["simrun"]),
        .executable(name: "simbench", targets: ["simbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Latency histograms with two significant digits (HdrHistogram's layout and quantiles).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", .upToNextMinor(from: "0.2.0")),
    ],
    targets: [
        // libxml2 from the system (Debian: libxml2-dev).
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"]), .brew(["libxml2"])]
        ),
        // Small C support: the topology XSD compiled into the binary with #embed (the file in
        // topologies/ stays the single source of truth) and libxml2 helpers Swift cannot call.
        .target(
            name: "CSupport",
            dependencies: ["CLibXML2"]
        ),
        .target(
            name: "Sim",
            dependencies: ["CSupport", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        .target(name: "Scenarios", dependencies: ["Sim"]),
        .executableTarget(
            name: "simrun",
            dependencies: ["Sim", "Scenarios", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "simbench", dependencies: ["Sim", "Scenarios"]),
        // The readers' fuzz targets (scripts/fuzz/build.sh builds simfuzz with libFuzzer; docs/SECURITY.md, Fuzzing).
        .target(name: "Fuzzing", dependencies: ["Sim", "Scenarios"]),
        .executableTarget(name: "simfuzz", dependencies: ["Fuzzing"]),
        .testTarget(name: "SimTests", dependencies: ["Sim"], exclude: ["Fixtures"]),  // read by path
        .testTarget(name: "ScenariosTests", dependencies: ["Scenarios", "Sim"], exclude: ["Fixtures"]),  // read by path
        .testTarget(name: "FuzzingTests", dependencies: ["Fuzzing"], exclude: ["Fixtures"]),  // read by path
        .testTarget(name: "simrunTests", dependencies: ["Sim", "simrun"], exclude: ["Golden"]),
    ]
)
