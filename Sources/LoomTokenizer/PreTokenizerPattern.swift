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
    /// tiktoken's o200k_base: letter runs split at lower-to-upper case changes.
    case o200k
    /// mistral-common tekken: o200k without contractions, one digit per piece.
    case tekken

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
        case .o200k:
            return [[
                #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
                #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
                #"\p{N}{1,3}"#,
                #" ?[^\s\p{L}\p{N}]+[\r\n/]*"#,
                #"\s*[\r\n]+"#,
                #"\s+(?!\S)"#,
                #"\s+"#,
            ].joined(separator: "|")]
        case .tekken:
            return [#"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#]
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
        while i < range.upperBound {
            let j: Int
            switch self {
            case .gpt2: j = scanner.gpt2Piece(at: i)
            case .cl100k: j = scanner.llama3Piece(at: i, maxDigits: 3, wholeTrailingWhitespace: true)
            case .llama3: j = scanner.llama3Piece(at: i, maxDigits: 3, wholeTrailingWhitespace: false)
            case .qwen2: j = scanner.llama3Piece(at: i, maxDigits: 1, wholeTrailingWhitespace: false)
            case .o200k: j = scanner.o200kPiece(at: i, maxDigits: 3, contractions: true)
            case .tekken: j = scanner.o200kPiece(at: i, maxDigits: 1, contractions: false)
            }
            piece(i, j)
            i = j
        }
    }
}
