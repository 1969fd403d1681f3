import Foundation

/// Python's arithmetic and comparison operators as jinja2 applies them.
enum JinjaOperators {
    private static func requireDefined(_ v: JinjaValue) throws {
        if case .undefined(let hint) = v { throw JinjaRuntimeError.undefined(hint) }
    }

    /// An int view of int and bool (Python's bool is an int).
    private static func intValue(_ v: JinjaValue) -> Int? {
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    private static func unsupported(_ op: String, _ a: JinjaValue, _ b: JinjaValue) -> JinjaRuntimeError {
        .type("unsupported operand type(s) for \(op): '\(a.pythonTypeName)' and '\(b.pythonTypeName)'")
    }

    static func unary(_ op: String, _ v: JinjaValue) throws -> JinjaValue {
        try requireDefined(v)
        if let i = intValue(v) { return .int(op == "-" ? -i : i) }
        if case .double(let d) = v { return .double(op == "-" ? -d : d) }
        throw JinjaRuntimeError.type("bad operand type for unary \(op): '\(v.pythonTypeName)'")
    }

    /// `s * count`, allowed by the render's budget before it is built.
    private static func repeated(_ s: String, _ count: Int) throws -> String {
        let count = max(0, count)
        try JinjaBudget.allocate(bytes: JinjaBudget.product(s.utf8.count, count))
        return String(repeating: s, count: count)
    }

    static func binary(_ op: String, _ left: JinjaValue, _ right: JinjaValue) throws -> JinjaValue {
        try requireDefined(left)
        try requireDefined(right)
        // Markup + str escapes the plain string (markupsafe's __add__ and __radd__).
        switch (op, left, right) {
        case let ("+", .markup(x), .string(y)): return .markup(x + escapeHTML(y))
        case let ("+", .string(x), .markup(y)): return .markup(escapeHTML(x) + y)
        case let ("+", .markup(x), .markup(y)): return .markup(x + y)
        default: break
        }
        let (a, b) = (left.plain, right.plain)
        switch (op, a, b) {
        case let ("+", .string(x), .string(y)):
            try JinjaBudget.allocate(bytes: x.utf8.count + y.utf8.count)
            return .string(x + y)
        case let ("+", .array(x), .array(y)):
            try JinjaBudget.allocate(items: x.count + y.count)
            return .array(x + y)
        case ("+", .string, _): throw JinjaRuntimeError.type("can only concatenate str (not \"\(b.pythonTypeName)\") to str")
        case ("+", .array, _): throw JinjaRuntimeError.type("can only concatenate list (not \"\(b.pythonTypeName)\") to list")
        case let ("*", .string(s), _) where intValue(b) != nil: return .string(try repeated(s, intValue(b)!))
        case let ("*", _, .string(s)) where intValue(a) != nil: return .string(try repeated(s, intValue(a)!))
        case let ("*", .array(x), _) where intValue(b) != nil:
            let count = max(0, intValue(b)!)
            try JinjaBudget.allocate(items: JinjaBudget.product(x.count, count))
            return .array(Array(repeating: x, count: count).flatMap { $0 })
        case ("%", .string, _):
            throw JinjaUnsupportedError(feature: "printf-style string formatting with %")
        default: break
        }
        if let x = intValue(a), let y = intValue(b) {
            switch op {
            case "+": return .int(x &+ y)
            case "-": return .int(x &- y)
            case "*": return .int(x &* y)
            case "/":
                guard y != 0 else { throw JinjaRuntimeError(kind: "ZeroDivisionError", message: "division by zero") }
                return .double(Double(x) / Double(y))
            case "//":
                guard y != 0 else { throw JinjaRuntimeError(kind: "ZeroDivisionError", message: "integer division or modulo by zero") }
                let q = x / y
                return .int((x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q)
            case "%":
                guard y != 0 else { throw JinjaRuntimeError(kind: "ZeroDivisionError", message: "integer modulo by zero") }
                let r = x % y
                return .int(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case "**":
                if y >= 0 {
                    // By squaring: `2 ** 10**18` takes 60 multiplications, not 10**18.
                    var (result, base, exponent) = (1, x, y)
                    while exponent > 0 {
                        if exponent & 1 == 1 { result = result &* base }
                        base = base &* base
                        exponent >>= 1
                    }
                    return .int(result)
                }
                return .double(pow(Double(x), Double(y)))
            default: break
            }
        }
        guard let x = a.numericValue, let y = b.numericValue else { throw unsupported(op, a, b) }
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/":
            guard y != 0 else { throw JinjaRuntimeError(kind: "ZeroDivisionError", message: "float division by zero") }
            return .double(x / y)
        case "//":
            guard y != 0 else { throw JinjaRuntimeError(kind: "ZeroDivisionError", message: "float floor division by zero") }
            return .double((x / y).rounded(.down))
        case "%":
            guard y != 0 else { throw JinjaRuntimeError(kind: "ZeroDivisionError", message: "float modulo") }
            let r = fmod(x, y)
            return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case "**": return .double(pow(x, y))
        default: throw unsupported(op, a, b)
        }
    }

    /// `==`, `!=`, ordering, `in` and `not in`.
    static func compare(_ op: String, _ left: JinjaValue, _ right: JinjaValue) throws -> Bool {
        let (a, b) = (left.plain, right.plain)
        switch op {
        case "==": return a.pythonEquals(b)
        case "!=": return !a.pythonEquals(b)
        case "in": return try contains(b, a)
        case "not in": return !(try contains(b, a))
        default:
            try requireDefined(a)
            try requireDefined(b)
            let result: Bool?
            switch op {
            case "<": result = a.pythonLess(b)
            case ">": result = b.pythonLess(a)
            case "<=": result = b.pythonLess(a).map { !$0 }
            default: result = a.pythonLess(b).map { !$0 }
            }
            guard let result else {
                throw JinjaRuntimeError.type("'\(op)' not supported between instances of '\(a.pythonTypeName)' and '\(b.pythonTypeName)'")
            }
            return result
        }
    }

    /// Python `item in container`.
    static func contains(_ input: JinjaValue, _ inputItem: JinjaValue) throws -> Bool {
        let (container, item) = (input.plain, inputItem.plain)
        switch container {
        case .string(let s):
            guard case .string(let needle) = item else {
                if case .undefined(let hint) = item { throw JinjaRuntimeError.undefined(hint) }
                throw JinjaRuntimeError.type("'in <string>' requires string as left operand, not \(item.pythonTypeName)")
            }
            return needle.isEmpty || s.unicodeScalars.count >= needle.unicodeScalars.count
                && PyString.split(s, separator: needle, maxSplit: 1).count == 2
        case .dict(let d):
            if let key = JinjaKey(item) { return d[key] != nil }
            return false
        case .undefined:
            return false
        case .array(let items), .generator(let items):
            return items.contains { $0.pythonEquals(item) }
        default:
            throw JinjaRuntimeError.type("argument of type '\(container.pythonTypeName)' is not iterable")
        }
    }
}
