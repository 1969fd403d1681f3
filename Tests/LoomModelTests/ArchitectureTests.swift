import Foundation
import Testing
import LoomFormats
@testable import LoomModel

/// The architecture registry: which families parse, and what each sets beyond the shared fields
/// (the values transformers' config classes give these fields: Qwen2Config has q/k/v biases and
/// no o bias, MistralConfig's sliding_window applies unless turned off, Qwen3 has q/k norms).
@Suite struct ArchitectureTests {
    static func config(_ json: String) throws -> ModelConfig {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-arch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try json.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return try ModelArchitectures.loadConfig(directory: dir.path)
    }

    static func json(_ architecture: String, extra: String = "") -> String {
        #"{"architectures":["\#(architecture)"],"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":128,"vocab_size":256,"sliding_window":32\#(extra)}"#
    }

    @Test func unknownArchitectureListsSupported() throws {
        #expect(throws: ConfigError.self) { try Self.config(Self.json("GPTNeoXForCausalLM")) }
        do { _ = try Self.config(Self.json("GPTNeoXForCausalLM")) } catch let ConfigError.unknownArchitecture(_, name, supported) {
            #expect(name == "GPTNeoXForCausalLM")
            #expect(supported == ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"])
        }
    }

    @Test func eachFamilySetsItsOwnFields() throws {
        let llama = try Self.config(Self.json("LlamaForCausalLM"))
        #expect(!llama.qkvBias && !llama.outputBias && !llama.qkNorm && llama.slidingWindow == nil)
        let smaug = try Self.config(Self.json("LlamaForCausalLM", extra: #","attention_bias":true"#))
        #expect(smaug.qkvBias && smaug.outputBias)
        let qwen2 = try Self.config(Self.json("Qwen2ForCausalLM", extra: #","attention_bias":true"#))
        #expect(qwen2.qkvBias && !qwen2.outputBias && !qwen2.qkNorm && qwen2.slidingWindow == nil)
        let qwen3 = try Self.config(Self.json("Qwen3ForCausalLM"))
        #expect(qwen3.qkNorm && !qwen3.qkvBias)
        #expect(try Self.config(Self.json("MistralForCausalLM")).slidingWindow == 32)
        #expect(try Self.config(Self.json("MistralForCausalLM", extra: #","use_sliding_window":false"#)).slidingWindow == nil)
        let inventory = ModelArchitectures.of(qwen3).tensorInventory(qwen3, separateHead: false).map(\.name)
        #expect(inventory.contains("model.layers.1.self_attn.k_norm.weight"))
        #expect(!inventory.contains("model.layers.0.self_attn.q_proj.bias"))
    }

    @Test func ggufNamesFindTheirFamilies() {
        for family in ModelArchitectures.all {
            #expect(ModelArchitectures.named(gguf: family.ggufName)?.architecture == family.architecture)
        }
        #expect(ModelArchitectures.named(gguf: "gptneox") == nil)
    }
}
