/// The character classes the pre-tokenizer patterns test (`\p{L}`, `\p{N}`, `\p{P}`, `\s`, and the
/// letter-case groups of o200k), looked up in a two-level table built once from the generated
/// runs in `UnicodeClassTable.swift`.
///
/// A table, not `Unicode.Scalar.Properties`: the scanners classify every code point of the
/// input, and a two-level array lookup is a few loads where the property API is a call each.
enum UnicodeClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 4
    static let upperOrTitle: UInt8 = 8
    static let lower: UInt8 = 16
    static let modifierOrOtherLetter: UInt8 = 32
    static let mark: UInt8 = 64
    static let punctuation: UInt8 = 128

    /// Block index per 256 code points, then the flags of each distinct block.
    /// stage1: [0x1100] block numbers; stage2: [blocks, 256] flags.
    private final class Table: @unchecked Sendable {
        let stage1: UnsafeMutablePointer<UInt16>
        let stage2: UnsafeMutablePointer<UInt8>

        init() {
            var flat = [UInt8](repeating: 0, count: 0x110000)  // [code points] flags
            for (i, entry) in runs.enumerated() {
                let start = Int(entry >> 8)
                let end = i + 1 < runs.count ? Int(runs[i + 1] >> 8) : 0x110000
                let f = UInt8(truncatingIfNeeded: entry)
                for cp in start..<end { flat[cp] = f }
            }
            var blocks: [[UInt8]: UInt16] = [:]
            var blockList: [[UInt8]] = []
            stage1 = .allocate(capacity: 0x1100)
            for b in 0..<0x1100 {
                let block = Array(flat[(b << 8)..<((b + 1) << 8)])
                if let existing = blocks[block] {
                    stage1[b] = existing
                } else {
                    let n = UInt16(blockList.count)
                    blocks[block] = n
                    blockList.append(block)
                    stage1[b] = n
                }
            }
            stage2 = .allocate(capacity: blockList.count << 8)
            for (n, block) in blockList.enumerated() {
                for j in 0..<256 { stage2[(n << 8) | j] = block[j] }
            }
        }
    }

    private static let table = Table()

    /// The class flags of a code point (0 for anything outside U+0000...U+10FFFF).
    @inline(__always)
    static func flags(_ cp: UInt32) -> UInt8 {
        guard cp < 0x110000 else { return 0 }
        let t = table
        return t.stage2[(Int(t.stage1[Int(cp >> 8)]) << 8) | Int(cp & 0xFF)]
    }
}

/// Reading code points from valid UTF-8 (Swift strings are always valid UTF-8).
extension UnsafeBufferPointer where Element == UInt8 {
    /// The code point starting at `i` and its length in bytes.
    @inline(__always)
    func scalar(at i: Int) -> (value: UInt32, length: Int) {
        let b0 = UInt32(self[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(self[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(self[i + 1] & 0x3F) << 6 | UInt32(self[i + 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(self[i + 1] & 0x3F) << 12 | UInt32(self[i + 2] & 0x3F) << 6
                | UInt32(self[i + 3] & 0x3F), 4)
    }
}
