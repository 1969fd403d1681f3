/// Attribute and item access as jinja2's sandboxed environment does it: `a.b` prefers Python
/// attributes (so `message.items` is the dict method) and falls back to items; `a[b]` prefers
/// items and falls back to attributes; a miss yields undefined, and only undefined raises.
enum JinjaAccess {
    static func getattr(_ input: JinjaValue, _ name: String) throws -> JinjaValue {
        let object = input.plain
        if case .undefined(let hint) = object { throw JinjaRuntimeError.undefined(hint) }
        if let method = JinjaMethods.bound(object, name) { return method }
        switch object {
        case .dict(let d):
            if let v = d[name] { return v }
        case .namespace(let ns):
            if let v = ns.attributes[name] { return v }
        default: break
        }
        return .undefined(hint: "'\(object.objectTypeRepr)' has no attribute '\(name)'")
    }

    static func getitem(_ input: JinjaValue, _ inputKey: JinjaValue) throws -> JinjaValue {
        let (object, key) = (input.plain, inputKey.plain)
        if case .undefined(let hint) = object { throw JinjaRuntimeError.undefined(hint) }
        switch (object, key) {
        case let (.dict(d), _):
            if let k = JinjaKey(key), let v = d[k] { return v }
        case let (.array(items), _):
            if let i = index(key, count: items.count) { return items[i] }
        case let (.string(s), _):
            let scalars = Array(s.unicodeScalars)
            if let i = index(key, count: scalars.count) { return .string(String(scalars[i])) }
        default: break
        }
        if case .string(let name) = key { return try getattr(object, name) }
        return .undefined(hint: "'\(object.objectTypeRepr)' has no attribute '\(key.pythonStr)'")
    }

    /// A Python index (negative counts from the end) that is in range, or nil.
    private static func index(_ key: JinjaValue, count: Int) -> Int? {
        let raw: Int
        switch key {
        case .int(let i): raw = i
        case .bool(let b): raw = b ? 1 : 0
        default: return nil
        }
        let i = raw < 0 ? raw + count : raw
        return (0..<count).contains(i) ? i : nil
    }

    /// Python `object[start:stop:step]` for strings and lists.
    static func slice(_ input: JinjaValue, start: JinjaValue, stop: JinjaValue, step: JinjaValue) throws -> JinjaValue {
        let object = input.plain
        if case .undefined(let hint) = object { throw JinjaRuntimeError.undefined(hint) }
        func bound(_ v: JinjaValue) throws -> Int? {
            switch v {
            case .none: return nil
            case .int(let i): return i
            case .bool(let b): return b ? 1 : 0
            case .undefined(let hint): throw JinjaRuntimeError.undefined(hint)
            default: throw JinjaRuntimeError.type("slice indices must be integers or None or have an __index__ method")
            }
        }
        let stepValue = try bound(step) ?? 1
        guard stepValue != 0 else { throw JinjaRuntimeError.value("slice step cannot be zero") }
        func indices(_ count: Int) throws -> [Int] {
            // CPython's PySlice_AdjustIndices.
            var lo = try bound(start), hi = try bound(stop)
            if stepValue > 0 {
                var a = lo ?? 0, b = hi ?? count
                if a < 0 { a = max(0, a + count) } else { a = min(a, count) }
                if b < 0 { b = max(0, b + count) } else { b = min(b, count) }
                return a < b ? Array(stride(from: a, to: b, by: stepValue)) : []
            }
            if let l = lo { lo = l < 0 ? max(-1, l + count) : min(l, count - 1) }
            if let h = hi { hi = h < 0 ? max(-1, h + count) : min(h, count - 1) }
            let a = lo ?? count - 1, b = hi ?? -1
            return a > b ? Array(stride(from: a, to: b, by: stepValue)) : []
        }
        switch object {
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            return .string(PyString.fromScalars(try indices(scalars.count).map { scalars[$0] }))
        case .array(let items):
            return .array(try indices(items.count).map { items[$0] })
        default:
            throw JinjaRuntimeError.type("'\(object.pythonTypeName)' object is not subscriptable")
        }
    }
}
