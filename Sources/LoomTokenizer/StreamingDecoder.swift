/// Turns token ids into text one at a time, at the byte level.
///
/// Each `push` returns exactly the characters whose last byte has just arrived. A character
/// split across tokens (emoji, CJK in byte tokens) waits, as at most three bytes, until it is
/// complete; nothing is decoded twice and no U+FFFD stands in for bytes still to come. Bytes
/// that can no longer start or continue a character become U+FFFD as soon as that is certain,
/// one per maximal invalid subpart, as Python's `errors="replace"` and Swift's
/// `String(decoding:as:)` do, so the concatenated stream equals `Tokenizer.decode`.
///
/// Per-token cost is proportional to the token's bytes.
public struct StreamingDecoder {
    let tokenizer: Tokenizer
    let skipSpecial: Bool
    /// [≤ 3] bytes of the character in progress.
    private var pending: (UInt8, UInt8, UInt8) = (0, 0, 0)
    private var pendingCount = 0
    /// How many more continuation bytes the character in progress needs.
    private var needed = 0
    /// The allowed range of the next continuation byte (narrower after E0, ED, F0, F4).
    private var low: UInt8 = 0x80
    private var high: UInt8 = 0xBF
    /// Whether no byte has been emitted yet (for SentencePiece's leading-space strip).
    private var atStart = true
    /// [output bytes of one push] reused between pushes.
    private var out: [UInt8] = []

    init(tokenizer: Tokenizer, skipSpecial: Bool) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
        out.reserveCapacity(64)
    }

    /// Adds one token and returns the text that became complete with it (often empty).
    public mutating func push(_ id: Int32) -> String {
        let table = tokenizer.decoded
        guard id >= 0, Int(id) < table.count else { return "" }
        let flags = table.flags[Int(id)]
        if skipSpecial && flags & DecodeTable.special != 0 { return "" }
        var token = table.buffer(Int(id))
        if atStart && !token.isEmpty {
            atStart = false
            if tokenizer.decodeStripsLeadingSpace && token[0] == 0x20 { token = UnsafeBufferPointer(rebasing: token.dropFirst()) }
        }
        // Common case: nothing pending and the token is whole characters.
        if pendingCount == 0 && flags & DecodeTable.complete != 0 {
            return String(decoding: token, as: UTF8.self)
        }
        out.removeAll(keepingCapacity: true)
        for b in token { consume(b) }
        return out.isEmpty ? "" : String(decoding: out, as: UTF8.self)
    }

    /// Ends the stream: an unfinished character becomes one U+FFFD.
    public mutating func finish() -> String {
        out.removeAll(keepingCapacity: true)
        if pendingCount > 0 { replacePending() }
        return out.isEmpty ? "" : String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    private mutating func consume(_ b: UInt8) {
        if needed > 0 {
            if b >= low && b <= high {
                needed -= 1
                if needed == 0 {
                    out.append(pending.0)
                    if pendingCount > 1 { out.append(pending.1) }
                    if pendingCount > 2 { out.append(pending.2) }
                    out.append(b)
                    pendingCount = 0
                } else {
                    if pendingCount == 1 { pending.1 = b } else { pending.2 = b }
                    pendingCount += 1
                    low = 0x80; high = 0xBF
                }
                return
            }
            // The character can never complete: its bytes so far are one invalid subpart,
            // and `b` starts afresh.
            replacePending()
        }
        switch b {
        case 0x00...0x7F: out.append(b)
        case 0xC2...0xDF: begin(b, needed: 1, 0x80, 0xBF)
        case 0xE0: begin(b, needed: 2, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: begin(b, needed: 2, 0x80, 0xBF)
        case 0xED: begin(b, needed: 2, 0x80, 0x9F)
        case 0xF0: begin(b, needed: 3, 0x90, 0xBF)
        case 0xF1...0xF3: begin(b, needed: 3, 0x80, 0xBF)
        case 0xF4: begin(b, needed: 3, 0x80, 0x8F)
        default: appendReplacement()
        }
    }

    @inline(__always)
    private mutating func begin(_ lead: UInt8, needed: Int, _ low: UInt8, _ high: UInt8) {
        pending.0 = lead
        pendingCount = 1
        self.needed = needed
        self.low = low
        self.high = high
    }

    private mutating func replacePending() {
        pendingCount = 0
        needed = 0
        low = 0x80; high = 0xBF
        appendReplacement()
    }

    @inline(__always)
    private mutating func appendReplacement() {
        out.append(0xEF); out.append(0xBF); out.append(0xBD)
    }
}
