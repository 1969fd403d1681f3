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
        /// `[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u{1F7D}ᾀ-ᾴᾶ-ᾼ\u{1FBE}ῂ-ῄῆ-ῌῐ-\u{1FD3}ῖ-\u{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u{2126}ℨ\u{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]` (no escapes or classes inside).
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

        /// `\p{L}`, `\p{N}`, `\p{P}`, or a bracket expression of characters, ranges, those
        /// classes and escaped characters; nil for anything else.
        init?(class text: String) {
            let classes: [String: UInt8] = [#"\p{L}"#: UnicodeClass.letter, #"\p{N}"#: UnicodeClass.number,
                                            #"\p{P}"#: UnicodeClass.punctuation]
            if let f = classes[text] { self.init(flags: f); return }
            guard text.hasPrefix("["), text.hasSuffix("]"), text.count > 2, !text.hasPrefix("[^") else { return nil }
            var items: [UInt32] = []  // code points, with 0x2D marking a range dash
            var dashes: Set<Int> = []
            var flags: UInt8 = 0
            var s = Substring(text.dropFirst().dropLast())
            while let c = s.first {
                if c == "\\" {
                    if let cls = classes.first(where: { s.hasPrefix($0.key) }) {
                        flags |= cls.value
                        s = s.dropFirst(cls.key.count)
                        continue
                    }
                    s = s.dropFirst()
                    guard let e = s.first else { return nil }
                    switch e {
                    case "r": items.append(0x0D)
                    case "n": items.append(0x0A)
                    case "t": items.append(0x09)
                    case "p", "P", "s", "S", "w", "W", "d", "D": return nil
                    default: items.append(e.unicodeScalars.first!.value)
                    }
                    s = s.dropFirst()
                    continue
                }
                if c == "-" && !items.isEmpty && s.count > 1 { dashes.insert(items.count); s = s.dropFirst(); continue }
                items.append(c.unicodeScalars.first!.value)
                s = s.dropFirst()
            }
            var ranges: [ClosedRange<UInt32>] = []
            var i = 0
            while i < items.count {
                if dashes.contains(i + 1) && i + 1 < items.count && items[i] <= items[i + 1] {
                    ranges.append(items[i]...items[i + 1])
                    i += 2
                } else {
                    ranges.append(items[i]...items[i])
                    i += 1
                }
            }
            self.init(flags: flags, ranges: ranges)
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

    /// The pass a `Split` regular expression of an HF `Sequence` stands for, or nil when it is
    /// none of the shapes these pre-tokenizers use: `[\r\n]`, `\s+$`, `\p{N}`, `\p{N}+`,
    /// `[0-9][0-9][0-9]`, `\s?X+` and `X+` with X a class (`\p{L}`, `\p{P}`) or a bracket
    /// expression, or GPT-2's pattern.
    init?(regex: String) {
        switch regex {
        case #"[\r\n]"#, "[\r\n]": self = .newlines; return
        case #"\s+$"#: self = .trailingWhitespace; return
        case #"\p{N}"#: self = .numbers(maxLength: 1); return
        case #"\p{N}+"#: self = .numbers(maxLength: nil); return
        case "[0-9][0-9][0-9]": self = .asciiDigitTriples; return
        default: break
        }
        if PreTokenizerPattern(regex: regex) == .gpt2 { self = .gpt2; return }
        var body = Substring(regex)
        let space = body.hasPrefix(#"\s?"#)
        if space { body = body.dropFirst(3) }
        guard body.hasSuffix("+") else { return nil }
        body = body.dropLast()
        guard let set = CharacterSet(class: String(body)) else { return nil }
        self = space ? .spaceThenRun(set) : .run(set)
    }

    /// DeepSeek-LLM (llama.cpp `deepseek-llm`): newlines, Latin/Greek/Cyrillic/… letter runs,
    /// punctuation runs, trailing whitespace, CJK runs, number runs. The letter class holds
    /// characters that Unicode normalization would change (written as escapes): its ranges
    /// are exact code points, as in llama.cpp's source.
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
