import Foundation
import LoomCore
import LoomFormats
@testable import LoomKernels
@testable import LoomModel
import Testing

/// EXL2 checkpoints on the CPU: the tiny Llama of tools/exl2/make-fixtures, in EXL2 and as the
/// float model exllamav2 would rebuild (its reference folder).
@Suite struct EXL2ModelTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/exl2")
    static let exl2 = fixtures.appendingPathComponent("tiny-llama-exl2").path
    static let reference = fixtures.appendingPathComponent("tiny-llama-reference").path
    static let layers = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                         "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
    static let names = (0..<2).flatMap { i in layers.map { "model.layers.\(i).\($0).weight" } } + ["lm_head.weight"]

    /// Every repacked weight, rounded to fp16, is exllamav2's rebuilt weight to the bit: the
    /// segments hold the same integers and scales, and d·v in f32 is exact before that rounding.
    @Test func repackedWeightsAreExllamasToTheBit() throws {
        let source = SafeTensorsWeightSource(archive: try SafeTensorsArchive(directory: Self.exl2))
        let expected = try SafeTensorsArchive(directory: Self.reference)
        var formats = Set<String>()
        for name in Self.names {
            let view = try expected.tensor(name)
            let (rows, cols) = (view.shape[0], view.shape[1])
            #expect(source.contains(name))
            let matrix = try source.matrix(name, rows: rows, cols: cols, arena: MemoryArena(name: "test"), activations: .standard)
            formats.insert(matrix.formatName)
            #expect(try source.matrixBytes(name) == matrix.byteCount, "\(name): planned bytes")
            // The planner's sizing (no arena, no weight read) agrees with the loaded matrix.
            let sizing = try source.matrix(name, rows: rows, cols: cols, arena: nil, activations: .standard)
            #expect(sizing.byteCount == matrix.byteCount && sizing.formatName == matrix.formatName, "\(name): sizing")
            #expect([1, 7, 64].allSatisfy { sizing.scratchBytes(batch: $0) == matrix.scratchBytes(batch: $0) }, "\(name): scratch")
            let reference = view.bytes.bindMemory(to: UInt16.self)
            var row = [Float](repeating: 0, count: cols), wrong = 0
            for r in 0..<rows {
                matrix.row(r, into: &row)
                for c in 0..<cols where Float16(row[c]).bitPattern != reference[r * cols + c] { wrong += 1 }
            }
            #expect(wrong == 0, "\(name) (\(matrix.formatName)): \(wrong) of \(rows * cols) weights differ")
        }
        // Every width went to its format: 8 and 6 bits to q8_0, 5 to q5_0, 4, 3 and 2 to q4_0.
        #expect(formats.contains("exl2(q8_0+q4_0)") && formats.contains("exl2(q8_0+q5_0+q4_0)") && formats.contains("exl2(q5_0+q4_0)"), "\(formats)")
    }

    /// Products against f32 arithmetic on the same weights, within what rounding the activations
    /// to 8 bits per block of 32 allows (half a step of each block's absolute maximum / 127);
    /// a batch's rows equal the rows computed alone.
    @Test func productsStayWithinTheActivationRoundingAndAreBatchInvariant() throws {
        let source = SafeTensorsWeightSource(archive: try SafeTensorsArchive(directory: Self.exl2))
        let pool = ThreadPool(threads: 2)
        for name in ["model.layers.0.mlp.down_proj.weight", "model.layers.1.self_attn.q_proj.weight", "lm_head.weight"] {
            let reference = try SafeTensorsArchive(directory: Self.reference).tensor(name)
            let (rows, cols) = (reference.shape[0], reference.shape[1])
            let matrix = try source.matrix(name, rows: rows, cols: cols, arena: MemoryArena(name: "test"), activations: .standard)
            let w = reference.bytes.bindMemory(to: UInt16.self).map { Float(Float16(bitPattern: $0)) }
            let batch = 3
            var x = [Float](repeating: 0, count: batch * cols)
            var state: UInt64 = 7
            for i in x.indices {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                x[i] = Float(Int64(bitPattern: state >> 11) % 2000) / 1000
            }
            var y = [Float](repeating: 0, count: batch * rows)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: matrix.scratchBytes(batch: batch), alignment: 64)
            defer { scratch.deallocate() }
            matrix.multiply(x, batch: batch, into: &y, scratch: scratch, pool: pool)
            for b in 0..<batch {
                var alone = [Float](repeating: 0, count: rows)
                x.withUnsafeBufferPointer { matrix.multiply($0.baseAddress! + b * cols, batch: 1, into: &alone, scratch: scratch, pool: pool) }
                #expect(Array(y[(b * rows)..<((b + 1) * rows)]) == alone, "\(name): row \(b) of the batch differs from alone")
                // Each activation moves by at most half a step of 127 levels of its block's maximum;
                // the gather mixes blocks, so take the row's largest activation for every block.
                let top = Double((0..<cols).map { abs(x[b * cols + $0]) }.max()!)
                for r in 0..<rows {
                    var exact = 0.0, absolute = 0.0
                    for c in 0..<cols {
                        exact += Double(w[r * cols + c]) * Double(x[b * cols + c])
                        absolute += Double(abs(w[r * cols + c]))
                    }
                    let bound = top / 254 * absolute + 1e-5
                    #expect(abs(Double(y[b * rows + r]) - exact) <= bound, "\(name) [\(b), \(r)]: \(y[b * rows + r]) against \(exact), bound \(bound)")
                }
            }
        }
    }
}
