import Foundation
import LoomCore

/// A Qwen2.5-0.5B-shaped model with random bf16 weights (shapes from its config.json, as listed in
/// shared/README.md §5), written once to a temporary directory whose name says what it holds, so
/// later runs reuse it instead of leaving another 943 MB behind each. Random weights are enough
/// here: these tests compare Loom with itself across device splits, not with an oracle.
enum QwenShapedModel {
    static let config = """
    {"architectures":["Qwen2ForCausalLM"],"hidden_size":896,"num_hidden_layers":24,"num_attention_heads":14,
     "num_key_value_heads":2,"intermediate_size":4864,"vocab_size":151936,"max_position_embeddings":32768,
     "rms_norm_eps":1e-06,"rope_theta":1000000.0,"tie_word_embeddings":true,"bos_token_id":151643,"eos_token_id":151645}
    """

    nonisolated(unsafe) private static var cached: String?
    private static let lock = NSLock()

    static func directory() throws -> String {
        lock.lock(); defer { lock.unlock() }
        if let cached { return cached }
        // The weights are the same on every run (a fixed seed): a finished directory is reused.
        let final = NSTemporaryDirectory() + "loom-qwen05-bf16-v1"
        if FileManager.default.fileExists(atPath: final + "/model.safetensors") {
            cached = final
            return final
        }
        // Written under a name of its own, then renamed whole; a run that loses the race uses the winner's.
        let dir = NSTemporaryDirectory() + "loom-qwen05-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        var tensors: [(String, [Int])] = [("model.embed_tokens.weight", [151936, 896]), ("model.norm.weight", [896])]
        for i in 0..<24 {
            let p = "model.layers.\(i)."
            tensors += [(p + "input_layernorm.weight", [896]), (p + "post_attention_layernorm.weight", [896]),
                        (p + "self_attn.q_proj.weight", [896, 896]), (p + "self_attn.q_proj.bias", [896]),
                        (p + "self_attn.k_proj.weight", [128, 896]), (p + "self_attn.k_proj.bias", [128]),
                        (p + "self_attn.v_proj.weight", [128, 896]), (p + "self_attn.v_proj.bias", [128]),
                        (p + "self_attn.o_proj.weight", [896, 896]),
                        (p + "mlp.gate_proj.weight", [4864, 896]), (p + "mlp.up_proj.weight", [4864, 896]),
                        (p + "mlp.down_proj.weight", [896, 4864])]
        }
        var header: [String] = []
        var offset = 0
        for (name, shape) in tensors {
            let bytes = shape.reduce(2, *)
            header.append("\"\(name)\":{\"dtype\":\"BF16\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var json = Array(("{" + header.joined(separator: ",") + "}").utf8)
        while (json.count + 8) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        let path = dir + "/model.safetensors"
        try Data().write(to: URL(fileURLWithPath: path))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var prefix = Data(count: 8)
        prefix.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(json.count).littleEndian, as: UInt64.self) }
        handle.write(prefix + Data(json))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for (name, shape) in tensors {
            let count = shape.reduce(1, *)
            let isNorm = name.hasSuffix("norm.weight")
            var values = [UInt16](repeating: 0, count: count)
            for i in 0..<count {
                // xorshift64*, mapped to roughly ±0.035 (std 0.02) for weights; norms are 1.
                state ^= state >> 12; state ^= state << 25; state ^= state >> 27
                let unit = Float((state &* 0x2545_F491_4F6C_DD1D) >> 40) / Float(1 << 24)
                values[i] = floatToBF16(isNorm ? 1 : (unit - 0.5) * 0.07)
            }
            values.withUnsafeBytes { handle.write(Data($0)) }
        }
        try handle.close()
        if (try? FileManager.default.moveItem(atPath: dir, toPath: final)) == nil { try? FileManager.default.removeItem(atPath: dir) }
        cached = final
        return final
    }
}
