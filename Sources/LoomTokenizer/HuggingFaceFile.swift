import Foundation

/// HF `tokenizer.json` (BPE models) and `tokenizer_config.json`.
extension Tokenizer {
    /// Loads `tokenizer.json`, and `tokenizer_config.json` from the same directory when present
    /// (BOS/EOS, `add_bos_token`, `chat_template`).
    public convenience init(huggingFaceFile path: String) throws {
        let root = try Self.readJSON(path)
        let configPath = (path as NSString).deletingLastPathComponent + "/tokenizer_config.json"
        let config = FileManager.default.fileExists(atPath: configPath) ? try Self.readJSON(configPath) : [:]
        try self.init(huggingFace: root, config: config, path: path)
    }

    static func readJSON(_ path: String) throws -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw TokenizerError.malformed(file: path, location: "file", reason: "cannot read (\(error.localizedDescription))")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let dict = object as? [String: Any] else {
            throw TokenizerError.malformed(file: path, location: "file", reason: "not a JSON object")
        }
        return dict
    }

    convenience init(huggingFace root: [String: Any], config: [String: Any], path: String) throws {
        func bad(_ location: String, _ reason: String) -> TokenizerError {
            .malformed(file: path, location: location, reason: reason)
        }
        guard let model = root["model"] as? [String: Any] else { throw bad("model", "missing") }
        guard (model["type"] as? String ?? "BPE") == "BPE" else {
            throw TokenizerError.unsupported(file: path, feature: "model.type \(model["type"] ?? "?") (only BPE)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = model[key] as? String, !s.isEmpty { throw TokenizerError.unsupported(file: path, feature: "model.\(key)") }
        }
        guard let vocab = model["vocab"] as? [String: Any] else { throw bad("model.vocab", "missing") }

        // Pipeline: normalizer and pre-tokenizer.
        var steps: [TextStep] = []
        var segmentation = Segmentation.whole
        var byteLevel = false
        var addPrefixSpace = false
        try Self.flatten(root["normalizer"], "normalizers").forEach { n in
            switch n["type"] as? String {
            case "NFC": steps.append(.nfc)
            case "NFKC": steps.append(.nfkc)
            case "Prepend":
                steps.append(.prepend(n["prepend"] as? String ?? "", onlyAtTextStart: false, unlessPresent: false))
            case "Replace":
                guard let from = (n["pattern"] as? [String: Any])?["String"] as? String, let to = n["content"] as? String else {
                    throw TokenizerError.unsupported(file: path, feature: "normalizer Replace with a regex pattern")
                }
                steps.append(.replace(from, to))
            case let other: throw TokenizerError.unsupported(file: path, feature: "normalizer \(other ?? "?")")
            }
        }
        // Split regexes in order; one known pattern is scanned directly, several (DeepSeek)
        // run as passes.
        var splits: [(regex: String, pass: SplitPass?)] = []
        try Self.flatten(root["pre_tokenizer"], "pretokenizers").forEach { p in
            switch p["type"] as? String {
            case "ByteLevel":
                byteLevel = true
                addPrefixSpace = p["add_prefix_space"] as? Bool ?? false
                if p["use_regex"] as? Bool ?? true { splits.append((PreTokenizerPattern.gpt2.regexes[0], .gpt2)) }
            case "Split":
                guard let regex = (p["pattern"] as? [String: Any])?["Regex"] as? String else {
                    throw TokenizerError.unsupported(file: path, feature: "pre_tokenizer Split with a string pattern")
                }
                guard (p["behavior"] as? String ?? "Isolated") == "Isolated", !(p["invert"] as? Bool ?? false) else {
                    throw TokenizerError.unsupported(file: path, feature: "pre_tokenizer Split with behavior \(p["behavior"] ?? "?") or inverted")
                }
                splits.append((regex, SplitPass(regex: regex)))
            case "Digits":
                splits.append(("\\p{N}", .numbers(maxLength: p["individual_digits"] as? Bool ?? false ? 1 : nil)))
            case "Metaspace":
                let replacement = p["replacement"] as? String ?? .metaspace
                let scheme = p["prepend_scheme"] as? String ?? ((p["add_prefix_space"] as? Bool ?? true) ? "always" : "never")
                steps.append(.replace(" ", replacement))
                if scheme != "never" {
                    steps.append(.prepend(replacement, onlyAtTextStart: scheme == "first", unlessPresent: true))
                }
                if p["split"] as? Bool ?? true { segmentation = .splitBeforeMetaspace }
            case let other: throw TokenizerError.unsupported(file: path, feature: "pre_tokenizer \(other ?? "?")")
            }
        }
        if splits.count == 1, let pattern = PreTokenizerPattern(regex: splits[0].regex) {
            segmentation = .pattern(pattern)
        } else if !splits.isEmpty {
            var passes: [SplitPass] = []
            for split in splits {
                guard let pass = split.pass else { throw TokenizerError.unsupportedPattern(file: path, regex: split.regex) }
                passes.append(pass)
            }
            segmentation = .passes(passes)
        }
        if addPrefixSpace { steps.append(.prepend(" ", onlyAtTextStart: false, unlessPresent: true)) }

        // Vocabulary, in the bytes the encoder matches.
        var strings: [String] = []
        var maxId = -1
        for (_, value) in vocab { if let id = value as? Int { maxId = max(maxId, id) } }
        let addedList = root["added_tokens"] as? [[String: Any]] ?? []
        for t in addedList { if let id = t["id"] as? Int { maxId = max(maxId, id) } }
        guard maxId >= 0, maxId < 10_000_000 else { throw bad("model.vocab", "no ids, or ids beyond 10M") }
        strings = [String](repeating: "", count: maxId + 1)
        var idOf: [String: Int32] = [:]
        idOf.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            guard let id = value as? Int, id >= 0 else { throw bad("model.vocab.\(token)", "id is not a non-negative integer") }
            strings[id] = token
            idOf[token] = Int32(id)
        }
        var encodeBytes = [[UInt8]](repeating: [], count: maxId + 1)
        for id in 0...maxId where !strings[id].isEmpty {
            encodeBytes[id] = byteLevel ? (ByteLevelAlphabet.bytes(of: strings[id]) ?? Array(strings[id].utf8)) : Array(strings[id].utf8)
        }

        // Merges: "a b" strings or ["a", "b"] pairs.
        guard let mergeList = model["merges"] as? [Any] else { throw bad("model.merges", "missing") }
        var merges: [(left: Int32, right: Int32, result: Int32)] = []
        merges.reserveCapacity(mergeList.count)
        for (line, m) in mergeList.enumerated() {
            let pair: [String]
            if let s = m as? String {
                guard let space = s.firstIndex(of: " ") else { throw bad("model.merges[\(line)]", "no space in \(s.debugDescription)") }
                pair = [String(s[..<space]), String(s[s.index(after: space)...])]
            } else if let a = m as? [String], a.count == 2 {
                pair = a
            } else {
                throw bad("model.merges[\(line)]", "neither \"a b\" nor [a, b]")
            }
            guard let l = idOf[pair[0]], let r = idOf[pair[1]], let result = idOf[pair[0] + pair[1]] else {
                throw bad("model.merges[\(line)]", "\(pair) has a part or result missing from the vocabulary")
            }
            merges.append((l, r, result))
        }

        // Added tokens.
        var added: [AddedToken] = []
        for (i, t) in addedList.enumerated() {
            guard let id = t["id"] as? Int, let content = t["content"] as? String else {
                throw bad("added_tokens[\(i)]", "needs id and content")
            }
            added.append(AddedToken(content: content, id: Int32(id), special: t["special"] as? Bool ?? false,
                                    lstrip: t["lstrip"] as? Bool ?? false, rstrip: t["rstrip"] as? Bool ?? false))
            idOf[content] = Int32(id)
        }

        // Initial symbols and unknowns.
        let byteFallback = model["byte_fallback"] as? Bool ?? false
        var fallbackIds: [Int32]? = nil
        if byteFallback {
            var ids = [Int32](repeating: 0, count: 256)
            for b in 0..<256 {
                guard let id = idOf[String(format: "<0x%02X>", b)] else { throw bad("model.vocab", "byte_fallback without <0x\(String(format: "%02X", b))>") }
                ids[b] = id
            }
            fallbackIds = ids
        }
        let unknown = (model["unk_token"] as? String).flatMap { idOf[$0] }
        let initial: BytePairEncoder.InitialSymbols = byteLevel
            ? .bytes
            : .characters(byteFallback: fallbackIds, unknown: unknown, fuseUnknown: model["fuse_unk"] as? Bool ?? false)
        let encoder = BytePairEncoder(table: TokenTable(strings: encodeBytes), rule: .pairs(PairMergeTable(merges: merges)),
                                      initial: initial, wholePieceLookup: model["ignore_merges"] as? Bool ?? false)

        // Decoding: what each id turns back into.
        let decoders = try Self.flatten(root["decoder"], "decoders")
        let decoderTypes = Set(decoders.compactMap { $0["type"] as? String })
        let replacesMetaspace = decoderTypes.contains("Metaspace") || decoders.contains {
            $0["type"] as? String == "Replace" && ($0["pattern"] as? [String: Any])?["String"] as? String == .metaspace
        }
        let stripsLeadingSpace = decoders.contains {
            ($0["type"] as? String == "Strip" && ($0["start"] as? Int ?? 0) >= 1)
                || ($0["type"] as? String == "Metaspace" && ($0["prepend_scheme"] as? String ?? "always") != "never")
        }
        var decodeBytes = encodeBytes
        if !byteLevel {
            for id in 0...maxId where !strings[id].isEmpty {
                let s = strings[id]
                if decoderTypes.contains("ByteFallback"), s.utf8.count == 6, s.hasPrefix("<0x"), s.hasSuffix(">"),
                   let b = UInt8(s.dropFirst(3).dropLast(), radix: 16) {
                    decodeBytes[id] = [b]
                } else if replacesMetaspace {
                    decodeBytes[id] = Array(s.replacingOccurrences(of: String.metaspace, with: " ").utf8)
                }
            }
        }
        for t in added { decodeBytes[Int(t.id)] = Array(t.content.utf8) }

        // tokenizer_config.json.
        func tokenId(_ key: String) -> Int32? {
            let value = config[key]
            let name = (value as? String) ?? ((value as? [String: Any])?["content"] as? String)
            return name.flatMap { idOf[$0] }
        }
        var template = config["chat_template"] as? String
        if template == nil, let list = config["chat_template"] as? [[String: Any]] {
            template = (list.first { $0["name"] as? String == "default" } ?? list.first)?["template"] as? String
        }
        let postAddsBOS: Bool = {
            guard let post = root["post_processor"] as? [String: Any], post["type"] as? String == "TemplateProcessing",
                  let single = post["single"] as? [[String: Any]], let first = single.first else { return false }
            return first["SpecialToken"] != nil
        }()
        self.init(encoder: encoder, steps: steps, segmentation: segmentation, addedTokens: added,
                  decoded: decodeBytes, decodeStripsLeadingSpace: stripsLeadingSpace,
                  bos: tokenId("bos_token"), eos: tokenId("eos_token"),
                  addsBOS: config["add_bos_token"] as? Bool ?? postAddsBOS, chatTemplate: template)
    }

    /// A component or a `Sequence` of them, as a flat list (empty for null).
    private static func flatten(_ value: Any?, _ key: String) throws -> [[String: Any]] {
        guard let dict = value as? [String: Any] else { return [] }
        if dict["type"] as? String == "Sequence", let list = dict[key] as? [[String: Any]] {
            return try list.flatMap { try flatten($0, key) }
        }
        return [dict]
    }
}
