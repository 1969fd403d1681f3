import Foundation
import LoomCore

/// Which instruction set the kernels use, chosen from `CPUFeatures.current` (or `LOOM_ISA`).
///
/// The AVX2 and AVX-512 kernels live in their own modules (LoomKernelsAVX2, LoomKernelsAVX512),
/// compiled with `-Xcc -mavx2 …` / `-Xcc -mavx512f …` so `_Builtin_intrinsics.intel` intrinsics
/// inline (Swift 6.3 takes the module's target features from the Clang importer flags; no
/// `-target-cpu` needed). Everything else is compiled for baseline x86-64, so one binary runs on
/// any x86-64 and calls into those modules only when the CPU has the features.
public enum KernelPath: String, CaseIterable, Sendable {
    /// AVX-512 F/BW/VL with VNNI (vpdpbusd). Where the CPU also has AVX-512 BF16, bf16 prompt
    /// batches use vdpbf16ps from the C target LoomKernelsBF16C: Swift 6.3 cannot import
    /// `__m512bh` or `_mm512_dpbf16_ps` (the `__bf16` vector type has no Swift counterpart).
    /// Activations are split into two bf16 terms (hi + lo, about 16 significant bits), so the
    /// arithmetic matches FMA's (vdpbf16ps and vfmadd231ps both retire one zmm a cycle on Zen 4);
    /// the gain, about 10% on prompts, is the widening the FMA tile spends on every weight vector
    /// and a cheaper reduction (BENCHMARKS.md). Decode stays on the Swift FMA rows: it is bound by
    /// memory bandwidth, and the C rows kernel measured no faster there.
    case avx512 = "avx512-vnni"
    /// AVX2 with FMA and F16C.
    case avx2
    /// Swift code only (SIMD types lower to SSE2 or NEON).
    case portable

    /// The fastest path this CPU runs.
    public static let fastest: KernelPath = {
        let cpu = CPUFeatures.current
        if cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512vnni && cpu.fma && cpu.f16c { return .avx512 }
        if cpu.avx2 && cpu.fma && cpu.f16c { return .avx2 }
        return .portable
    }()

    /// The path kernels take when none is named: `LOOM_ISA` when it names a path this CPU runs,
    /// else the fastest. `loom bench --isa` sets it before a model loads, so that any path can be
    /// measured on a machine that supports it (AVX2 on an AVX-512 machine, say).
    nonisolated(unsafe) public static var active: KernelPath = environmentChoice.path ?? fastest

    /// The environment variable that chooses `active`.
    public static let environmentVariable = "LOOM_ISA"

    /// `LOOM_ISA` read once: the path it names, or why it cannot be used (nil and nil when unset).
    public static let environmentChoice: (path: KernelPath?, problem: String?) = {
        guard let value = ProcessInfo.processInfo.environment[environmentVariable], !value.isEmpty else { return (nil, nil) }
        switch resolve(value) {
        case let .success(path): return (path, nil)
        case let .failure(problem): return (nil, "\(environmentVariable): \(problem.message)")
        }
    }()

    /// A path by name: its raw value, or `avx512` for `avx512-vnni`.
    public init?(name: String) {
        let lowered = name.lowercased()
        if lowered == "avx512" { self = .avx512; return }
        guard let path = KernelPath(rawValue: lowered) else { return nil }
        self = path
    }

    /// Why a named path cannot run here.
    public struct Unavailable: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The path `name` names, if this CPU runs it.
    public static func resolve(_ name: String) -> Result<KernelPath, Unavailable> {
        guard let path = KernelPath(name: name) else {
            return .failure(Unavailable(message: "unknown kernel path '\(name)'; choose avx512, avx2 or portable"))
        }
        guard path.isSupported else {
            return .failure(Unavailable(message: "this CPU (\(CPUFeatures.current)) cannot run the \(path.rawValue) path; it runs \(supported.map(\.rawValue).joined(separator: ", "))"))
        }
        return .success(path)
    }

    /// Whether this CPU can run the path.
    public var isSupported: Bool {
        switch self {
        case .portable: return true
        case .avx2: return KernelPath.fastest != .portable
        case .avx512: return KernelPath.fastest == .avx512
        }
    }

    /// Paths this CPU can run, fastest first.
    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }
}

/// Whether matrix products keep every activation row's arithmetic independent of the other rows
/// in the call. A forward pass carries the rows of many sequences, and a request's tokens must
/// not depend on which others share its passes, so the runtime keeps this on. Off, batches may
/// use kernels that sum in another order than decode (`bench-kernels` compares them).
public enum BatchInvariance {
    nonisolated(unsafe) public static var enabled = true
}
