// The SwiGLU gate of a Llama MLP, vectorized. Like AttentionTiles.swift, this one source is
// compiled three times (LoomKernels, LoomKernelsAVX2, LoomKernelsAVX512: symlinks), so SIMD16<Float>
// lowers to the widest vectors each path has, and it shares that file's `AttentionTile.exponential`.
//
// Decode runs the gate inline on the calling thread while the pool waits, over the whole
// intermediate width of every layer (4864 × 24 per token for Qwen2.5-0.5B): with libm's scalar
// expf that was about 8% of a Q4_0 token.

public enum GatedActivation {
    /// gate[i] = SiLU(gate[i]) · up[i] = gate[i] / (1 + e^−gate[i]) · up[i], for i < count.
    /// - Parameters:
    ///   - gate: [count], replaced by the result
    ///   - up: [count]
    public static func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        gated(gate: gate, up: up, count: count, silu)
    }

    /// gate[i] = activation(gate[i]) · up[i] in vectors of 16.
    @inline(__always)
    private static func gated(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int,
                              _ activation: (SIMD16<Float>) -> SIMD16<Float>) {
        var i = 0
        while i + 16 <= count {
            store16(activation(load16(gate + i)) * load16(up + i), gate + i)
            i += 16
        }
        guard i < count else { return }
        // The tail goes through the same vector arithmetic, so every element rounds alike.
        var g = SIMD16<Float>(), u = SIMD16<Float>()
        for k in i..<count { g[k - i] = gate[k]; u[k - i] = up[k] }
        let result = activation(g) * u
        for k in i..<count { gate[k] = result[k - i] }
    }

    /// gate[i] = GELU_tanh(gate[i]) · up[i], GELU_tanh(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    /// (`gelu_pytorch_tanh`): the GeGLU gate of a Gemma MLP.
    /// - Parameters:
    ///   - gate: [count], replaced by the result
    ///   - up: [count]
    public static func geluTanhGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        gated(gate: gate, up: up, count: count, geluTanh)
    }

    /// values[i] = cap · tanh(values[i] / cap), for i < count: soft-capped attention scores
    /// (Gemma 2), with tanh(y) = 2σ(2y) − 1, which saturates cleanly at both ends.
    public static func softcap(_ values: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        let inverse = 1 / cap
        var i = 0
        while i + 16 <= count {
            store16(capped(load16(values + i), cap, inverse), values + i)
            i += 16
        }
        guard i < count else { return }
        var x = SIMD16<Float>()
        for k in i..<count { x[k - i] = values[k] }
        let result = capped(x, cap, inverse)
        for k in i..<count { values[k] = result[k - i] }
    }

    @inline(__always)
    static func capped(_ x: SIMD16<Float>, _ cap: Float, _ inverse: Float) -> SIMD16<Float> {
        let y = x * inverse
        return cap * (2 / (1 + AttentionTile.exponential(-2 * y)) - 1)
    }

    /// ½x(1 + tanh(y)) as x·σ(2y) = x / (1 + e^{−2y}): the same value without the cancellation
    /// of 1 + tanh(y) for negative y, and saturating cleanly at both ends.
    @inline(__always)
    static func geluTanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let y = 0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x)
        return x / (1 + AttentionTile.exponential(-2 * y))
    }

    @inline(__always)
    static func silu(_ g: SIMD16<Float>) -> SIMD16<Float> {
        g / (1 + AttentionTile.exponential(-g))
    }

    /// values[i] = GELU(values[i]) = ½x(1 + erf(x/√2)), for i < count: BERT's exact GELU, with erf
    /// from Abramowitz and Stegun 7.1.26 (absolute error below 1.5·10⁻⁷), in place of libm's
    /// scalar erff, which took 15% of an all-MiniLM-L6-v2 pass.
    public static func gelu(_ values: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            store16(gelu(load16(values + i)), values + i)
            i += 16
        }
        guard i < count else { return }
        var x = SIMD16<Float>()
        for k in i..<count { x[k - i] = values[k] }
        let result = gelu(x)
        for k in i..<count { values[k] = result[k - i] }
    }

    @inline(__always)
    static func gelu(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let z = x * 0.707_106_781_186_547_5
        let a = z.replacing(with: -z, where: z .< 0)
        let t = 1 / (1 + 0.327_591_1 * a)
        var p = SIMD16<Float>(repeating: 1.061_405_429)
        p = p * t - 1.453_152_027
        p = p * t + 1.421_413_741
        p = p * t - 0.284_496_736
        p = p * t + 0.254_829_592
        let magnitude = 1 - p * t * AttentionTile.exponential(-(a * a))
        let erf = magnitude.replacing(with: -magnitude, where: z .< 0)
        return 0.5 * x * (1 + erf)
    }
}
