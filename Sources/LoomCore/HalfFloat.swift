/// Conversions between f32 and the two 16-bit float formats found in weight files.
///
/// bf16 is the top half of an f32, so widening is a shift. f16 goes through Swift's `Float16`,
/// which lowers to F16C instructions where the target has them.
@inline(__always)
public func bf16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// Rounds to nearest even, as torch does; NaN stays a quiet NaN.
@inline(__always)
public func floatToBF16(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40) }
    let roundingBias = ((bits >> 16) & 1) &+ 0x7FFF
    return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
}

@inline(__always)
public func f16ToFloat(_ bits: UInt16) -> Float {
    Float(Float16(bitPattern: bits))
}

@inline(__always)
public func floatToF16(_ value: Float) -> UInt16 {
    Float16(value).bitPattern
}
