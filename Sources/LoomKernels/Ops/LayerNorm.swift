/// LayerNorm of each row: `out = (x − mean(x)) / sqrt(var(x) + eps) · weight + bias`, with the
/// mean and the (biased) variance accumulated in f64, as BERT's encoders normalise. Rows are
/// [count, width]; `weight` and `bias` are [width]; `out` may alias `x`.
@inlinable
public func layerNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float,
                      rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
    for row in 0..<rows {
        let input = x + row * width
        let output = out + row * width
        var sum: Double = 0
        for i in 0..<width { sum += Double(input[i]) }
        let mean = sum / Double(width)
        var squares: Double = 0
        for i in 0..<width { let d = Double(input[i]) - mean; squares += d * d }
        let scale = 1 / (squares / Double(width) + Double(eps)).squareRoot()
        let m = Float(mean), s = Float(scale)
        for i in 0..<width { output[i] = (input[i] - m) * s * weight[i] + bias[i] }
    }
}
