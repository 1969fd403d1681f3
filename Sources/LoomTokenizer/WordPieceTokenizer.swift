import Foundation

/// A WordPiece tokenizer (BERT and the sentence-transformers encoders), exactly as HF tokenizers
/// runs a `tokenizer.json` whose model is `WordPiece`: special tokens matched in the raw text, the
/// BERT normalizer and pre-tokenizer (`BertTextSplitter`), then greedy longest-match-first
/// pieces per word, continuation pieces carrying the `##` prefix, and a word that cannot be
/// covered (or is longer than `max_input_chars_per_word`) becoming `[UNK]`.
///
/// Immutable and safe to share between threads.
public final class WordPieceTokenizer: Sendable {
    /// Number of ids, including special tokens.
    public let vocabularySize: Int
    /// The ids around every sequence.
    public let classifierId: Int32
    public let separatorId: Int32
    public let unknownId: Int32
    /// Special tokens matched literally in the text.
    public var addedTokens: [AddedToken] { added.tokens }

    let splitter: BertTextSplitter
    let maxCharactersPerWord: Int
    /// Word-initial pieces and `##` continuation pieces (prefix removed), by their UTF-8 bytes:
    /// byte keys, since Swift's String equality would match canonically equivalent spellings that
    /// HF tokenizers tells apart.
    let initialPieces: [[UInt8]: Int32]
    let continuationPieces: [[UInt8]: Int32]
    /// The longest piece in bytes: longer candidates cannot match, so they are never looked up.
    let longestPieceBytes: Int
    let added: AddedTokenMatcher
    let specialIds: Set<Int32>
    /// [vocabulary] each id's text as the vocabulary spells it (`##` included).
    let pieces: [String]
    let continuationPrefix: String

    init(vocabulary: [String], splitter: BertTextSplitter, continuationPrefix: String, unknown: Int32,
         classifier: Int32, separator: Int32, addedTokens: [AddedToken], maxCharactersPerWord: Int) {
        var initial: [[UInt8]: Int32] = [:], continuation: [[UInt8]: Int32] = [:]
        initial.reserveCapacity(vocabulary.count)
        let prefix = Array(continuationPrefix.utf8)
        for (id, piece) in vocabulary.enumerated() where !piece.isEmpty {
            let bytes = Array(piece.utf8)
            if !prefix.isEmpty, bytes.count > prefix.count, bytes.starts(with: prefix) {
                let rest = Array(bytes[prefix.count...])
                if continuation[rest] == nil { continuation[rest] = Int32(id) }
            }
            if initial[bytes] == nil { initial[bytes] = Int32(id) }
        }
        initialPieces = initial
        continuationPieces = continuation
        longestPieceBytes = max(initial.keys.map(\.count).max() ?? 0, continuation.keys.map(\.count).max() ?? 0)
        pieces = vocabulary
        vocabularySize = vocabulary.count
        self.splitter = splitter
        self.continuationPrefix = continuationPrefix
        unknownId = unknown
        classifierId = classifier
        separatorId = separator
        added = AddedTokenMatcher(addedTokens)
        specialIds = Set(addedTokens.filter(\.special).map(\.id))
        self.maxCharactersPerWord = maxCharactersPerWord
    }

    /// Whether the tokenizer.json at `path` holds a WordPiece model (without loading it).
    public static func isWordPiece(huggingFaceFile path: String) -> Bool {
        guard let root = try? Tokenizer.readJSON(path), let model = root["model"] as? [String: Any] else { return false }
        return model["type"] as? String == "WordPiece"
    }

    /// Loads an HF `tokenizer.json` whose model is WordPiece.
    public convenience init(huggingFaceFile path: String) throws {
        let root = try Tokenizer.readJSON(path)
        func bad(_ location: String, _ reason: String) -> TokenizerError { .malformed(file: path, location: location, reason: reason) }
        guard let model = root["model"] as? [String: Any] else { throw bad("model", "missing") }
        guard model["type"] as? String == "WordPiece" else {
            throw TokenizerError.unsupported(file: path, feature: "model.type \(model["type"] ?? "?") (expected WordPiece)")
        }
        guard let vocab = model["vocab"] as? [String: Any], !vocab.isEmpty else { throw bad("model.vocab", "missing or empty") }
        var maxId = -1
        for (token, value) in vocab {
            guard let id = value as? Int, id >= 0, id < 10_000_000 else {
                throw bad("model.vocab.\(token)", "id is not an integer in 0..<10M")
            }
            maxId = max(maxId, id)
        }
        let addedList = root["added_tokens"] as? [[String: Any]] ?? []
        for t in addedList { if let id = t["id"] as? Int, id >= 0, id < 10_000_000 { maxId = max(maxId, id) } }
        var strings = [String](repeating: "", count: maxId + 1)
        for (token, value) in vocab { strings[value as! Int] = token }

        var added: [AddedToken] = []
        for (i, t) in addedList.enumerated() {
            guard let id = t["id"] as? Int, id >= 0, let content = t["content"] as? String else {
                throw bad("added_tokens[\(i)]", "needs a non-negative id and content")
            }
            if t["normalized"] as? Bool ?? false {
                throw TokenizerError.unsupported(file: path, feature: "added_tokens[\(i)] matched after normalization")
            }
            strings[id] = content
            added.append(AddedToken(content: content, id: Int32(id), special: t["special"] as? Bool ?? false,
                                    lstrip: t["lstrip"] as? Bool ?? false, rstrip: t["rstrip"] as? Bool ?? false))
        }
        func id(of token: String, _ location: String) throws -> Int32 {
            if let id = added.first(where: { $0.content == token })?.id { return id }
            guard let id = vocab[token] as? Int else { throw bad(location, "\(token.debugDescription) is not in the vocabulary") }
            return Int32(id)
        }

        var splitter = BertTextSplitter()
        switch root["normalizer"] {
        case let n as [String: Any]:
            guard n["type"] as? String == "BertNormalizer" else {
                throw TokenizerError.unsupported(file: path, feature: "normalizer \(n["type"] ?? "?") with WordPiece (only BertNormalizer)")
            }
            splitter.cleanText = n["clean_text"] as? Bool ?? true
            splitter.handleChineseCharacters = n["handle_chinese_chars"] as? Bool ?? true
            splitter.lowercase = n["lowercase"] as? Bool ?? true
            splitter.stripAccents = n["strip_accents"] as? Bool ?? splitter.lowercase
        case nil, is NSNull:
            splitter = BertTextSplitter(cleanText: false, handleChineseCharacters: false, stripAccents: false, lowercase: false)
        default: throw bad("normalizer", "not an object")
        }
        if let p = root["pre_tokenizer"] as? [String: Any], p["type"] as? String != "BertPreTokenizer" {
            throw TokenizerError.unsupported(file: path, feature: "pre_tokenizer \(p["type"] ?? "?") with WordPiece (only BertPreTokenizer)")
        }

        // The post-processor's single-sequence template: [CLS] $A [SEP].
        var classifier = try? id(of: "[CLS]", "post_processor"), separator = try? id(of: "[SEP]", "post_processor")
        if let post = root["post_processor"] as? [String: Any] {
            switch post["type"] as? String {
            case "TemplateProcessing":
                let single = post["single"] as? [[String: Any]] ?? []
                let names = single.map { ($0["SpecialToken"] as? [String: Any])?["id"] as? String ?? (($0["Sequence"] != nil) ? "$A" : "?") }
                guard names.count == 3, names[1] == "$A" else {
                    throw TokenizerError.unsupported(file: path, feature: "post_processor single template \(names) (only [CLS] $A [SEP])")
                }
                classifier = try id(of: names[0], "post_processor.single[0]")
                separator = try id(of: names[2], "post_processor.single[2]")
            case "BertProcessing":
                guard let cls = post["cls"] as? [Any], let sep = post["sep"] as? [Any],
                      let c = cls.last as? Int, let s = sep.last as? Int else { throw bad("post_processor", "cls and sep need [token, id]") }
                classifier = Int32(c); separator = Int32(s)
            case let other: throw TokenizerError.unsupported(file: path, feature: "post_processor \(other ?? "?")")
            }
        }
        guard let classifier, let separator else { throw bad("post_processor", "no [CLS] and [SEP] tokens") }
        let unknownName = model["unk_token"] as? String ?? "[UNK]"
        self.init(vocabulary: strings, splitter: splitter,
                  continuationPrefix: model["continuing_subword_prefix"] as? String ?? "##",
                  unknown: try id(of: unknownName, "model.unk_token"), classifier: classifier, separator: separator,
                  addedTokens: added, maxCharactersPerWord: model["max_input_chars_per_word"] as? Int ?? 100)
    }

    /// The ids of `text` between `[CLS]` and `[SEP]`, cut to `maxLength` ids in all (nil: no cut).
    /// - Parameter parseSpecial: match special tokens such as `[SEP]` written in the text, as HF
    ///   tokenizers does by default.
    public func encode(_ text: String, maxLength: Int? = nil, parseSpecial: Bool = true) -> [Int32] {
        withSpecials(encodeWithoutSpecials(text, parseSpecial: parseSpecial), maxLength: maxLength)
    }

    /// `body` between `[CLS]` and `[SEP]`, its end cut so that all of it is at most `maxLength` ids.
    public func withSpecials(_ body: [Int32], maxLength: Int? = nil) -> [Int32] {
        let kept = maxLength.map { body.prefix(max(0, $0 - 2)) } ?? body[...]
        return [classifierId] + kept + [separatorId]
    }

    /// The ids of `text` alone, without `[CLS]` and `[SEP]`.
    public func encodeWithoutSpecials(_ text: String, parseSpecial: Bool = true) -> [Int32] {
        var out: [Int32] = []
        let utf8 = Array(text.utf8)
        utf8.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                let match = added.isEmpty ? nil : added.nextMatch(in: buffer, from: i, parseSpecial: parseSpecial)
                let stop = match?.range.lowerBound ?? buffer.count
                if stop > i {
                    let stretch = String(decoding: UnsafeBufferPointer(rebasing: buffer[i..<stop]), as: UTF8.self)
                    for word in splitter.words(stretch[...]) { encodeWord(word, into: &out) }
                }
                guard let match else { break }
                out.append(match.id)
                i = match.range.upperBound
            }
        }
        return out
    }

    /// Greedy longest-match-first over one word's characters.
    private func encodeWord(_ word: [Unicode.Scalar], into out: inout [Int32]) {
        guard word.count <= maxCharactersPerWord else { out.append(unknownId); return }
        // [characters + 1] byte offset of each character in `bytes`.
        var bytes: [UInt8] = [], offsets = [0]
        for scalar in word { bytes.append(contentsOf: UTF8.encode(scalar)!); offsets.append(bytes.count) }
        let mark = out.count
        var start = 0
        while start < word.count {
            var end = word.count
            while offsets[end] - offsets[start] > longestPieceBytes { end -= 1 }
            var found: Int32? = nil
            while end > start {
                let piece = Array(bytes[offsets[start]..<offsets[end]])
                if let id = start == 0 ? initialPieces[piece] : continuationPieces[piece] { found = id; break }
                end -= 1
            }
            guard let found else {
                out.removeLast(out.count - mark)
                out.append(unknownId)
                return
            }
            out.append(found)
            start = end
        }
    }

    /// The text of `ids` as HF's WordPiece decoder writes it: each piece after the first gets a
    /// space in front, or loses its `##` prefix instead; then each piece alone goes through the
    /// decoder's cleanup (" ." → "." and the like), which is why " ' " never matches across pieces.
    public func decode(_ ids: [Int32], skipSpecial: Bool = true) -> String {
        let prefix = Array(continuationPrefix.utf8)
        var text = ""
        var index = 0
        for id in ids where id >= 0 && Int(id) < pieces.count {
            if skipSpecial && specialIds.contains(id) { continue }
            let piece = pieces[Int(id)]
            var token: String
            // Byte comparison: "##" followed by a combining mark is not a String prefix of it.
            if index > 0, !prefix.isEmpty, piece.utf8.starts(with: prefix) {
                token = String(decoding: Array(piece.utf8.dropFirst(prefix.count)), as: UTF8.self)
            } else {
                token = index > 0 ? " " + piece : piece
            }
            for (from, to) in Self.cleanup { token = token.replacingOccurrences(of: from, with: to) }
            text += token
            index += 1
        }
        return text
    }

    private static let cleanup = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                                  (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]
}
