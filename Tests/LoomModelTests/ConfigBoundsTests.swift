import Foundation
import Testing
import LoomFormats
import LoomModel

/// Sizes past `ModelConfig.Bounds` are refused by name, in config.json and in GGUF metadata,
/// before anything is sized or allocated from them (a fuzzed config.json with 777,777,777,777,774
/// layers once sent gpt-oss's layer pattern after petabytes).
@Suite struct ConfigBoundsTests {
    nonisolated(unsafe) static let base: [String: Any] = ["architectures": ["GptOssForCausalLM"], "hidden_size": 64, "num_attention_heads": 4,
                                      "num_hidden_layers": 2, "intermediate_size": 96, "vocab_size": 256,
                                      "num_local_experts": 3, "num_experts_per_tok": 2]

    @Test(arguments: ["num_hidden_layers", "hidden_size", "intermediate_size", "vocab_size", "num_attention_heads",
                      "max_position_embeddings", "head_dim"])
    func anImplausibleSizeIsRefusedByName(_ field: String) throws {
        var json = Self.base
        json[field] = 777_777_777_777_774
        do {
            _ = try ModelConfig.parse(json: json, file: "config.json", specialize: ModelArchitectures.specialize)
            Issue.record("\(field) = 777777777777774 was accepted")
        } catch let ConfigError.invalidField(file, name, reason) {
            #expect(file == "config.json" && name.contains(field), "\(name): \(reason)")
        }
        _ = try ModelConfig.parse(json: Self.base, file: "config.json", specialize: ModelArchitectures.specialize)
    }

    @Test func anImplausibleGGUFBlockCountIsRefusedByName() throws {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        for (key, value) in [("embedding_length", 64), ("attention.head_count", 4), ("feed_forward_length", 128)] {
            writer.set("llama.\(key)", .uint32(UInt32(value)))
        }
        writer.set("llama.block_count", .uint64(777_777_777_777_774))
        try writer.addTensor(name: "token_embd.weight", dimensions: [64, 8], type: .f32, data: [UInt8](repeating: 0, count: 64 * 8 * 4))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bounds-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ConfigError.invalidField(file: path, field: "llama.block_count",
                                                 reason: "777777777777774 is more than the \(ModelConfig.Bounds.layers) Loom accepts")) {
            _ = try ModelConfig.load(gguf: try GGUFFile(path: path))
        }
    }
}
