import Foundation
import Testing

/// `loom embed`, and what `inspect`, `plan`, `tokenize` and `serve` do with a sentence encoder,
/// on all-MiniLM-L6-v2 (tools/fixtures/fetch-minilm) against the sentence-transformers fixture.
@Suite struct EmbedCommandTests {
    static let model = LoomProcess.root.appendingPathComponent(".fixtures/minilm/all-MiniLM-L6-v2").path
    static let golden = LoomProcess.root.appendingPathComponent("Tests/Fixtures/embeddings/minilm").path

    struct Sentence: Decodable { let text: String; let ids: [Int32] }
    struct Golden: Decodable { let sentences: [Sentence] }

    func requireModel() throws {
        try #require(FileManager.default.fileExists(atPath: Self.model + "/model.safetensors"), "no \(Self.model): run tools/fixtures/fetch")
    }

    /// Sentence `index` of the fixture, and sentence-transformers' vector for it.
    func reference(_ index: Int) throws -> (Sentence, [Float]) {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: Self.golden + "/sentences.json")))
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.golden + "/embeddings.f32"))
        let vector: [Float] = data.withUnsafeBytes { raw in (0..<384).map { raw.loadUnaligned(fromByteOffset: (index * 384 + $0) * 4, as: Float.self) } }
        return (golden.sentences[index], vector)
    }

    @Test func vectorsOnStdoutAndATimingOnStderr() throws {
        try requireModel()
        let picks = [2, 5, 26]
        let references = try picks.map(reference)
        let result = try LoomProcess.run(["embed", "--model", Self.model, "-t", "2"] + references.map(\.0.text))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        try #require(lines.count == picks.count)
        for (line, (sentence, expected)) in zip(lines, references) {
            let vector = try JSONDecoder().decode([Float].self, from: Data(line.utf8))
            var dot = 0.0, na = 0.0, nb = 0.0
            for i in vector.indices { dot += Double(vector[i] * expected[i]); na += Double(vector[i] * vector[i]); nb += Double(expected[i] * expected[i]) }
            #expect(dot / (na * nb).squareRoot() >= 0.99999, "\(sentence.text.debugDescription)")
        }
        let tokens = references.reduce(0) { $0 + $1.0.ids.count }
        #expect(result.stderr.hasPrefix("embed: 3 texts, \(tokens) tokens in "), "\(result.stderr)")
    }

    @Test func aFileOfTextsWithASeparator() throws {
        try requireModel()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("loom-embed-\(UUID().uuidString).txt")
        try "one\ntext<SEP>another".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let split = try LoomProcess.run(["embed", "--model", Self.model, "--file", file.path, "--separator", "<SEP>"])
        #expect(split.status == 0 && split.stdout.split(separator: "\n").count == 2, "\(split.stderr)")
        let lines = try LoomProcess.run(["embed", "--model", Self.model, "--file", file.path])
        #expect(lines.status == 0 && lines.stdout.split(separator: "\n").count == 2, "\(lines.stderr)")
        #expect(split.stdout != lines.stdout)
    }

    /// inspect counts the safetensors' parameters (all but the position-id buffer; the pooler is
    /// counted but not used, as sentence-transformers' mean pooling does not use it) and plan
    /// prints the encoder's plan; neither speaks of a KV cache to size.
    @Test func inspectAndPlanDescribeAnEncoder() throws {
        try requireModel()
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: Self.model + "/model.safetensors"))
        let length = handle.readData(ofLength: 8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
        let header = try JSONSerialization.jsonObject(with: handle.readData(ofLength: length)) as! [String: Any]
        var parameters = 0
        for (name, value) in header where name != "__metadata__" && name != "embeddings.position_ids" {
            parameters += ((value as! [String: Any])["shape"] as! [Int]).reduce(1, *)
        }
        let inspect = try LoomProcess.run(["inspect", Self.model, "--json"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        #expect(object["parameters"] as? Int == parameters)
        let pooler = ((header["pooler.dense.weight"] as? [String: Any])?["shape"] as? [Int])?.reduce(1, *) ?? 0
        let poolerBias = ((header["pooler.dense.bias"] as? [String: Any])?["shape"] as? [Int])?.reduce(1, *) ?? 0
        #expect(pooler > 0 && object["parameters_used"] as? Int == parameters - pooler - poolerBias)
        #expect(object["kind"] as? String == "encoder" && object["pooling"] as? String == "mean" && object["max_sequence_length"] as? Int == 256)
        let plan = try LoomProcess.run(["plan", Self.model])
        #expect(plan.status == 0 && plan.stdout.contains("sentence encoder") && plan.stdout.contains("sentences cut at 256 tokens"), "\(plan.stdout)\(plan.stderr)")
    }

    @Test func tokenizeUsesWordPiece() throws {
        try requireModel()
        let (sentence, _) = try reference(2)
        let result = try LoomProcess.run(["tokenize", "--model", Self.model, sentence.text])
        #expect(result.stdout == sentence.ids.map(String.init).joined(separator: " ") + "\n", "\(result.stdout)\(result.stderr)")
        let bare = try LoomProcess.run(["tokenize", "--model", Self.model, "--no-bos", sentence.text])
        #expect(bare.stdout == sentence.ids.dropFirst().dropLast().map(String.init).joined(separator: " ") + "\n")
    }

    @Test func serveSaysWhereAnEncoderGoes() throws {
        try requireModel()
        let result = try LoomProcess.run(["serve", "--model", Self.model, "--port", "0"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("is a sentence encoder") && result.stderr.contains("--embedding-model \(Self.model)"), "\(result.stderr)")
    }
}
