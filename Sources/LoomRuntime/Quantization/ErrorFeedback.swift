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

    /// What the feedback needs of one layer input, computed once for every weight that reads it
    /// and every type tried: U, the upper Cholesky factor of its damped inverse Hessian.
    public struct Factor: Sendable {
        public let columns: Int
        /// Calibration tokens behind the Hessian.
        public let tokens: Int
        /// [columns, columns] row-major, upper triangular
        let u: [Float]

        public init(_ hessian: InputHessian, threads: Int) throws {
            columns = hessian.columns
            tokens = hessian.tokens
            u = try inverseFactor(hessian, pool: ThreadPool(threads: max(1, threads)))
        }
    }

    /// Quantizes `weights` ([rows, columns] f32) to `type` with error feedback through `input`.
    /// Rows are independent and split over `threads`, eight at a time so each pass over U serves
    /// eight rows. Returns the bytes and the output error they add, Σ over rows of Σⱼ eⱼ², which
    /// is tr(ΔW·H·ΔWᵀ) for the damped H divided by its token count: the mean squared change of
    /// the layer's output per token, as `TensorSensitivity` measures it with a diagonal.
    public static func quantize(_ weights: [Float], columns: Int, as type: QuantType, input: Factor,
                                threads: Int) -> (bytes: [UInt8], error: Double) {
        precondition(input.columns == columns && weights.count % columns == 0 && columns % type.blockSize == 0)
        let rows = weights.count / columns
        let factor = input.u  // [columns, columns], upper triangular
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
                                                             factor: u.baseAddress!, importance: imp.baseAddress!,
                                                             into: o.baseAddress! + first * rowBytes)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (out, tileErrors.reduce(0, +) / Double(max(1, input.tokens)))
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
                    // The scales: importance-weighted where Loom fits them, else the reference's min and max.
                    if !WeightedQuantize.row(type, w + r * n + b0, count: block, importance: importance + b0, into: target) {
                        Quantize.run(type, w + r * n + b0, count: block, into: target)
                    }
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
    static func inverseFactor(_ hessian: InputHessian, pool: ThreadPool) throws -> [Float] {
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
            if cholesky(&a, n, pool: pool) { return reversedInverse(a, n, pool: pool) }
            lambda *= 10
        }
        throw QuantizationError(path: "", tensor: nil, reason: "the input's Hessian stays singular after damping")
    }

    /// In-place lower Cholesky factor of the symmetric positive-definite `a` ([n, n]); false if
    /// a pivot is not positive. Eight columns at a time: their diagonal block first, then every
    /// row below, in parallel over `pool`, takes its eight dot products with the block's rows in
    /// one pass over its own row (read once per eight columns, not once per column).
    static func cholesky(_ a: inout [Float], _ n: Int, pool: ThreadPool) -> Bool {
        let panel = 8
        return a.withUnsafeMutableBufferPointer { p in
            let a = p.baseAddress!
            for j0 in stride(from: 0, to: n, by: panel) {
                let j1 = min(n, j0 + panel)
                // The diagonal block, row by row.
                for i in j0..<j1 {
                    let ai = a + i * n
                    for j in j0...i {
                        let aj = a + j * n
                        let v = ai[j] - dot(ai, aj, count: j)
                        if i == j {
                            guard v > 0, v.isFinite else { return false }
                            ai[i] = v.squareRoot()
                        } else {
                            ai[j] = v / aj[j]
                        }
                    }
                }
                guard j1 < n else { break }
                pool.parallelFor(n - j1, grain: max(8, (n - j1) / (4 * pool.threadCount))) { range in
                    var d = [Float](repeating: 0, count: panel)  // [panel] row i · the block's rows over columns 0..<j0
                    for i in (range.lowerBound + j1)..<(range.upperBound + j1) {
                        let ai = a + i * n
                        panelDots(ai, a + j0 * n, stride: n, rows: j1 - j0, count: j0, into: &d)
                        for c in 0..<(j1 - j0) {
                            let j = j0 + c, aj = a + j * n
                            var v = ai[j] - d[c]
                            for k in j0..<j { v -= ai[k] * aj[k] }
                            ai[j] = v / aj[j]
                        }
                    }
                }
            }
            return true
        }
    }

    /// d[c] = Σ_k x[k]·rows[c][k] over `count` values for up to eight rows `stride` apart: one
    /// load of x per sixteen lanes serves every row.
    @inline(__always)
    static func panelDots(_ x: UnsafePointer<Float>, _ rows: UnsafePointer<Float>, stride: Int, rows height: Int, count: Int, into d: inout [Float]) {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
        // Rows past `height` read row 0 again; their sums are not used.
        func row(_ c: Int) -> UnsafeRawPointer { UnsafeRawPointer(rows + (c < height ? c : 0) * stride) }
        let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3), r4 = row(4), r5 = row(5), r6 = row(6), r7 = row(7)
        var k = 0
        while k + 16 <= count {
            let v = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD16<Float>.self), o = 4 * k
            a0 += v * r0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            a1 += v * r1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            a2 += v * r2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            a3 += v * r3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            a4 += v * r4.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            a5 += v * r5.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            a6 += v * r6.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            a7 += v * r7.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            k += 16
        }
        let sums = [a0.sum(), a1.sum(), a2.sum(), a3.sum(), a4.sum(), a5.sum(), a6.sum(), a7.sum()]
        for c in 0..<height {
            var sum = sums[c]
            let rc = rows + c * stride
            for t in k..<count { sum += x[t] * rc[t] }
            d[c] = sum
        }
    }

    /// P·L⁻¹·P for the lower-triangular `l` ([n, n], only its lower triangle read): upper
    /// triangular. Forward substitution for 64 columns of L⁻¹ at once, so each row of L is read
    /// once per 64 columns rather than once per column; the batches split over `pool`.
    static func reversedInverse(_ l: [Float], _ n: Int, pool: ThreadPool) -> [Float] {
        let width = 64
        var result = [Float](repeating: 0, count: n * n)
        l.withUnsafeBufferPointer { lp in
            result.withUnsafeMutableBufferPointer { rp in
                let l = lp.baseAddress!, out = rp.baseAddress!
                pool.parallelFor((n + width - 1) / width, grain: 1) { batches in
                    let x = UnsafeMutablePointer<Float>.allocate(capacity: n * width)  // [n, 64] columns j0..<j0+64 of L⁻¹
                    defer { x.deallocate() }
                    for batch in batches {
                        let j0 = batch * width, count = min(width, n - j0)
                        for i in j0..<n {
                            // x[i] = (e_i − Σ_{k<i} L[i][k]·x[k]) / L[i][i], e the batch's unit vectors;
                            // x[k] is zero for k < j0 and, in column c, for k < j0 + c.
                            let li = l + i * n
                            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                            for k in j0..<i {
                                let v = li[k], xk = UnsafeRawPointer(x + k * width)
                                a0 += v * xk.loadUnaligned(as: SIMD16<Float>.self)
                                a1 += v * xk.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                                a2 += v * xk.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
                                a3 += v * xk.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
                            }
                            let inverse = 1 / li[i], xi = UnsafeMutableRawPointer(x + i * width)
                            xi.storeBytes(of: -a0 * inverse, as: SIMD16<Float>.self)
                            xi.storeBytes(of: -a1 * inverse, toByteOffset: 64, as: SIMD16<Float>.self)
                            xi.storeBytes(of: -a2 * inverse, toByteOffset: 128, as: SIMD16<Float>.self)
                            xi.storeBytes(of: -a3 * inverse, toByteOffset: 192, as: SIMD16<Float>.self)
                            if i - j0 < width { x[i * width + (i - j0)] += inverse }
                        }
                        for c in 0..<count {
                            let j = j0 + c
                            for i in j..<n { out[(n - 1 - i) * n + (n - 1 - j)] = x[i * width + c] }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Σ a[k]·b[k] over `count` values, sixteen lanes at a time.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var k = 0
        while k + 32 <= count {
            acc0 += UnsafeRawPointer(a + k).loadUnaligned(as: SIMD16<Float>.self) * UnsafeRawPointer(b + k).loadUnaligned(as: SIMD16<Float>.self)
            acc1 += UnsafeRawPointer(a + k + 16).loadUnaligned(as: SIMD16<Float>.self) * UnsafeRawPointer(b + k + 16).loadUnaligned(as: SIMD16<Float>.self)
            k += 32
        }
        var sum = (acc0 + acc1).sum()
        while k < count { sum += a[k] * b[k]; k += 1 }
        return sum
    }
}
