// Horizontal reductions of SIMD vectors by halving. The standard library's `sum()`, `max()` and
// `wrappedSum()` are generic lane loops that end up out of line and scalar; in a kernel that
// reduces once per output they cost as much as the dot product itself. Compiled into LoomKernels,
// LoomKernelsAVX2 and LoomKernelsAVX512 from this one file (internal in each).

@usableFromInline @inline(__always) func horizontalSum(_ v: SIMD4<Float>) -> Float {
    let pair = v.lowHalf + v.highHalf
    return pair[0] + pair[1]
}

@usableFromInline @inline(__always) func horizontalSum(_ v: SIMD8<Float>) -> Float { horizontalSum(v.lowHalf + v.highHalf) }

@usableFromInline @inline(__always) func horizontalSum(_ v: SIMD16<Float>) -> Float { horizontalSum(v.lowHalf + v.highHalf) }

@usableFromInline @inline(__always) func horizontalMax(_ v: SIMD8<Float>) -> Float {
    // `pointwiseMax` is generic and stays out of line; a masked select inlines.
    let (low, high) = (v.lowHalf, v.highHalf)
    let four = low.replacing(with: high, where: high .> low)
    let (a, b) = (four.lowHalf, four.highHalf)
    let pair = a.replacing(with: b, where: b .> a)
    return Swift.max(pair[0], pair[1])
}

@usableFromInline @inline(__always) func horizontalSum(_ v: SIMD8<Int32>) -> Int32 {
    let four = v.lowHalf &+ v.highHalf
    let pair = four.lowHalf &+ four.highHalf
    return pair[0] &+ pair[1]
}
