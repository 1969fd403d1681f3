/// JSON in and out of template values: Python's `json.dumps` (which transformers' `tojson`
/// filter calls), and an order-preserving parser for messages and tools.
public enum JinjaJSON {
    /// Options of Python's `json.dumps` that `tojson` exposes.
    struct DumpOptions {
        var ensureASCII = false
        /// nil: one line with ", " and ": "; otherwise one item per line indented by this string.
        var indent: String? = nil
        var itemSeparator: String? = nil
        var keySeparator: String? = nil
        var sortKeys = false
    }

    /// `value` as one line of JSON, keys in their order (`json.dumps(value)`).
    public static func text(_ value: JinjaValue) throws -> String { try dumps(value, DumpOptions()) }

    /// Python `json.dumps(value, ...)`.
    static func dumps(_ value: JinjaValue, _ options: DumpOptions) throws -> String {
        var out = ""
        try dump(value, options, level: 0, into: &out)
        return out
    }

    private static func dump(_ value: JinjaValue, _ o: DumpOptions, level: Int, into out: inout String) throws {
        let itemSep = o.itemSeparator ?? (o.indent == nil ? ", " : ",")
        let keySep = o.keySeparator ?? ": "
        func open(_ bracket: String) {
            out += bracket
            if let indent = o.indent { out += "\n" + String(repeating: indent, count: level + 1) }
        }
        func separator() {
            out += itemSep
            if let indent = o.indent { out += "\n" + String(repeating: indent, count: level + 1) }
        }
        func close(_ bracket: String) {
            if let indent = o.indent { out += "\n" + String(repeating: indent, count: level) }
            out += bracket
        }
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : pythonFloatRepr(d)
        case .string(let s), .markup(let s): out += quote(s, ensureASCII: o.ensureASCII)
        case .array(let items), .tuple(let items):
            if items.isEmpty { out += "[]"; return }
            open("[")
            for (i, item) in items.enumerated() {
                if i > 0 { separator() }
                try dump(item, o, level: level + 1, into: &out)
            }
            close("]")
        case .dict(let d):
            if d.isEmpty { out += "{}"; return }
            var pairs = d.pairs
            if o.sortKeys {
                pairs.sort { $0.0.text.unicodeScalars.lexicographicallyPrecedes($1.0.text.unicodeScalars) { $0.value < $1.value } }
            }
            open("{")
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { separator() }
                out += quote(k.text, ensureASCII: o.ensureASCII) + keySep
                try dump(v, o, level: level + 1, into: &out)
            }
            close("}")
        case .undefined, .namespace, .callable, .generator:
            let type: String
            switch value {
            case .undefined: type = "Undefined"
            case .namespace: type = "TemplateNamespace"
            case .callable: type = "Macro"
            default: type = "generator"
            }
            throw JinjaRuntimeError.type("Object of type \(type) is not JSON serializable")
        }
    }

    /// A JSON string literal with Python's escapes.
    static func quote(_ s: String, ensureASCII: Bool) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    out += "\\u" + hex(c.value, width: 4)
                } else if ensureASCII, c.value > 0x7E {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += "\\u" + hex(0xD800 + (v >> 10), width: 4) + "\\u" + hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + hex(c.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    /// Why JSON text could not be parsed; `offset` counts bytes from the start.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let message: String
        public let offset: Int
        public var description: String { "invalid JSON at byte \(offset): \(message)" }
    }

    /// Parses JSON into template values, keeping object keys in document order (templates that
    /// print tool schemas depend on it) and integers apart from floats, like Python's `json.loads`.
    public static func parse(_ text: String) throws -> JinjaValue {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.pos == parser.bytes.count else { throw parser.fail("extra data after the value") }
        return value
    }

    /// A JSON value read from text that may still be growing, such as a model's output.
    public enum PrefixParse {
        /// The value is whole; `end` is the byte offset just past it.
        case complete(JinjaValue, end: Int)
        /// Every byte so far can begin a valid value, but the text ends before the value does.
        case truncated
    }

    /// Parses one JSON value of `bytes` starting at `start` (after any whitespace), ignoring what
    /// follows it. Unless `isFinal`, a number or literal that reaches the end of the bytes could
    /// still grow, so it counts as truncated.
    /// - Throws: `ParseError` where the bytes cannot be the beginning of a JSON value, whatever
    ///   text followed.
    public static func parsePrefix(_ bytes: [UInt8], from start: Int, isFinal: Bool) throws -> PrefixParse {
        var parser = Parser(bytes: bytes, pos: start)
        do {
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            if !isFinal, parser.pos == bytes.count, parser.lastValueIsScalar { return .truncated }
            return .complete(value, end: parser.pos)
        } catch let error as ParseError {
            if parser.ranOutOfInput, !isFinal { return .truncated }
            throw error
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var pos = 0
        /// Set when a failure comes from the end of the bytes rather than from a wrong byte.
        var ranOutOfInput = false
        /// Whether the value just read was a number or literal (which have no closing bracket).
        var lastValueIsScalar = false

        func fail(_ message: String) -> ParseError { ParseError(message: message, offset: pos) }

        mutating func ranOut(_ message: String, offset: Int? = nil) -> ParseError {
            ranOutOfInput = true
            return ParseError(message: message, offset: offset ?? pos)
        }

        mutating func skipWhitespace() {
            while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
        }

        mutating func literal(_ word: String, _ value: JinjaValue) throws -> JinjaValue {
            let w = Array(word.utf8)
            guard pos + w.count <= bytes.count, Array(bytes[pos..<(pos + w.count)]) == w else {
                if bytes.count - pos < w.count, bytes[pos...].elementsEqual(w[0..<(bytes.count - pos)]) {
                    throw ranOut("unexpected end of input")
                }
                throw fail("unexpected character")
            }
            pos += w.count
            lastValueIsScalar = true
            return value
        }

        mutating func value(depth: Int) throws -> JinjaValue {
            guard depth < 512 else { throw fail("nesting deeper than 512 levels") }
            guard pos < bytes.count else { throw ranOut("unexpected end of input") }
            lastValueIsScalar = false
            switch bytes[pos] {
            case UInt8(ascii: "{"):
                pos += 1
                var d = JinjaDict()
                skipWhitespace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .dict(d) }
                while true {
                    skipWhitespace()
                    guard pos < bytes.count else { throw ranOut("unexpected end of input in an object") }
                    guard bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let key = try string()
                    skipWhitespace()
                    guard pos < bytes.count else { throw ranOut("unexpected end of input in an object") }
                    guard bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    pos += 1
                    skipWhitespace()
                    d[key] = try value(depth: depth + 1)
                    skipWhitespace()
                    guard pos < bytes.count else { throw ranOut("unexpected end of input in an object") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "}") { pos += 1; lastValueIsScalar = false; return .dict(d) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                pos += 1
                var items: [JinjaValue] = []
                skipWhitespace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard pos < bytes.count else { throw ranOut("unexpected end of input in an array") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "]") { pos += 1; lastValueIsScalar = false; return .array(items) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .none)
            default: return try number()
            }
        }

        mutating func number() throws -> JinjaValue {
            let start = pos
            var isFloat = false
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            let digitsStart = pos
            while pos < bytes.count {
                let b = bytes[pos]
                if b >= 0x30 && b <= 0x39 { pos += 1; continue }
                if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
                    || ((b == UInt8(ascii: "+") || b == UInt8(ascii: "-")) && isFloat) {
                    isFloat = true
                    pos += 1
                    continue
                }
                break
            }
            guard pos > digitsStart else {
                if pos == bytes.count { throw ranOut("unexpected end of input", offset: start) }
                pos = start
                throw fail("unexpected character")
            }
            let text = String(decoding: bytes[start..<pos], as: UTF8.self)
            lastValueIsScalar = true
            if !isFloat, let i = Int(text) { return .int(i) }
            guard let d = Double(text) else {
                if pos == bytes.count { throw ranOut("invalid number '\(text)'", offset: start) }
                pos = start
                throw fail("invalid number '\(text)'")
            }
            return .double(d)
        }

        mutating func hex4() throws -> UInt32 {
            guard pos + 4 <= bytes.count,
                  let v = UInt32(String(decoding: bytes[pos..<(pos + 4)], as: UTF8.self), radix: 16) else {
                if pos + 4 > bytes.count, bytes[pos...].allSatisfy({ UInt8(ascii: "0")...UInt8(ascii: "9") ~= $0 || UInt8(ascii: "a")...UInt8(ascii: "f") ~= $0 || UInt8(ascii: "A")...UInt8(ascii: "F") ~= $0 }) {
                    throw ranOut("invalid \\u escape")
                }
                throw fail("invalid \\u escape")
            }
            pos += 4
            return v
        }

        mutating func string() throws -> String {
            let start = pos
            pos += 1
            var out = [UInt8]()
            while true {
                guard pos < bytes.count else { throw ranOut("unterminated string", offset: start) }
                let b = bytes[pos]
                pos += 1
                if b == UInt8(ascii: "\"") { break }
                if b < 0x20 { pos -= 1; throw fail("control character in a string") }
                guard b == UInt8(ascii: "\\") else { out.append(b); continue }
                guard pos < bytes.count else { throw ranOut("unterminated escape") }
                let e = bytes[pos]
                pos += 1
                let simple: [UInt8: UInt8] = [0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09]
                if let m = simple[e] { out.append(m); continue }
                guard e == UInt8(ascii: "u") else { pos -= 1; throw fail("invalid escape") }
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                    pos += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) {
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        out.append(contentsOf: Array(String(Unicode.Scalar(0xFFFD)!).utf8))
                        v = low
                    }
                }
                let scalar = Unicode.Scalar(v) ?? Unicode.Scalar(0xFFFD)!
                out.append(contentsOf: Array(String(scalar).utf8))
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
            return s
        }
    }
}
