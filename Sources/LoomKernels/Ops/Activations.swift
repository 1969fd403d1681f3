import Foundation

/// SiLU (x·σ(x)) of `gate`, multiplied into `up`: the SwiGLU gate of a Llama MLP.
/// `gate` and `up` are [count]; the result replaces `gate`.
@inlinable
public func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = gate[i]
        gate[i] = g / (1 + exp(-g)) * up[i]
    }
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
