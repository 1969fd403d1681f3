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
            #expect(supported == ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
                                  "Qwen3MoeForCausalLM", "MixtralForCausalLM", "Phi3ForCausalLM", "Gemma2ForCausalLM",
                                  "Gemma3ForCausalLM", "GptOssForCausalLM"])
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

    /// Qwen3-MoE's dense layers follow mlp_only_layers and decoder_sparse_step as transformers'
    /// Qwen3MoeDecoderLayer decides them; Mixtral routes every layer and keeps its window; each
    /// family names its experts as its checkpoints do.
    @Test func mixtureOfExpertsFamiliesReadTheirRouting() throws {
        let qwen = try Self.config(Self.json("Qwen3MoeForCausalLM", extra:
            #","num_hidden_layers":6,"num_experts":8,"num_experts_per_tok":2,"moe_intermediate_size":32,"norm_topk_prob":true,"decoder_sparse_step":2,"mlp_only_layers":[3]"#))
        let moe = try #require(qwen.moe)
        #expect(qwen.qkNorm && moe.expertCount == 8 && moe.expertsPerToken == 2 && moe.expertIntermediateSize == 32 && moe.normalizeTopK)
        #expect(moe.denseLayers == [0, 2, 3, 4])
        let names = ModelArchitectures.of(qwen).tensorInventory(qwen, separateHead: true).map(\.name)
        #expect(names.contains("model.layers.1.mlp.experts.7.down_proj.weight") && names.contains("model.layers.1.mlp.gate.weight"))
        #expect(names.contains("model.layers.0.mlp.gate_proj.weight") && !names.contains("model.layers.0.mlp.gate.weight"))
        #expect(!names.contains("model.layers.1.mlp.gate_proj.weight"))
        // transformers 5 writes num_local_experts; norm_topk_prob defaults to false as in Qwen3MoeConfig.
        let renamed = try Self.config(Self.json("Qwen3MoeForCausalLM", extra: #","num_local_experts":4,"num_experts_per_tok":1,"moe_intermediate_size":16"#))
        #expect(renamed.moe == MixtureOfExperts(expertCount: 4, expertsPerToken: 1, expertIntermediateSize: 16, normalizeTopK: false))

        let mixtral = try Self.config(Self.json("MixtralForCausalLM", extra: #","num_local_experts":8,"num_experts_per_tok":2"#))
        #expect(mixtral.moe == MixtureOfExperts(expertCount: 8, expertsPerToken: 2, expertIntermediateSize: 128, normalizeTopK: true))
        #expect(mixtral.slidingWindow == 32)
        let mixtralNames = ModelArchitectures.of(mixtral).tensorInventory(mixtral, separateHead: true).map(\.name)
        #expect(mixtralNames.contains("model.layers.1.block_sparse_moe.experts.7.w2.weight"))
        #expect(mixtralNames.contains("model.layers.0.block_sparse_moe.gate.weight"))

        do {
            _ = try Self.config(Self.json("MixtralForCausalLM", extra: #","num_local_experts":2,"num_experts_per_tok":3"#))
            Issue.record("3 experts per token of 2 was accepted")
        } catch let ConfigError.invalidField(file, field, reason) {
            #expect(file.hasSuffix("config.json") && field == "num_experts_per_tok" && reason.contains("3 experts per token of 2"))
        }
    }

    /// Gemma 3 reads both config layouts (transformers 5's per-layer-type rope_parameters and
    /// layer_types; the Hub's rope_local_base_freq and sliding_window_pattern); a checkpoint with
    /// a vision tower, and Gemma 2's soft-capping, are refused by name.
    @Test func gemma3ReadsItsLayerPatternAndRefusesWhatItDoesNotRun() throws {
        let legacy = try Self.config(Self.json("Gemma3ForCausalLM", extra:
            #","num_hidden_layers":7,"head_dim":16,"query_pre_attn_scalar":64,"rope_theta":1000000,"rope_local_base_freq":10000,"sliding_window_pattern":3,"rope_scaling":{"rope_type":"linear","factor":8}"#))
        #expect(legacy.slidingLayers == [true, true, false, true, true, false, true])
        #expect(legacy.localRopeTheta == 10000 && legacy.ropeTheta == 1_000_000 && legacy.ropeScaling == .linear(factor: 8))
        #expect(legacy.attentionScale == 1 / 8 && legacy.normWeightOffset == 1 && legacy.sandwichNorms && legacy.qkNorm)
        #expect(legacy.tieWordEmbeddings && legacy.embeddingScale == 8 && legacy.mlpActivation == .geluTanh)
        #expect(legacy.window(layer: 2) == nil && legacy.window(layer: 3) == 32)
        let nested = try Self.config(Self.json("Gemma3ForCausalLM", extra:
            #","layer_types":["full_attention","sliding_attention"],"rope_parameters":{"full_attention":{"rope_type":"default","rope_theta":5e5},"sliding_attention":{"rope_type":"default","rope_theta":2e4}}"#))
        #expect(nested.slidingLayers == [false, true] && nested.ropeTheta == 5e5 && nested.localRopeTheta == 2e4)

        for (extra, field) in [(#","final_logit_softcapping":30.0"#, "final_logit_softcapping"),
                               (#","hidden_activation":"gelu""#, "hidden_activation"),
                               (#","vision_config":{}"#, "vision_config")] {
            do {
                _ = try Self.config(Self.json("Gemma3ForCausalLM", extra: extra))
                Issue.record("\(field) was accepted")
            } catch let ConfigError.invalidField(_, name, reason) {
                #expect(name == field && reason.contains("unsupported") || reason.contains("vision-language"), "\(name): \(reason)")
            }
        }
    }

    /// gpt-oss: biases, sinks and the clamped SwiGLU; layer_types, or without it every even layer
    /// local; a non-positive clamp is refused by name.
    @Test func gptOssReadsItsExpertsAndLayerPattern() throws {
        let moe = #","num_local_experts":8,"num_experts_per_tok":2,"swiglu_limit":5.5"#
        let plain = try Self.config(Self.json("GptOssForCausalLM", extra: moe + #","num_hidden_layers":4"#))
        #expect(plain.slidingLayers == [true, false, true, false] && plain.window(layer: 0) == 32 && plain.window(layer: 1) == nil)
        #expect(plain.qkvBias && plain.outputBias && plain.attentionSinks && plain.mlpActivation == .clampedSwiGLU)
        #expect(plain.swigluLimit == 5.5 && plain.swigluAlpha == 1.702)
        #expect(plain.moe == { var m = MixtureOfExperts(expertCount: 8, expertsPerToken: 2, expertIntermediateSize: 128, normalizeTopK: true)
            m.biases = true; return m }())
        let listed = try Self.config(Self.json("GptOssForCausalLM", extra: moe + #","layer_types":["full_attention","sliding_attention"]"#))
        #expect(listed.slidingLayers == [false, true])
        do {
            _ = try Self.config(Self.json("GptOssForCausalLM", extra: #","num_local_experts":8,"num_experts_per_tok":2,"swiglu_limit":0"#))
            Issue.record("a zero clamp was accepted")
        } catch let ConfigError.invalidField(_, name, _) {
            #expect(name == "swiglu_limit")
        }
    }

    @Test func ggufNamesFindTheirFamilies() {
        // llama.cpp writes Mixtral as "llama" with experts, which the GGUF config step tells apart.
        for family in ModelArchitectures.all where family.architecture != .mixtral {
            #expect(ModelArchitectures.named(gguf: family.ggufName)?.architecture == family.architecture)
        }
        #expect(ModelArchitectures.named(gguf: "gptneox") == nil)
    }
}
