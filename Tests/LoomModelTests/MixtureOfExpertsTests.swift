import Foundation
import Testing
import LoomFormats
import LoomModel
import LoomRuntime

/// The sparse MLP beyond the logits oracles: a batch of sequences routes every row as it is
/// routed alone (experts grouped over the batch, summed in expert order), and decode reads only
/// the chosen experts.
@Suite struct MixtureOfExpertsTests {
    static let llamacpp = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/llamacpp-goldens").path
    static let models: [String] = ["qwen3moe-top3of8-bf16", "qwen3moe-top2of6-unnormalized-f32", "mixtral-window-bf16",
                                   "gptoss-sinks-window-bf16"]
        .map { Golden.root + "/" + $0 } + [llamacpp + "/qwen3moe-llamacpp-f32-f16.gguf", llamacpp + "/mixtral-llamacpp-f32-f16.gguf",
                                           llamacpp + "/qwen3moe-llamacpp-f32-q8_0.gguf", llamacpp + "/gptoss-llamacpp-f32-mxfp4.gguf",
                                           MXFP4CheckpointTests.root + "/gptoss"]

    static func engine(_ path: String, parallel: Int, chunk: Int = 64) throws -> Engine {
        try Engine(path: path, options: EngineOptions(maxSequenceLength: 64, chunkTokens: chunk, cacheType: .f32, threads: 2,
                                                      parallel: parallel))
    }

    /// Prompts of different lengths prefilled in one pass, then three decode steps of all of
    /// them together, equal each sequence alone bit for bit.
    @Test(arguments: models)
    func batchedSequencesEqualEachAlone(_ path: String) throws {
        let batched = try Self.engine(path, parallel: 4), solo = try Self.engine(path, parallel: 1)
        let vocab = batched.config.vocabSize
        let prompts = (0..<4).map { i in (0..<(3 + i * 5)).map { (i * 31 + $0 * 17 + 5) % vocab } }
        let ids = prompts.map { _ in batched.createSequence() }
        let together = try batched.forward(zip(ids, prompts).map { SequenceChunk(sequence: $0, tokens: $1, logits: .all) })
        var next = together.map { argmax($0.last!) }
        var soloSteps: [[[Float]]] = []
        for (i, prompt) in prompts.enumerated() {
            solo.reset()
            let alone = try solo.evaluate(prompt, allPositions: true)
            #expect(together[i] == alone, "prompt \(i) of \(path)")
            var token = argmax(alone.last!)
            var steps: [[Float]] = []
            for _ in 0..<3 {
                let row = try solo.evaluate([token])[0]
                steps.append(row)
                token = argmax(row)
            }
            soloSteps.append(steps)
        }
        for step in 0..<3 {
            let rows = try batched.forward(zip(ids, next).map { SequenceChunk(sequence: $0, tokens: [$1]) })
            for i in prompts.indices { #expect(rows[i][0] == soloSteps[i][step], "sequence \(i), step \(step), \(path)") }
            next = rows.map { argmax($0[0]) }
        }
        for device in batched.usage { #expect(device.peakBytes == device.plannedBytes, "\(path): \(device.byLabel)") }
    }

    /// One decode step reads each sparse layer's router and exactly k experts, counted as the
    /// pass reads them; a prompt reads each chosen expert once however many rows chose it.
    @Test func decodeReadsOnlyTheChosenExperts() throws {
        let path = Self.llamacpp + "/qwen3moe-llamacpp-f32-f16.gguf"
        let engine = try Self.engine(path, parallel: 1)
        let moe = try #require(engine.config.moe)
        let source = GGUFWeightSource(file: try GGUFFile(path: path))
        func bytes(_ layer: Int, _ name: String) throws -> Int { try source.matrixBytes(HFTensorName.layer(layer, name)) }
        let expert = try bytes(0, "mlp.experts.0.gate_proj.weight") + bytes(0, "mlp.experts.0.up_proj.weight")
            + bytes(0, "mlp.experts.0.down_proj.weight")
        let router = try bytes(0, "mlp.gate.weight")
        let layers = engine.config.layerCount
        _ = try engine.evaluate([1, 17, 200])
        engine.resetExpertReadBytes()
        _ = try engine.evaluate([43])
        #expect(engine.expertReadBytes == layers * (router + moe.expertsPerToken * expert))
        // Twelve rows choose at most every expert, each read once.
        engine.reset()
        engine.resetExpertReadBytes()
        _ = try engine.evaluate(Array(0..<12))
        #expect(engine.expertReadBytes <= layers * (router + moe.expertCount * expert))
        #expect(engine.expertReadBytes > layers * (router + moe.expertsPerToken * expert))
        // The planner's read estimate counts k experts a layer; the dense equivalent all of them.
        #expect(engine.denseEquivalentReadBytes(context: 0) - engine.decodeReadBytes(context: 0)
                == layers * (moe.expertCount - moe.expertsPerToken) * expert)
    }
}

/// Lying expert metadata in a GGUF file is a typed error, before anything is sized from it.
@Suite struct MixtureOfExpertsBadInputTests {
    /// A qwen3moe header with `experts` in its metadata and a router of `routerExperts` columns.
    static func file(experts: UInt32, routerExperts: Int) throws -> String {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("qwen3moe"))
        for (key, value) in [("embedding_length", 64), ("attention.head_count", 4), ("block_count", 1), ("feed_forward_length", 128),
                             ("expert_used_count", 2), ("expert_feed_forward_length", 32)] {
            writer.set("qwen3moe.\(key)", .uint32(UInt32(value)))
        }
        writer.set("qwen3moe.expert_count", .uint32(experts))
        try writer.addTensor(name: "token_embd.weight", dimensions: [64, 8], type: .f32, data: [UInt8](repeating: 0, count: 64 * 8 * 4))
        try writer.addTensor(name: "blk.0.ffn_gate_inp.weight", dimensions: [64, routerExperts], type: .f32,
                             data: [UInt8](repeating: 0, count: 64 * routerExperts * 4))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loom-moe-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        return path
    }

    @Test func anImplausibleExpertCountIsRefusedByName() throws {
        let path = try Self.file(experts: 1_000_000, routerExperts: 8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ModelConfig.load(gguf: try GGUFFile(path: path))
            Issue.record("a million experts were accepted")
        } catch let ConfigError.invalidField(file, field, reason) {
            #expect(file == path && field == "qwen3moe.expert_used_count" && reason.contains("1000000 experts"))
        }
    }

    @Test func anExpertCountTheRouterDoesNotHaveIsAShapeMismatch() throws {
        let path = try Self.file(experts: 4, routerExperts: 8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ModelError.shapeMismatch(source: path, tensor: "blk.0.ffn_gate_inp.weight", expected: [64, 4], actual: [64, 8])) {
            _ = try ModelConfig.load(gguf: try GGUFFile(path: path))
        }
    }
}
