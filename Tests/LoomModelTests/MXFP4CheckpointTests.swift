import Foundation
import Testing
import LoomFormats
import LoomModel
import LoomRuntime

/// A gpt-oss checkpoint laid out as openai ships gpt-oss-20b (experts as MXFP4 `_blocks` and
/// `_scales`), with transformers' and llama.cpp's logits on it and llama.cpp's conversion of it
/// (tools/goldens/make_mxfp4_checkpoint.py).
@Suite struct MXFP4CheckpointTests {
    static let root: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/mxfp4-checkpoint").path
    }()

    struct Fixture {
        let tokens: [Int]
        let vocab: Int

        init() throws {
            let source = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/SOURCE.json"))) as! [String: Any]
            tokens = (source["tokens"] as! [NSNumber]).map(\.intValue)
            vocab = (source["vocab"] as! NSNumber).intValue
        }

        func rows(_ file: String) throws -> [[Float]] {
            float32Rows(try Data(contentsOf: URL(fileURLWithPath: root + "/" + file)), columns: vocab)
        }
    }

    static let options = EngineOptions(maxSequenceLength: 48, cacheType: .f32, threads: 2, logitsRows: 4)

    /// The checkpoint's experts become the blocks llama.cpp's converter writes for it: Loom's
    /// logits on the directory and on the converter's GGUF (f32 elsewhere) are the same numbers.
    @Test func checkpointRunsAsLlamaCppsConversionOfIt() throws {
        let fixture = try Fixture()
        let checkpoint = try Engine(directory: Self.root + "/gptoss", options: Self.options)
        let converted = try Engine(path: Self.root + "/gptoss-f32.gguf", options: Self.options)
        let a = try checkpoint.evaluate(fixture.tokens, allPositions: true)
        let b = try converted.evaluate(fixture.tokens, allPositions: true)
        #expect(relativeMaxError(a, b) == 0, "the two differ by \(relativeMaxError(a, b)) of max|logit|")
        for device in checkpoint.usage { #expect(device.peakBytes == device.plannedBytes, "\(device.byLabel)") }
    }

    /// Against transformers' float64 logits over the checkpoint as it dequantizes it, Loom is no
    /// further than llama.cpp on the converted file; both round the experts' activations to 8 bits.
    @Test func logitsAreAsCloseToTransformersAsLlamaCpps() throws {
        let fixture = try Fixture()
        let engine = try Engine(directory: Self.root + "/gptoss", options: Self.options)
        let logits = try engine.evaluate(fixture.tokens, allPositions: true)
        let exact = try fixture.rows("logits-f64.f32"), llama = try fixture.rows("gptoss-f32.llama.f32")
        let (loomError, llamaError) = (relativeMaxError(logits, exact), relativeMaxError(llama, exact))
        print("MXFP4 checkpoint: vs transformers' float64 logits Loom \(loomError), llama.cpp \(llamaError)")
        #expect(loomError <= 1.25 * llamaError, "Loom \(loomError) against llama.cpp \(llamaError)")
    }

    /// The planner sizes the checkpoint from its files: the experts at MXFP4's 17 bytes per 32
    /// weights, as in the converted GGUF.
    @Test func plannerCountsTheExpertsAsMXFP4() throws {
        let checkpoint = try ModelFiles(path: Self.root + "/gptoss")
        let fromCheckpoint = try checkpoint.footprint()
        let fromGGUF = try ModelFiles(path: Self.root + "/gptoss-f32.gguf").footprint()
        let config = checkpoint.config
        #expect(fromCheckpoint.expertBytes == fromGGUF.expertBytes)
        #expect(fromCheckpoint.expertBytes > 0)
        let moe = try #require(config.moe)
        let weights = config.layerCount * moe.expertCount * 3 * moe.expertIntermediateSize * config.hiddenSize
        let biases = config.layerCount * moe.expertCount * (2 * moe.expertIntermediateSize + config.hiddenSize) * 4
        #expect(fromCheckpoint.expertBytes == weights / 32 * 17 + biases)
    }

    /// A scales tensor of the wrong shape (same bytes, so the file itself is sound) is named.
    @Test func misshapenScalesAreNamed() throws {
        let copy = try Self.copyOfCheckpoint { header in
            let name = "model.layers.1.mlp.experts.down_proj_scales"
            var entry = header[name] as! [String: Any]
            let shape = (entry["shape"] as! [NSNumber]).map(\.intValue)
            entry["shape"] = [shape[0], shape[1] / 2, shape[2] * 2]
            header[name] = entry
        }
        defer { try? FileManager.default.removeItem(atPath: copy) }
        #expect {
            try Engine(directory: copy, options: Self.options)
        } throws: { error in
            "\(error)".contains("down_proj_scales")
        }
    }

    /// Checkpoints quantized by tools Loom does not read are refused by the config, by name.
    @Test func otherQuantizationMethodsAreRefused() throws {
        let json: [String: Any] = ["architectures": ["LlamaForCausalLM"], "hidden_size": 64, "num_attention_heads": 4,
                                   "num_hidden_layers": 1, "intermediate_size": 128, "vocab_size": 256,
                                   "quantization_config": ["quant_method": "gptq", "bits": 4]]
        #expect {
            try ModelConfig.parse(json: json, file: "config.json")
        } throws: { error in
            "\(error)".contains("quantization_config.quant_method") && "\(error)".contains("gptq")
        }
    }

    /// The checkpoint copied to a temporary directory with its safetensors header edited.
    static func copyOfCheckpoint(editing edit: (inout [String: Any]) -> Void) throws -> String {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("loom-mxfp4-\(UUID().uuidString)").path
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["config.json", "generation_config.json"] {
            try fm.copyItem(atPath: root + "/gptoss/" + name, toPath: dir + "/" + name)
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: root + "/gptoss/model.safetensors"))
        let length = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        var header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + length))) as! [String: Any]
        edit(&header)
        let json = try JSONSerialization.data(withJSONObject: header)
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(bytes.subdata(in: (8 + length)..<bytes.count))
        try out.write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        return dir
    }
}
