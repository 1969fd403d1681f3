/// A pre-tokenizer pattern: how text is cut into pieces before BPE. Each is a hand-written
/// scanner that produces exactly the matches of the regular expression in `regex`
/// (leftmost-first alternation, as tiktoken's fancy-regex and HF's Oniguruma run it).
public enum PreTokenizerPattern: String, CaseIterable, Sendable {
    /// GPT-2 (and GPT-NeoX, MPT, StarCoder, ...): contractions, ` ?letters`, ` ?digits`, ` ?other`.
    case gpt2
    /// tiktoken's cl100k_base, with its end-of-text whitespace rule.
    case cl100k
    /// Llama-3: cl100k's classic form, digits in runs of up to three.
    case llama3
    /// Qwen2: as Llama-3, but every digit is its own piece.
    case qwen2

    /// The regular expressions this pattern is known by, exactly as they appear in tokenizer
    /// files (HF `Split` pre-tokenizers, tekken `pattern`, tiktoken presets).
    public var regexes: [String] {
        switch self {
        case .gpt2:
            return [
                #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
                #"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"#,
                #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#,
            ]
        case .cl100k:
            return [#"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"#]
        case .llama3:
            return [
                #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
                #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)"#,
            ]
        case .qwen2:
            return [
                #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
                #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)"#,
            ]
        }
    }

    /// The pattern a regular expression from a tokenizer file stands for, or nil when no scanner
    /// implements it.
    public init?(regex: String) {
        guard let match = Self.allCases.first(where: { $0.regexes.contains(regex) }) else { return nil }
        self = match
    }

    /// Calls `piece(start, end)` for each piece of `text[range]`, in order; the pieces tile the range.
    @inline(__always)
    func split(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ piece: (Int, Int) -> Void) {
        var scanner = PatternScanner(text: text, end: range.upperBound)
        var i = range.lowerBound
        switch self {
        case .gpt2:
            while i < range.upperBound { let j = scanner.gpt2Piece(at: i); piece(i, j); i = j }
        case .cl100k:
            while i < range.upperBound {
                let j = scanner.llama3Piece(at: i, maxDigits: 3, wholeTrailingWhitespace: true); piece(i, j); i = j
            }
        case .llama3:
            while i < range.upperBound {
                let j = scanner.llama3Piece(at: i, maxDigits: 3, wholeTrailingWhitespace: false); piece(i, j); i = j
            }
        case .qwen2:
            while i < range.upperBound {
                let j = scanner.llama3Piece(at: i, maxDigits: 1, wholeTrailingWhitespace: false); piece(i, j); i = j
            }
        }
    }
}
