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
    /// Qwen3.5 (llama.cpp `qwen35`): as Qwen2, with combining marks (`\p{M}`) part of words.
    case qwen35
    /// StarCoder, Refact, Command-R (llama.cpp): every digit is its own piece, and GPT-2's
    /// pattern splits the text between digits.
    case digitsThenGPT2
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
        case .qwen35:
            return [
                #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
            ]
        case .digitsThenGPT2:
            return []
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
        let scanner = PatternScanner(text: text, end: range.upperBound)
        var i = range.lowerBound
        if self == .digitsThenGPT2 {
            // Lone digits; GPT-2's pieces in each stretch between them, the next digit ending
            // the text for GPT-2's end-of-text rules.
            while i < range.upperBound {
                let c = scanner.classify(i)
                if c.flags & UnicodeClass.number != 0 {
                    piece(i, i + c.length)
                    i += c.length
                    continue
                }
                let stretch = PatternScanner(text: text, end: scanner.run(from: i) { $0 & UnicodeClass.number == 0 })
                while i < stretch.end { let j = stretch.gpt2Piece(at: i); piece(i, j); i = j }
            }
            return
        }
        while i < range.upperBound {
            let j = scanner.pieceEnd(self, at: i)
            piece(i, j)
            i = j
        }
    }
}

extension PatternScanner {
    /// The end of the piece at `i` for the single-pass patterns.
    @inline(__always)
    func pieceEnd(_ pattern: PreTokenizerPattern, at i: Int) -> Int {
        switch pattern {
        case .gpt2, .digitsThenGPT2: return gpt2Piece(at: i)
        case .cl100k: return llama3Piece(at: i, maxDigits: 3, wholeTrailingWhitespace: true)
        case .llama3: return llama3Piece(at: i, maxDigits: 3, wholeTrailingWhitespace: false)
        case .qwen2: return llama3Piece(at: i, maxDigits: 1, wholeTrailingWhitespace: false)
        case .qwen35: return llama3Piece(at: i, maxDigits: 1, wholeTrailingWhitespace: false, marksAreLetters: true)
        case .o200k: return o200kPiece(at: i, maxDigits: 3, contractions: true)
        case .tekken: return o200kPiece(at: i, maxDigits: 1, contractions: false)
        }
    }
}
