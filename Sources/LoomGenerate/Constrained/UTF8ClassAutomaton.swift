/// A code-point class compiled to a byte automaton over its UTF-8 encodings, so the matcher works
/// on bytes and a token that ends inside a character leaves the automaton in a middle state.
///
/// Only well-formed UTF-8 is accepted: no overlong forms, no surrogates, nothing above U+10FFFF.
struct UTF8ClassAutomaton {
    /// Marks a byte the state cannot take.
    static let reject: Int16 = -1

    /// [states × 256] the state reached from each state on each byte: `reject`, a state in
    /// 1..<stateCount, or `stateCount` when the byte completes a member code point. State 0 is
    /// the start.
    let transitions: [Int16]
    let stateCount: Int

    /// Above this many states a class is refused (a class of thousands of scattered ranges).
    static let stateLimit = 4096

    init(_ set: CodePointSet) throws(GrammarError) {
        // Members of the class that are valid for each encoded length (index = byte count).
        let validByLength: [CodePointSet] = [
            CodePointSet(ranges: []), CodePointSet(ranges: [0...0x7F]), CodePointSet(ranges: [0x80...0x7FF]),
            CodePointSet(ranges: [0x800...0xD7FF, 0xE000...0xFFFF]), CodePointSet(ranges: [0x10000...0x10FFFF]),
        ].map { $0.intersection(set) }

        // A middle state: `remaining` continuation bytes to come, the code points still possible
        // are base ..< base + 64^remaining, of an encoding of `length` bytes. `whole` states
        // accept every continuation (all those code points are members), whatever the base.
        struct Key: Hashable { var length: Int; var remaining: Int; var base: UInt32; var whole: Bool }
        var keys: [Key] = [Key(length: 0, remaining: 0, base: 0, whole: false)]
        var index: [Key: Int] = [:]
        var rows: [[Int16]] = []
        var pendingTargets: [[Key?]] = []

        func classify(_ length: Int, _ remaining: Int, _ base: UInt32) -> Key? {
            let top = base + (UInt32(1) << (6 * UInt32(remaining))) - 1
            let members = validByLength[length]
            guard members.intersects(base, top) else { return nil }
            if remaining == 0 { return Key(length: 0, remaining: 0, base: 0, whole: true) }
            if members.contains(base, top) { return Key(length: 0, remaining: remaining, base: 0, whole: true) }
            return Key(length: length, remaining: remaining, base: base, whole: false)
        }

        var next = 0
        while next < keys.count {
            let key = keys[next]
            var targets = [Key?](repeating: nil, count: 256)
            if next == 0 {
                for byte in 0..<256 {
                    let b = UInt32(byte)
                    switch byte {
                    case 0..<0x80: targets[byte] = classify(1, 0, b)
                    case 0xC2...0xDF: targets[byte] = classify(2, 1, (b & 0x1F) << 6)
                    case 0xE0...0xEF: targets[byte] = classify(3, 2, (b & 0x0F) << 12)
                    case 0xF0...0xF4: targets[byte] = classify(4, 3, (b & 0x07) << 18)
                    default: break
                    }
                }
            } else {
                for byte in 0x80..<0xC0 {
                    if key.whole {
                        targets[byte] = Key(length: 0, remaining: key.remaining - 1, base: 0, whole: true)
                    } else {
                        let shift = 6 * UInt32(key.remaining - 1)
                        targets[byte] = classify(key.length, key.remaining - 1, key.base + (UInt32(byte - 0x80) << shift))
                    }
                }
            }
            for target in targets {
                guard let target, target.remaining > 0, index[target] == nil else { continue }
                index[target] = keys.count
                keys.append(target)
                guard keys.count <= Self.stateLimit else { throw .tooLarge(what: "states of one character class", limit: Self.stateLimit) }
            }
            pendingTargets.append(targets)
            next += 1
        }
        stateCount = keys.count
        for targets in pendingTargets {
            rows.append(targets.map { target in
                guard let target else { return Self.reject }
                return target.remaining == 0 ? Int16(keys.count) : Int16(index[target]!)
            })
        }
        transitions = rows.flatMap { $0 }
    }
}
