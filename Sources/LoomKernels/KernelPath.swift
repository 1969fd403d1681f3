import LoomCore

/// Which instruction set the kernels use, chosen once from `CPUFeatures.current`.
///
/// The AVX2 and AVX-512 kernels live in their own modules (LoomKernelsAVX2, LoomKernelsAVX512),
/// compiled with `-Xcc -mavx2 …` / `-Xcc -mavx512f …` so `_Builtin_intrinsics.intel` intrinsics
/// inline (Swift 6.3 takes the module's target features from the Clang importer flags; no
/// `-target-cpu` needed). Everything else is compiled for baseline x86-64, so one binary runs on
/// any x86-64 and calls into those modules only when the CPU has the features.
public enum KernelPath: String, CaseIterable, Sendable {
    /// AVX-512 F/BW/VL with VNNI (vpdpbusd). AVX-512 BF16 (vdpbf16ps) is not used: Swift 6.3
    /// cannot import `__m512bh` or the `_mm512_dpbf16_ps` intrinsic (the `__bf16` vector type has
    /// no Swift counterpart), so bf16 weights are widened to f32 and use FMA; a C kernel target
    /// would be needed for vdpbf16ps.
    case avx512 = "avx512-vnni"
    /// AVX2 with FMA and F16C.
    case avx2
    /// Swift code only (SIMD types lower to SSE2 or NEON).
    case portable

    /// The fastest path this CPU runs.
    public static let best: KernelPath = {
        let cpu = CPUFeatures.current
        if cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512vnni && cpu.fma && cpu.f16c { return .avx512 }
        if cpu.avx2 && cpu.fma && cpu.f16c { return .avx2 }
        return .portable
    }()

    /// Whether this CPU can run the path.
    public var isSupported: Bool {
        switch self {
        case .portable: return true
        case .avx2: return KernelPath.best != .portable
        case .avx512: return KernelPath.best == .avx512
        }
    }

    /// Paths this CPU can run, fastest first.
    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }
}
