/// A token matched literally in the text before pre-tokenization: special tokens such as
/// `<|im_start|>`, and HF `added_tokens`.
public struct AddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int32
    /// Special tokens are only recognised when the caller asks for special-token parsing;
    /// other added tokens always are (as HF tokenizers does).
    public var special: Bool
    /// HF `lstrip` / `rstrip`: the match swallows whitespace on that side.
    public var lstrip: Bool
    public var rstrip: Bool

    public init(content: String, id: Int32, special: Bool, lstrip: Bool = false, rstrip: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
    }
}

/// Finds added tokens in text: leftmost match, longest at that position.
struct AddedTokenMatcher: Sendable {
    let tokens: [AddedToken]
    /// [tokens] UTF-8 of each token's content.
    private let contents: [[UInt8]]
    /// [256] indices into `tokens` of the tokens starting with each byte, longest first.
    private let byFirstByte: [[Int]]
    /// [256] whether any token (any non-special token) starts with each byte.
    private let firstByteAny: [Bool]
    private let firstByteNonSpecial: [Bool]

    init(_ tokens: [AddedToken]) {
        let tokens = tokens.filter { !$0.content.isEmpty }
        self.tokens = tokens
        let contents = tokens.map { Array($0.content.utf8) }
        self.contents = contents
        var byFirst = [[Int]](repeating: [], count: 256)
        for (i, c) in contents.enumerated() { byFirst[Int(c[0])].append(i) }
        for b in 0..<256 { byFirst[b].sort { contents[$0].count > contents[$1].count } }
        byFirstByte = byFirst
        var any = [Bool](repeating: false, count: 256), plain = any
        for (i, c) in contents.enumerated() {
            any[Int(c[0])] = true
            if !tokens[i].special { plain[Int(c[0])] = true }
        }
        firstByteAny = any
        firstByteNonSpecial = plain
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// The next match at or after `from`: the matched range (including stripped whitespace) and id.
    func nextMatch(in text: UnsafeBufferPointer<UInt8>, from: Int, parseSpecial: Bool) -> (range: Range<Int>, id: Int32)? {
        var i = from
        let n = text.count
        let starts = parseSpecial ? firstByteAny : firstByteNonSpecial
        while i < n {
            if !starts[Int(text[i])] { i += 1; continue }
            let candidates = byFirstByte[Int(text[i])]
            for t in candidates {
                let token = tokens[t]
                if token.special && !parseSpecial { continue }
                let c = contents[t]
                guard i + c.count <= n else { continue }
                var equal = true
                for k in 1..<c.count where text[i + k] != c[k] { equal = false; break }
                guard equal else { continue }
                var lower = i, upper = i + c.count
                if token.lstrip { while lower > from && Self.isSpace(text[lower - 1]) { lower -= 1 } }
                if token.rstrip { while upper < n && Self.isSpace(text[upper]) { upper += 1 } }
                return (lower..<upper, token.id)
            }
            i += 1
        }
        return nil
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
}
