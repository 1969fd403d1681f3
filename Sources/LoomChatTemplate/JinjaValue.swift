/// A value inside a chat template, modelled on the Python objects jinja2 sees when
/// transformers renders a template: JSON-like data plus jinja2's own objects
/// (undefined, namespaces, macros, bound methods, lazy filter results).
public enum JinjaValue {
    /// jinja2's default `Undefined`: prints as "", is falsy and iterates as empty, but most other
    /// uses raise. `hint` is jinja2's message for the error ("'x' is undefined").
    case undefined(hint: String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// markupsafe's `Markup` (from `|safe` or `|escape`): a string that HTML-escapes plain
    /// strings added to it with `+`. Everywhere else it acts as the string it holds.
    case markup(String)
    /// A Python list (or tuple: templates cannot tell them apart except by repr).
    case array([JinjaValue])
    /// A Python tuple: a list everywhere except in `repr` (`('a', 1)`), which templates print
    /// when they output `dict.items()` or `dictsort` results.
    case tuple([JinjaValue])
    case dict(JinjaDict)
    /// A mutable `namespace()` object; shared by reference like in Python.
    case namespace(JinjaNamespace)
    /// A macro, builtin function or bound method.
    case callable(JinjaCallable)
    /// A one-shot Python generator, as returned by `map`, `select`, `items`, `unique`: it can be
    /// iterated, but has no length and is not JSON serializable.
    case generator([JinjaValue])

    /// An undefined value for a missing variable name, with jinja2's message.
    static func undefinedName(_ name: String) -> JinjaValue { .undefined(hint: "'\(name)' is undefined") }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s), .markup(let s): return !s.isEmpty
        case .array(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace, .callable, .generator: return true
        }
    }

    /// The value with `Markup` turned into a plain string and a tuple into a list, for the
    /// operations where Python does not tell them apart.
    var plain: JinjaValue {
        switch self {
        case .markup(let s): return .string(s)
        case .tuple(let items): return .array(items)
        default: return self
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// The Python type name, as used in TypeError messages.
    var pythonTypeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .markup: return "Markup"
        case .array: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable: return "function"
        case .generator: return "generator"
        }
    }

    /// jinja2's `object_type_repr`, used in "has no attribute" messages.
    var objectTypeRepr: String {
        if case .none = self { return "None" }
        return "\(pythonTypeName) object"
    }
}

/// A dict key: templates use strings and, rarely, integers (`{0: 0, 512: 128}`).
public enum JinjaKey: Hashable, Sendable {
    case string(String)
    case int(Int)

    /// The key Python would hash `value` to, or nil for keys Loom does not support.
    init?(_ value: JinjaValue) {
        switch value {
        case .string(let s), .markup(let s): self = .string(s)
        case .int(let i): self = .int(i)
        case .bool(let b): self = .int(b ? 1 : 0)
        case .double(let d) where d == d.rounded() && abs(d) < 1e18: self = .int(Int(d))
        default: return nil
        }
    }

    var value: JinjaValue {
        switch self {
        case .string(let s): return .string(s)
        case .int(let i): return .int(i)
        }
    }

    /// The key as JSON writes it (Python's json.dumps turns int keys into strings).
    var text: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        }
    }
}

/// A Python dict, ordered by insertion.
public struct JinjaDict {
    public private(set) var keys: [JinjaKey] = []
    private var storage: [JinjaKey: JinjaValue] = [:]

    public init() {}

    public init(_ pairs: [(JinjaKey, JinjaValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public subscript(key: String) -> JinjaValue? {
        get { self[.string(key)] }
        set { self[.string(key)] = newValue }
    }

    public subscript(key: JinjaKey) -> JinjaValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Key-value pairs in insertion order.
    public var pairs: [(JinjaKey, JinjaValue)] { keys.map { ($0, storage[$0]!) } }
}

/// jinja2's `Namespace`: a mutable attribute bag that survives scopes (`{% set ns.x = 1 %}`).
public final class JinjaNamespace {
    var attributes: JinjaDict
    init(_ attributes: JinjaDict) { self.attributes = attributes }
}

/// Something a template can call: a macro, a global function or a bound method.
public struct JinjaCallable {
    /// For error messages ("str.split", "macro render_content").
    let name: String
    let call: (_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)]) throws -> JinjaValue
}

extension JinjaValue: @unchecked Sendable {}
extension JinjaDict: @unchecked Sendable {}
