/// Evaluated call arguments, with Python's positional-or-keyword lookup.
struct JinjaArgs {
    var positional: [JinjaValue] = []
    var keyword: [(String, JinjaValue)] = []

    /// The argument at position `index` or passed as `name`, if given.
    func value(_ index: Int, _ name: String) -> JinjaValue? {
        if index < positional.count { return positional[index] }
        return keyword.first { $0.0 == name }?.1
    }

    func string(_ index: Int, _ name: String, default fallback: String? = nil) throws -> String? {
        guard let v = value(index, name) else { return fallback }
        if case .none = v { return fallback }
        guard case .string(let s) = v.plain else {
            throw JinjaRuntimeError.type("argument '\(name)' must be str, not \(v.pythonTypeName)")
        }
        return s
    }

    func int(_ index: Int, _ name: String, default fallback: Int) throws -> Int {
        guard let v = value(index, name) else { return fallback }
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        case .none: return fallback
        default: throw JinjaRuntimeError.type("argument '\(name)' must be int, not \(v.pythonTypeName)")
        }
    }

    func bool(_ index: Int, _ name: String, default fallback: Bool) -> Bool {
        value(index, name)?.isTruthy ?? fallback
    }

    /// Rejects arguments beyond the `names` a function accepts, as Python would.
    func check(_ function: String, accepts names: [String]) throws {
        if positional.count > names.count {
            throw JinjaRuntimeError.type("\(function)() takes at most \(names.count) arguments (\(positional.count) given)")
        }
        for (key, _) in keyword where !names.contains(key) {
            throw JinjaRuntimeError.type("\(function)() got an unexpected keyword argument '\(key)'")
        }
    }
}
