#if arch(x86_64)
import _Builtin_intrinsics.intel.cpuid
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What the running CPU can do, read once at start-up, so one binary picks its fast paths.
public struct CPUFeatures: Sendable, CustomStringConvertible {
    public var avx2 = false
    public var fma = false
    public var f16c = false
    public var avx512f = false
    public var avx512bw = false
    public var avx512vl = false
    public var avx512vnni = false
    public var avx512bf16 = false
    public var avxvnni = false
    public var neon = false
    public var neonDotProduct = false

    /// The features of this machine.
    public static let current = CPUFeatures.detect()

    public var description: String {
        var names: [String] = []
        if avx2 { names.append("avx2") }
        if fma { names.append("fma") }
        if f16c { names.append("f16c") }
        if avx512f { names.append("avx512f") }
        if avx512bw { names.append("avx512bw") }
        if avx512vl { names.append("avx512vl") }
        if avx512vnni { names.append("avx512vnni") }
        if avx512bf16 { names.append("avx512bf16") }
        if avxvnni { names.append("avxvnni") }
        if neon { names.append("neon") }
        if neonDotProduct { names.append("dotprod") }
        return names.isEmpty ? "portable" : names.joined(separator: " ")
    }

    private static func detect() -> CPUFeatures {
        var features = CPUFeatures()
        #if arch(x86_64)
        let leaf1 = cpuid(1, 0)
        let leaf7 = cpuid(7, 0)
        let leaf7s1 = cpuid(7, 1)
        let osxsave = leaf1.ecx & (1 << 27) != 0
        // The OS must save the wide registers, or the instructions fault.
        let xcr0 = osxsave ? osSavedRegisterMask() : 0
        let ymmSaved = xcr0 & 0x6 == 0x6
        let zmmSaved = xcr0 & 0xE6 == 0xE6
        features.fma = ymmSaved && leaf1.ecx & (1 << 12) != 0
        features.f16c = ymmSaved && leaf1.ecx & (1 << 29) != 0
        features.avx2 = ymmSaved && leaf7.ebx & (1 << 5) != 0
        features.avxvnni = ymmSaved && leaf7s1.eax & (1 << 4) != 0
        features.avx512f = zmmSaved && leaf7.ebx & (1 << 16) != 0
        features.avx512bw = zmmSaved && leaf7.ebx & (1 << 30) != 0
        features.avx512vl = zmmSaved && leaf7.ebx & (1 << 31) != 0
        features.avx512vnni = zmmSaved && leaf7.ecx & (1 << 11) != 0
        features.avx512bf16 = zmmSaved && leaf7s1.eax & (1 << 5) != 0
        #elseif arch(arm64)
        features.neon = true
        features.neonDotProduct = armHasDotProduct()
        #endif
        return features
    }
}

#if arch(x86_64)
private struct CPUIDResult { var eax: UInt32; var ebx: UInt32; var ecx: UInt32; var edx: UInt32 }

private func cpuid(_ leaf: UInt32, _ subleaf: UInt32) -> CPUIDResult {
    var r = CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0)
    if __get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx) == 0 {
        return CPUIDResult(eax: 0, ebx: 0, ecx: 0, edx: 0)
    }
    return r
}

/// Which register files the OS saves. Swift cannot emit `xgetbv` (it is a C macro), so on Linux
/// the kernel's flags stand in: it hides AVX and AVX-512 when it does not save their state.
private func osSavedRegisterMask() -> UInt64 {
    #if os(Linux)
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flagsLine = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return 0x6 }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    var mask: UInt64 = 0
    if flags.contains("avx") { mask |= 0x6 }
    if flags.contains("avx512f") { mask |= 0xE0 }
    return mask
    #else
    return 0xE6
    #endif
}
#endif

#if arch(arm64)
private func armHasDotProduct() -> Bool {
    #if os(Linux)
    return getauxval(UInt(AT_HWCAP)) & (1 << 20) != 0  // HWCAP_ASIMDDP
    #elseif canImport(Darwin)
    var value: Int32 = 0
    var size = MemoryLayout<Int32>.size
    return sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, nil, 0) == 0 && value != 0
    #else
    return false
    #endif
}
#endif
