/// Byte-level searches over generated text for stop and banned strings.
///
/// Generated text is matched as UTF-8 bytes: a string's first byte is a lead byte, so a match
/// or a possible beginning of one always starts on a character boundary, and the text before
/// it can be released as whole characters.
struct StringWatch {
    /// [strings] UTF-8 of each watched string (empty ones are dropped).
    let needles: [[UInt8]]

    init(_ strings: [String]) {
        needles = strings.map { Array($0.utf8) }.filter { !$0.isEmpty }
    }

    var isEmpty: Bool { needles.isEmpty }

    /// The earliest offset ≥ `from` where a watched string occurs in `text`.
    func firstMatch(in text: [UInt8], from: Int) -> Int? {
        var best: Int?
        for needle in needles where needle.count <= text.count - from {
            var start = from
            let last = text.count - needle.count
            while start <= last, best.map({ start < $0 }) ?? true {
                if text[start] == needle[0] && text[start..<(start + needle.count)].elementsEqual(needle) {
                    best = start
                    break
                }
                start += 1
            }
        }
        return best
    }

    /// Length of the longest tail of `text` (starting at or after `from`) that is a proper
    /// beginning of a watched string: the text that must be held back until resolved.
    func heldTail(of text: [UInt8], from: Int) -> Int {
        var held = 0
        for needle in needles {
            var length = min(needle.count - 1, text.count - from)
            while length > held {
                if text[(text.count - length)...].elementsEqual(needle[0..<length]) {
                    held = length
                    break
                }
                length -= 1
            }
        }
        return held
    }
}
