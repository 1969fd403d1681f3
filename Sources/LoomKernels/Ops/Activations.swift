import Foundation
#if arch(x86_64)
import LoomKernelsAVX2
import LoomKernelsAVX512
#endif

/// SiLU (x·σ(x)) of `gate`, multiplied into `up`: the SwiGLU gate of a Llama MLP, in vectors of
/// 16 on `path` (see `GatedActivation`). `gate` and `up` are [count]; the result replaces `gate`.
public func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, path: KernelPath = .active) {
    #if arch(x86_64)
    switch path {
    case .avx512: return LoomKernelsAVX512.GatedActivation.swiGLU(gate: gate, up: up, count: count)
    case .avx2: return LoomKernelsAVX2.GatedActivation.swiGLU(gate: gate, up: up, count: count)
    case .portable: break
    }
    #endif
    GatedActivation.swiGLU(gate: gate, up: up, count: count)
}

/// GELU (tanh approximation) of `gate`, multiplied into `up`: the GeGLU gate of a Gemma MLP, in
/// vectors of 16 on `path` (see `GatedActivation.geluTanhGLU`). The result replaces `gate`.
public func geluTanhGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int, path: KernelPath = .active) {
    #if arch(x86_64)
    switch path {
    case .avx512: return LoomKernelsAVX512.GatedActivation.geluTanhGLU(gate: gate, up: up, count: count)
    case .avx2: return LoomKernelsAVX2.GatedActivation.geluTanhGLU(gate: gate, up: up, count: count)
    case .portable: break
    }
    #endif
    GatedActivation.geluTanhGLU(gate: gate, up: up, count: count)
}

/// gpt-oss's gated activation: g·σ(α·g)·(u + 1) with g = min(gate, limit) and u = up clamped to
/// ±limit, as SwiGLU of α·g times (u + 1)/α so that the vectorized SiLU runs it. The result
/// replaces `gate`; `up` is overwritten.
public func clampedSwiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>, count: Int, limit: Float, alpha: Float,
                          path: KernelPath = .active) {
    let inverse = 1 / alpha
    for i in 0..<count {
        gate[i] = alpha * Swift.min(gate[i], limit)
        up[i] = (Swift.min(Swift.max(up[i], -limit), limit) + 1) * inverse
    }
    swiGLU(gate: gate, up: up, count: count, path: path)
}

/// Soft-capping of attention scores or logits: v = cap · tanh(v / cap), in place over `count`
/// values (Gemma 2 keeps scores within ±50 and logits within ±30 this way), in vectors of 16 on
/// `path` (see `GatedActivation.softcap`): a long prompt caps every score of every head.
public func softcap(_ values: UnsafeMutablePointer<Float>, count: Int, cap: Float, path: KernelPath = .active) {
    #if arch(x86_64)
    switch path {
    case .avx512: return LoomKernelsAVX512.GatedActivation.softcap(values, count: count, cap: cap)
    case .avx2: return LoomKernelsAVX2.GatedActivation.softcap(values, count: count, cap: cap)
    case .portable: break
    }
    #endif
    GatedActivation.softcap(values, count: count, cap: cap)
}

/// Softmax in place over `count` values, in f64 accumulation-free form: subtract the max, exponentiate, normalize.
@inlinable
public func softmaxInPlace(_ values: UnsafeMutablePointer<Float>, count: Int) {
    guard count > 0 else { return }
    var maximum = values[0]
    for i in 1..<count { maximum = max(maximum, values[i]) }
    var sum: Float = 0
    for i in 0..<count {
        let e = exp(values[i] - maximum)
        values[i] = e
        sum += e
    }
    let inverse = 1 / sum
    for i in 0..<count { values[i] *= inverse }
}

/// GELU in its exact form, `x · Φ(x) = ½x(1 + erf(x/√2))` (BERT's `gelu`), in place over `count`
/// values, in vectors of 16 on `path` (see `GatedActivation.gelu`).
public func gelu(_ values: UnsafeMutablePointer<Float>, count: Int, path: KernelPath = .active) {
    #if arch(x86_64)
    switch path {
    case .avx512: return LoomKernelsAVX512.GatedActivation.gelu(values, count: count)
    case .avx2: return LoomKernelsAVX2.GatedActivation.gelu(values, count: count)
    case .portable: break
    }
    #endif
    GatedActivation.gelu(values, count: count)
}
