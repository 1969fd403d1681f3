import Foundation
import Testing
import LoomCore
import LoomFormats
@testable import LoomKernels

/// Block (de)quantization against gguf-py (tools/quant/make_quant_vectors.py wrote the vectors).
@Suite struct QuantVectorTests {
    static let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/quant-vectors.gguf").path

    static let dequantTypes: [QuantType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
                                            .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs]
    static let quantTypes: [QuantType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1]

    func floats(_ file: GGUFFile, _ name: String) throws -> [Float] {
        let info = try #require(file.tensor(named: name))
        #expect(info.type == .f32)
        return Array(file.data(for: info).bindMemory(to: Float.self))
    }

    @Test(arguments: dequantTypes) func dequantizeIsBitExact(type: QuantType) throws {
        let file = try GGUFFile(path: Self.vectors)
        let name = type.name.uppercased()
        let blocks = try #require(file.tensor(named: "\(name).blocks"))
        #expect(blocks.type.id == type.ggmlTypeID)
        let expected = try floats(file, "\(name).dequant")
        var got = [Float](repeating: .nan, count: blocks.elementCount)
        Dequantize.run(type, file.data(for: blocks).baseAddress!, count: got.count, into: &got)
        #expect(got.count == expected.count)
        let mismatches = zip(got, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        #expect(mismatches.count == 0, "\(mismatches.count) mismatches, first \(mismatches.prefix(3).map { ($0.offset, $0.element.0, $0.element.1) })")
    }

    @Test(arguments: quantTypes) func quantizeIsByteIdentical(type: QuantType) throws {
        let file = try GGUFFile(path: Self.vectors)
        let name = type.name.uppercased()
        let input = try floats(file, "\(name).input")
        let expected = try #require(file.tensor(named: "\(name).quant"))
        var got = [UInt8](repeating: 0xAA, count: type.rowBytes(input.count))
        #expect(Quantize.run(type, input, count: input.count, into: &got))
        let want = Array(file.data(for: expected))
        #expect(got.count == want.count)
        let mismatches = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(mismatches.count == 0, "\(mismatches.count) bytes differ, first at \(mismatches.prefix(5))")
    }
}

/// MXFP4 (gpt-oss's expert format, GGML type 39) against gguf-py
/// (tools/goldens/make_mxfp4_golden.py): dequantization bit for bit, edge exponents included
/// (E8M0 0 and 1 are subnormal halves, 255 overflows a value of 12 to infinity as in ggml), and
/// the matrix product against those exact weights within the rounding of 8-bit activations.
@Suite struct MXFP4Tests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/mxfp4").path
    static let (rows, cols) = (16, 256)

    static func fixture() throws -> (blocks: [UInt8], dequantized: [Float]) {
        let blocks = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/blocks.bin")))
        let raw = try Data(contentsOf: URL(fileURLWithPath: directory + "/dequantized.f32"))
        let floats = raw.withUnsafeBytes { bytes in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return (blocks, floats)
    }

    @Test func dequantizeIsBitExact() throws {
        let (blocks, expected) = try Self.fixture()
        #expect(QuantType(ggmlTypeID: 39) == .mxfp4 && blocks.count == QuantType.mxfp4.rowBytes(Self.rows * Self.cols))
        var got = [Float](repeating: .nan, count: expected.count)
        blocks.withUnsafeBytes { Dequantize.run(.mxfp4, $0.baseAddress!, count: got.count, into: &got) }
        let mismatches = zip(got, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first \(mismatches.prefix(3).map { ($0.offset, $0.element.0, $0.element.1) })")
        #expect(expected.contains(.infinity) && expected.contains { $0 != 0 && abs($0) < Float.leastNormalMagnitude })
    }

    /// Products on every path, in the native layout and repacked into groups of 8 rows (the x8
    /// kernels, which the loader uses), within the activations' 8-bit rounding of the exact sums.
    @Test(arguments: [1, 3, 6], [false, true]) func productMatchesTheDequantizedWeights(batch: Int, repack: Bool) throws {
        let (blocks, weights) = try Self.fixture()
        // The quantized rows; 14 and 15 hold the edge exponents. Repacking takes groups of 8.
        let rows = repack ? 8 : 14
        var generator = SystemRandomNumberGenerator()
        let x = (0..<(batch * Self.cols)).map { _ in Float.random(in: -2...2, using: &generator) }
        for path in KernelPath.supported {
            let matrix = try blocks.withUnsafeBytes {
                try QuantizedMatrix(type: .mxfp4, data: $0.baseAddress!, byteCount: QuantType.mxfp4.rowBytes(rows * Self.cols),
                                    rows: rows, cols: Self.cols, owner: nil, path: path,
                                    repackingInto: repack ? MemoryArena(name: "test") : nil)
            }
            #expect(matrix.isArenaResident == (repack && path != .portable))
            var y = [Float](repeating: .nan, count: batch * rows)
            var scratch = [UInt8](repeating: 0, count: matrix.scratchBytes(batch: batch) + 64)
            scratch.withUnsafeMutableBytes { raw in
                let aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: raw.baseAddress!) + 63) & ~63)!
                matrix.multiply(x, batch: batch, into: &y, scratch: aligned, pool: ThreadPool(threads: 2))
            }
            for b in 0..<batch {
                for r in 0..<rows {
                    var exact = 0.0, bound = 0.0
                    for block in 0..<(Self.cols / 32) {
                        let span = (block * 32)..<((block + 1) * 32)
                        // Activations round to a step of max|x|/127 per block of 32: half a step each.
                        let step = Double(span.map { abs(x[b * Self.cols + $0]) }.max()!) / 127
                        for c in span {
                            let w = Double(weights[r * Self.cols + c])
                            exact += w * Double(x[b * Self.cols + c])
                            bound += abs(w) * step / 2
                        }
                    }
                    #expect(abs(Double(y[b * rows + r]) - exact) <= bound * 1.01 + 1e-6 * abs(exact),
                            "\(path) batch \(b) row \(r): \(y[b * rows + r]) against \(exact) ± \(bound)")
                }
            }
        }
    }
}
