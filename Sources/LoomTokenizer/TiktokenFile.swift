import LoomFormats
import LoomCore

/// tiktoken `.tiktoken` rank files: one `base64(bytes) rank` per line; the rank is the id.
extension Tokenizer {
    /// Loads a rank file with a named pre-tokenizer pattern and special tokens.
    /// - Parameter specialTokens: literal special tokens and their ids; nil uses the preset's
    ///   built-in map (Qwen2's for `.qwen2`, tiktoken's for `.cl100k`, none otherwise).
    public convenience init(tiktokenFile path: String, pattern: PreTokenizerPattern,
                            specialTokens: [AddedToken]? = nil) throws {
        let file = try MappedFile(path: path)
        let strings = try Self.parseRanks(file.bytes, path: path)
        let specials = specialTokens ?? Self.builtInSpecials(pattern)
        try self.init(ranks: strings, pattern: pattern, specials: specials, path: path)
    }

    /// Builds a tokenizer from tiktoken-style ranks (`strings[rank]`, empty where no rank).
    convenience init(ranks strings: [[UInt8]], pattern: PreTokenizerPattern, specials: [AddedToken],
                     path: String, bos: Int32? = nil, eos: Int32? = nil, addsBOS: Bool = false) throws {
        var all = strings
        for s in specials {
            guard s.id >= 0 else { throw TokenizerError.malformed(file: path, location: s.content, reason: "negative id") }
            if Int(s.id) >= all.count { all.append(contentsOf: repeatElement([], count: Int(s.id) + 1 - all.count)) }
            all[Int(s.id)] = Array(s.content.utf8)
        }
        let table = TokenTable(strings: strings)
        let encoder = BytePairEncoder(table: table, rule: .concatenation(priority: nil), initial: .bytes, wholePieceLookup: true)
        self.init(encoder: encoder, steps: [], segmentation: .pattern(pattern), addedTokens: specials,
                  decoded: all, decodeStripsLeadingSpace: false, bos: bos, eos: eos, addsBOS: addsBOS)
    }

    /// The special tokens a preset implies.
    ///
    /// Qwen2: the added tokens of Qwen2.5's `tokenizer_config.json` (`added_tokens_decoder`,
    /// ids 151643–151664; `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` first, as dashscope's
    /// `qwen_tokenizer.py` numbers them). cl100k, o200k and gpt2: tiktoken's `openai_public.py`.
    static func builtInSpecials(_ pattern: PreTokenizerPattern) -> [AddedToken] {
        switch pattern {
        case .qwen2:
            let names: [(String, Bool)] = [
                ("<|endoftext|>", true), ("<|im_start|>", true), ("<|im_end|>", true),
                ("<|object_ref_start|>", true), ("<|object_ref_end|>", true), ("<|box_start|>", true),
                ("<|box_end|>", true), ("<|quad_start|>", true), ("<|quad_end|>", true),
                ("<|vision_start|>", true), ("<|vision_end|>", true), ("<|vision_pad|>", true),
                ("<|image_pad|>", true), ("<|video_pad|>", true), ("<tool_call>", false),
                ("</tool_call>", false), ("<|fim_prefix|>", false), ("<|fim_middle|>", false),
                ("<|fim_suffix|>", false), ("<|fim_pad|>", false), ("<|repo_name|>", false),
                ("<|file_sep|>", false),
            ]
            return names.enumerated().map { AddedToken(content: $1.0, id: Int32(151643 + $0), special: $1.1) }
        case .cl100k:
            return [("<|endoftext|>", 100257), ("<|fim_prefix|>", 100258), ("<|fim_middle|>", 100259),
                    ("<|fim_suffix|>", 100260), ("<|endofprompt|>", 100276)]
                .map { AddedToken(content: $0.0, id: $0.1, special: true) }
        case .gpt2:
            return [AddedToken(content: "<|endoftext|>", id: 50256, special: true)]
        case .o200k:
            return [AddedToken(content: "<|endoftext|>", id: 199999, special: true),
                    AddedToken(content: "<|endofprompt|>", id: 200018, special: true)]
        case .llama3, .tekken, .qwen35, .digitsThenGPT2:
            return []
        }
    }

    /// Parses `base64 rank` lines into `strings[rank]`.
    static func parseRanks(_ bytes: UnsafeRawBufferPointer, path: String) throws -> [[UInt8]] {
        var strings: [[UInt8]] = []
        strings.reserveCapacity(bytes.count / 16)
        let p = bytes.bindMemory(to: UInt8.self)
        var i = 0, line = 1
        let n = p.count
        while i < n {
            var end = i
            while end < n && p[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > i && p[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd > i {
                var space = i
                while space < lineEnd && p[space] != 0x20 { space += 1 }
                guard space < lineEnd, let token = Base64.decode(p, i..<space) else {
                    throw TokenizerError.malformed(file: path, location: "line \(line)", reason: "expected `base64 rank`")
                }
                var rank = 0
                var k = space + 1
                guard k < lineEnd else {
                    throw TokenizerError.malformed(file: path, location: "line \(line)", reason: "missing rank")
                }
                while k < lineEnd {
                    let d = p[k] &- 0x30
                    guard d < 10, rank < 100_000_000 else {
                        throw TokenizerError.malformed(file: path, location: "line \(line)", reason: "bad rank")
                    }
                    rank = rank * 10 + Int(d)
                    k += 1
                }
                // A lying rank would size the table: ranks stay within the ids a vocabulary may have.
                guard rank < ModelConfig.Bounds.vocabSize else {
                    throw TokenizerError.malformed(file: path, location: "line \(line)",
                                                   reason: "rank \(rank) is beyond the \(ModelConfig.Bounds.vocabSize) ids a vocabulary may have")
                }
                if rank >= strings.count { strings.append(contentsOf: repeatElement([], count: rank + 1 - strings.count)) }
                strings[rank] = token
            }
            i = end + 1
            line += 1
        }
        return strings
    }
}

/// Standard base64 (with optional padding).
enum Base64 {
    private static let values: [UInt8] = {
        var t = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    static func decode(_ p: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [UInt8]? {
        var end = range.upperBound
        while end > range.lowerBound && p[end - 1] == UInt8(ascii: "=") { end -= 1 }
        var out: [UInt8] = []
        out.reserveCapacity((end - range.lowerBound) * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for i in range.lowerBound..<end {
            let v = values[Int(p[i])]
            if v == 0xFF { return nil }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}
