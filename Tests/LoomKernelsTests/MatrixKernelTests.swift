import Foundation
import Testing
import LoomCore
@testable import LoomKernels

/// Every kernel on every path this CPU runs, against a float64 product over the dequantized
/// weights (dequantization itself is checked bit-exact against gguf-py in QuantVectorTests).
///
/// Tolerance: activations are rounded to the nearest multiple of d = max|x|/127 over each block
/// of 32, so each product errs by at most |w|·d/2; the bound is Σ|w_i|·d_i/2 plus f32 rounding
/// of the accumulation, n·2⁻²⁴·Σ|w_i·x_i|. Float matrices keep f32 activations: only the second term.
/// That bound is loose, so quantized kernels are also held to a tight one: against the product with
/// the activations quantized as the kernels do (x̂ = d·round(x/d)), only f32 rounding remains.
/// The x8 kernels take d over each 16 values, or with fine rounding also the residual in steps
/// of d/128 (see `Q8Activations`): that bound is 128 times tighter, and x̂ = d·(q + r/128).
///
/// bf16 prompt batches on AVX-512 BF16 split each activation into hi = bf16(x), lo = bf16(x − hi)
/// (round to nearest even, 8-bit significands): |x − hi| ≤ 2⁻⁸|x| and |x − hi − lo| ≤ 2⁻⁸|x − hi|,
/// so each term errs by at most 2⁻¹⁶|w·x|, and the sum has 2·cols terms (hi and lo products,
/// exact in f32) to round: bound 2⁻¹⁶·Σ|w·x| + (2·cols + 16)·2⁻²⁴·Σ|w·x|. The tight check uses
/// x̂ = hi + lo computed here with LoomCore's floatToBF16.
@Suite struct MatrixKernelTests {
    static let quantTypes: [QuantType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs]
    static let floatTypes: [QuantType] = [.f32, .f16, .bf16]

    /// Byte offsets of each block's f16 scales, which are set to small finite values.
    static func scaleOffsets(_ type: QuantType) -> [Int] {
        switch type {
        case .q4_0, .q5_0, .q8_0, .iq4_nl, .iq4_xs: return [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q2_K: return [80, 82]
        case .q3_K: return [108]
        case .q6_K: return [208]
        default: return []
        }
    }

    static func randomWeights(_ type: QuantType, rows: Int, cols: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        if type.blockSize == 1 {
            var bytes = [UInt8](repeating: 0, count: rows * cols * type.blockBytes)
            for i in 0..<(rows * cols) {
                let value = rng.normal()
                switch type {
                case .f32: withUnsafeBytes(of: value) { for k in 0..<4 { bytes[4 * i + k] = $0[k] } }
                case .f16: withUnsafeBytes(of: floatToF16(value)) { for k in 0..<2 { bytes[2 * i + k] = $0[k] } }
                default: withUnsafeBytes(of: floatToBF16(value)) { for k in 0..<2 { bytes[2 * i + k] = $0[k] } }
                }
            }
            return bytes
        }
        var bytes = (0..<(rows * type.rowBytes(cols))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for block in 0..<(bytes.count / type.blockBytes) {
            for offset in scaleOffsets(type) {
                let scale = floatToF16(0.01 + 0.02 * abs(rng.normal()))
                bytes[block * type.blockBytes + offset] = UInt8(scale & 0xFF)
                bytes[block * type.blockBytes + offset + 1] = UInt8(scale >> 8)
            }
        }
        return bytes
    }

    func check(_ type: QuantType, path: KernelPath, rows: Int, cols: Int, batch: Int, threads: Int, repack: Bool = false,
               activations: ActivationRounding = .standard, bf16DotProducts: Bool = true) throws {
        let weights = Self.randomWeights(type, rows: rows, cols: cols, seed: UInt64(rows * 31 + cols + batch))
        var rng = SplitMix64(seed: 7)
        let x = (0..<(batch * cols)).map { _ in rng.normal() * (rng.next() % 8 == 0 ? 4 : 1) }  // [batch, cols]
        try weights.withUnsafeBytes { raw in
            let matrix: WeightMatrix = type.blockSize == 1
                ? try FloatMatrix(type: type, data: raw.baseAddress!, byteCount: raw.count, rows: rows, cols: cols, owner: nil, path: path,
                                  bf16DotProducts: bf16DotProducts)
                : try QuantizedMatrix(type: type, data: raw.baseAddress!, byteCount: raw.count, rows: rows, cols: cols, owner: nil,
                                      path: path, repackingInto: repack ? MemoryArena(name: "test") : nil, activations: activations)
            if repack, let quantized = matrix as? QuantizedMatrix {
                #expect(quantized.isInterleaved == (path != .portable))
                #expect(quantized.rounding == (path == .portable || type.blockSize != 32 ? .blocks : activations == .fine ? .residual : .halves))
                // Rows read back from the interleaved copy are the original rows, bit for bit.
                var fromCopy = [Float](repeating: 0, count: cols), original = [Float](repeating: 0, count: cols)
                for r in [0, 5, rows - 1] {
                    quantized.row(r, into: &fromCopy)
                    Dequantize.run(type, raw.baseAddress! + r * type.rowBytes(cols), count: cols, into: &original)
                    #expect(fromCopy.map(\.bitPattern) == original.map(\.bitPattern))
                }
            }
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(64, matrix.scratchBytes(batch: batch)), alignment: 64)
            defer { scratch.deallocate() }
            var y = [Float](repeating: .nan, count: batch * rows)  // [batch, rows]
            let pool = ThreadPool(threads: threads)
            matrix.multiply(x, batch: batch, into: &y, scratch: scratch, pool: pool)
            var w = [Float](repeating: 0, count: cols)
            var worst = 0.0
            let split = batch > 1 && (matrix as? FloatMatrix)?.usesBF16DotProducts == true
            // x̂: the activations as the kernels quantize or split them (ties of q, which round
            // either way, are vanishingly rare for random inputs; the x86 quantizer rounds to nearest
            // even). x8 kernels take a scale per 16 values, or (fine) the residual r in steps of
            // d/128, whose ties are common, so the x86 rounding is modelled exactly there.
            let rounding = (matrix as? QuantizedMatrix)?.rounding ?? .blocks
            let scaleBlock = rounding == .halves ? 16 : 32
            var xq = [Double](repeating: 0, count: x.count)
            var step = [Double](repeating: 0, count: x.count)  // the largest rounding error of each x̂
            for (i, value) in x.enumerated() where split {
                let hi = bf16ToFloat(floatToBF16(value))
                xq[i] = Double(hi) + Double(bf16ToFloat(floatToBF16(value - hi)))
            }
            for start in stride(from: 0, to: x.count, by: scaleBlock) where type.blockSize > 1 {
                let amax = x[start..<(start + scaleBlock)].map(abs).max()!
                let d = amax / 127, inverse: Float = d == 0 ? 0 : 1 / d
                for i in start..<(start + scaleBlock) {
                    let scaled = x[i] * inverse
                    let q = scaled.rounded(rounding == .blocks ? .toNearestOrAwayFromZero : .toNearestOrEven)
                    let r = rounding == .residual ? ((scaled - q) * 128).rounded(.toNearestOrEven) : 0
                    xq[i] = Double(d) * (Double(q) + Double(r) / 128)
                    step[i] = Double(d) / 2 / (rounding == .residual ? 128 : 1)
                }
            }
            for r in 0..<rows {
                matrix.row(r, into: &w)
                for b in 0..<batch {
                    var exact = 0.0, magnitude = 0.0, quantization = 0.0, exactQuantized = 0.0, magnitudeQuantized = 0.0
                    for c in 0..<cols {
                        let xv = Double(x[b * cols + c])
                        exact += Double(w[c]) * xv
                        magnitude += abs(Double(w[c]) * xv)
                        exactQuantized += Double(w[c]) * xq[b * cols + c]
                        magnitudeQuantized += abs(Double(w[c]) * xq[b * cols + c])
                        quantization += abs(Double(w[c])) * step[b * cols + c]
                    }
                    let additions = split ? 2 * cols + 16 : cols
                    let splitError = split ? 0x1p-16 * magnitude : 0
                    let bound = quantization * 1.001 + splitError + Double(additions) * 0x1p-24 * magnitude + 1e-30
                    let error = abs(Double(y[b * rows + r]) - exact)
                    worst = max(worst, error / bound)
                    #expect(error <= bound, "\(type.name) \(path) row \(r) batch \(b): \(y[b * rows + r]) vs \(exact), bound \(bound)")
                    if type.blockSize > 1 || split {
                        let tight = Double(additions) * (split ? 0x1p-24 : 0x1p-23) * magnitudeQuantized + 1e-30
                        let tightError = abs(Double(y[b * rows + r]) - exactQuantized)
                        #expect(tightError <= tight, "\(type.name) \(path) row \(r) batch \(b): \(y[b * rows + r]) vs \(exactQuantized) with x̂, bound \(tight)")
                    }
                }
            }
            // A kernel that ignored the activations would be far outside the bound; also make sure
            // the bound is not vacuous: it must be well below the size of the result.
            #expect(worst <= 1)
        }
    }

    @Test(arguments: quantTypes) func quantizedMatVecAndMatMul(type: QuantType) throws {
        let cols = type.blockSize == 256 ? 512 : 96
        for path in KernelPath.supported {
            try check(type, path: path, rows: 37, cols: cols, batch: 1, threads: 2)
            try check(type, path: path, rows: 37, cols: cols, batch: 5, threads: 2)
            try check(type, path: path, rows: 72, cols: cols, batch: 8, threads: 2)
            if type.blockSize == 256 {
                // Rows in groups of 8 take the expanding kernel: 40 slices span two expansions
                // (partial sums carried in y), and 6 activation rows end in a partial quad.
                try check(type, path: path, rows: 16, cols: 1280, batch: 6, threads: 2)
            }
        }
    }

    @Test(arguments: [QuantType.q8_0, .q4_0, .q5_0, .iq4_nl]) func interleavedMatVecAndMatMul(type: QuantType) throws {
        for path in KernelPath.supported {
            for batch in [1, 3, 8, 70] {
                try check(type, path: path, rows: 40, cols: 96, batch: batch, threads: 2, repack: true)
                try check(type, path: path, rows: 40, cols: 96, batch: batch, threads: 2, repack: true, activations: .fine)
            }
        }
    }

    /// q4_K, q5_K, q6_K and iq4_xs in groups of 8 rows: one and two 256-weight blocks, batches that end
    /// in partial quads.
    @Test(arguments: [QuantType.q4_K, .q5_K, .q6_K, .iq4_xs]) func interleavedKFormatMatVecAndMatMul(type: QuantType) throws {
        for path in KernelPath.supported {
            for batch in [1, 3, 8, 70] {
                try check(type, path: path, rows: 40, cols: 512, batch: batch, threads: 2, repack: true)
                try check(type, path: path, rows: 16, cols: 256, batch: batch, threads: 2, repack: true)
            }
        }
    }

    @Test(arguments: floatTypes) func floatMatVecAndMatMul(type: QuantType) throws {
        for path in KernelPath.supported {
            try check(type, path: path, rows: 37, cols: 100, batch: 1, threads: 2)
            try check(type, path: path, rows: 21, cols: 64, batch: 3, threads: 1)
            // 4×4 tiles plus leftover rows, activation rows and columns past a multiple of 16.
            try check(type, path: path, rows: 37, cols: 100, batch: 6, threads: 2)
            // The FMA tile too where bf16 would take vdpbf16ps (BF16DotProductTests covers that).
            try check(type, path: path, rows: 37, cols: 100, batch: 6, threads: 2, bf16DotProducts: false)
        }
    }

    /// `multiply(_:batch:by:)` runs products that share their input as one loop (decode), or one
    /// by one: either way every output must be bit for bit what the matrix's own `multiply` gives.
    /// The sets cover shared quantized input (q4_0, q5_0 and q8_0, repacked or not, rows not a
    /// multiple of the units), float matrices, and inputs that cannot be shared (a K format with
    /// an interleaved q8_0; a float with a quantized matrix).
    @Test func sharedInputProductsMatchSeparateProducts() throws {
        let cols = 256
        let sets: [[(QuantType, Int, Bool)]] = [
            [(.q4_0, 40, true), (.q5_0, 16, true), (.q8_0, 24, true)],
            [(.q4_0, 37, false), (.q8_0, 13, false)],
            [(.f16, 37, false), (.bf16, 9, false)],
            [(.q4_K, 16, false), (.q8_0, 24, true)],
            [(.f16, 8, false), (.q4_0, 8, true)],
        ]
        for path in KernelPath.supported {
            for (index, set) in sets.enumerated() {
                let weights = set.enumerated().map { Self.randomWeights($1.0, rows: $1.1, cols: cols, seed: UInt64(100 * index + $0)) }
                let arena = MemoryArena(name: "test")
                let matrices: [any WeightMatrix] = try zip(set, weights).map { spec, bytes in
                    let (type, rows, repack) = spec
                    let data = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
                    data.copyMemory(from: bytes, byteCount: bytes.count)
                    let owner = Deallocating(data)
                    return type.blockSize == 1
                        ? try FloatMatrix(type: type, data: data, byteCount: bytes.count, rows: rows, cols: cols, owner: owner, path: path)
                        : try QuantizedMatrix(type: type, data: data, byteCount: bytes.count, rows: rows, cols: cols, owner: owner,
                                              path: path, repackingInto: repack ? arena : nil)
                }
                for (batch, threads) in [(1, 2), (1, 3), (3, 2)] {
                    var rng = SplitMix64(seed: UInt64(batch))
                    let x = (0..<(batch * cols)).map { _ in rng.normal() }
                    let scratchBytes = max(64, matrices.map { $0.scratchBytes(batch: batch) }.max()!)
                    let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
                    defer { scratch.deallocate() }
                    let pool = ThreadPool(threads: threads)
                    let outputs = matrices.map { UnsafeMutablePointer<Float>.allocate(capacity: batch * $0.rows) }
                    defer { outputs.forEach { $0.deallocate() } }
                    for (output, matrix) in zip(outputs, matrices) { output.initialize(repeating: .nan, count: batch * matrix.rows) }
                    let products = Array(zip(matrices, outputs)).map { (matrix: $0, y: $1) }
                    // The first three sets share their input. On the portable path nothing is repacked,
                    // so the K format and q8_0 round their activations alike and share it too.
                    let shares = index < 3 || (index == 3 && path == .portable)
                    #expect((sharedDecodeWork(x, products, scratch: scratch, pool: pool) != nil) == shares, "\(path) set \(index)")
                    multiply(x, batch: batch, by: products, scratch: scratch, pool: pool)
                    for (output, matrix) in zip(outputs, matrices) {
                        var alone = [Float](repeating: .nan, count: batch * matrix.rows)
                        matrix.multiply(x, batch: batch, into: &alone, scratch: scratch, pool: pool)
                        let together = Array(UnsafeBufferPointer(start: output, count: batch * matrix.rows))
                        #expect(together.map(\.bitPattern) == alone.map(\.bitPattern),
                                "\(path) set \(index) \(matrix.formatName) batch \(batch) threads \(threads)")
                    }
                }
            }
        }
    }

    @Test func thisMachineRunsTheFastPaths() {
        // Records which paths the suite exercised; on the CI machine (Zen 4) all three run.
        let cpu = CPUFeatures.current
        #expect(KernelPath.supported.contains(.portable))
        if cpu.avx2 && cpu.fma && cpu.f16c { #expect(KernelPath.supported.contains(.avx2)) }
        if cpu.avx512vnni && cpu.avx512bw && cpu.avx512vl { #expect(KernelPath.fastest == .avx512) }
    }

    @Test func rejectsShapesThatAreNotWholeBlocks() {
        let bytes = [UInt8](repeating: 0, count: 1000)
        bytes.withUnsafeBytes { raw in
            #expect(throws: KernelError.self) {
                try QuantizedMatrix(type: .q4_K, data: raw.baseAddress!, byteCount: raw.count, rows: 1, cols: 96, owner: nil)
            }
            #expect(throws: KernelError.self) {
                try QuantizedMatrix(type: .q8_0, data: raw.baseAddress!, byteCount: raw.count, rows: 100, cols: 64, owner: nil)
            }
        }
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal sample (Box–Muller).
    mutating func normal() -> Float {
        let u1 = (Double(next() >> 11) + 0.5) / Double(1 << 53)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}

/// Frees a test matrix's weights when the matrix goes.
private final class Deallocating {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}
