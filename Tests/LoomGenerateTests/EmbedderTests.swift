import Foundation
import Testing
import LoomFormats
@testable import LoomGenerate

/// The BERT encoder against sentence-transformers on all-MiniLM-L6-v2 (the vectors
/// tools/goldens/make_embedding_goldens.py recorded for 316 varied sentences), and the
/// embedder's packing, plan and errors.
struct EmbedderTests {
    struct Sentence: Decodable { let text: String; let ids: [Int32] }
    struct Shape: Decodable { let shape: [Int] }
    struct Golden: Decodable { let sentences: [Sentence]; let embeddings: Shape }

    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/embeddings/minilm").path

    /// The fetched model: `$LOOM_FIXTURES/minilm/...` or `.fixtures/minilm/...` at the repository root.
    static func modelDirectory() throws -> String {
        let root = ProcessInfo.processInfo.environment["LOOM_FIXTURES"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".fixtures").path
        let path = root + "/minilm/all-MiniLM-L6-v2"
        guard FileManager.default.fileExists(atPath: path + "/model.safetensors") else {
            throw Missing(path: path)
        }
        return path
    }

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "missing fixture \(path): run tools/fixtures/fetch-minilm" }
    }

    static func golden() throws -> (Golden, [[Float]]) {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenDirectory + "/sentences.json")))
        let data = try Data(contentsOf: URL(fileURLWithPath: goldenDirectory + "/embeddings.f32"))
        let (n, width) = (golden.embeddings.shape[0], golden.embeddings.shape[1])
        let floats: [Float] = data.withUnsafeBytes { raw in (0..<(n * width)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        return (golden, (0..<n).map { Array(floats[($0 * width)..<(($0 + 1) * width)]) })
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices { dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i]) }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    @Test func vectorsMatchSentenceTransformers() throws {
        let (golden, expected) = try Self.golden()
        let embedder = try Embedder(path: try Self.modelDirectory(), options: EmbedderOptions(threads: 2))
        #expect(embedder.config.pooling == .mean && embedder.config.normalize && embedder.config.maxSequenceLength == 256)
        let texts = golden.sentences.map(\.text)
        for (i, sentence) in golden.sentences.enumerated() {
            #expect(embedder.tokens(of: sentence.text) == sentence.ids, "sentence \(i): tokens differ")
        }
        let vectors = try embedder.embed(texts)
        try #require(vectors.count == expected.count)
        var worst = 1.0, worstIndex = 0
        for i in vectors.indices {
            let c = Self.cosine(vectors[i], expected[i])
            if c < worst { worst = c; worstIndex = i }
        }
        #expect(worst >= 0.99999, "sentence \(worstIndex) \(texts[worstIndex].prefix(60).debugDescription): cosine \(worst)")
        let norm = vectors[0].reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(norm - 1) < 1e-5)
    }

    struct LlamaCppSentence: Decodable { let text: String; let hf_ids: [Int32]; let llama_cpp_ids: [Int32] }
    struct LlamaCppGolden: Decodable { let sentences: [LlamaCppSentence]; let embeddings: Shape }

    /// llama.cpp's conversion of a tiny random BERT (tools/goldens/make_bert_gguf_golden.py):
    /// Loom reads the GGUF llama.cpp's converter writes, tokenizes it as HF does, and its vectors
    /// equal llama-embedding's. Where llama.cpp's WordPiece differs from HF's (Hangul, some
    /// Devanagari, words over 100 characters), Loom embeds llama.cpp's own ids to compare the
    /// forward passes alone.
    @Test func ggufVectorsMatchLlamaCpp() throws {
        let directory = URL(fileURLWithPath: Self.goldenDirectory).deletingLastPathComponent().appendingPathComponent("tiny-bert").path
        let golden = try JSONDecoder().decode(LlamaCppGolden.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/sentences.json")))
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/llama-cpp.f32"))
        let width = golden.embeddings.shape[1]
        let expected: [[Float]] = data.withUnsafeBytes { raw in
            (0..<golden.embeddings.shape[0]).map { i in (0..<width).map { raw.loadUnaligned(fromByteOffset: (i * width + $0) * 4, as: Float.self) } }
        }
        let embedder = try Embedder(path: directory + "/tiny-bert-f16.gguf", options: EmbedderOptions(threads: 2))
        #expect(embedder.config.hiddenSize == width && embedder.config.pooling == .mean && embedder.config.maxSequenceLength == 512)
        var tokenFailures = 0
        for s in golden.sentences where embedder.tokens(of: s.text) != s.hf_ids { tokenFailures += 1 }
        #expect(tokenFailures == 0, "\(tokenFailures) sentences tokenize unlike HF from the GGUF vocabulary")
        let agreeing = golden.sentences.indices.filter { golden.sentences[$0].hf_ids == golden.sentences[$0].llama_cpp_ids }
        #expect(agreeing.count >= 280 && agreeing.count < golden.sentences.count)
        let fromText = try embedder.embed(agreeing.map { golden.sentences[$0].text })
        let fromLlamaIds = try embedder.embed(tokens: golden.sentences.map(\.llama_cpp_ids))
        var worst = 1.0, worstIndex = 0
        for (k, i) in agreeing.enumerated() {
            #expect(fromText[k] == fromLlamaIds[i])
        }
        for i in golden.sentences.indices {
            let c = Self.cosine(fromLlamaIds[i], expected[i])
            if c < worst { worst = c; worstIndex = i }
        }
        #expect(worst >= 0.99999, "sentence \(worstIndex) \(golden.sentences[worstIndex].text.prefix(60).debugDescription): cosine \(worst)")
    }

    /// A sentence's vector is the same bits alone, packed among others, and on one thread.
    @Test func packedPassesEqualSolo() throws {
        let (golden, _) = try Self.golden()
        let texts = Array(golden.sentences.map(\.text)[40..<72])
        let directory = try Self.modelDirectory()
        let packed = try Embedder(path: directory, options: EmbedderOptions(threads: 2, passTokens: 4096)).embed(texts)
        let single = try Embedder(path: directory, options: EmbedderOptions(threads: 1, passTokens: 256))
        for (i, text) in texts.enumerated() {
            #expect(try single.embed([text])[0] == packed[i], "sentence \(i + 40) differs packed and alone")
        }
    }

    @Test func arenaHoldsExactlyThePlan() throws {
        let directory = try Self.modelDirectory()
        let embedder = try Embedder(path: directory, options: EmbedderOptions(threads: 1, passTokens: 512))
        #expect(embedder.bytesInUse == embedder.plan.totalBytes)
        // f32 matrices: embeddings (words, positions, types) and six layers of q, k, v, o, up, down.
        let c = embedder.config
        let elements = (c.vocabSize + c.maxPositionEmbeddings + c.typeVocabSize) * c.hiddenSize
            + c.layerCount * (4 * c.hiddenSize * c.hiddenSize + 2 * c.hiddenSize * c.intermediateSize)
        #expect(embedder.plan.matrixBytes == 4 * elements)
        #expect(throws: EmbedderError.overBudget(path: directory, planned: embedder.plan.totalBytes, budget: 1 << 20)) {
            try Embedder(path: directory, options: EmbedderOptions(threads: 1, passTokens: 512, budgetBytes: 1 << 20))
        }
        #expect(throws: EmbedderError.self) { try Embedder(path: directory, options: EmbedderOptions(passTokens: 100)) }
    }

    /// config.json fields Loom cannot honour are refused with the file and field named.
    @Test func unsupportedConfigsNameTheField() throws {
        let directory = try Self.modelDirectory()
        let config = try String(contentsOfFile: directory + "/config.json", encoding: .utf8)
        let cases: [(String, String, String)] = [
            ("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"", "hidden_act"),
            ("\"position_embedding_type\": \"absolute\"", "\"position_embedding_type\": \"relative_key\"", "position_embedding_type"),
            ("\"num_attention_heads\": 12", "\"num_attention_heads\": 7", "num_attention_heads"),
        ]
        for (from, to, field) in cases {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bert-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            #expect(config.contains(from))
            try config.replacingOccurrences(of: from, with: to).write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
            do {
                _ = try EncoderConfig.load(directory: dir)
                Issue.record("\(to) was accepted")
            } catch let error as ConfigError {
                #expect(error.description.contains(dir + "/config.json") && error.description.contains(field), "\(error)")
            }
        }
    }

    @Test func readmeBlockMatchesTheCompiledExample() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let source = try String(contentsOf: here.appendingPathComponent("ReadmeExample.swift"), encoding: .utf8)
        let readme = try String(contentsOf: here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let begin = source.range(of: "// README-EMBED-EXAMPLE-BEGIN\n")!, end = source.range(of: "// README-EMBED-EXAMPLE-END")!
        #expect(readme.contains("```swift\n" + String(source[begin.upperBound..<end.lowerBound]) + "```"),
                "README.md's embedding example differs from Tests/LoomGenerateTests/ReadmeExample.swift")
    }

    /// The semantic-search example of sentence-transformers' documentation for this model
    /// (query "A man is eating pasta.": the top hit is "A man is eating food.").
    @Test func readmeExampleFindsTheClosestSentence() throws {
        let corpus = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
                      "A man is riding a horse.", "A woman is playing violin.", "Two men pushed carts through the woods.",
                      "A man is riding a white horse on an enclosed ground.", "A monkey is playing drums.",
                      "A cheetah is running behind its prey."]
        let directory = try Self.modelDirectory()
        #expect(try closest(to: "A man is eating pasta.", in: corpus, modelPath: directory) == "A man is eating food.")
        #expect(try closest(to: "Someone in a gorilla costume is playing a set of drums.", in: corpus, modelPath: directory)
                == "A monkey is playing drums.")
        #expect(try closest(to: "A cheetah chases prey on across a field.", in: corpus, modelPath: directory)
                == "A cheetah is running behind its prey.")
    }
}
