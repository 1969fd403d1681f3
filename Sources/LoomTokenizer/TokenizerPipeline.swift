/// The parts of a tokenizer between the text and BPE, as the file formats describe them.

/// A text transformation applied to each stretch of text between added tokens.
enum TextStep: Sendable, Equatable {
    /// Unicode canonical composition (Qwen2's tokenizer.json).
    case nfc
    /// Unicode compatibility composition.
    case nfkc
    /// Prepends a string; `onlyAtTextStart` limits it to the stretch that begins the input
    /// (HF Metaspace `prepend_scheme: first`), `unlessPresent` skips text that already starts
    /// with it (Metaspace, ByteLevel `add_prefix_space`).
    case prepend(String, onlyAtTextStart: Bool, unlessPresent: Bool)
    /// Replaces every occurrence of a string (SentencePiece: " " → "▁").
    case replace(String, String)
}

/// How a normalized stretch of text is cut into pieces for BPE.
enum Segmentation: Sendable, Equatable {
    /// A regular-expression pre-tokenizer, run by its scanner.
    case pattern(PreTokenizerPattern)
    /// The whole stretch is one piece (SentencePiece-style BPE).
    case whole
    /// A new piece before every "▁" (HF Metaspace with `split: true`).
    case splitBeforeMetaspace
}

/// The bytes each id decodes to, in one buffer, with per-id flags, in raw memory so decoding
/// a token costs no reference counting.
final class DecodeTable: @unchecked Sendable {
    /// [total bytes] every token's decoded bytes, in id order.
    let bytes: UnsafeMutablePointer<UInt8>
    /// [vocabulary + 1] start of each token's bytes in `bytes`.
    let offsets: UnsafeMutablePointer<UInt32>
    /// [vocabulary] `complete` and `special` bits.
    let flags: UnsafeMutablePointer<UInt8>
    let count: Int

    /// The token's bytes are valid UTF-8 on their own: whole characters only.
    static let complete: UInt8 = 1
    /// A special (control) token, left out when decoding skips specials.
    static let special: UInt8 = 2

    init(strings: [[UInt8]], special: Set<Int32> = []) {
        count = strings.count
        let total = strings.reduce(0) { $0 + $1.count }
        bytes = .allocate(capacity: max(total, 1))
        offsets = .allocate(capacity: count + 1)
        flags = .allocate(capacity: max(count, 1))
        var at = 0
        for (i, s) in strings.enumerated() {
            offsets[i] = UInt32(at)
            for b in s { bytes[at] = b; at += 1 }
            flags[i] = (String(validating: s, as: UTF8.self) != nil ? Self.complete : 0)
                | (special.contains(Int32(i)) ? Self.special : 0)
        }
        offsets[count] = UInt32(at)
    }

    deinit { bytes.deallocate(); offsets.deallocate(); flags.deallocate() }

    /// The bytes of `id`, which must be in range.
    @inline(__always)
    func buffer(_ id: Int) -> UnsafeBufferPointer<UInt8> {
        let start = Int(offsets[id])
        return UnsafeBufferPointer(start: bytes + start, count: Int(offsets[id + 1]) &- start)
    }
}

extension String {
    /// The SentencePiece word boundary, U+2581.
    static let metaspace = "\u{2581}"
}
