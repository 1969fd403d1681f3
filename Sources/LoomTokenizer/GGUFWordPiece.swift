import LoomFormats

/// WordPiece vocabularies in GGUF files (`tokenizer.ggml.model` `bert`), as llama.cpp's
/// converter writes them: a word-initial piece carries a leading "▁" (its phantom space), a
/// continuation piece is written without the `##`, and control tokens ([CLS], [SEP], …) as they are.
extension WordPieceTokenizer {
    /// Loads the vocabulary of a GGUF file whose tokenizer model is `bert`.
    public convenience init(ggufFile path: String) throws {
        try self.init(gguf: try GGUFFile(path: path))
    }

    public convenience init(gguf: GGUFFile) throws {
        let path = gguf.path
        func bad(_ key: String, _ reason: String) -> TokenizerError { .malformed(file: path, location: key, reason: reason) }
        let (model, tokens, types) = try Tokenizer.ggufTokens(gguf)
        guard model == "bert" else {
            throw TokenizerError.unsupported(file: path, feature: "tokenizer.ggml.model \(model) as WordPiece (expected bert)")
        }
        let phantom = Array(String.metaspace.utf8)
        var vocabulary: [String] = []
        vocabulary.reserveCapacity(tokens.count)
        var added: [AddedToken] = []
        for (id, bytes) in tokens.enumerated() {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("tokenizer.ggml.tokens[\(id)]", "not UTF-8") }
            if types[id] == Tokenizer.GGUFTokenType.control.rawValue {
                vocabulary.append(text)
                added.append(AddedToken(content: text, id: Int32(id), special: true))
            } else if bytes.starts(with: phantom) {
                vocabulary.append(String(decoding: bytes.dropFirst(phantom.count), as: UTF8.self))
            } else {
                vocabulary.append("##" + text)
            }
        }
        /// The first of `keys` the file has (newer converters write [CLS] and [SEP] as BOS and EOS).
        func id(_ keys: String...) throws -> Int32 {
            guard let key = try keys.first(where: { try gguf.integer($0) != nil }), let value = try gguf.integer(key) else {
                throw bad(keys.joined(separator: " or "), "missing")
            }
            guard value >= 0, value < tokens.count else { throw bad(key, "\(value) is outside the \(tokens.count) tokens") }
            return Int32(value)
        }
        // llama.cpp lowercases when the file does not say (the BERT models it converts are
        // uncased), and strips accents when it lowercases.
        let lowercase = try gguf.bool("tokenizer.ggml.normalizer.lowercase") ?? true
        let splitter = BertTextSplitter(cleanText: true, handleChineseCharacters: true,
                                        stripAccents: try gguf.bool("tokenizer.ggml.normalizer.strip_accents") ?? lowercase,
                                        lowercase: lowercase)
        self.init(vocabulary: vocabulary, splitter: splitter, continuationPrefix: "##",
                  unknown: try id("tokenizer.ggml.unknown_token_id"), classifier: try id("tokenizer.ggml.cls_token_id", "tokenizer.ggml.bos_token_id"),
                  separator: try id("tokenizer.ggml.seperator_token_id", "tokenizer.ggml.eos_token_id"), addedTokens: added, maxCharactersPerWord: 100)
    }
}
