/// A set of Unicode code points as sorted, disjoint, non-adjacent closed ranges.
struct CodePointSet: Hashable, Sendable {
    /// [ranges] (first, last) code points, ascending, with gaps of at least one between ranges.
    private(set) var ranges: [ClosedRange<UInt32>]

    static let maximum: UInt32 = 0x10FFFF
    static let all = CodePointSet(ranges: [0...maximum])

    init(ranges unsorted: [ClosedRange<UInt32>]) {
        var merged: [ClosedRange<UInt32>] = []
        for range in unsorted.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            let range = range.lowerBound...min(range.upperBound, Self.maximum)
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else if range.lowerBound <= Self.maximum {
                merged.append(range)
            }
        }
        ranges = merged
    }

    init(_ codePoint: UInt32) { self.init(ranges: [codePoint...codePoint]) }

    /// Every code point not in this set.
    var complement: CodePointSet {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges {
            if range.lowerBound > next { out.append(next...(range.lowerBound - 1)) }
            next = range.upperBound &+ 1
        }
        if next <= Self.maximum, !(ranges.last.map { $0.upperBound == Self.maximum } ?? false) { out.append(next...Self.maximum) }
        return CodePointSet(ranges: out)
    }

    func union(_ other: CodePointSet) -> CodePointSet { CodePointSet(ranges: ranges + other.ranges) }

    func intersection(_ other: CodePointSet) -> CodePointSet {
        var out: [ClosedRange<UInt32>] = []
        var i = 0, j = 0
        while i < ranges.count, j < other.ranges.count {
            let lo = max(ranges[i].lowerBound, other.ranges[j].lowerBound)
            let hi = min(ranges[i].upperBound, other.ranges[j].upperBound)
            if lo <= hi { out.append(lo...hi) }
            if ranges[i].upperBound < other.ranges[j].upperBound { i += 1 } else { j += 1 }
        }
        return CodePointSet(ranges: out)
    }

    var isEmpty: Bool { ranges.isEmpty }

    /// The one code point of a single-member set.
    var single: UInt32? { ranges.count == 1 && ranges[0].lowerBound == ranges[0].upperBound ? ranges[0].lowerBound : nil }

    /// Whether some member lies in `lo...hi`.
    func intersects(_ lo: UInt32, _ hi: UInt32) -> Bool {
        guard let i = firstRange(endingAtOrAfter: lo) else { return false }
        return ranges[i].lowerBound <= hi
    }

    /// Whether every code point of `lo...hi` is a member.
    func contains(_ lo: UInt32, _ hi: UInt32) -> Bool {
        guard let i = firstRange(endingAtOrAfter: lo) else { return false }
        return ranges[i].lowerBound <= lo && ranges[i].upperBound >= hi
    }

    private func firstRange(endingAtOrAfter value: UInt32) -> Int? {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < value { lo = mid + 1 } else { hi = mid }
        }
        return lo < ranges.count ? lo : nil
    }
}

/// A grammar as written, before lowering to the matcher's flat form.
indirect enum GrammarExpression: Sendable {
    /// Bytes matched exactly (a quoted literal, as UTF-8).
    case literal([UInt8])
    /// One code point from the set (`[...]`, `[^...]`, `.`).
    case characterClass(CodePointSet)
    /// Another rule, referenced at a source position (for the undefined-rule error).
    case reference(String, line: Int, column: Int)
    case sequence([GrammarExpression])
    case alternatives([GrammarExpression])
    /// `min` to `max` (nil: unbounded) repetitions.
    case repetition(GrammarExpression, min: Int, max: Int?)
}

/// One `name ::= body` line.
struct GrammarRuleDefinition: Sendable {
    var name: String
    var body: GrammarExpression
}

/// llama.cpp's GBNF syntax (src/llama-grammar.cpp's parser): rules of alternatives of sequences,
/// newline-separated except inside parentheses and after `::=` or `|`; `#` comments.
struct GBNFParser {
    /// Above this, `{m}` is refused and `{m,n}`'s upper bound is dropped, as llama.cpp does.
    static let repetitionLimit = 2000
    /// Parentheses nested deeper than this are refused, so the recursive descent cannot overflow
    /// the thread's stack.
    static let nestingLimit = 256

    /// [text bytes] the grammar as UTF-8.
    private let text: [UInt8]
    private var position = 0

    init(_ source: String) { text = Array(source.utf8) }

    static func parse(_ source: String) throws(GrammarError) -> [GrammarRuleDefinition] {
        var parser = GBNFParser(source)
        return try parser.rules()
    }

    private var current: UInt8 { position < text.count ? text[position] : 0 }
    private func peek(_ offset: Int) -> UInt8 { position + offset < text.count ? text[position + offset] : 0 }

    /// 1-based line and column (in code points) of byte offset `offset`.
    func location(_ offset: Int) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for byte in text[..<min(offset, text.count)] {
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }

    private func fail(_ message: String, at offset: Int? = nil) -> GrammarError {
        let (line, column) = location(offset ?? position)
        return .syntax(message: message, line: line, column: column)
    }

    private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F
    }

    private mutating func skipSpace(newlines: Bool) {
        while position < text.count {
            let b = text[position]
            if b == 0x20 || b == 0x09 || (newlines && (b == 0x0D || b == 0x0A)) {
                position += 1
            } else if b == 0x23 {
                while position < text.count, text[position] != 0x0D, text[position] != 0x0A { position += 1 }
            } else {
                break
            }
        }
    }

    private mutating func name() throws(GrammarError) -> String {
        let start = position
        while position < text.count, Self.isWordByte(text[position]) { position += 1 }
        guard position > start else { throw fail("expecting a rule name") }
        return String(decoding: text[start..<position], as: UTF8.self)
    }

    private mutating func rules() throws(GrammarError) -> [GrammarRuleDefinition] {
        var rules: [GrammarRuleDefinition] = []
        skipSpace(newlines: true)
        while position < text.count {
            let ruleName = try name()
            skipSpace(newlines: false)
            guard current == 0x3A, peek(1) == 0x3A, peek(2) == 0x3D else { throw fail("expecting ::=") }
            position += 3
            skipSpace(newlines: true)
            let body = try alternatives(nested: false, depth: 0)
            if current == 0x0D {
                position += peek(1) == 0x0A ? 2 : 1
            } else if current == 0x0A {
                position += 1
            } else if position < text.count {
                throw fail("expecting newline or end")
            }
            skipSpace(newlines: true)
            if let existing = rules.firstIndex(where: { $0.name == ruleName }) {
                rules[existing].body = body
            } else {
                rules.append(GrammarRuleDefinition(name: ruleName, body: body))
            }
        }
        return rules
    }

    private mutating func alternatives(nested: Bool, depth: Int) throws(GrammarError) -> GrammarExpression {
        guard depth <= Self.nestingLimit else { throw fail("parentheses nested deeper than \(Self.nestingLimit)") }
        var choices = [try sequence(nested: nested, depth: depth)]
        while current == 0x7C {
            position += 1
            skipSpace(newlines: true)
            choices.append(try sequence(nested: nested, depth: depth))
        }
        return choices.count == 1 ? choices[0] : .alternatives(choices)
    }

    private mutating func sequence(nested: Bool, depth: Int) throws(GrammarError) -> GrammarExpression {
        var items: [GrammarExpression] = []
        while position < text.count {
            let start = position
            let b = current
            if b == 0x22 {
                position += 1
                var bytes: [UInt8] = []
                while current != 0x22 {
                    guard position < text.count else { throw fail("unexpected end of input in a literal") }
                    appendUTF8(try character(), to: &bytes)
                }
                position += 1
                items.append(.literal(bytes))
            } else if b == 0x5B {
                position += 1
                var negated = false
                if current == 0x5E { negated = true; position += 1 }
                var ranges: [ClosedRange<UInt32>] = []
                while current != 0x5D {
                    guard position < text.count else { throw fail("unexpected end of input in a character class") }
                    let first = try character()
                    var last = first
                    if current == 0x2D, peek(1) != 0x5D {
                        position += 1
                        guard position < text.count else { throw fail("unexpected end of input in a character class") }
                        last = try character()
                    }
                    if last >= first { ranges.append(first...last) }
                }
                position += 1
                let set = CodePointSet(ranges: ranges)
                items.append(.characterClass(negated ? set.complement : set))
            } else if b == 0x3C || b == 0x21 {
                let (line, column) = location(start)
                throw .unsupportedSyntax(feature: "token references such as <[1000]> or !<token>", line: line, column: column)
            } else if Self.isWordByte(b) {
                let (line, column) = location(start)
                items.append(.reference(try name(), line: line, column: column))
            } else if b == 0x28 {
                position += 1
                skipSpace(newlines: true)
                let group = try alternatives(nested: true, depth: depth + 1)
                guard current == 0x29 else { throw fail("expecting ')'") }
                position += 1
                items.append(group)
            } else if b == 0x2E {
                position += 1
                items.append(.characterClass(.all))
            } else if b == 0x2A || b == 0x2B || b == 0x3F || b == 0x7B {
                guard let last = items.popLast() else { throw fail("expecting an item before a repetition operator") }
                position += 1
                let bounds: (Int, Int?)
                switch b {
                case 0x2A: bounds = (0, nil)
                case 0x2B: bounds = (1, nil)
                case 0x3F: bounds = (0, 1)
                default: bounds = try braces(start: start)
                }
                items.append(.repetition(last, min: bounds.0, max: bounds.1))
            } else {
                break
            }
            skipSpace(newlines: nested)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    /// The `m}`, `m,}` or `m,n}` after `{`.
    private mutating func braces(start: Int) throws(GrammarError) -> (Int, Int?) {
        skipSpace(newlines: false)
        let minimum = try integer()
        skipSpace(newlines: false)
        var maximum: Int? = minimum
        if current == 0x2C {
            position += 1
            skipSpace(newlines: false)
            maximum = (current >= 0x30 && current <= 0x39) ? try integer() : nil
            skipSpace(newlines: false)
        }
        guard current == 0x7D else { throw fail("expecting '}'") }
        position += 1
        if minimum > Self.repetitionLimit {
            let (line, column) = location(start)
            throw .repetitionTooLarge(count: minimum, limit: Self.repetitionLimit, line: line, column: column)
        }
        if let m = maximum, m > Self.repetitionLimit { maximum = nil }
        if let m = maximum, m < minimum { throw fail("repetition maximum \(m) is below the minimum \(minimum)", at: start) }
        return (minimum, maximum)
    }

    private mutating func integer() throws(GrammarError) -> Int {
        let start = position
        var value = 0
        while current >= 0x30 && current <= 0x39 {
            value = min(value &* 10 &+ Int(current - 0x30), Int(Int32.max))
            position += 1
        }
        guard position > start else { throw fail("expecting an integer") }
        return value
    }

    /// One character of a literal or class: an escape or a UTF-8 encoded code point.
    private mutating func character() throws(GrammarError) -> UInt32 {
        let b = current
        if b == 0x5C {
            let escape = peek(1)
            position += 2
            switch escape {
            case 0x78: return try hex(digits: 2)
            case 0x75: return try hex(digits: 4)
            case 0x55: return try hex(digits: 8)
            case 0x74: return 0x09
            case 0x72: return 0x0D
            case 0x6E: return 0x0A
            case 0x5C, 0x22, 0x5B, 0x5D, 0x2D: return UInt32(escape)
            default: throw fail("unknown escape '\\\(Unicode.Scalar(escape))'", at: position - 2)
            }
        }
        let length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
        var value = length == 1 ? UInt32(b) : UInt32(b) & (0xFF >> (length + 1))
        for k in 1..<max(length, 1) {
            let c = peek(k)
            guard c & 0xC0 == 0x80 else { throw fail("invalid UTF-8") }
            value = value << 6 | UInt32(c & 0x3F)
        }
        position += length
        return value
    }

    private mutating func hex(digits: Int) throws(GrammarError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            let c = current
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            default: throw fail("expecting \(digits) hexadecimal digits")
            }
            value = value << 4 | digit
            position += 1
        }
        guard value <= CodePointSet.maximum else { throw fail("code point above U+10FFFF") }
        return value
    }
}

/// Appends the UTF-8 encoding of `codePoint` (surrogates encoded as is, like llama.cpp).
func appendUTF8(_ codePoint: UInt32, to bytes: inout [UInt8]) {
    switch codePoint {
    case 0..<0x80: bytes.append(UInt8(codePoint))
    case 0x80..<0x800:
        bytes.append(UInt8(0xC0 | codePoint >> 6)); bytes.append(UInt8(0x80 | codePoint & 0x3F))
    case 0x800..<0x10000:
        bytes.append(UInt8(0xE0 | codePoint >> 12)); bytes.append(UInt8(0x80 | (codePoint >> 6) & 0x3F))
        bytes.append(UInt8(0x80 | codePoint & 0x3F))
    default:
        bytes.append(UInt8(0xF0 | codePoint >> 18)); bytes.append(UInt8(0x80 | (codePoint >> 12) & 0x3F))
        bytes.append(UInt8(0x80 | (codePoint >> 6) & 0x3F)); bytes.append(UInt8(0x80 | codePoint & 0x3F))
    }
}
