/// The Python methods templates call on strings, dicts and lists (`content.strip()`,
/// `message.get('x')`). Mutating methods exist but raise, as in jinja2's immutable sandbox.
enum JinjaMethods {
    private static let mutatingListMethods: Set<String> = ["append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"]
    private static let mutatingDictMethods: Set<String> = ["pop", "popitem", "setdefault", "update", "clear"]
    /// Python str methods Loom does not implement; calling one names it as an unsupported feature.
    private static let otherStringMethods: Set<String> = [
        "casefold", "center", "encode", "expandtabs", "format_map", "index", "isalnum", "isascii", "isdecimal",
        "isidentifier", "isnumeric", "isprintable", "istitle", "ljust", "maketrans", "partition", "removeprefix",
        "removesuffix", "rindex", "rjust", "rpartition", "swapcase", "translate", "zfill",
    ]

    private static func method(_ name: String, _ body: @escaping (JinjaArgs) throws -> JinjaValue) -> JinjaValue {
        .callable(JinjaCallable(name: name) { args, kwargs in try body(JinjaArgs(positional: args, keyword: kwargs)) })
    }

    private static func unsafe(_ name: String, _ type: String) -> JinjaValue {
        method(name) { _ in throw JinjaRuntimeError.security("access to attribute '\(name)' of '\(type)' object is unsafe.") }
    }

    /// The bound method `object.name`, or nil when the object has no such method.
    static func bound(_ object: JinjaValue, _ name: String) -> JinjaValue? {
        switch object {
        case .string(let s): return stringMethod(s, name)
        case .dict(let d): return dictMethod(d, name)
        case .array(let items):
            if mutatingListMethods.contains(name) { return unsafe(name, "list") }
            switch name {
            case "count": return method("list.count") { a in .int(items.filter { $0.pythonEquals(a.value(0, "x") ?? .none) }.count) }
            case "index":
                return method("list.index") { a in
                    let x = a.value(0, "x") ?? .none
                    guard let i = items.firstIndex(where: { $0.pythonEquals(x) }) else {
                        throw JinjaRuntimeError.value("\(x.pythonRepr) is not in list")
                    }
                    return .int(i)
                }
            case "copy": return method("list.copy") { _ in .array(items) }
            default: return nil
            }
        default: return nil
        }
    }

    private static func dictMethod(_ d: JinjaDict, _ name: String) -> JinjaValue? {
        if mutatingDictMethods.contains(name) { return unsafe(name, "dict") }
        switch name {
        case "get":
            return method("dict.get") { a in
                try a.check("get", accepts: ["key", "default"])
                guard let key = a.value(0, "key").flatMap(JinjaKey.init) else { return a.value(1, "default") ?? .none }
                return d[key] ?? a.value(1, "default") ?? .none
            }
        case "items": return method("dict.items") { _ in .array(d.pairs.map { .tuple([$0.0.value, $0.1]) }) }
        case "keys": return method("dict.keys") { _ in .array(d.keys.map(\.value)) }
        case "values": return method("dict.values") { _ in .array(d.pairs.map { $0.1 }) }
        case "copy": return method("dict.copy") { _ in .dict(d) }
        default: return nil
        }
    }

    private static func stringMethod(_ s: String, _ name: String) -> JinjaValue? {
        func strip(leading: Bool, trailing: Bool) -> JinjaValue {
            method("str.\(name)") { a in .string(PyString.strip(s, chars: try a.string(0, "chars"), leading: leading, trailing: trailing)) }
        }
        func affix(_ test: @escaping (String, String) -> Bool) -> JinjaValue {
            method("str.\(name)") { a in
                if a.positional.count > 1 { throw JinjaUnsupportedError(feature: "str.\(name) with start/end") }
                switch a.value(0, "prefix")?.plain {
                case .string(let p)?: return .bool(test(s, p))
                case .array(let options)?:
                    return .bool(options.contains { if case .string(let p) = $0 { return test(s, p) } else { return false } })
                default: throw JinjaRuntimeError.type("\(name) first arg must be str or a tuple of str")
                }
            }
        }
        let scalars = { Array(s.unicodeScalars) }
        switch name {
        case "strip": return strip(leading: true, trailing: true)
        case "lstrip": return strip(leading: true, trailing: false)
        case "rstrip": return strip(leading: false, trailing: true)
        case "startswith": return affix { $0.unicodeScalars.starts(with: $1.unicodeScalars) }
        case "endswith": return affix { $0.unicodeScalars.reversed().starts(with: $1.unicodeScalars.reversed()) }
        case "split", "rsplit":
            return method("str.\(name)") { a in
                let sep = try a.string(0, "sep")
                if sep == "" { throw JinjaRuntimeError.value("empty separator") }
                let maxSplit = try a.int(1, "maxsplit", default: -1)
                let parts = (name == "rsplit" && sep != nil)
                    ? PyString.rsplit(s, separator: sep!, maxSplit: maxSplit)
                    : PyString.split(s, separator: sep, maxSplit: maxSplit)
                return .array(parts.map { .string($0) })
            }
        case "splitlines": return method("str.splitlines") { _ in .array(PyString.splitlines(s).map { .string($0) }) }
        case "upper": return method("str.upper") { _ in .string(PyString.upper(s)) }
        case "lower": return method("str.lower") { _ in .string(PyString.lower(s)) }
        case "title": return method("str.title") { _ in .string(PyString.title(s)) }
        case "capitalize": return method("str.capitalize") { _ in .string(PyString.capitalize(s)) }
        case "replace":
            return method("str.replace") { a in
                guard let old = try a.string(0, "old"), let new = try a.string(1, "new") else {
                    throw JinjaRuntimeError.type("replace expected at least 2 arguments")
                }
                try JinjaFilters.allowReplacement(in: s, old, new)
                return .string(PyString.replace(s, old, new, count: try a.int(2, "count", default: -1)))
            }
        case "find", "rfind", "count":
            return method("str.\(name)") { a in
                guard let sub = try a.string(0, "sub") else { throw JinjaRuntimeError.type("\(name)() takes at least 1 argument") }
                let parts = PyString.split(s, separator: sub, maxSplit: -1)
                if name == "count" { return .int(sub.isEmpty ? scalars().count + 1 : parts.count - 1) }
                if parts.count == 1 { return .int(-1) }
                if name == "find" { return .int(parts[0].unicodeScalars.count) }
                return .int(scalars().count - parts.last!.unicodeScalars.count - sub.unicodeScalars.count)
            }
        case "join":
            return method("str.join") { a in
                let items = try JinjaFilters.iterate(a.value(0, "iterable") ?? .none)
                let strings = try items.map { item -> String in
                    guard case .string(let t) = item else {
                        throw JinjaRuntimeError.type("sequence item: expected str instance, \(item.pythonTypeName) found")
                    }
                    return t
                }
                try JinjaFilters.allowJoin(strings, separator: s)
                return .string(strings.joined(separator: s))
            }
        case "isdigit", "isalpha", "isspace", "isupper", "islower":
            return method("str.\(name)") { _ in
                let cs = scalars()
                let cased = cs.filter { $0.properties.isCased }
                switch name {
                case "isdigit": return .bool(!cs.isEmpty && cs.allSatisfy { $0.properties.numericType != nil })
                case "isalpha": return .bool(!cs.isEmpty && cs.allSatisfy { $0.properties.isAlphabetic })
                case "isspace": return .bool(!cs.isEmpty && cs.allSatisfy(isPythonWhitespace))
                case "isupper": return .bool(!cased.isEmpty && cased.allSatisfy { !$0.properties.isLowercase })
                default: return .bool(!cased.isEmpty && cased.allSatisfy { !$0.properties.isUppercase })
                }
            }
        case "format": return method("str.format") { a in .string(try format(s, a)) }
        default:
            if otherStringMethods.contains(name) {
                return method("str.\(name)") { _ in throw JinjaUnsupportedError(feature: "str.\(name)() method") }
            }
            return nil
        }
    }

    /// `str.format` with `{}`, `{0}` and `{name}` fields and no format specs.
    private static func format(_ s: String, _ a: JinjaArgs) throws -> String {
        var out = ""
        var auto = 0
        var chars = s.makeIterator()
        while let c = chars.next() {
            if c == "{" {
                var field = ""
                var closed = false
                while let d = chars.next() {
                    if d == "{" && field.isEmpty { out.append("{"); closed = true; field = "\u{0}"; break }
                    if d == "}" { closed = true; break }
                    field.append(d)
                }
                if field == "\u{0}" { continue }
                guard closed else { throw JinjaRuntimeError.value("Single '{' encountered in format string") }
                if field.contains(":") || field.contains("!") || field.contains(".") || field.contains("[") {
                    throw JinjaUnsupportedError(feature: "str.format field '{\(field)}'")
                }
                let value: JinjaValue?
                if field.isEmpty {
                    value = auto < a.positional.count ? a.positional[auto] : nil
                    auto += 1
                } else if let i = Int(field) {
                    value = i < a.positional.count ? a.positional[i] : nil
                } else {
                    value = a.keyword.first { $0.0 == field }?.1
                }
                guard let value else { throw JinjaRuntimeError(kind: "IndexError", message: "Replacement index out of range") }
                out += value.pythonStr
            } else if c == "}" {
                guard chars.next() == "}" else { throw JinjaRuntimeError.value("Single '}' encountered in format string") }
                out.append("}")
            } else {
                out.append(c)
            }
        }
        return out
    }
}
