import Foundation
import LoomCore
import LoomFormats
import LoomKernels

/// GGUF files of random weights shaped like a dense Llama-family config, for measuring speed
/// where no real file is at hand (`loom synthesize`; tools/gpu-check makes a Llama-3-8B-shaped
/// Q4_0 on the machine it measures). The values mean nothing: quantized blocks get random codes
/// and one small scale, so weights sit near ±0.02 as trained ones do; norms are 1.
public enum SyntheticModel {
    /// The weight types it writes.
    public static let types: [QuantType] = [.q8_0, .q4_0, .f16]

    /// Why a config cannot be written.
    public struct Unsupported: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// The GGUF architecture name for `config`, or nil for the families it does not write.
    static func ggufArchitecture(_ config: ModelConfig) -> String? {
        guard config.moe == nil, !config.qkNorm else { return nil }
        switch config.architecture {
        case .llama, .mistral: return "llama"
        case .qwen2: return "qwen2"
        default: return nil
        }
    }

    /// The tensors of `config` in file order: name, ggml dimensions (innermost first), type.
    static func tensors(_ config: ModelConfig, type: QuantType) -> [(name: String, dimensions: [Int], type: QuantType)] {
        let h = config.hiddenSize, q = config.queryWidth, kv = config.kvWidth, ffn = config.intermediateSize
        var out: [(String, [Int], QuantType)] = [("token_embd.weight", [h, config.vocabSize], type)]
        for i in 0..<config.layerCount {
            func n(_ suffix: String) -> String { "blk.\(i).\(suffix)" }
            out += [(n("attn_norm.weight"), [h], .f32), (n("attn_q.weight"), [h, q], type), (n("attn_k.weight"), [h, kv], type),
                    (n("attn_v.weight"), [h, kv], type), (n("attn_output.weight"), [q, h], type)]
            if config.qkvBias { out += [(n("attn_q.bias"), [q], .f32), (n("attn_k.bias"), [kv], .f32), (n("attn_v.bias"), [kv], .f32)] }
            out += [(n("ffn_norm.weight"), [h], .f32), (n("ffn_gate.weight"), [h, ffn], type), (n("ffn_up.weight"), [h, ffn], type),
                    (n("ffn_down.weight"), [ffn, h], type)]
        }
        out.append(("output_norm.weight", [h], .f32))
        if !config.tieWordEmbeddings { out.append(("output.weight", [h, config.vocabSize], type)) }
        return out
    }

    /// The tokenizer metadata (every `tokenizer.` key) of `file`, to give a synthetic model a real
    /// vocabulary, and the token count, which the model's vocabulary must cover.
    public static func tokenizerMetadata(of file: GGUFFile) throws -> (values: [String: GGUFValue], tokens: Int) {
        guard case .array(let tokens)? = file.metadata["tokenizer.ggml.tokens"] else {
            throw Unsupported(reason: "\(file.path) has no tokenizer.ggml.tokens array")
        }
        return (file.metadata.filter { $0.key.hasPrefix("tokenizer.") }, tokens.count)
    }

    /// Writes `config` with `type` weights to `path` (through `PATH.partial`, renamed when whole);
    /// `progress(done, total)` counts bytes. Returns the file's size. `tokenizer` is metadata
    /// from `tokenizerMetadata(of:)`; without it the file has no tokenizer (enough for `loom
    /// bench`, not for generating text).
    @discardableResult
    public static func write(_ config: ModelConfig, type: QuantType, to path: String, seed: UInt64 = 1,
                             tokenizer: [String: GGUFValue] = [:], progress: (Int, Int) -> Void = { _, _ in }) throws -> Int {
        guard let arch = ggufArchitecture(config) else {
            throw Unsupported(reason: "synthetic files are dense Llama or Qwen2 layouts; \(config.architecture) is not one")
        }
        guard types.contains(type) else {
            throw Unsupported(reason: "synthetic weights are \(types.map(\.name).joined(separator: ", ")); not \(type.name)")
        }
        guard config.hiddenSize % 32 == 0, config.intermediateSize % 32 == 0, config.queryWidth % 32 == 0, config.kvWidth % 32 == 0 else {
            throw Unsupported(reason: "every matrix width must be whole blocks of 32")
        }
        var writer = GGUFWriter()
        writer.set("general.architecture", .string(arch))
        writer.set("general.name", .string("loom synthetic"))
        writer.set("general.file_type", .uint32(type == .q4_0 ? 2 : type == .q8_0 ? 7 : 1))
        writer.set("\(arch).context_length", .uint32(UInt32(config.maxPositionEmbeddings)))
        writer.set("\(arch).embedding_length", .uint32(UInt32(config.hiddenSize)))
        writer.set("\(arch).block_count", .uint32(UInt32(config.layerCount)))
        writer.set("\(arch).feed_forward_length", .uint32(UInt32(config.intermediateSize)))
        writer.set("\(arch).attention.head_count", .uint32(UInt32(config.headCount)))
        writer.set("\(arch).attention.head_count_kv", .uint32(UInt32(config.kvHeadCount)))
        writer.set("\(arch).rope.freq_base", .float32(Float(config.ropeTheta)))
        writer.set("\(arch).attention.layer_norm_rms_epsilon", .float32(config.rmsNormEps))
        for (key, value) in tokenizer.sorted(by: { $0.key < $1.key }) { writer.set(key, value) }
        let tensors = tensors(config, type: type)
        let header = try writer.header(tensors: tensors.map { ($0.name, $0.dimensions, GGMLType(id: $0.type.ggmlTypeID)) })
        let alignment = try writer.alignment()
        let total = header.count + tensors.reduce(0) { $0 + writer.padded($1.type.rowBytes($1.dimensions[0]) * ($1.dimensions.count > 1 ? $1.dimensions[1] : 1), alignment) }

        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil), let out = FileHandle(forWritingAtPath: partial) else {
            throw FileError.cannotOpen(path: partial, errno: errno)
        }
        var closed = false
        defer {
            if !closed { try? out.close(); try? FileManager.default.removeItem(atPath: partial) }
        }
        try out.write(contentsOf: Data(header))
        var random = SplitMix64(seed: seed)
        var done = header.count
        for tensor in tensors {
            let cols = tensor.dimensions[0], rows = tensor.dimensions.count > 1 ? tensor.dimensions[1] : 1
            let rowBytes = tensor.type.rowBytes(cols)
            // A few MiB of rows at a time.
            let rowsPerWrite = max(1, (8 << 20) / rowBytes)
            var row = 0
            while row < rows {
                let count = min(rowsPerWrite, rows - row)
                var bytes = [UInt8](repeating: 0, count: count * rowBytes)
                fill(&bytes, type: tensor.type, norm: tensor.name.hasSuffix("norm.weight"), random: &random)
                try out.write(contentsOf: Data(bytes))
                row += count
                done += bytes.count
                progress(done, total)
            }
            let padding = writer.padded(rows * rowBytes, alignment) - rows * rowBytes
            if padding > 0 { try out.write(contentsOf: Data(count: padding)); done += padding }
        }
        try out.close()
        closed = true
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        return done
    }

    /// Random blocks of `type` (one scale, random codes), ones for norms, zeros for biases.
    private static func fill(_ bytes: inout [UInt8], type: QuantType, norm: Bool, random: inout SplitMix64) {
        bytes.withUnsafeMutableBytes { raw in
            switch type {
            case .f32:
                let floats = raw.bindMemory(to: Float.self)
                for i in floats.indices { floats[i] = norm ? 1 : 0 }
            case .f16:
                let halves = raw.bindMemory(to: UInt16.self)
                for i in halves.indices { halves[i] = floatToF16(Float(Int64(bitPattern: random.next()) >> 40) * 0x1p-23 * 0.035) }
            default:
                // Codes first, then each block's scale over its first two bytes.
                var i = 0
                while i + 8 <= raw.count { raw.storeBytes(of: random.next(), toByteOffset: i, as: UInt64.self); i += 8 }
                while i < raw.count { raw[i] = UInt8(truncatingIfNeeded: random.next()); i += 1 }
                let scale = floatToF16(type == .q4_0 ? 0.0043 : 0.00016)
                for block in stride(from: 0, to: raw.count, by: type.blockBytes) {
                    raw.storeBytes(of: scale.littleEndian, toByteOffset: block, as: UInt16.self)
                }
            }
        }
    }
}
