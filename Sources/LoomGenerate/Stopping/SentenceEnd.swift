/// Where generated text ends a sentence, for `GenerationOptions.softMaxTokens`.
///
/// A sentence ends at `.`, `!`, `?`, `…` or their full-width forms `。！？`, with any closing
/// quotes and brackets after them. A token that ends in one might still be followed by a closing
/// quote, so the end is only certain once white space or the next token's text shows that
/// nothing more belongs to it. "Mr." or "3.5" also look like ends; a demo that stops there still
/// prints whole words.
struct SentenceEnd {
    static let terminators: [[UInt8]] = [".", "!", "?", "…", "。", "！", "？"].map { Array($0.utf8) }
    static let closers: [[UInt8]] = ["\"", "'", ")", "]", "”", "’", "」", "』", "）"].map { Array($0.utf8) }

    /// The byte offset just past an ending the text showed, waiting for the next token to show
    /// that no closing quote follows it.
    private var pending: Int?

    /// Looks at the newest token's text (`text` from `tokenStart` on) and returns the byte
    /// offset where the text should stop, or nil to go on. Only endings that this token or the
    /// one before it complete are considered, so one reached before the soft limit is not taken.
    mutating func stop(in text: [UInt8], tokenStart: Int) -> Int? {
        if let end = pending {
            guard tokenStart < text.count else { return nil }  // the token was part of a character
            pending = nil
            if !Self.startsWithPunctuation(text, at: tokenStart) { return end }
        }
        var end = text.count
        while end > tokenStart, Self.isSpace(text[end - 1]) { end -= 1 }
        guard end > tokenStart, Self.endsSentence(text, at: end) else { return nil }
        if end < text.count { return end }   // white space after it: certain
        pending = end
        return nil
    }

    private static func endsSentence(_ text: [UInt8], at end: Int) -> Bool {
        var cut = end
        while let closer = closers.first(where: { endsWith(text, at: cut, $0) }) { cut -= closer.count }
        return terminators.contains { endsWith(text, at: cut, $0) }
    }

    private static func startsWithPunctuation(_ text: [UInt8], at start: Int) -> Bool {
        (closers + terminators).contains { start + $0.count <= text.count && text[start..<(start + $0.count)].elementsEqual($0) }
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    private static func endsWith(_ text: [UInt8], at end: Int, _ suffix: [UInt8]) -> Bool {
        end >= suffix.count && text[(end - suffix.count)..<end].elementsEqual(suffix)
    }
}
