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
        var i = 0
        while i + 16 <= count {
            store16(silu(load16(gate + i)) * load16(up + i), gate + i)
            i += 16
        }
        guard i < count else { return }
        // The tail goes through the same vector arithmetic, so every element rounds alike.
        var g = SIMD16<Float>(), u = SIMD16<Float>()
        for k in i..<count { g[k - i] = gate[k]; u[k - i] = up[k] }
        let result = silu(g) * u
        for k in i..<count { gate[k] = result[k - i] }
    }

    @inline(__always)
    static func silu(_ g: SIMD16<Float>) -> SIMD16<Float> {
        g / (1 + AttentionTile.exponential(-g))
    }
}
