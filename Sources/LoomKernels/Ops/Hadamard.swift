/// The orthonormal 32-point Walsh–Hadamard transform, in place on `values[0..<32]`.
///
/// Quantized KV caches rotate each group of 32 before absmax quantization: the rotation spreads
/// an outlier's energy over the whole group, so one large value no longer forces a coarse scale
/// on the other 31. The transform is its own inverse, and since it is orthogonal,
/// `dot(Hk, Hq) = dot(k, q)`: attention rotates the query instead of un-rotating every key.
@inlinable
public func hadamard32(_ values: UnsafeMutablePointer<Float>) {
    var span = 1
    while span < 32 {
        var block = 0
        while block < 32 {
            for i in block..<(block + span) {
                let a = values[i], b = values[i + span]
                values[i] = a + b
                values[i + span] = a - b
            }
            block += 2 * span
        }
        span *= 2
    }
    let norm: Float = 0.17677669529663687  // 1/√32
    for i in 0..<32 { values[i] *= norm }
}
