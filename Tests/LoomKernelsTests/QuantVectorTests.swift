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
