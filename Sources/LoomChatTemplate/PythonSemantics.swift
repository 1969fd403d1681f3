/// Python's rules for the values templates handle: `str()`, `repr()`, `==`, ordering, and the
/// string helpers (whitespace, strip, split, splitlines) whose exact behaviour renderings depend on.
extension JinjaValue {
    /// Python `str(value)`; jinja2 prints this for `{{ value }}` (undefined prints as "").
    var pythonStr: String {
        switch self {
        case .undefined: return ""
        case .string(let s), .markup(let s): return s
        default: return pythonRepr
        }
    }

    /// Python `repr(value)`.
    var pythonRepr: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return pythonFloatRepr(d)
        case .string(let s): return pythonStringRepr(s)
        case .markup(let s): return "Markup(" + pythonStringRepr(s) + ")"
        case .array(let a): return "[" + a.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .tuple(let a): return "(" + a.map(\.pythonRepr).joined(separator: ", ") + (a.count == 1 ? ",)" : ")")
        case .dict(let d):
            return "{" + d.pairs.map { $0.0.value.pythonRepr + ": " + $0.1.pythonRepr }.joined(separator: ", ") + "}"
        case .namespace(let ns):
            return "<Namespace " + ns.attributes.pairs.map { "\($0.0.text)=\($0.1.pythonRepr)" }.joined(separator: ", ") + ">"
        case .callable(let c): return "<function \(c.name)>"
        case .generator: return "<generator object>"
        }
    }

    /// Python `==`: numbers compare by value across int/float/bool, containers deeply,
    /// dicts regardless of order; undefined equals only undefined.
    func pythonEquals(_ other: JinjaValue) -> Bool {
        if let a = numericValue, let b = other.numericValue { return a == b }
        switch (self.plain, other.plain) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(a), .string(b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case let (.array(a), .array(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pythonEquals($1) }
        case let (.dict(a), .dict(b)):
            guard a.count == b.count else { return false }
            return a.pairs.allSatisfy { k, v in b[k].map { v.pythonEquals($0) } ?? false }
        case let (.namespace(a), .namespace(b)): return a === b
        default: return false
        }
    }

    /// The value as a Double when it is a Python number (bool counts, as in Python).
    var numericValue: Double? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// Python ordering (`<`); nil when Python would raise TypeError.
    func pythonLess(_ other: JinjaValue) -> Bool? {
        switch (self.plain, other.plain) {
        case let (.int(a), .int(b)): return a < b
        case let (.string(a), .string(b)): return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
        case let (.array(a), .array(b)):
            for (x, y) in zip(a, b) where !x.pythonEquals(y) { return x.pythonLess(y) }
            return a.count < b.count
        default:
            if let a = numericValue, let b = other.numericValue { return a < b }
            return nil
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent outside [1e-4, 1e16).
func pythonFloatRepr(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == d.rounded(), abs(d) < 1e16 {
        // Swift prints 1e+16 style only from 2^53 up; Python keeps integral floats as "N.0" below 1e16.
        return String(format: "%.1f", d)
    }
    var s = "\(d)"
    // Swift writes "5e-05"; Python also writes "5e-05", but Swift uses "1e-05" vs Python's "1e-05": same.
    if let e = s.firstIndex(of: "e") {
        var mantissa = String(s[..<e])
        var exponent = String(s[s.index(after: e)...])
        if mantissa.hasSuffix(".0") { mantissa.removeLast(2) }
        var sign = "+"
        if exponent.hasPrefix("-") { sign = "-"; exponent.removeFirst() } else if exponent.hasPrefix("+") { exponent.removeFirst() }
        if exponent.count < 2 { exponent = "0" + exponent }
        s = mantissa + "e" + sign + exponent
    }
    return s
}

/// Python's `repr(str)`: single quotes unless the text holds a single quote and no double quote.
func pythonStringRepr(_ s: String) -> String {
    let quote: Unicode.Scalar = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
    var out = String(quote)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case quote: out += "\\" + String(quote)
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + hex(scalar.value, width: 2)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    out.unicodeScalars.append(quote)
    return out
}

func hex(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Python's `str.isspace` for one code point (Unicode White_Space plus the ASCII separators
/// U+001C–U+001F, which Python also treats as whitespace).
func isPythonWhitespace(_ c: Unicode.Scalar) -> Bool {
    c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
}

/// Python string operations, on code points as Python counts them.
enum PyString {
    static func strip(_ s: String, chars: String?, leading: Bool, trailing: Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? isPythonWhitespace(c) }
        var start = 0, end = scalars.count
        if leading { while start < end, drop(scalars[start]) { start += 1 } }
        if trailing { while end > start, drop(scalars[end - 1]) { end -= 1 } }
        return fromScalars(scalars[start..<end])
    }

    static func fromScalars<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// Python `str.split(sep, maxsplit)`.
    static func split(_ s: String, separator: String?, maxSplit: Int) -> [String] {
        let scalars = Array(s.unicodeScalars)
        var parts: [String] = []
        if let separator {
            let sep = Array(separator.unicodeScalars)
            var start = 0, i = 0
            while i + sep.count <= scalars.count, maxSplit < 0 || parts.count < maxSplit {
                if scalars[i..<(i + sep.count)].elementsEqual(sep) {
                    parts.append(fromScalars(scalars[start..<i]))
                    i += sep.count
                    start = i
                } else {
                    i += 1
                }
            }
            parts.append(fromScalars(scalars[start...]))
            return parts
        }
        // Runs of whitespace separate; leading and trailing whitespace produce no empty parts.
        var i = 0
        while i < scalars.count {
            while i < scalars.count, isPythonWhitespace(scalars[i]) { i += 1 }
            if i == scalars.count { break }
            if maxSplit >= 0, parts.count == maxSplit {
                var end = scalars.count
                while end > i, isPythonWhitespace(scalars[end - 1]) { end -= 1 }
                parts.append(fromScalars(scalars[i..<end]))
                break
            }
            let start = i
            while i < scalars.count, !isPythonWhitespace(scalars[i]) { i += 1 }
            parts.append(fromScalars(scalars[start..<i]))
        }
        return parts
    }

    /// Python `str.rsplit(sep, maxsplit)` with an explicit separator.
    static func rsplit(_ s: String, separator: String, maxSplit: Int) -> [String] {
        if maxSplit < 0 { return split(s, separator: separator, maxSplit: -1) }
        let reversed = { (x: String) in fromScalars(x.unicodeScalars.reversed()) }
        return split(reversed(s), separator: reversed(separator), maxSplit: maxSplit).reversed().map(reversed)
    }

    /// Python `str.splitlines()` (without keepends).
    static func splitlines(_ s: String) -> [String] {
        let scalars = Array(s.unicodeScalars)
        var lines: [String] = []
        var start = 0, i = 0
        while i < scalars.count {
            let c = scalars[i].value
            if [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029].contains(c) {
                lines.append(fromScalars(scalars[start..<i]))
                if c == 0x0D, i + 1 < scalars.count, scalars[i + 1] == "\n" { i += 1 }
                i += 1
                start = i
            } else {
                i += 1
            }
        }
        if start < scalars.count { lines.append(fromScalars(scalars[start...])) }
        return lines
    }

    /// Python `str.replace(old, new, count)`.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        if old.isEmpty {
            // Python inserts `new` between every code point and at both ends.
            var parts = s.unicodeScalars.map { String($0) }
            if count >= 0 { parts = Array(parts.prefix(count)) + [PyString.fromScalars(s.unicodeScalars.dropFirst(count))] }
            return count >= 0 ? new + parts.joined(separator: new) : new + parts.joined(separator: new) + new
        }
        let pieces = split(s, separator: old, maxSplit: count)
        return pieces.joined(separator: new)
    }

    static func lower(_ s: String) -> String { s.lowercased() }
    static func upper(_ s: String) -> String { s.uppercased() }

    /// Python `str.title()`: a letter after a non-letter is upper-cased, other letters lower-cased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousIsCased = false
        for c in s.unicodeScalars {
            let str = String(c)
            out += previousIsCased ? str.lowercased() : str.uppercased()
            previousIsCased = c.properties.isCased || c.properties.isAlphabetic && c.properties.changesWhenCaseMapped
        }
        return out
    }

    /// Python `str.capitalize()`.
    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        return String(first).uppercased() + fromScalars(s.unicodeScalars.dropFirst()).lowercased()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
