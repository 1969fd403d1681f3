import Foundation

/// mistral-common's tekken JSON: tiktoken-style ranks (base64 `token_bytes`) with a pattern,
/// special tokens in the first `default_num_special_tokens` ids, ranks shifted past them.
extension Tokenizer {
    /// Special tokens mistral-common assumes when the file lists none (tekken.py,
    /// `DEPRECATED_SPECIAL_TOKENS`); the rest of the special range is `<SPECIAL_n>` fillers.
    static let tekkenDefaultSpecials = [
        "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
        "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]", "[IMG_END]",
        "[PREFIX]", "[MIDDLE]", "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]",
    ]

    /// Loads a tekken JSON file.
    public convenience init(tekkenFile path: String) throws {
        let root = try Self.readJSON(path)
        func bad(_ location: String, _ reason: String) -> TokenizerError {
            .malformed(file: path, location: location, reason: reason)
        }
        guard let config = root["config"] as? [String: Any] else { throw bad("config", "missing") }
        guard let regex = config["pattern"] as? String else { throw bad("config.pattern", "missing") }
        guard let pattern = PreTokenizerPattern(regex: regex) else {
            throw TokenizerError.unsupportedPattern(file: path, regex: regex)
        }
        guard let vocab = root["vocab"] as? [[String: Any]] else { throw bad("vocab", "missing") }
        let specialCount = config["default_num_special_tokens"] as? Int ?? 1000
        let vocabularySize = config["default_vocab_size"] as? Int ?? (vocab.count + specialCount)
        guard specialCount >= 0, vocabularySize >= specialCount, vocabularySize - specialCount <= vocab.count else {
            throw bad("config", "default_vocab_size \(vocabularySize) and default_num_special_tokens \(specialCount) do not fit \(vocab.count) ranks")
        }
        var specials: [AddedToken] = []
        if let listed = root["special_tokens"] as? [[String: Any]] {
            for (i, s) in listed.enumerated() {
                guard let rank = s["rank"] as? Int, let text = s["token_str"] as? String else {
                    throw bad("special_tokens[\(i)]", "needs rank and token_str")
                }
                specials.append(AddedToken(content: text, id: Int32(rank), special: true))
            }
        } else {
            specials = Self.tekkenDefaultSpecials.enumerated().map { AddedToken(content: $1, id: Int32($0), special: true) }
        }
        for i in specials.count..<max(specials.count, specialCount) {
            specials.append(AddedToken(content: "<SPECIAL_\(i)>", id: Int32(i), special: true))
        }
        var strings = [[UInt8]](repeating: [], count: vocabularySize)
        for (i, entry) in vocab.prefix(vocabularySize - specialCount).enumerated() {
            guard let b64 = entry["token_bytes"] as? String, let rank = entry["rank"] as? Int,
                  rank >= 0, rank < vocabularySize - specialCount else {
                throw bad("vocab[\(i)]", "needs token_bytes and a rank below \(vocabularySize - specialCount)")
            }
            let bytes = Array(b64.utf8)
            guard let decoded = bytes.withUnsafeBufferPointer({ Base64.decode($0, 0..<$0.count) }) else {
                throw bad("vocab[\(i)].token_bytes", "not base64")
            }
            strings[rank + specialCount] = decoded
        }
        // Ranks merge by rank, which is id - specialCount: the same order as the ids.
        try self.init(ranks: strings, pattern: pattern, specials: specials, path: path, bos: 1, eos: 2, addsBOS: true)
    }
}
