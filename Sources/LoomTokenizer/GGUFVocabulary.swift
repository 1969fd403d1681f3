import LoomFormats

/// GGUF vocabularies (`tokenizer.ggml.*`), read with the shared GGUF reader, tokenized as
/// llama.cpp does: `gpt2` models are byte-level BPE with merges and the pre-tokenizer that
/// `tokenizer.ggml.pre` names; `llama` models are SentencePiece BPE by score with byte fallback.
extension Tokenizer {
    /// llama.cpp's token types (`tokenizer.ggml.token_type`).
    enum GGUFTokenType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// The pre-tokenizer each `tokenizer.ggml.pre` name selects, as llama.cpp maps them, and
    /// whether llama.cpp takes a piece whole when it is a token (`ignore_merges`).
    static func ggufPreTokenizer(_ name: String) -> (segmentation: Segmentation, ignoreMerges: Bool)? {
        switch name {
        case "deepseek-llm": return (.passes(SplitPass.deepseekLLM), false)
        case "deepseek-coder": return (.passes(SplitPass.deepseekCoder), false)
        case "falcon": return (.passes(SplitPass.falcon), false)
        default: return ggufPattern(name).map { (.pattern($0.pattern), $0.ignoreMerges) }
        }
    }

    static func ggufPattern(_ name: String) -> (pattern: PreTokenizerPattern, ignoreMerges: Bool)? {
        switch name {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "dbrx", "smaug-bpe":
            return (.llama3, name != "dbrx" && name != "smaug-bpe")
        case "qwen2", "qwen2.5", "qwen-2.5", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez":
            return (.qwen2, false)
        case "qwen35":
            return (.qwen35, false)
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code",
             "roberta-bpe", "mpt", "olmo", "jais", "trillion", "granite-docling":
            return (.gpt2, false)
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b":
            return (.digitsThenGPT2, false)
        case "tekken":
            return (.tekken, false)
        default:
            return nil
        }
    }

    /// The tokenizer model's name, the tokens and their types (`normal` where the file has none).
    static func ggufTokens(_ gguf: GGUFFile) throws -> (model: String, tokens: [[UInt8]], types: [Int]) {
        func bad(_ key: String, _ reason: String) -> TokenizerError { .malformed(file: gguf.path, location: key, reason: reason) }
        guard let model = try gguf.string("tokenizer.ggml.model") else { throw bad("tokenizer.ggml.model", "missing") }
        guard let tokens = try gguf.byteStrings("tokenizer.ggml.tokens"), !tokens.isEmpty else {
            throw bad("tokenizer.ggml.tokens", "missing or empty")
        }
        let types = try gguf.integers("tokenizer.ggml.token_type") ?? [Int](repeating: GGUFTokenType.normal.rawValue, count: tokens.count)
        guard types.count == tokens.count else { throw bad("tokenizer.ggml.token_type", "\(types.count) types for \(tokens.count) tokens") }
        return (model, tokens, types)
    }

    /// Loads the vocabulary of a GGUF file.
    public convenience init(ggufFile path: String) throws {
        try self.init(gguf: try GGUFFile(path: path))
    }

    public convenience init(gguf: GGUFFile) throws {
        let path = gguf.path
        func bad(_ key: String, _ reason: String) -> TokenizerError { .malformed(file: path, location: key, reason: reason) }
        let (model, tokens, types) = try Self.ggufTokens(gguf)
        guard model == "gpt2" || model == "llama" else {
            throw TokenizerError.unsupported(file: path, feature: "tokenizer.ggml.model \(model) (Loom reads gpt2 and llama; bert loads as WordPieceTokenizer)")
        }
        let count = tokens.count
        func id(_ key: String) throws -> Int32? {
            guard let v = try gguf.integer(key) else { return nil }
            guard v >= 0 && v < count else { throw bad(key, "id \(v) outside the \(count) tokens") }
            return Int32(v)
        }
        let bos = try id("tokenizer.ggml.bos_token_id")
        let eos = try id("tokenizer.ggml.eos_token_id")
        let template = try gguf.string("tokenizer.chat_template")

        // Control and unknown tokens are special (parsed only on request); user-defined ones
        // always match, as llama.cpp's special-token partition does.
        var added: [AddedToken] = []
        for (i, t) in types.enumerated() {
            guard let type = GGUFTokenType(rawValue: t), [.control, .userDefined, .unknown].contains(type), !tokens[i].isEmpty else { continue }
            added.append(AddedToken(content: String(decoding: tokens[i], as: UTF8.self), id: Int32(i), special: type != .userDefined))
        }

        if model == "gpt2" {
            let preName = try gguf.string("tokenizer.ggml.pre") ?? "default"
            guard let pre = Self.ggufPreTokenizer(preName) else {
                throw TokenizerError.unsupported(file: path, feature: "tokenizer.ggml.pre \(preName)")
            }
            guard let mergeLines = try gguf.byteStrings("tokenizer.ggml.merges") else { throw bad("tokenizer.ggml.merges", "missing") }
            var idOf: [[UInt8]: Int32] = [:]
            idOf.reserveCapacity(count)
            for (i, t) in tokens.enumerated() where idOf[t] == nil { idOf[t] = Int32(i) }
            var merges: [(left: Int32, right: Int32, result: Int32)] = []
            merges.reserveCapacity(mergeLines.count)
            for (line, m) in mergeLines.enumerated() {
                guard m.count > 1, let space = m[1...].firstIndex(of: 0x20) else {
                    throw bad("tokenizer.ggml.merges[\(line)]", "no space")
                }
                let left = Array(m[..<space]), right = Array(m[(space + 1)...])
                // llama.cpp skips a merge whose parts or result are no tokens; so does Loom.
                guard let l = idOf[left], let r = idOf[right], let result = idOf[left + right] else { continue }
                merges.append((l, r, result))
            }
            var bytes = [[UInt8]](repeating: [], count: count)
            var decoded = [[UInt8]](repeating: [], count: count)
            for i in 0..<count {
                let text = String(decoding: tokens[i], as: UTF8.self)
                let isText = types[i] == GGUFTokenType.control.rawValue || types[i] == GGUFTokenType.userDefined.rawValue
                bytes[i] = ByteLevelAlphabet.bytes(of: text) ?? tokens[i]
                decoded[i] = isText ? tokens[i] : bytes[i]
            }
            let encoder = BytePairEncoder(table: TokenTable(strings: bytes), rule: .pairs(PairMergeTable(merges: merges)),
                                          initial: .bytes, wholePieceLookup: pre.ignoreMerges)
            self.init(encoder: encoder, steps: [], segmentation: pre.segmentation, addedTokens: added,
                      decoded: decoded, decodeStripsLeadingSpace: false, bos: bos, eos: eos,
                      addsBOS: try gguf.bool("tokenizer.ggml.add_bos_token") ?? false, chatTemplate: template)
            return
        }

        // SentencePiece: merge priority is the score, higher first; equal scores share a rank.
        guard let scores = try gguf.floats("tokenizer.ggml.scores"), scores.count == count else {
            throw bad("tokenizer.ggml.scores", "missing or not one per token")
        }
        let order = (0..<count).sorted { scores[$0] > scores[$1] }
        var priority = [UInt32](repeating: 0, count: count)
        var rank: UInt32 = 0
        for (k, i) in order.enumerated() {
            if k > 0 && scores[i] != scores[order[k - 1]] { rank += 1 }
            priority[i] = rank
        }
        var fallback: [Int32]? = [Int32](repeating: -1, count: 256)
        var decoded = [[UInt8]](repeating: [], count: count)
        let metaspace = Array(String.metaspace.utf8)
        for i in 0..<count {
            let t = tokens[i]
            if types[i] == GGUFTokenType.byte.rawValue, t.count == 6, let b = UInt8(String(decoding: t[3..<5], as: UTF8.self), radix: 16) {
                fallback?[Int(b)] = Int32(i)
                decoded[i] = [b]
            } else if types[i] == GGUFTokenType.normal.rawValue || types[i] == GGUFTokenType.userDefined.rawValue {
                decoded[i] = Self.replacing(t, metaspace, [0x20])
            } else {
                decoded[i] = t
            }
        }
        if fallback?.contains(-1) == true { fallback = nil }
        let addSpacePrefix = try gguf.bool("tokenizer.ggml.add_space_prefix") ?? true
        let unknown = try id("tokenizer.ggml.unknown_token_id") ?? (count > 0 ? 0 : nil)
        let encoder = BytePairEncoder(table: TokenTable(strings: tokens), rule: .concatenation(priority: .init(priority)),
                                      initial: .characters(byteFallback: fallback, unknown: unknown, fuseUnknown: false),
                                      wholePieceLookup: false)
        var steps: [TextStep] = []
        if addSpacePrefix { steps.append(.prepend(" ", onlyAtTextStart: false, unlessPresent: false)) }
        steps.append(.replace(" ", String.metaspace))
        self.init(encoder: encoder, steps: steps, segmentation: .whole, addedTokens: added,
                  decoded: decoded, decodeStripsLeadingSpace: addSpacePrefix, bos: bos, eos: eos,
                  addsBOS: try gguf.bool("tokenizer.ggml.add_bos_token") ?? true, chatTemplate: template)
    }
}
