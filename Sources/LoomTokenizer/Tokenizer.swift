import Foundation

/// A loaded tokenizer: text to token ids and back, exactly as the reference implementation of
/// its format does.
///
/// Token ids are `Int32` everywhere (the width GGUF and the model's embedding lookup use).
/// A tokenizer is immutable and safe to share between threads.
///
/// Load one with `Tokenizer.load(modelDirectory:)`, `Tokenizer(tiktokenFile:pattern:)`,
/// `Tokenizer(huggingFaceFile:)` or `Tokenizer(tekkenFile:)`.
public final class Tokenizer: Sendable {
    /// Number of ids, including added and special tokens.
    public let vocabularySize: Int
    /// Beginning- and end-of-sequence ids, when the format names them.
    public let bos: Int32?
    public let eos: Int32?
    /// Whether `encode` puts `bos` in front by default (`add_bos_token`).
    public let addsBOS: Bool
    /// The chat template from `tokenizer_config.json` or the GGUF metadata, unrendered.
    public let chatTemplate: String?
    /// Added and special tokens matched literally in the text.
    public var addedTokens: [AddedToken] { added.tokens }

    let encoder: BytePairEncoder
    let steps: [TextStep]
    let segmentation: Segmentation
    let added: AddedTokenMatcher
    let decoded: DecodeTable
    /// Whether decoding drops one space at the very start (SentencePiece's prefix space).
    let decodeStripsLeadingSpace: Bool

    init(encoder: BytePairEncoder, steps: [TextStep], segmentation: Segmentation, addedTokens: [AddedToken],
         decoded strings: [[UInt8]], decodeStripsLeadingSpace: Bool,
         bos: Int32? = nil, eos: Int32? = nil, addsBOS: Bool = false, chatTemplate: String? = nil) {
        self.encoder = encoder
        self.steps = steps
        self.segmentation = segmentation
        added = AddedTokenMatcher(addedTokens)
        decoded = DecodeTable(strings: strings, special: Set(addedTokens.filter(\.special).map(\.id)))
        self.decodeStripsLeadingSpace = decodeStripsLeadingSpace
        vocabularySize = strings.count
        self.bos = bos
        self.eos = eos
        self.addsBOS = addsBOS
        self.chatTemplate = chatTemplate
    }

    /// The ids of `text`.
    /// - Parameters:
    ///   - parseSpecial: recognise special tokens such as `<|im_start|>` written in the text;
    ///     when false they are encoded as plain text. Non-special added tokens always match.
    ///   - addBOS: put `bos` first; nil follows the tokenizer's `add_bos_token`.
    public func encode(_ text: String, parseSpecial: Bool = false, addBOS: Bool? = nil) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count / 3 + 4)
        if addBOS ?? addsBOS, let bos { out.append(bos) }
        var text = text
        text.withUTF8 { buffer in encodeText(buffer, parseSpecial: parseSpecial, into: &out) }
        return out
    }

    private func encodeText(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool, into out: inout [Int32]) {
        let scratch = BytePairEncoder.Scratch()
        var i = 0
        while i < text.count {
            let match = added.isEmpty ? nil : added.nextMatch(in: text, from: i, parseSpecial: parseSpecial)
            let stop = match?.range.lowerBound ?? text.count
            if stop > i { encodeStretch(text, i..<stop, scratch, into: &out) }
            guard let match else { break }
            out.append(match.id)
            i = match.range.upperBound
        }
    }

    /// Normalizes, segments and encodes text between added tokens.
    private func encodeStretch(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                               _ scratch: BytePairEncoder.Scratch, into out: inout [Int32]) {
        if steps.isEmpty {
            encodePieces(text, range, scratch, into: &out)
            return
        }
        var s = String(decoding: UnsafeBufferPointer(rebasing: text[range]), as: UTF8.self)
        for step in steps {
            switch step {
            case .nfc: if !Self.isBelowCombiningMarks(s) { s = s.precomposedStringWithCanonicalMapping }
            case .nfkc: if !Self.isBelowCombiningMarks(s) { s = s.precomposedStringWithCompatibilityMapping }
            case let .prepend(prefix, onlyAtTextStart, unlessPresent):
                if (!onlyAtTextStart || range.lowerBound == 0) && !(unlessPresent && s.utf8.starts(with: prefix.utf8)) {
                    s = prefix + s
                }
            case let .replace(from, to): s = Self.replacing(s, from, to)
            }
        }
        s.withUTF8 { encodePieces($0, 0..<$0.count, scratch, into: &out) }
    }

    /// Byte-wise replacement (HF's Replace works on the string, not on grapheme clusters).
    private static func replacing(_ s: String, _ from: String, _ to: String) -> String {
        String(decoding: replacing(Array(s.utf8), Array(from.utf8), Array(to.utf8)), as: UTF8.self)
    }

    static func replacing(_ source: [UInt8], _ pattern: [UInt8], _ replacement: [UInt8]) -> [UInt8] {
        guard let first = pattern.first else { return source }
        var out: [UInt8] = []
        out.reserveCapacity(source.count + source.count / 4)
        var i = 0
        while i < source.count {
            if source[i] == first && i + pattern.count <= source.count && source[i..<(i + pattern.count)].elementsEqual(pattern) {
                out.append(contentsOf: replacement)
                i += pattern.count
            } else {
                out.append(source[i])
                i += 1
            }
        }
        return out
    }

    /// ASCII and Latin-1 text below U+0300 is already in every normal form, so the common case
    /// skips Foundation's normalization.
    private static func isBelowCombiningMarks(_ s: String) -> Bool {
        s.utf8.allSatisfy { $0 < 0xCC }
    }

    private func encodePieces(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                              _ scratch: BytePairEncoder.Scratch, into out: inout [Int32]) {
        switch segmentation {
        case .pattern(let pattern):
            pattern.split(text, range) { start, end in encoder.encode(text, start, end, into: &out, scratch: scratch) }
        case .whole:
            encoder.encode(text, range.lowerBound, range.upperBound, into: &out, scratch: scratch)
        case .splitBeforeMetaspace:
            var start = range.lowerBound
            var i = range.lowerBound + 1
            while i + 2 < range.upperBound {
                if text[i] == 0xE2 && text[i + 1] == 0x96 && text[i + 2] == 0x81 {
                    encoder.encode(text, start, i, into: &out, scratch: scratch)
                    start = i
                }
                i += 1
            }
            encoder.encode(text, start, range.upperBound, into: &out, scratch: scratch)
        }
    }

    /// The bytes id `id` decodes to (empty for an id outside the vocabulary).
    public func bytes(of id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < decoded.count else { return [] }
        return Array(decoded.buffer(Int(id)))
    }

    /// Whether `id` is a special (control) token.
    public func isSpecial(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < decoded.count && decoded.flags[Int(id)] & DecodeTable.special != 0
    }

    /// The text of `ids`. Bytes that are not valid UTF-8 become U+FFFD, as Python's
    /// `errors="replace"` does; ids outside the vocabulary are ignored.
    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        let table = decoded
        var total = 0
        for id in ids where id >= 0 && Int(id) < table.count {
            total &+= Int(table.offsets[Int(id) + 1] &- table.offsets[Int(id)])
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(total)
        for id in ids where id >= 0 && Int(id) < table.count {
            if skipSpecial && table.flags[Int(id)] & DecodeTable.special != 0 { continue }
            bytes.append(contentsOf: table.buffer(Int(id)))
        }
        var text = bytes[...]
        if decodeStripsLeadingSpace, text.first == 0x20 { text = text.dropFirst() }
        return String(decoding: text, as: UTF8.self)
    }

    /// A decoder that turns ids into text one at a time, as they are generated.
    public func makeStreamingDecoder(skipSpecial: Bool = false) -> StreamingDecoder {
        StreamingDecoder(tokenizer: self, skipSpecial: skipSpecial)
    }
}
