import Testing
import LoomCore
@testable import LoomKernels

/// The AVX-512 BF16 path for bf16 weights (LoomKernelsBF16C): activations split into bf16 hi + lo
/// and multiplied with vdpbf16ps. Checked against a float64 product by MatrixKernelTests.check,
/// whose bound for this path comes from the split (2⁻¹⁶ per term) plus f32 accumulation.
@Suite(.enabled(if: FloatMatrix.hasBF16DotProducts(.bf16, .active), "needs AVX-512 BF16"))
struct BF16DotProductTests {
    @Test func dotProductTilesAgainstFloat64() throws {
        // Rows in and out of whole 4-row tiles; columns around the 32-column step (masked tail
        // loads, zero-padded split rows); batches 1...9 cover every leftover-activation count.
        for rows in [1, 4, 7, 37] {
            for cols in [1, 31, 32, 33, 100, 257] {
                for batch in 1...9 {
                    try MatrixKernelTests().check(.bf16, path: .active, rows: rows, cols: cols, batch: batch, threads: 2)
                }
            }
        }
    }

    @Test func usesDotProductsOnlyForPromptsAndAsksForScratch() throws {
        let bytes = [UInt8](repeating: 0, count: 8 * 100 * 2)
        try bytes.withUnsafeBytes { raw in
            // Batch invariance (the runtime's default) keeps them off unless asked for.
            let invariant = try FloatMatrix(type: .bf16, data: raw.baseAddress!, byteCount: raw.count, rows: 8, cols: 100, owner: nil)
            #expect(!invariant.usesBF16DotProducts)
            let matrix = try FloatMatrix(type: .bf16, data: raw.baseAddress!, byteCount: raw.count, rows: 8, cols: 100, owner: nil,
                                         bf16DotProducts: true)
            #expect(matrix.usesBF16DotProducts)
            #expect(matrix.scratchBytes(batch: 1) == 0)
            #expect(matrix.scratchBytes(batch: 5) == 5 * 2 * 128 * 2)  // [batch, hi and lo, 100 rounded up to 32] bf16
            let fma = try FloatMatrix(type: .bf16, data: raw.baseAddress!, byteCount: raw.count, rows: 8, cols: 100, owner: nil,
                                      bf16DotProducts: false)
            #expect(!fma.usesBF16DotProducts && fma.scratchBytes(batch: 5) == 0)
        }
    }

    /// Infinities and NaNs come out where the f32 FMA kernel gives them, and activations beyond
    /// the largest finite bf16 (which round to infinity as bf16) stay finite.
    @Test func specialValuesMatchTheFMAKernel() throws {
        let rows = 8, cols = 40, batch = 4
        var rng = SplitMix64(seed: 11)
        let weights = (0..<(rows * cols)).map { _ in floatToBF16(rng.normal() * 0.01) }  // [rows, cols], |w| < 1
        var x = (0..<(batch * cols)).map { _ in rng.normal() }  // [batch, cols]
        x[0 * cols + 3] = .infinity
        x[1 * cols + 39] = -.infinity
        x[2 * cols + 5] = .nan
        x[3 * cols + 7] = .greatestFiniteMagnitude
        x[3 * cols + 8] = -Float(bitPattern: 0x7F7F_F000)  // rounds to -inf as bf16
        try weights.withUnsafeBytes { raw in
            func run(_ dot: Bool) throws -> [Float] {
                let m = try FloatMatrix(type: .bf16, data: raw.baseAddress!, byteCount: raw.count, rows: rows, cols: cols, owner: nil,
                                        bf16DotProducts: dot)
                let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(64, m.scratchBytes(batch: batch)), alignment: 64)
                defer { scratch.deallocate() }
                var y = [Float](repeating: 0, count: batch * rows)  // [batch, rows]
                m.multiply(x, batch: batch, into: &y, scratch: scratch, pool: ThreadPool(threads: 1))
                return y
            }
            let (dot, fma) = (try run(true), try run(false))
            for i in 0..<(batch * rows) {
                #expect(dot[i].isNaN == fma[i].isNaN, "output \(i): \(dot[i]) vs \(fma[i])")
                #expect(dot[i].isInfinite == fma[i].isInfinite, "output \(i): \(dot[i]) vs \(fma[i])")
                if fma[i].isFinite { #expect(abs(dot[i] - fma[i]) <= 1e-4 * abs(fma[i]), "output \(i): \(dot[i]) vs \(fma[i])") }
            }
            #expect(fma[3 * rows].isFinite)  // the large-but-finite row is a real check
            #expect(fma[0].isInfinite && fma[2 * rows].isNaN)
        }
    }
}
