import Foundation
import LoomCore
import LoomKernels

/// GPTQ's error feedback (Frantar et al., 2022) inside ggml's block formats: the columns of a
/// weight matrix are rounded in order, and each column's rounding error is passed on to the
/// columns not yet rounded, weighted so that the layer's output on the calibration inputs moves
/// as little as it can. The files hold only integers and scales, so it costs nothing at run time.
///
/// With H = Σ x·xᵀ of the layer's input (damped by 1% of its mean diagonal) and U the upper
/// Cholesky factor of H⁻¹ (H⁻¹ = UᵀU), column j's error eⱼ = (wⱼ − ŵⱼ)/Uⱼⱼ moves every later
/// column k by −eⱼ·Uⱼₖ, and the added output error is Σⱼ eⱼ² per row. The blocks are those of
/// the format: when a block is reached, its scales are fitted to its weights as they stand then
/// (the importance-weighted fit of `WeightedQuantize`, each weight's importance 1/Uⱼⱼ², what an
/// error in it costs once the later columns have absorbed what they can), and its weights are
/// then rounded one at a time on the grid those scales leave (`BlockGrid`), each after the
/// errors of those before it have reached it. Columns keep their order: a block's weights must
/// be contiguous, so GPTQ's "act order" permutation has no place here.
public enum ErrorFeedback {
    /// The fraction of H's mean diagonal added to its diagonal before it is inverted (GPTQ's
    /// `percdamp`), raised tenfold while the factorization fails.
    public static let damping: Float = 0.01

    /// The types error feedback rounds; the others are rounded row by row.
    public static func supports(_ type: QuantType) -> Bool { BlockGrid.supported.contains(type) }

    /// Quantizes `weights` ([rows, columns] f32) to `type` with error feedback from `hessian`.
    /// Rows are independent and split over `threads`, eight at a time so each pass over U serves
    /// eight rows. Returns the bytes and the output error they add, Σ over rows of Σⱼ eⱼ², which
    /// is tr(ΔW·H·ΔWᵀ) for the damped H divided by its token count: the mean squared change of
    /// the layer's output per token, as `TensorSensitivity` measures it with a diagonal.
    public static func quantize(_ weights: [Float], columns: Int, as type: QuantType, hessian: InputHessian,
                                threads: Int) throws -> (bytes: [UInt8], error: Double) {
        precondition(hessian.columns == columns && weights.count % columns == 0 && columns % type.blockSize == 0)
        let rows = weights.count / columns
        let factor = try inverseFactor(hessian)  // [columns, columns], upper triangular
        // What an error in column j costs after the later columns compensate: 1/U_jj². (On the
        // demo model, q4_k_m KLD 0.00346 with it, 0.00356 with the importance matrix's mean
        // squares, 0.00357 with every column alike.)
        var importance = [Float](repeating: 0, count: columns)  // [columns]
        for j in 0..<columns { let u = factor[j * columns + j]; importance[j] = 1 / (u * u) }
        let rowBytes = type.rowBytes(columns), tile = 8
        var out = [UInt8](repeating: 0, count: rowBytes * rows)  // [rows][rowBytes]
        let tiles = (rows + tile - 1) / tile
        var tileErrors = [Double](repeating: 0, count: tiles)  // [tiles] Σ e² of each tile
        let pool = ThreadPool(threads: max(1, min(threads, tiles)))
        tileErrors.withUnsafeMutableBufferPointer { tileError in
        weights.withUnsafeBufferPointer { w in
            factor.withUnsafeBufferPointer { u in
                importance.withUnsafeBufferPointer { imp in
                    out.withUnsafeMutableBytes { o in
                        pool.parallelFor(tiles) { range in
                            for t in range {
                                let first = t * tile, count = min(tile, rows - first)
                                tileError[t] = roundTile(w.baseAddress! + first * columns, rows: count, columns: columns, type: type,
                                                         factor: u.baseAddress!, importance: imp.baseAddress!, into: o.baseAddress! + first * rowBytes)
                            }
                        }
                    }
                }
            }
        }
        }
        return (out, tileErrors.reduce(0, +) / Double(max(1, hessian.tokens)))
    }

    /// Rounds `rows` rows (at most 8) of `columns` weights with error feedback through `factor`;
    /// returns Σ e² over them.
    static func roundTile(_ source: UnsafePointer<Float>, rows: Int, columns n: Int, type: QuantType, factor u: UnsafePointer<Float>,
                          importance: UnsafePointer<Float>, into out: UnsafeMutableRawPointer) -> Double {
        let block = type.blockSize, blockBytes = type.blockBytes, rowBytes = type.rowBytes(n)
        var w = Array(UnsafeBufferPointer(start: source, count: rows * n))  // [rows, columns] the weights as errors reach them
        var step = [Float](repeating: 0, count: rows * block)                // [rows, block] the grid of the current block
        var offset = [Float](repeating: 0, count: rows * block)              // [rows, block]
        var errors = [Float](repeating: 0, count: rows * block)              // [rows, block] e_j of the current block
        var integers = [Int32](repeating: 0, count: rows * block)            // [rows, block] stored integers chosen
        var scratch = [Int32](repeating: 0, count: block)                    // [block]
        var total: Double = 0
        w.withUnsafeMutableBufferPointer { wb in
            let w = wb.baseAddress!
            for b0 in stride(from: 0, to: n, by: block) {
                let b1 = b0 + block
                for r in 0..<rows {
                    let target = out + r * rowBytes + (b0 / block) * blockBytes
                    WeightedQuantize.row(type, w + r * n + b0, count: block, importance: importance + b0, into: target)
                    step.withUnsafeMutableBufferPointer { s in
                        offset.withUnsafeMutableBufferPointer { o in
                            scratch.withUnsafeMutableBufferPointer { BlockGrid.steps(type, block: target, step: s.baseAddress! + r * block,
                                                                                     offset: o.baseAddress! + r * block, scratch: $0.baseAddress!) }
                        }
                    }
                }
                // Inside the block, one column at a time: round, then pass the error on within it.
                for j in b0..<b1 {
                    let uj = u + j * n, ujj = uj[j], k = j - b0
                    for r in 0..<rows {
                        let wr = w + r * n
                        let q = BlockGrid.nearest(type, wr[j], step: step[r * block + k], offset: offset[r * block + k])
                        integers[r * block + k] = q
                        let restored = step[r * block + k] * BlockGrid.value(type, q) + offset[r * block + k]
                        let e = (wr[j] - restored) / ujj
                        errors[r * block + k] = e
                        total += Double(e * e)
                        for c in (j + 1)..<b1 { wr[c] -= e * uj[c] }
                    }
                }
                for r in 0..<rows {
                    integers.withUnsafeBufferPointer { BlockGrid.pack(type, $0.baseAddress! + r * block, into: out + r * rowBytes + (b0 / block) * blockBytes) }
                }
                // The block's errors reach the columns after it, one row of U serving every row of the tile.
                guard b1 < n else { continue }
                for j in b0..<b1 {
                    let uj = u + j * n
                    for r in 0..<rows {
                        let e = errors[r * block + j - b0]
                        guard e != 0 else { continue }
                        let wr = w + r * n
                        for c in b1..<n { wr[c] -= e * uj[c] }
                    }
                }
            }
        }
        return total
    }

    /// U, the upper-triangular factor of (H + λI)⁻¹ = UᵀU, [columns, columns] row-major.
    ///
    /// With P the order-reversing permutation, P(H + λI)P = LLᵀ (Cholesky), and U = P·L⁻¹·P:
    /// one factorization and one triangular inverse. Columns the calibration never activated
    /// (Hⱼⱼ = 0) get Hⱼⱼ = 1, which leaves them out of the feedback.
    static func inverseFactor(_ hessian: InputHessian) throws -> [Float] {
        let n = hessian.columns
        var diagonalSum: Double = 0
        for j in 0..<n { diagonalSum += Double(hessian.sums[j * n + j]) }
        var lambda = Float(diagonalSum / Double(max(1, n))) * damping
        if !(lambda > 0) { lambda = 1 }
        for _ in 0..<6 {
            var a = [Float](repeating: 0, count: n * n)  // [columns, columns] P(H + λI)P, then L in its lower triangle
            hessian.sums.withUnsafeBufferPointer { h in
                for i in 0..<n {
                    for j in 0..<n { a[i * n + j] = h[(n - 1 - i) * n + (n - 1 - j)] }
                    if a[i * n + i] == 0 { a[i * n + i] = 1 }
                    a[i * n + i] += lambda
                }
            }
            if cholesky(&a, n) { return reversedInverse(a, n) }
            lambda *= 10
        }
        throw QuantizationError(path: "", tensor: nil, reason: "the input's Hessian stays singular after damping")
    }

    /// In-place lower Cholesky factor of the symmetric positive-definite `a` ([n, n]); false if
    /// a pivot is not positive.
    static func cholesky(_ a: inout [Float], _ n: Int) -> Bool {
        a.withUnsafeMutableBufferPointer { p in
            let a = p.baseAddress!
            for i in 0..<n {
                let ai = a + i * n
                for j in 0...i {
                    let aj = a + j * n
                    var s: Float = 0
                    for k in 0..<j { s += ai[k] * aj[k] }
                    let v = ai[j] - s
                    if i == j {
                        guard v > 0, v.isFinite else { return false }
                        ai[i] = v.squareRoot()
                    } else {
                        ai[j] = v / aj[j]
                    }
                }
            }
            return true
        }
    }

    /// P·L⁻¹·P for the lower-triangular `l` ([n, n], only its lower triangle read): upper triangular.
    static func reversedInverse(_ l: [Float], _ n: Int) -> [Float] {
        var result = [Float](repeating: 0, count: n * n)
        var x = [Float](repeating: 0, count: n)  // [n] one column of L⁻¹
        l.withUnsafeBufferPointer { lp in
            let l = lp.baseAddress!
            for j in 0..<n {
                // Forward substitution for column j of L⁻¹: L·x = e_j, x_i = 0 for i < j.
                x[j] = 1 / l[j * n + j]
                if j + 1 < n {
                    for i in (j + 1)..<n {
                        let li = l + i * n
                        var s: Float = 0
                        for k in j..<i { s += li[k] * x[k] }
                        x[i] = -s / li[i]
                    }
                }
                for i in j..<n { result[(n - 1 - i) * n + (n - 1 - j)] = x[i] }
            }
        }
        return result
    }
}
