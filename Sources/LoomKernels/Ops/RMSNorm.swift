/// RMSNorm of each row: `out = x / sqrt(mean(x²) + eps) * weight`, accumulated in f64 for rows
/// of any width. Rows are [count, width]; `weight` is [width]; `out` may alias `x`.
@inlinable
public func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, eps: Float,
                    rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
    for row in 0..<rows {
        let input = x + row * width
        let output = out + row * width
        var sumSquares: Double = 0
        for i in 0..<width { sumSquares += Double(input[i]) * Double(input[i]) }
        let scale = Float(1 / (sumSquares / Double(width) + Double(eps)).squareRoot())
        for i in 0..<width { output[i] = input[i] * scale * weight[i] }
    }
}
