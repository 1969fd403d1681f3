/// The scanners behind `PreTokenizerPattern`. Each `…Piece(at:)` returns the end of the match
/// the pattern's regular expression finds at `i`, trying its alternatives in order.
///
/// Classes: L = `\p{L}`, N = `\p{N}`, S = `\s` (White_Space), "other" = none of them.
struct PatternScanner {
    let text: UnsafeBufferPointer<UInt8>
    let end: Int

    @inline(__always)
    func classify(_ i: Int) -> (cp: UInt32, length: Int, flags: UInt8) {
        let (cp, n) = text.scalar(at: i)
        return (cp, n, UnicodeClass.flags(cp))
    }

    @inline(__always)
    static func isOther(_ flags: UInt8) -> Bool {
        flags & (UnicodeClass.letter | UnicodeClass.number | UnicodeClass.space) == 0
    }

    /// The length of a contraction suffix (`s t re ve m ll d`) right after an apostrophe at
    /// `i`, or 0. Case-insensitive matching also accepts ſ (U+017F), which folds to `s`.
    @inline(__always)
    func contraction(after i: Int, caseInsensitive: Bool) -> Int {
        guard i < end else { return 0 }
        let fold: UInt8 = caseInsensitive ? 0x20 : 0
        let a = text[i] | fold
        switch a {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return 1
        case UInt8(ascii: "r"), UInt8(ascii: "v"), UInt8(ascii: "l"):
            guard i + 1 < end else { return 0 }
            let b = text[i + 1] | fold
            let want: UInt8 = a == UInt8(ascii: "l") ? UInt8(ascii: "l") : UInt8(ascii: "e")
            return b == want ? 2 : 0
        default:
            if caseInsensitive, text[i] == 0xC5, i + 1 < end, text[i + 1] == 0xBF { return 2 }
            return 0
        }
    }

    /// End of the run of characters whose flags satisfy `test`, from `i`.
    @inline(__always)
    func run(from i: Int, while test: (UInt8) -> Bool) -> Int {
        var j = i
        while j < end {
            let b = text[j]
            if b < 0x80 {
                if !test(UnicodeClass.flags(UInt32(b))) { break }
                j += 1
            } else {
                let c = classify(j)
                if !test(c.flags) { break }
                j += c.length
            }
        }
        return j
    }

    /// `\p{N}{1,maxDigits}` after its first digit, which ends at `j`.
    @inline(__always)
    func digits(after j: Int, maxDigits: Int) -> Int {
        var j = j
        var count = 1
        while count < maxDigits && j < end {
            let d = classify(j)
            if d.flags & UnicodeClass.number == 0 { break }
            j += d.length
            count += 1
        }
        return j
    }

    /// The whitespace alternatives shared by every pattern, at a whitespace character `i`:
    /// `\s++$` (when `wholeTrailing`), then `\s*[\r\n]+` (when `newlines`), `\s+(?!\S)`, `\s+`.
    @inline(__always)
    func whitespacePiece(at i: Int, newlines: Bool, wholeTrailing: Bool) -> Int {
        var j = i
        var lastCharStart = i
        var lastNewline = -1
        while j < end {
            let b = text[j]
            if b == 0x0A || b == 0x0D { lastNewline = j }
            let c = classify(j)
            if c.flags & UnicodeClass.space == 0 { break }
            lastCharStart = j
            j += c.length
        }
        if j == end && (wholeTrailing || lastNewline < 0) { return j }
        if newlines && lastNewline >= 0 { return lastNewline + 1 }
        if j == end { return j }
        // `\s+(?!\S)` gives back the last whitespace character; a single one falls to `\s+`.
        return lastCharStart > i ? lastCharStart : j
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    @inline(__always)
    func gpt2Piece(at i: Int) -> Int {
        let c = classify(i)
        if c.cp == 0x27 {
            let n = contraction(after: i + 1, caseInsensitive: false)
            if n > 0 { return i + 1 + n }
        }
        var start = i
        var f = c.flags
        if c.cp == 0x20 && i + 1 < end {
            let next = classify(i + 1)
            if next.flags & UnicodeClass.space == 0 {
                start = i + 1
                f = next.flags
            }
        }
        if f & UnicodeClass.letter != 0 { return run(from: start) { $0 & UnicodeClass.letter != 0 } }
        if f & UnicodeClass.number != 0 { return run(from: start) { $0 & UnicodeClass.number != 0 } }
        if Self.isOther(f) { return run(from: start, while: Self.isOther) }
        return whitespacePiece(at: i, newlines: false, wholeTrailing: true)
    }

    /// Llama-3 / cl100k / Qwen2 / Qwen3.5:
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
    ///  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`, and for cl100k `\s++$` before the
    /// newline rule.
    @inline(__always)
    func llama3Piece(at i: Int, maxDigits: Int, wholeTrailingWhitespace: Bool, marksAreLetters: Bool = false) -> Int {
        let c = classify(i)
        // Qwen3.5 reads `[\p{L}\p{M}]` where the others read `\p{L}`, and keeps marks out of "other".
        let letters = marksAreLetters ? UnicodeClass.letter | UnicodeClass.mark : UnicodeClass.letter
        let notOther = letters | UnicodeClass.number | UnicodeClass.space
        let isOther = { (f: UInt8) in f & notOther == 0 }
        if c.cp == 0x27 {
            let n = contraction(after: i + 1, caseInsensitive: true)
            if n > 0 { return i + 1 + n }
        }
        if c.flags & letters != 0 {
            return run(from: i + c.length) { $0 & letters != 0 }
        }
        let next = i + c.length < end ? classify(i + c.length) : (cp: 0, length: 0, flags: 0)
        if c.flags & UnicodeClass.number == 0 && c.cp != 0x0A && c.cp != 0x0D
            && next.flags & letters != 0 {
            return run(from: i + c.length + next.length) { $0 & letters != 0 }
        }
        if c.flags & UnicodeClass.number != 0 { return digits(after: i + c.length, maxDigits: maxDigits) }
        var start = -1
        if isOther(c.flags) {
            start = i
        } else if c.cp == 0x20 && next.length > 0 && isOther(next.flags) {
            start = i + 1
        }
        if start >= 0 {
            var j = run(from: start, while: isOther)
            while j < end && (text[j] == 0x0A || text[j] == 0x0D) { j += 1 }
            return j
        }
        return whitespacePiece(at: i, newlines: true, wholeTrailing: wholeTrailingWhitespace)
    }
}

extension PatternScanner {
    static let upperGroup = UnicodeClass.upperOrTitle | UnicodeClass.modifierOrOtherLetter | UnicodeClass.mark
    static let lowerGroup = UnicodeClass.lower | UnicodeClass.modifierOrOtherLetter | UnicodeClass.mark

    /// `U*W+` from `s` with the regex's backtracking, where U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
    /// and W = [\p{Ll}\p{Lm}\p{Lo}\p{M}]: the greedy U-run, then a W-run after it; when there
    /// is none, U* gives back characters until the last one that is also in W. -1 when no match.
    @inline(__always)
    func upperThenLower(from s: Int) -> Int {
        var j = s
        var lastLowerEnd = -1
        while j < end {
            let c = classify(j)
            if c.flags & Self.upperGroup == 0 { break }
            j += c.length
            if c.flags & Self.lowerGroup != 0 { lastLowerEnd = j }
        }
        let w = run(from: j) { $0 & Self.lowerGroup != 0 }
        return w > j ? w : lastLowerEnd
    }

    /// `U+W*` from `s`, or -1.
    @inline(__always)
    func upperRunThenLower(from s: Int) -> Int {
        let u = run(from: s) { $0 & Self.upperGroup != 0 }
        return u > s ? run(from: u) { $0 & Self.lowerGroup != 0 } : -1
    }

    /// o200k and tekken:
    /// `[^\r\n\p{L}\p{N}]?U*W+C?|[^\r\n\p{L}\p{N}]?U+W*C?|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n/]*|
    /// \s*[\r\n]+|\s+(?!\S)|\s+`, with C the optional case-insensitive contraction (o200k only).
    @inline(__always)
    func o200kPiece(at i: Int, maxDigits: Int, contractions: Bool) -> Int {
        let c = classify(i)
        let prefixable = c.flags & (UnicodeClass.letter | UnicodeClass.number) == 0 && c.cp != 0x0A && c.cp != 0x0D
        let afterPrefix = i + c.length
        let canStartBare = c.flags & (Self.upperGroup | Self.lowerGroup) != 0
        var e = -1
        if prefixable && afterPrefix < end { e = upperThenLower(from: afterPrefix) }
        if e < 0 && canStartBare { e = upperThenLower(from: i) }
        if e < 0 && prefixable && afterPrefix < end { e = upperRunThenLower(from: afterPrefix) }
        if e < 0 && canStartBare { e = upperRunThenLower(from: i) }
        if e >= 0 {
            if contractions && e < end && text[e] == 0x27 {
                let n = contraction(after: e + 1, caseInsensitive: true)
                if n > 0 { e += 1 + n }
            }
            return e
        }
        if c.flags & UnicodeClass.number != 0 { return digits(after: afterPrefix, maxDigits: maxDigits) }
        var start = -1
        if Self.isOther(c.flags) {
            start = i
        } else if c.cp == 0x20 && afterPrefix < end && Self.isOther(classify(afterPrefix).flags) {
            start = afterPrefix
        }
        if start >= 0 {
            var j = run(from: start, while: Self.isOther)
            while j < end && (text[j] == 0x0A || text[j] == 0x0D || text[j] == 0x2F) { j += 1 }
            return j
        }
        return whitespacePiece(at: i, newlines: true, wholeTrailing: false)
    }
}
