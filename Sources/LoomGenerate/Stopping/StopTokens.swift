import LoomFormats
import LoomRuntime
import LoomTokenizer

/// The ids that end a reply, gathered from every place a model names them.
public enum StopTokens {
    /// End-of-sequence and end-of-turn ids of a model:
    /// - `eos_token_id` of config.json and generation_config.json (an id or a list), or a GGUF
    ///   file's `tokenizer.ggml.eos_token_id`;
    /// - a GGUF file's `tokenizer.ggml.eot_token_id` and `tokenizer.ggml.eom_token_id`;
    /// - the tokenizer's EOS (`eos_token` of tokenizer_config.json).
    public static func of(_ files: ModelFiles, tokenizer: Tokenizer?) throws -> Set<Int32> {
        var ids = Set(files.config.eosTokenIds.map { Int32(truncatingIfNeeded: $0) })
        if let gguf = files.gguf {
            for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
                if let id = try gguf.integer(key) { ids.insert(Int32(truncatingIfNeeded: id)) }
            }
        }
        if let eos = tokenizer?.eos { ids.insert(eos) }
        return ids
    }
}
