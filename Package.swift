// swift-tools-version:6.0
import PackageDescription

// Layers, one way only: formats → model → runtime → generation → CLI.
// LoomCore and LoomKernels sit underneath everything.
let release: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

// SIMD kernel modules are compiled for a wider ISA than the rest of the binary; LoomKernels calls
// them only after a CPUID check (KernelPath.swift). `-Xcc -m...` turns on the target features
// for the whole module, so the intrinsics inline. The flags exist only on x86-64.
#if arch(x86_64)
let avx2Flags: [SwiftSetting] = [.define("SIMD_FMA"), .unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"])]
let avx512Flags: [SwiftSetting] = [.define("VNNI"), .define("SIMD_FMA"), .define("WIDE_SIMD"), .unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c",
    "-Xcc", "-mavx512f", "-Xcc", "-mavx512bw", "-Xcc", "-mavx512vl", "-Xcc", "-mavx512vnni"])]
#else
let avx2Flags: [SwiftSetting] = []
let avx512Flags: [SwiftSetting] = []
#endif

let package = Package(
    name: "Loom",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "LoomCore", targets: ["LoomCore"]),
        .library(name: "LoomFormats", targets: ["LoomFormats"]),
        .library(name: "LoomTokenizer", targets: ["LoomTokenizer"]),
        .library(name: "LoomChatTemplate", targets: ["LoomChatTemplate"]),
        .library(name: "LoomKernels", targets: ["LoomKernels"]),
        .library(name: "LoomVulkan", targets: ["LoomVulkan"]),
        .library(name: "LoomModel", targets: ["LoomModel"]),
        .library(name: "LoomRuntime", targets: ["LoomRuntime"]),
        .library(name: "LoomGenerate", targets: ["LoomGenerate"]),
        .library(name: "LoomServer", targets: ["LoomServer"]),
        .executable(name: "loom", targets: ["loom"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    ],
    targets: [
        .target(name: "LoomCore", swiftSettings: release),
        .target(name: "LoomFormats", dependencies: ["LoomCore"], swiftSettings: release),
        .target(name: "LoomTokenizer", dependencies: ["LoomCore", "LoomFormats"], swiftSettings: release),
        // The Jinja interpreter for chat templates: it needs no tokenizer.
        .target(name: "LoomChatTemplate", dependencies: ["LoomFormats"], swiftSettings: release),
        .target(name: "LoomKernelsAVX2", swiftSettings: release + avx2Flags),
        .target(name: "LoomKernelsAVX512", swiftSettings: release + avx512Flags),
        // C only for vdpbf16ps, which Swift cannot import (bench-kernels --bf16-kernel; BENCHMARKS.md).
        .target(name: "LoomKernelsBF16C"),
        .target(name: "LoomKernels", dependencies: ["LoomCore", "LoomKernelsAVX2", "LoomKernelsAVX512", "LoomKernelsBF16C"], swiftSettings: release),
        // The Vulkan API's declarations only (tools/vulkan/make-header); libvulkan is opened at run time.
        .target(name: "CVulkan"),
        // The GPU kernels and device memory, over Vulkan compute.
        .target(name: "LoomVulkan", dependencies: ["LoomCore", "LoomKernels", "CVulkan"], exclude: ["Shaders"], swiftSettings: release),
        .target(name: "LoomModel", dependencies: ["LoomCore", "LoomFormats", "LoomKernels"], swiftSettings: release),
        .target(name: "LoomRuntime", dependencies: ["LoomCore", "LoomFormats", "LoomKernels", "LoomVulkan", "LoomModel"], swiftSettings: release),
        .target(name: "LoomGenerate", dependencies: ["LoomCore", "LoomRuntime", "LoomModel", "LoomTokenizer", "LoomChatTemplate", "LoomFormats"], swiftSettings: release),
        // The OpenAI-compatible HTTP server over the scheduler (`loom serve`).
        .target(name: "LoomServer", dependencies: [
            "LoomCore", "LoomFormats", "LoomTokenizer", "LoomChatTemplate", "LoomRuntime", "LoomGenerate",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: release),
        .executableTarget(name: "loom", dependencies: [
            "LoomCore", "LoomFormats", "LoomTokenizer", "LoomChatTemplate", "LoomKernels", "LoomVulkan", "LoomModel", "LoomRuntime", "LoomGenerate", "LoomServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: release),
        // Fuzz targets (tools/fuzz builds them with libFuzzer; a normal build replays a corpus).
        .target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"),
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["FuzzSupport", "LoomFormats"], path: "Fuzz/FuzzSafeTensors"),
        .executableTarget(name: "FuzzGGUF", dependencies: ["FuzzSupport", "LoomFormats", "LoomModel", "LoomTokenizer"], path: "Fuzz/FuzzGGUF"),
        .executableTarget(name: "FuzzTokenizer", dependencies: ["FuzzSupport", "LoomTokenizer"], path: "Fuzz/FuzzTokenizer"),
        .executableTarget(name: "FuzzConfig", dependencies: ["FuzzSupport", "LoomFormats", "LoomModel", "LoomRuntime"], path: "Fuzz/FuzzConfig"),
        .executableTarget(name: "FuzzTemplate", dependencies: ["FuzzSupport", "LoomChatTemplate"], path: "Fuzz/FuzzTemplate"),
        .executableTarget(name: "FuzzRequest", dependencies: ["FuzzSupport", "LoomServer", "LoomGenerate", "LoomRuntime", "LoomChatTemplate"],
                          path: "Fuzz/FuzzRequest"),
        .testTarget(name: "LoomCoreTests", dependencies: ["LoomCore"]),
        .testTarget(name: "LoomVulkanTests", dependencies: ["LoomVulkan", "LoomKernels", "LoomCore", "LoomRuntime", "LoomModel", "LoomFormats"]),
        .testTarget(name: "LoomKernelsTests", dependencies: ["LoomCore", "LoomFormats", "LoomKernels"], exclude: ["Fixtures"]),
        .testTarget(name: "LoomFormatsTests", dependencies: ["LoomCore", "LoomFormats"], exclude: ["Fixtures"]),
        .testTarget(name: "LoomRuntimeTests", dependencies: ["LoomRuntime", "LoomModel", "LoomFormats"]),
        .testTarget(name: "LoomModelTests", dependencies: ["LoomModel", "LoomRuntime", "LoomFormats", "LoomKernels", "LoomVulkan"]),
        .testTarget(name: "LoomChatTemplateTests", dependencies: ["LoomChatTemplate", "LoomFormats"], exclude: ["Fixtures"]),
        .testTarget(name: "LoomTokenizerTests", dependencies: ["LoomTokenizer", "LoomCore", "LoomFormats"], exclude: ["Fixtures"]),
        .testTarget(name: "LoomGenerateTests", dependencies: ["LoomGenerate", "LoomRuntime", "LoomTokenizer", "LoomChatTemplate", "LoomFormats"], exclude: ["Fixtures"]),
        .testTarget(name: "LoomPerplexityTests", dependencies: ["LoomRuntime", "LoomTokenizer"], exclude: ["Fixtures"]),
        .testTarget(name: "LoomQuantizeTests", dependencies: ["LoomRuntime", "LoomModel", "LoomKernels", "LoomFormats", "LoomTokenizer"], exclude: ["Fixtures"]),
        .testTarget(name: "LoomServerTests", dependencies: [
            "LoomServer", "LoomGenerate", "LoomRuntime", "LoomTokenizer", "LoomChatTemplate",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Runs the built `loom` binary (swift test builds every product), as a user would.
        .testTarget(name: "LoomCLITests", dependencies: ["LoomFormats"]),
    ],
    swiftLanguageModes: [.v6]
)
