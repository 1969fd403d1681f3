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

/// The bytes each id decodes to, in one buffer.
struct DecodeTable: Sendable {
    /// [total bytes] every token's decoded bytes, in id order.
    let storage: [UInt8]
    /// [vocabulary + 1] start of each token's bytes in `storage`.
    let offsets: [UInt32]

    init(strings: [[UInt8]]) {
        var storage: [UInt8] = []
        var offsets: [UInt32] = [0]
        offsets.reserveCapacity(strings.count + 1)
        for s in strings {
            storage.append(contentsOf: s)
            offsets.append(UInt32(storage.count))
        }
        self.storage = storage
        self.offsets = offsets
    }

    var count: Int { offsets.count - 1 }
}

extension String {
    /// The SentencePiece word boundary, U+2581.
    static let metaspace = "\u{2581}"
}
