import LoomChatTemplate

/// JSON text written the way the grammars expect it: compact, keys in document order.
enum JSONText {
    /// `value` as compact JSON (no spaces), or nil for a value JSON cannot hold.
    static func compact(_ value: JinjaValue) -> String? {
        switch value {
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d):
            guard d.isFinite else { return nil }
            return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)"
        case .string(let s), .markup(let s): return quoted(s)
        case .array(let items), .tuple(let items):
            var parts: [String] = []
            for item in items {
                guard let text = compact(item) else { return nil }
                parts.append(text)
            }
            return "[" + parts.joined(separator: ",") + "]"
        case .dict(let dict):
            var parts: [String] = []
            for (key, item) in dict.pairs {
                guard case .string(let name) = key, let text = compact(item) else { return nil }
                parts.append(quoted(name) + ":" + text)
            }
            return "{" + parts.joined(separator: ",") + "}"
        default: return nil
        }
    }

    /// `s` as a JSON string literal, quotes included.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars { out += escaped(scalar.value) }
        return out + "\""
    }

    /// Code point `c` as it appears inside a JSON string.
    static func escaped(_ c: UInt32) -> String {
        switch c {
        case 0x22: return "\\\""
        case 0x5C: return "\\\\"
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x08: return "\\b"
        case 0x0C: return "\\f"
        case 0..<0x20:
            let hex = String(c, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: return String(Unicode.Scalar(c).map(Character.init) ?? "\u{FFFD}")
        }
    }
}
