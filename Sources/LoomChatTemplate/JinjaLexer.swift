/// A token of a Jinja template, with the line it starts on.
struct JinjaToken: Equatable {
    enum Kind: Equatable {
        case data(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
    }
    let kind: Kind
    let line: Int
}

/// Splits a template into text and tag tokens the way jinja2's lexer does with transformers'
/// settings: `trim_blocks` (drop the newline after a block or comment tag), `lstrip_blocks`
/// (drop spaces before a block or comment tag that starts a line), `-`/`+` whitespace control,
/// newline normalisation and removal of one trailing newline.
struct JinjaLexer {
    private var s: [Unicode.Scalar]
    private var pos = 0
    private var line = 1
    private var tokens: [JinjaToken] = []
    /// jinja2's `line_starting`: the previous match ended with a newline.
    private var lineStarting = true

    static let operators: [String] = [
        "**", "//", "==", "!=", ">=", "<=",
        "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
    ]

    init(source: String) {
        // jinja2 treats \r\n, \r and \n as newlines, writes them as \n, and drops one trailing newline.
        var normalized = [Unicode.Scalar]()
        let raw = Array(source.unicodeScalars)
        var i = 0
        while i < raw.count {
            if raw[i] == "\r" {
                normalized.append("\n")
                if i + 1 < raw.count, raw[i + 1] == "\n" { i += 1 }
            } else {
                normalized.append(raw[i])
            }
            i += 1
        }
        if normalized.last == "\n" { normalized.removeLast() }
        s = normalized
    }

    static func tokenize(_ source: String) throws -> [JinjaToken] {
        var lexer = JinjaLexer(source: source)
        try lexer.run()
        return lexer.tokens
    }

    private func starts(with text: String, at index: Int) -> Bool {
        var i = index
        for c in text.unicodeScalars {
            guard i < s.count, s[i] == c else { return false }
            i += 1
        }
        return true
    }

    private func text(_ range: Range<Int>) -> String { PyString.fromScalars(s[range]) }

    private mutating func advance(to end: Int) {
        for i in pos..<end where s[i] == "\n" { line += 1 }
        pos = end
    }

    private mutating func run() throws {
        while pos < s.count {
            // Find the next tag opener.
            var open = pos
            var opener: String? = nil
            while open + 1 < s.count {
                if s[open] == "{", s[open + 1] == "{" || s[open + 1] == "%" || s[open + 1] == "#" {
                    opener = "{" + String(s[open + 1])
                    break
                }
                open += 1
            }
            guard let opener else {
                emitData(text(pos..<s.count))
                advance(to: s.count)
                lineStarting = s.last == "\n"
                return
            }
            var sign: Unicode.Scalar? = nil
            if open + 2 < s.count, s[open + 2] == "-" || s[open + 2] == "+" { sign = s[open + 2] }
            var data = Array(s[pos..<open])
            if sign == "-" {
                while let last = data.last, isPythonWhitespace(last) { data.removeLast() }
            } else if sign != "+", opener != "{{" {
                // lstrip_blocks: drop the indentation before a block or comment tag on its own line.
                let lineStart = (data.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
                if lineStart > 0 || lineStarting, lineStart < data.count,
                   data[lineStart...].allSatisfy(isPythonWhitespace) {
                    data.removeSubrange(lineStart...)
                }
            }
            emitData(PyString.fromScalars(data))
            let tagLine = line + s[pos..<open].filter { $0 == "\n" }.count
            advance(to: open)
            let bodyStart = open + 2 + (sign == nil ? 0 : 1)
            pos = bodyStart
            lineStarting = false
            switch opener {
            case "{#": try lexComment(line: tagLine)
            case "{%":
                if let rawEnd = rawBlock(at: bodyStart) {
                    try lexRaw(from: rawEnd, line: tagLine)
                } else {
                    tokens.append(JinjaToken(kind: .blockBegin, line: tagLine))
                    try lexTag(block: true)
                }
            default:
                tokens.append(JinjaToken(kind: .variableBegin, line: tagLine))
                try lexTag(block: false)
            }
        }
    }

    private mutating func emitData(_ text: String) {
        if !text.isEmpty { tokens.append(JinjaToken(kind: .data(text), line: line)) }
    }

    /// Consumes what follows a tag end: with `-` all whitespace, with trim_blocks one newline.
    private mutating func consumeAfterEnd(end: Int, strip: Bool, trim: Bool) {
        var e = end
        if strip {
            while e < s.count, isPythonWhitespace(s[e]) { e += 1 }
        } else if trim, e < s.count, s[e] == "\n" {
            e += 1
        }
        advance(to: e)
        lineStarting = e > 0 && s[e - 1] == "\n"
    }

    private mutating func lexComment(line tagLine: Int) throws {
        var i = pos
        while i < s.count {
            if starts(with: "+#}", at: i) { consumeAfterEnd(end: i + 3, strip: false, trim: false); return }
            if starts(with: "-#}", at: i) { consumeAfterEnd(end: i + 3, strip: true, trim: false); return }
            if starts(with: "#}", at: i) { consumeAfterEnd(end: i + 2, strip: false, trim: true); return }
            i += 1
        }
        throw ChatTemplateError.syntax(message: "Missing end of comment tag", line: tagLine)
    }

    /// If `{% raw %}` starts at `index` (after the opener), the index just past its `%}`.
    private func rawBlock(at index: Int) -> Int? {
        var i = index
        while i < s.count, isPythonWhitespace(s[i]) { i += 1 }
        guard starts(with: "raw", at: i) else { return nil }
        i += 3
        while i < s.count, isPythonWhitespace(s[i]) { i += 1 }
        if starts(with: "-%}", at: i) {
            i += 3
            while i < s.count, isPythonWhitespace(s[i]) { i += 1 }
            return i
        }
        return starts(with: "%}", at: i) ? i + 2 : nil
    }

    /// `{% raw %}...{% endraw %}`: the body is text, with the usual whitespace control on the end tag.
    private mutating func lexRaw(from bodyStart: Int, line tagLine: Int) throws {
        advance(to: bodyStart)
        var i = pos
        while i + 1 < s.count {
            if s[i] == "{", s[i + 1] == "%" {
                var j = i + 2
                var sign: Unicode.Scalar? = nil
                if j < s.count, s[j] == "-" || s[j] == "+" { sign = s[j]; j += 1 }
                while j < s.count, isPythonWhitespace(s[j]) { j += 1 }
                if starts(with: "endraw", at: j) {
                    j += 6
                    while j < s.count, isPythonWhitespace(s[j]) { j += 1 }
                    let endSign: Unicode.Scalar? = (j < s.count && (s[j] == "-" || s[j] == "+")) ? s[j] : nil
                    if starts(with: "%}", at: j + (endSign == nil ? 0 : 1)) {
                        var body = Array(s[pos..<i])
                        if sign == "-" { while let l = body.last, isPythonWhitespace(l) { body.removeLast() } }
                        emitData(PyString.fromScalars(body))
                        advance(to: i)
                        consumeAfterEnd(end: j + 2 + (endSign == nil ? 0 : 1), strip: endSign == "-", trim: endSign == nil)
                        return
                    }
                }
            }
            i += 1
        }
        throw ChatTemplateError.syntax(message: "Missing end of raw directive", line: tagLine)
    }

    /// Tokens inside `{% ... %}` or `{{ ... }}` up to and including the end marker.
    private mutating func lexTag(block: Bool) throws {
        let close = block ? "%}" : "}}"
        var balance: [Unicode.Scalar] = []
        while true {
            guard pos < s.count else {
                throw ChatTemplateError.syntax(
                    message: "unexpected end of template, expected '\(block ? "end of statement block" : "end of print statement")'",
                    line: line)
            }
            if balance.isEmpty {
                let endKind: JinjaToken.Kind = block ? .blockEnd : .variableEnd
                if block, starts(with: "+" + close, at: pos) {
                    tokens.append(JinjaToken(kind: endKind, line: line))
                    consumeAfterEnd(end: pos + 3, strip: false, trim: false)
                    return
                }
                if starts(with: "-" + close, at: pos) {
                    tokens.append(JinjaToken(kind: endKind, line: line))
                    consumeAfterEnd(end: pos + 3, strip: true, trim: false)
                    return
                }
                if starts(with: close, at: pos) {
                    tokens.append(JinjaToken(kind: endKind, line: line))
                    consumeAfterEnd(end: pos + 2, strip: false, trim: block)
                    return
                }
            }
            let c = s[pos]
            if isPythonWhitespace(c) { advance(to: pos + 1); continue }
            if let number = lexNumber() { tokens.append(JinjaToken(kind: number, line: line)); continue }
            if c == "_" || c.properties.isAlphabetic {
                var e = pos
                while e < s.count, s[e] == "_" || s[e].properties.isAlphabetic || s[e].properties.numericType != nil { e += 1 }
                tokens.append(JinjaToken(kind: .name(text(pos..<e)), line: line))
                pos = e
                continue
            }
            if c == "'" || c == "\"" {
                let startLine = line
                let value = try lexString(quote: c)
                tokens.append(JinjaToken(kind: .string(value), line: startLine))
                continue
            }
            guard let op = Self.operators.first(where: { starts(with: $0, at: pos) }) else {
                throw ChatTemplateError.syntax(message: "unexpected char '\(c)' at \(pos)", line: line)
            }
            switch op {
            case "{": balance.append("}")
            case "(": balance.append(")")
            case "[": balance.append("]")
            case "}", ")", "]":
                guard let expected = balance.popLast() else {
                    throw ChatTemplateError.syntax(message: "unexpected '\(op)'", line: line)
                }
                guard String(expected) == op else {
                    throw ChatTemplateError.syntax(message: "unexpected '\(op)', expected '\(expected)'", line: line)
                }
            default: break
            }
            tokens.append(JinjaToken(kind: .op(op), line: line))
            pos += op.unicodeScalars.count
        }
    }

    private func isDigit(_ i: Int) -> Bool { i < s.count && s[i].value >= 0x30 && s[i].value <= 0x39 }

    /// Decimal integers and floats (`12`, `1_000`, `0.5`, `1e-3`); jinja2's other integer forms
    /// (0x, 0o, 0b) do not occur in chat templates and lex as a name error.
    private mutating func lexNumber() -> JinjaToken.Kind? {
        guard isDigit(pos) else { return nil }
        if pos > 0, s[pos - 1] == "." {
            // `people.0.name`: jinja2's float rule may not start after a dot, so this is an integer.
            var e = pos
            while isDigit(e) { e += 1 }
            defer { pos = e }
            return .integer(Int(text(pos..<e)) ?? 0)
        }
        var e = pos
        func digits() { while isDigit(e) || (e < s.count && s[e] == "_" && isDigit(e + 1)) { e += 1 } }
        digits()
        var isFloat = false
        if e < s.count, s[e] == ".", isDigit(e + 1) {
            isFloat = true
            e += 1
            digits()
        }
        if e < s.count, s[e] == "e" || s[e] == "E" {
            var x = e + 1
            if x < s.count, s[x] == "+" || s[x] == "-" { x += 1 }
            if isDigit(x) { isFloat = true; e = x; digits() }
        }
        let literal = text(pos..<e).replacingOccurrences(of: "_", with: "")
        pos = e
        if isFloat { return .float(Double(literal) ?? 0) }
        if let v = Int(literal) { return .integer(v) }
        return .float(Double(literal) ?? 0)
    }

    /// A quoted string, decoded like Python's `unicode-escape` (unknown escapes stay as written).
    private mutating func lexString(quote: Unicode.Scalar) throws -> String {
        let startLine = line
        var i = pos + 1
        var out = String.UnicodeScalarView()
        while i < s.count, s[i] != quote {
            if s[i] == "\\", i + 1 < s.count {
                let n = s[i + 1]
                let simple: [Unicode.Scalar: Unicode.Scalar] = [
                    "n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", "\"": "\"",
                    "a": "\u{07}", "b": "\u{08}", "f": "\u{0C}", "v": "\u{0B}", "0": "\0", "\n": "\n",
                ]
                if n == "\n" { i += 2; continue }  // backslash-newline is a line continuation
                if let mapped = simple[n] { out.append(mapped); i += 2; continue }
                let width = n == "x" ? 2 : n == "u" ? 4 : n == "U" ? 8 : 0
                if width > 0, i + 1 + width < s.count,
                   let v = UInt32(PyString.fromScalars(s[(i + 2)..<(i + 2 + width)]), radix: 16),
                   let scalar = Unicode.Scalar(v) {
                    out.append(scalar)
                    i += 2 + width
                    continue
                }
                out.append(s[i])
                out.append(n)
                i += 2
                continue
            }
            out.append(s[i])
            i += 1
        }
        guard i < s.count else { throw ChatTemplateError.syntax(message: "unexpected char '\(quote)'", line: startLine) }
        advance(to: i + 1)
        return String(out)
    }
}

import Foundation
