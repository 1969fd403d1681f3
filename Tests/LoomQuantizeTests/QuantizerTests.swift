import Foundation
import LoomFormats
import LoomTokenizer
@testable import LoomKernels
@testable import LoomRuntime
import Testing

/// Loom's quantizer against llama-quantize on the demo model's trained weights.
///
/// The oracle (`Fixtures/llamacpp-quant-rows.gguf`) is tools/quant/make-llamacpp-fixtures.sh:
/// llama-quantize (llama.cpp of the llama-cpp-python 0.3.36 sdist) with --pure for each type
/// and with its mixes, on Models/loom-demo/gguf/loom-demo-F16.gguf. Blocks are decoded with
/// Loom's `Dequantize`, which QuantVectorTests holds bit-exact to gguf-py for every type.
@Suite struct QuantizerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixture = root.appendingPathComponent("Tests/LoomQuantizeTests/Fixtures/llamacpp-quant-rows.gguf").path
    static let f16 = root.appendingPathComponent("Models/loom-demo/gguf/loom-demo-F16.gguf").path
    static let rowNames = ["blk.1.ffn_down.weight", "blk.1.attn_q.weight"]
    static let types: [QuantType] = [.q8_0, .q4_0, .q5_0, .q6_K, .q5_K, .q4_K, .q3_K, .q2_K, .iq4_nl, .iq4_xs]

    struct Errors { var plain = 0.0, weighted = 0.0 }

    /// Σ (x − x̂)² and Σ √(σ² + x²)(x − x̂)² (σ² the mean square over each of the type's blocks,
    /// the weighting both quantizers use with a uniform importance) of `bytes` (rows of `type`)
    /// against `source`.
    static func errors(_ type: QuantType, _ bytes: UnsafeRawPointer, _ source: [Float]) -> Errors {
        var decoded = [Float](repeating: 0, count: source.count)
        Dequantize.run(type, bytes, count: source.count, into: &decoded)
        var e = Errors()
        let n = type.blockSize
        for start in stride(from: 0, to: source.count, by: n) {
            let sigma2 = source[start..<(start + n)].reduce(0.0) { $0 + Double($1 * $1) } / Double(n)
            for j in start..<(start + n) {
                let x = Double(source[j]), d = Double(source[j] - decoded[j])
                e.plain += d * d
                e.weighted += (sigma2 + x * x).squareRoot() * d * d
            }
        }
        return e
    }

    @Test(arguments: types) func roundingIsNoWorseThanLlamaCpp(type: QuantType) throws {
        let file = try GGUFFile(path: Self.fixture)
        for name in Self.rowNames {
            let sourceInfo = try #require(file.tensor(named: "source.\(name)"))
            let source = Array(file.data(for: sourceInfo).bindMemory(to: Float.self))  // [8, columns]
            let columns = sourceInfo.dimensions[0], rows = source.count / columns
            let theirs = try #require(file.tensor(named: "\(type.name.uppercased()).\(name)"))
            #expect(theirs.type.id == type.ggmlTypeID)
            var ours = [UInt8](repeating: 0, count: type.rowBytes(columns) * rows)
            source.withUnsafeBufferPointer { x in
                ours.withUnsafeMutableBytes { out in
                    for r in 0..<rows {
                        WeightedQuantize.row(type, x.baseAddress! + r * columns, count: columns, importance: nil,
                                             into: out.baseAddress! + r * type.rowBytes(columns))
                    }
                }
            }
            if type == .q8_0 {
                // q8_0 is llama.cpp's reference rounding: the same bytes.
                #expect(ours == Array(file.data(for: theirs)), "\(name)")
                continue
            }
            let mine = ours.withUnsafeBytes { Self.errors(type, $0.baseAddress!, source) }
            let reference = Self.errors(type, file.data(for: theirs).baseAddress!, source)
            // Without an importance matrix Loom minimises the √(σ² + x²)-weighted error; it must
            // beat llama.cpp there and on the plain squared error.
            #expect(mine.weighted <= reference.weighted, "\(type.name) \(name): weighted \(mine.weighted) vs llama.cpp \(reference.weighted)")
            #expect(mine.plain <= reference.plain, "\(type.name) \(name): plain \(mine.plain) vs llama.cpp \(reference.plain)")
            print("\(type.name) \(name): weighted \(mine.weighted / reference.weighted), plain \(mine.plain / reference.plain) of llama.cpp's")
        }
    }

    /// The mixes of the demo model, and Q4_K_M of a BERT encoder (tiny-bert: rows of 32, so
    /// every K type falls back; position and token-type embeddings kept as they are).
    @Test(arguments: ["Q4_K_M", "Q4_K_S", "Q3_K_M", "IQ4_NL", "IQ4_XS", "BERT-Q4_K_M"]) func mixesChooseLlamaCppsTypes(mix: String) throws {
        let fixture = try GGUFFile(path: Self.fixture)
        let names = try #require(try fixture.strings("mix.\(mix).tensors"))
        let types = try #require(try fixture.strings("mix.\(mix).types"))
        let fileBytes = try #require(try fixture.integer("mix.\(mix).file_bytes"))
        let isBERT = mix.hasPrefix("BERT-")
        let scheme = try #require(QuantizationScheme(rawValue: (isBERT ? String(mix.dropFirst(5)) : mix).lowercased()))
        let source = isBERT ? Self.root.appendingPathComponent("Tests/Fixtures/embeddings/tiny-bert/tiny-bert-f16.gguf").path : Self.f16
        let plan = try GGUFQuantizer.plan(try GGUFFile(path: source), scheme: scheme, importance: nil)
        // llama-quantize writes the tensors in its own order; compare by name.
        let theirs = Dictionary(uniqueKeysWithValues: zip(names, types))
        #expect(Set(plan.tensors.map(\.name)) == Set(names))
        for tensor in plan.tensors {
            #expect(tensor.type.name == theirs[tensor.name], "\(tensor.name): Loom \(tensor.type.name), llama.cpp \(theirs[tensor.name] ?? "none")")
        }
        #expect(plan.fileBytes == fileBytes)
    }

    /// The written file: readable, the planned size, and a model Loom runs with a perplexity
    /// near the F16 one.
    @Test func quantizedFileLoadsAndRuns() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("loom-quantize-\(getpid()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let source = try GGUFFile(path: Self.f16)
        let plan = try GGUFQuantizer.plan(source, scheme: .q4_k_m, importance: nil)
        try GGUFQuantizer.run(source, plan: plan, importance: nil, to: out, threads: 2)
        let size = try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int
        #expect(size == plan.fileBytes)
        let written = try GGUFFile(path: out)
        #expect(try written.integer("general.file_type") == 15)
        #expect(try written.strings("tokenizer.ggml.tokens") == source.strings("tokenizer.ggml.tokens"))
        #expect(written.tensors.map(\.name) == source.tensors.map(\.name))
        let text = try String(contentsOf: Self.root.appendingPathComponent("Models/loom-demo/eval.txt"), encoding: .utf8)
        let ids = try Tokenizer(ggufFile: Self.f16).encode(String(text.prefix(3000))).map(Int.init)
        func perplexity(_ path: String) throws -> Double {
            let engine = try Engine(path: path, options: EngineOptions(maxSequenceLength: 256, chunkTokens: 256, threads: 2, logitsRows: 64))
            return try engine.perplexity(tokens: ids, context: 256, stride: 128).perplexity
        }
        let base = try perplexity(Self.f16), quantized = try perplexity(out)
        #expect(abs(quantized - base) / base < 0.03, "q4_k_m \(quantized) vs F16 \(base)")
    }

    /// A run stopped after tensor 20 keeps its `.partial` file and checkpoint; the same run again
    /// starts at tensor 21 and writes the same bytes as one that was never stopped; a run of
    /// another plan does not take the other's partial file.
    @Test func anInterruptedRunResumesAfterItsLastWholeTensor() throws {
        struct Stop: Error {}
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-resume-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = directory.appendingPathComponent("whole.gguf").path, stopped = directory.appendingPathComponent("stopped.gguf").path
        let source = try GGUFFile(path: Self.f16)
        let plan = try GGUFQuantizer.plan(source, scheme: .q4_k_m, importance: nil)
        try GGUFQuantizer.run(source, plan: plan, importance: nil, to: whole, threads: 2)
        #expect(throws: Stop.self) {
            try GGUFQuantizer.run(source, plan: plan, importance: nil, to: stopped, threads: 2, progress: { index, _ in if index == 20 { throw Stop() } })
        }
        #expect(!FileManager.default.fileExists(atPath: stopped))
        #expect(FileManager.default.fileExists(atPath: stopped + ".partial"))
        var resumedAt = -1, first = -1
        try GGUFQuantizer.run(source, plan: plan, importance: nil, to: stopped, threads: 2, resumed: { resumedAt = $0 },
                              progress: { index, _ in if first < 0 { first = index } })
        #expect(resumedAt == 21 && first == 21)
        #expect(FileManager.default.contents(atPath: stopped) == FileManager.default.contents(atPath: whole))
        #expect(!FileManager.default.fileExists(atPath: stopped + ".partial"))
        #expect(!FileManager.default.fileExists(atPath: stopped + ".partial.json"))

        #expect(throws: Stop.self) {
            try GGUFQuantizer.run(source, plan: plan, importance: nil, to: stopped, threads: 2, progress: { index, _ in if index == 5 { throw Stop() } })
        }
        let other = try GGUFQuantizer.plan(source, scheme: .q3_k_m, importance: nil)
        try GGUFQuantizer.run(source, plan: other, importance: nil, to: stopped, threads: 2, resumed: { resumedAt = $0 })
        #expect(resumedAt == 0)
        #expect(try GGUFFile(path: stopped).integer("general.file_type") == 12)
    }
}
