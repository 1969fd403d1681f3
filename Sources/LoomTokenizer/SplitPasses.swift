/// Pre-tokenizers made of several regular expressions applied one after another (DeepSeek,
/// Falcon): each pass cuts every piece so far into its matches and the gaps between them, as
/// HF's `Sequence` of `Split(…, isolated)` and llama.cpp's `unicode_regex_split` do.
enum SplitPass: Sendable, Equatable {
    /// `[\r\n]`: each CR or LF on its own.
    case newlines
    /// `\s?[set]+`: a run of the set, with one whitespace character in front when there is one.
    case spaceThenRun(CharacterSet)
    /// `[set]+`.
    case run(CharacterSet)
    /// `\s+$`: the whitespace that ends a piece.
    case trailingWhitespace
    /// `\p{N}+` (`maxLength` nil) or `\p{N}` (1).
    case numbers(maxLength: Int?)
    /// `[0-9][0-9][0-9]`.
    case asciiDigitTriples
    /// GPT-2's pattern, with or without its last `\s+` alternative (the same pieces).
    case gpt2

    /// Which characters a run takes: Unicode classes and code point ranges.
    struct CharacterSet: Sendable, Equatable {
        var flags: UInt8 = 0
        var ranges: [ClosedRange<UInt32>] = []

        init(flags: UInt8 = 0, ranges: [ClosedRange<UInt32>] = []) {
            self.flags = flags
            self.ranges = ranges
        }

        /// The code points of a bracket expression of literal characters and ranges, such as
        /// `[A-Za-zµÀ-Ö]` (no escapes or classes inside).
        init(bracket: String) {
            var scalars = Array(bracket.unicodeScalars.map(\.value))
            if scalars.first == 0x5B { scalars.removeFirst() }
            if scalars.last == 0x5D { scalars.removeLast() }
            var i = 0
            while i < scalars.count {
                if i + 2 < scalars.count && scalars[i + 1] == 0x2D && scalars[i] <= scalars[i + 2] {
                    ranges.append(scalars[i]...scalars[i + 2])
                    i += 3
                } else {
                    ranges.append(scalars[i]...scalars[i])
                    i += 1
                }
            }
        }

        func contains(_ cp: UInt32, _ flags: UInt8) -> Bool {
            if flags & self.flags != 0 { return true }
            for r in ranges where r.contains(cp) { return true }
            return false
        }
    }

    /// The end of this pass's match at `i`, or nil; `end` bounds the piece.
    func match(_ s: PatternScanner, at i: Int) -> Int? {
        let c = s.classify(i)
        switch self {
        case .newlines:
            return c.cp == 0x0A || c.cp == 0x0D ? i + 1 : nil
        case .spaceThenRun(let set):
            if c.flags & UnicodeClass.space != 0 && i + c.length < s.end {
                let next = s.classify(i + c.length)
                if set.contains(next.cp, next.flags) { return runEnd(s, set, i + c.length + next.length) }
            }
            return set.contains(c.cp, c.flags) ? runEnd(s, set, i + c.length) : nil
        case .run(let set):
            return set.contains(c.cp, c.flags) ? runEnd(s, set, i + c.length) : nil
        case .trailingWhitespace:
            guard c.flags & UnicodeClass.space != 0 else { return nil }
            let j = s.run(from: i) { $0 & UnicodeClass.space != 0 }
            return j == s.end ? j : nil
        case .numbers(let maxLength):
            guard c.flags & UnicodeClass.number != 0 else { return nil }
            return maxLength == 1 ? i + c.length : s.run(from: i) { $0 & UnicodeClass.number != 0 }
        case .asciiDigitTriples:
            guard i + 3 <= s.end else { return nil }
            for k in 0..<3 where !(0x30...0x39).contains(s.text[i + k]) { return nil }
            return i + 3
        case .gpt2:
            // Without the trailing `\s+` alternative a lone whitespace character before a
            // non-space is not matched, but it is then a gap of its own: the same piece.
            return s.gpt2Piece(at: i)
        }
    }

    private func runEnd(_ s: PatternScanner, _ set: CharacterSet, _ from: Int) -> Int {
        var j = from
        while j < s.end {
            let d = s.classify(j)
            if !set.contains(d.cp, d.flags) { break }
            j += d.length
        }
        return j
    }

    /// DeepSeek-LLM (llama.cpp `deepseek-llm`): newlines, Latin/Greek/Cyrillic/… letter runs,
    /// punctuation runs, trailing whitespace, CJK runs, number runs.
    static let deepseekLLM: [SplitPass] = [
        .newlines,
        .spaceThenRun(CharacterSet(bracket: "[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]")),
        .spaceThenRun(CharacterSet(bracket: "[!-/:-~！-／：-～‘-‟　-。]")),
        .trailingWhitespace,
        .run(CharacterSet(bracket: "[一-龥ࠀ-一가-퟿]")),
        .numbers(maxLength: nil),
    ]

    /// DeepSeek-Coder (llama.cpp `deepseek-coder`).
    static let deepseekCoder: [SplitPass] = [
        .newlines,
        .spaceThenRun(CharacterSet(flags: UnicodeClass.letter)),
        .spaceThenRun(CharacterSet(flags: UnicodeClass.punctuation)),
        .run(CharacterSet(bracket: "[一-龥ࠀ-一가-퟿]")),
        .numbers(maxLength: 1),
    ]

    /// Falcon (llama.cpp `falcon`): punctuation and ASCII symbol runs, GPT-2's pattern, then
    /// digits in threes.
    static let falcon: [SplitPass] = [
        .run(CharacterSet(flags: UnicodeClass.punctuation, ranges: "$+<=>^~|`".unicodeScalars.map { $0.value...$0.value })),
        .gpt2,
        .asciiDigitTriples,
    ]

    /// Cuts `text[range]` by each pass in turn and calls `piece` for the final pieces in order.
    static func split(_ passes: [SplitPass], _ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                      _ piece: (Int, Int) -> Void) {
        var pieces = [range]
        for pass in passes {
            var next: [Range<Int>] = []
            next.reserveCapacity(pieces.count * 2)
            for p in pieces {
                let s = PatternScanner(text: text, end: p.upperBound)
                var gapStart = p.lowerBound
                var i = p.lowerBound
                while i < p.upperBound {
                    if let e = pass.match(s, at: i), e > i {
                        if gapStart < i { next.append(gapStart..<i) }
                        next.append(i..<e)
                        i = e
                        gapStart = e
                    } else {
                        i += s.classify(i).length
                    }
                }
                if gapStart < p.upperBound { next.append(gapStart..<p.upperBound) }
            }
            pieces = next
        }
        for p in pieces { piece(p.lowerBound, p.upperBound) }
    }
}
