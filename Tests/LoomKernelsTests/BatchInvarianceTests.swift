import Foundation
import Testing
import LoomCore
@testable import LoomKernels

/// Batch invariance of the matrix kernels: activation row c of a product over a batch of N rows
/// is bit for bit the product of that row alone, for every N, every kernel path this CPU runs,
/// every layout and rounding. The runtime relies on it: a pass carries the rows of many
/// sequences, and a request's tokens must not depend on which others share its passes.
@Suite struct BatchInvarianceTests {
    static let batches = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17]

    static var paths: [KernelPath] { [KernelPath.avx512, .avx2, .portable].filter(\.isSupported) }

    /// Each product of `matrix` over every batch size, row by row, against the rows alone.
    func check(_ matrix: any WeightMatrix, label: String, threads: Int) {
        var rng = SplitMix64(seed: 11)
        let cols = matrix.cols, rows = matrix.rows, most = Self.batches.max()!
        let x = (0..<(most * cols)).map { _ in rng.normal() * (rng.next() % 8 == 0 ? 4 : 1) }  // [most, cols]
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(64, matrix.scratchBytes(batch: most)), alignment: 64)
        defer { scratch.deallocate() }
        let pool = ThreadPool(threads: threads)
        var alone = [[UInt32]]()
        for c in 0..<most {
            var y = [Float](repeating: .nan, count: rows)
            x.withUnsafeBufferPointer { matrix.multiply($0.baseAddress! + c * cols, batch: 1, into: &y, scratch: scratch, pool: pool) }
            alone.append(y.map(\.bitPattern))
        }
        var failures: [String] = []
        for batch in Self.batches {
            var y = [Float](repeating: .nan, count: batch * rows)
            matrix.multiply(x, batch: batch, into: &y, scratch: scratch, pool: pool)
            for c in 0..<batch where Array(y[(c * rows)..<((c + 1) * rows)].map(\.bitPattern)) != alone[c] {
                failures.append("batch \(batch) row \(c)")
            }
        }
        #expect(failures.isEmpty, "\(label), \(threads) threads: \(failures.prefix(6).joined(separator: ", "))")
    }

    @Test(arguments: MatrixKernelTests.quantTypes)
    func quantizedProductsDoNotDependOnTheBatch(type: QuantType) throws {
        let (rows, cols) = (72, 512)
        let weights = MatrixKernelTests.randomWeights(type, rows: rows, cols: cols, seed: 5)
        try weights.withUnsafeBytes { raw in
            for path in Self.paths {
                for repack in [false, true] {
                    for activations in [ActivationRounding.standard, .fine] {
                        let matrix = try QuantizedMatrix(type: type, data: raw.baseAddress!, byteCount: raw.count, rows: rows, cols: cols,
                                                         owner: nil, path: path, repackingInto: repack ? MemoryArena(name: "test") : nil,
                                                         activations: activations)
                        for threads in [1, 2] {
                            check(matrix, label: "\(type.name) \(path) repack \(repack) \(activations)", threads: threads)
                        }
                    }
                }
            }
        }
    }

    @Test(arguments: MatrixKernelTests.floatTypes)
    func floatProductsDoNotDependOnTheBatch(type: QuantType) throws {
        let (rows, cols) = (70, 256)
        let weights = MatrixKernelTests.randomWeights(type, rows: rows, cols: cols, seed: 6)
        try weights.withUnsafeBytes { raw in
            for path in Self.paths {
                // The default: vdpbf16ps, which rounds batches only, stays off.
                let matrix = try FloatMatrix(type: type, data: raw.baseAddress!, byteCount: raw.count, rows: rows, cols: cols,
                                             owner: nil, path: path)
                for threads in [1, 2] { check(matrix, label: "\(type.name) \(path)", threads: threads) }
            }
        }
    }

    /// Products sharing one input (a layer's q/k/v) equal the products run one by one.
    @Test func sharedInputProductsDoNotDependOnTheBatch() throws {
        let cols = 256
        let shapes = [64, 16, 16]
        let weights = shapes.enumerated().map { MatrixKernelTests.randomWeights(.q8_0, rows: $1, cols: cols, seed: UInt64(20 + $0)) }
        let arena = MemoryArena(name: "test")
        let matrices: [any WeightMatrix] = try weights.enumerated().map { i, bytes in
            try bytes.withUnsafeBytes { raw in
                try QuantizedMatrix(type: .q8_0, data: raw.baseAddress!, byteCount: raw.count, rows: shapes[i], cols: cols, owner: nil,
                                    repackingInto: arena)
            }
        }
        var rng = SplitMix64(seed: 3)
        let x = (0..<(4 * cols)).map { _ in rng.normal() }
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: matrices[0].scratchBytes(batch: 4), alignment: 64)
        defer { scratch.deallocate() }
        let pool = ThreadPool(threads: 2)
        for c in 0..<4 {
            // One flat output buffer for the three products run together.
            var together = [Float](repeating: 0, count: shapes.reduce(0, +))
            var separate = shapes.map { [Float](repeating: 0, count: $0) }
            x.withUnsafeBufferPointer { xs in
                let row = xs.baseAddress! + c * cols
                together.withUnsafeMutableBufferPointer { out in
                    let y = out.baseAddress!
                    multiply(row, batch: 1, by: [(matrices[0], y), (matrices[1], y + shapes[0]), (matrices[2], y + shapes[0] + shapes[1])],
                             scratch: scratch, pool: pool)
                }
                for i in 0..<3 { matrices[i].multiply(row, batch: 1, into: &separate[i], scratch: scratch, pool: pool) }
            }
            #expect(together.map(\.bitPattern) == separate.flatMap { $0 }.map(\.bitPattern))
        }
    }

    /// Which thread runs which rows never changes a result: every product on pools of 1 to 4
    /// threads is bit for bit the same, one token (split into parts) or a batch (claimed tiles).
    @Test(arguments: [QuantType.q4_0, .q8_0, .bf16])
    func productsDoNotDependOnTheThreadCount(type: QuantType) throws {
        let (rows, cols) = (136, 512)
        let weights = MatrixKernelTests.randomWeights(type, rows: rows, cols: cols, seed: 9)
        var rng = SplitMix64(seed: 13)
        let batch = 17
        let x = (0..<(batch * cols)).map { _ in rng.normal() }
        let pools = (1...4).map { ThreadPool(threads: $0) }
        try weights.withUnsafeBytes { raw in
            for path in Self.paths {
                for repack in MatrixKernelTests.floatTypes.contains(type) ? [false] : [false, true] {
                    let matrix: any WeightMatrix = MatrixKernelTests.floatTypes.contains(type)
                        ? try FloatMatrix(type: type, data: raw.baseAddress!, byteCount: raw.count, rows: rows, cols: cols, owner: nil, path: path)
                        : try QuantizedMatrix(type: type, data: raw.baseAddress!, byteCount: raw.count, rows: rows, cols: cols, owner: nil,
                                              path: path, repackingInto: repack ? MemoryArena(name: "test") : nil)
                    let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(64, matrix.scratchBytes(batch: batch)), alignment: 64)
                    defer { scratch.deallocate() }
                    for n in [1, batch] {
                        let results = pools.map { pool in
                            var y = [Float](repeating: .nan, count: n * rows)
                            matrix.multiply(x, batch: n, into: &y, scratch: scratch, pool: pool)
                            return y.map(\.bitPattern)
                        }
                        for (i, result) in results.enumerated() {
                            #expect(result == results[0], "\(type.name) \(path) repack \(repack) batch \(n): \(i + 1) threads differ from 1")
                        }
                    }
                }
            }
        }
    }
}
