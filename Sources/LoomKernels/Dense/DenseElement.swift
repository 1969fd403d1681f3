#if arch(x86_64)
import LoomKernelsAVX2
#endif
/// A 16-bit or 32-bit float element of a dense weight matrix, widened to f32 sixteen at a time.
///
/// Dense kernels read f16 and bf16 weights where they lie (usually a memory map) and widen
/// them in registers: decode is bound by memory bandwidth, so half-width weights are nearly
/// twice as fast as converting to f32 at load, and take half the memory.
public protocol DenseElement: Sendable {
    static var formatName: String { get }
    /// Sixteen consecutive elements starting at `pointer + index`, as f32.
    static func load16(_ pointer: UnsafeRawPointer, _ index: Int) -> SIMD16<Float>
    /// One element as f32.
    static func load1(_ pointer: UnsafeRawPointer, _ index: Int) -> Float
    static var byteWidth: Int { get }
    /// Widens `count` consecutive elements at `source` to f32 in `out`.
    static func widen(_ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>)
}

public enum F32Element: DenseElement {
    public static let formatName = "f32"
    public static let byteWidth = 4
    @inline(__always) public static func load16(_ pointer: UnsafeRawPointer, _ index: Int) -> SIMD16<Float> {
        pointer.loadUnaligned(fromByteOffset: index * 4, as: SIMD16<Float>.self)
    }
    @inline(__always) public static func load1(_ pointer: UnsafeRawPointer, _ index: Int) -> Float {
        pointer.loadUnaligned(fromByteOffset: index * 4, as: Float.self)
    }
}

public enum BF16Element: DenseElement {
    public static let formatName = "bf16"
    public static let byteWidth = 2
    @inline(__always) public static func load16(_ pointer: UnsafeRawPointer, _ index: Int) -> SIMD16<Float> {
        let halves = pointer.loadUnaligned(fromByteOffset: index * 2, as: SIMD16<UInt16>.self)
        return unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: halves) &<< 16, to: SIMD16<Float>.self)
    }
    @inline(__always) public static func load1(_ pointer: UnsafeRawPointer, _ index: Int) -> Float {
        Float(bitPattern: UInt32(pointer.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)) << 16)
    }
}

public enum F16Element: DenseElement {
    public static let formatName = "f16"
    public static let byteWidth = 2
    /// Branch-free widening with integer ops, so no F16C is needed: shift exponent and mantissa
    /// into place, rescale by 2^112 (which also normalizes subnormals), then restore inf/NaN.
    @inline(__always) public static func load16(_ pointer: UnsafeRawPointer, _ index: Int) -> SIMD16<Float> {
        let halves = SIMD16<UInt32>(truncatingIfNeeded: pointer.loadUnaligned(fromByteOffset: index * 2, as: SIMD16<UInt16>.self))
        let magnitude = (halves & 0x7FFF) &<< 13
        var value = unsafeBitCast(magnitude, to: SIMD16<Float>.self) * SIMD16<Float>(repeating: 0x1p112)
        let isSpecial = (halves & 0x7C00) .== SIMD16<UInt32>(repeating: 0x7C00)
        let special = unsafeBitCast(magnitude | 0x7F80_0000, to: SIMD16<Float>.self)
        value.replace(with: special, where: isSpecial)
        let sign = (halves & 0x8000) &<< 16
        return unsafeBitCast(unsafeBitCast(value, to: SIMD16<UInt32>.self) | sign, to: SIMD16<Float>.self)
    }
    @inline(__always) public static func load1(_ pointer: UnsafeRawPointer, _ index: Int) -> Float {
        Float(Float16(bitPattern: pointer.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
    }

    /// F16C's vcvtph2ps where the CPU has it: attention widens whole cache tiles, and the
    /// integer path above costs several operations per value.
    public static func widen(_ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        #if arch(x86_64)
        if KernelPath.active != .portable { LoomKernelsAVX2.widenF16(source, count, out); return }
        #endif
        widenBySIMD(source, count: count, into: out)
    }
}

extension DenseElement {
    @inlinable
    public static func widen(_ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        widenBySIMD(source, count: count, into: out)
    }

    /// Widens sixteen at a time with `load16`.
    @inlinable
    public static func widenBySIMD(_ source: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 16 <= count {
            UnsafeMutableRawPointer(out + i).storeBytes(of: load16(source, i), as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { out[i] = load1(source, i); i += 1 }
    }
}
