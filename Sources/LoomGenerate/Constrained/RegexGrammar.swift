extension Grammar {
    /// A grammar whose whole output matches the regular expression `pattern` (ECMAScript
    /// syntax, the subset JSON Schema's `pattern` uses: literals, escapes, `.`, classes, `\d \w
    /// \s` and their negations, groups, alternation, `* + ? {m} {m,} {m,n}`, and `^ $` at the
    /// ends, which change nothing since the whole output must match).
    /// - Throws: `GrammarError.unsupportedRegex` naming a construct Loom does not implement
    ///   (backreferences, lookaround, word boundaries, anchors inside the pattern).
    public static func regex(_ pattern: String) throws(GrammarError) -> Grammar {
        var parser = RegexParser(pattern, insideJSONString: false)
        let expression = try parser.parseWhole().expression
        return try Grammar(compiled: CompiledGrammar.mappingRecursion(rules: [GrammarRuleDefinition(name: "root", body: expression)], root: "root"))
    }

    init(compiled: CompiledGrammar) { self.compiled = compiled }
}

extension CompiledGrammar {
    /// Builds a grammar made from a regex, reporting a repeated sub-pattern that can match
    /// nothing (which the matcher would loop on) as a regex limitation.
    static func mappingRecursion(rules: [GrammarRuleDefinition], root: String) throws(GrammarError) -> CompiledGrammar {
        do {
            return try CompiledGrammar(rules: rules, root: root)
        } catch .leftRecursion {
            throw .unsupportedRegex(feature: "a repetition of a sub-pattern that can match the empty string", offset: 0)
        }
    }
}

/// ECMAScript regular-expression syntax to grammar expressions.
///
/// `insideJSONString`: the text is the content of a JSON string, so a matched `"`, `\` or
/// control character is written as a JSON escape, and a pattern that is not anchored at an end
/// may be surrounded by any characters (JSON Schema's `pattern` searches, it does not match
/// the whole string).
struct RegexParser {
    /// [pattern characters] the pattern as code points.
    private let characters: [UInt32]
    private var position = 0
    let insideJSONString: Bool

    /// Repetition bounds above this are refused (each repetition is a copy in the grammar).
    static let repetitionLimit = GBNFParser.repetitionLimit

    init(_ pattern: String, insideJSONString: Bool) {
        characters = pattern.unicodeScalars.map(\.value)
        self.insideJSONString = insideJSONString
    }

    /// Characters a JSON string may hold unescaped.
    static let jsonUnescaped = CodePointSet(ranges: [0x20...0x21, 0x23...0x5B, 0x5D...CodePointSet.maximum])
    /// `.`: anything but a line terminator (ECMAScript).
    static let dot = CodePointSet(ranges: [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029]).complement
    static let digit = CodePointSet(ranges: [0x30...0x39])
    static let word = CodePointSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    /// ECMAScript's white space and line terminators, less U+FEFF (which Python's `\s` does not
    /// match, and `jsonschema` validates patterns with Python's `re`).
    static let space = CodePointSet(ranges: [0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
                                             0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000])

    private var current: UInt32? { position < characters.count ? characters[position] : nil }

    private func fail(_ message: String) -> GrammarError { .invalidRegex(message: message, offset: position) }
    private func unsupported(_ feature: String) -> GrammarError { .unsupportedRegex(feature: feature, offset: position) }

    /// The whole pattern, with whether it was anchored at its start and end.
    mutating func parseWhole() throws(GrammarError) -> (expression: GrammarExpression, anchoredStart: Bool, anchoredEnd: Bool) {
        var anchoredStart = false, anchoredEnd = false
        if current == 0x5E { anchoredStart = true; position += 1 }
        var body = try alternation(depth: 0)
        if current == 0x24 {
            anchoredEnd = true
            position += 1
        }
        guard position == characters.count else {
            if current == 0x29 { throw fail("unbalanced ')'") }
            throw unsupported("'\(Unicode.Scalar(characters[position]).map(String.init) ?? "?")' here")
        }
        if insideJSONString {
            let any = GrammarExpression.repetition(character(Self.dot), min: 0, max: nil)
            if !anchoredStart { body = .sequence([any, body]) }
            if !anchoredEnd { body = .sequence([body, any]) }
        }
        return (body, anchoredStart, anchoredEnd)
    }

    private mutating func alternation(depth: Int) throws(GrammarError) -> GrammarExpression {
        guard depth <= GBNFParser.nestingLimit else { throw fail("groups nested deeper than \(GBNFParser.nestingLimit)") }
        var choices = [try concatenation(depth: depth)]
        while current == 0x7C {
            position += 1
            choices.append(try concatenation(depth: depth))
        }
        return choices.count == 1 ? choices[0] : .alternatives(choices)
    }

    private mutating func concatenation(depth: Int) throws(GrammarError) -> GrammarExpression {
        var items: [GrammarExpression] = []
        loop: while let c = current {
            switch c {
            case 0x7C, 0x29: break loop
            case 0x24:
                // `$` ends the pattern only as its last character.
                if position == characters.count - 1 { break loop }
                throw unsupported("'$' anchor inside the pattern")
            case 0x5E: throw unsupported("'^' anchor inside the pattern")
            case 0x2A, 0x2B, 0x3F, 0x7B:
                guard let last = items.popLast() else { throw fail("nothing to repeat") }
                items.append(try quantified(last))
            default:
                items.append(try atom(depth: depth))
            }
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func quantified(_ item: GrammarExpression) throws(GrammarError) -> GrammarExpression {
        let c = current!
        position += 1
        var minimum = 0, maximum: Int? = nil
        switch c {
        case 0x2A: break
        case 0x2B: minimum = 1
        case 0x3F: maximum = 1
        default:
            minimum = try integer()
            maximum = minimum
            if current == 0x2C {
                position += 1
                maximum = current == 0x7D ? nil : try integer()
            }
            guard current == 0x7D else { throw fail("expecting '}'") }
            position += 1
            guard minimum <= Self.repetitionLimit, (maximum ?? 0) <= Self.repetitionLimit else {
                throw .tooLarge(what: "regex repetition count", limit: Self.repetitionLimit)
            }
            if let maximum, maximum < minimum { throw fail("repetition maximum below the minimum") }
        }
        // A lazy quantifier matches the same set of whole strings.
        if current == 0x3F { position += 1 }
        if current == 0x2B { throw unsupported("possessive quantifier") }
        return .repetition(item, min: minimum, max: maximum)
    }

    private mutating func integer() throws(GrammarError) -> Int {
        var value = 0, digits = 0
        while let c = current, c >= 0x30, c <= 0x39 {
            value = min(value * 10 + Int(c - 0x30), Int(Int32.max))
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw fail("expecting a number") }
        return value
    }

    private mutating func atom(depth: Int) throws(GrammarError) -> GrammarExpression {
        let c = current!
        switch c {
        case 0x28:
            position += 1
            if current == 0x3F {
                let next = position + 1 < characters.count ? characters[position + 1] : 0
                switch next {
                case 0x3A: position += 2
                case 0x3D, 0x21: throw unsupported("lookahead")
                case 0x3C:
                    let after = position + 2 < characters.count ? characters[position + 2] : 0
                    if after == 0x3D || after == 0x21 { throw unsupported("lookbehind") }
                    // A named group: skip the name.
                    position += 2
                    while let n = current, n != 0x3E { position += 1 }
                    guard current == 0x3E else { throw fail("unterminated group name") }
                    position += 1
                default: throw unsupported("group flags '(?\(Unicode.Scalar(next).map(String.init) ?? "")'")
                }
            }
            let inner = try alternation(depth: depth + 1)
            guard current == 0x29 else { throw fail("expecting ')'") }
            position += 1
            return inner
        case 0x5B:
            return character(try bracketClass())
        case 0x2E:
            position += 1
            return character(Self.dot)
        case 0x5C:
            return character(try escape(inClass: false))
        default:
            position += 1
            return character(CodePointSet(c))
        }
    }

    /// `[...]` or `[^...]`, the opening bracket at `position`.
    private mutating func bracketClass() throws(GrammarError) -> CodePointSet {
        position += 1
        var negated = false
        if current == 0x5E { negated = true; position += 1 }
        var set = CodePointSet(ranges: [])
        while let c = current, c != 0x5D {
            let low: CodePointSet
            if c == 0x5C { low = try escape(inClass: true) } else { low = CodePointSet(c); position += 1 }
            if current == 0x2D, position + 1 < characters.count, characters[position + 1] != 0x5D, let lo = low.single {
                position += 1
                let high: CodePointSet
                if current == 0x5C { high = try escape(inClass: true) } else { high = CodePointSet(current!); position += 1 }
                guard let hi = high.single else { throw fail("a class escape cannot end a range") }
                guard lo <= hi else { throw fail("range out of order") }
                set = set.union(CodePointSet(ranges: [lo...hi]))
            } else {
                set = set.union(low)
            }
        }
        guard current == 0x5D else { throw fail("unterminated character class") }
        position += 1
        return negated ? set.complement : set
    }

    /// The escape at `position` (a backslash).
    private mutating func escape(inClass: Bool) throws(GrammarError) -> CodePointSet {
        position += 1
        guard let c = current else { throw fail("trailing backslash") }
        position += 1
        switch c {
        case 0x64: return Self.digit
        case 0x44: return Self.digit.complement
        case 0x77: return Self.word
        case 0x57: return Self.word.complement
        case 0x73: return Self.space
        case 0x53: return Self.space.complement
        case 0x6E: return CodePointSet(0x0A)
        case 0x74: return CodePointSet(0x09)
        case 0x72: return CodePointSet(0x0D)
        case 0x66: return CodePointSet(0x0C)
        case 0x76: return CodePointSet(0x0B)
        case 0x30: return CodePointSet(0)
        case 0x62:
            if inClass { return CodePointSet(0x08) }
            position -= 2
            throw unsupported("word boundary \\b")
        case 0x42: position -= 2; throw unsupported("word boundary \\B")
        case 0x31...0x39: position -= 2; throw unsupported("backreference")
        case 0x6B: position -= 2; throw unsupported("named backreference \\k")
        case 0x70, 0x50: position -= 2; throw unsupported("Unicode property escape \\p")
        case 0x63: position -= 2; throw unsupported("control escape \\c")
        case 0x78: return CodePointSet(try hex(2))
        case 0x75:
            if current == 0x7B {
                position += 1
                var value: UInt32 = 0, digits = 0
                while let d = current, d != 0x7D, let v = Self.hexValue(d) { value = value << 4 | v; digits += 1; position += 1 }
                guard current == 0x7D, digits > 0, digits <= 6, value <= CodePointSet.maximum else { throw fail("bad \\u{...} escape") }
                position += 1
                return CodePointSet(value)
            }
            return CodePointSet(try hex(4))
        default:
            let isLetterOrDigit = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            guard !isLetterOrDigit else { position -= 2; throw unsupported("escape '\\\(Unicode.Scalar(c).map(String.init) ?? "")'") }
            return CodePointSet(c)
        }
    }

    private static func hexValue(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    private mutating func hex(_ digits: Int) throws(GrammarError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let c = current, let v = Self.hexValue(c) else { throw fail("expecting \(digits) hexadecimal digits") }
            value = value << 4 | v
            position += 1
        }
        return value
    }

    /// One character from `set`, written as JSON string content when inside a JSON string.
    func character(_ set: CodePointSet) -> GrammarExpression {
        guard insideJSONString else { return .characterClass(set) }
        var choices: [GrammarExpression] = []
        let plain = set.intersection(Self.jsonUnescaped)
        if !plain.isEmpty { choices.append(.characterClass(plain)) }
        for range in set.intersection(CodePointSet(ranges: [0...0x1F, 0x22...0x22, 0x5C...0x5C])).ranges {
            for c in range { choices.append(.literal(Array(JSONText.escaped(c).utf8))) }
        }
        return choices.count == 1 ? choices[0] : .alternatives(choices)
    }
}
