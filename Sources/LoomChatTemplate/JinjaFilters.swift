/// jinja2's built-in filters as chat templates use them, with transformers' `tojson`.
enum JinjaFilters {
    /// Every filter jinja2 knows in transformers' environment. A name outside this set is a
    /// compile-time error (outside `if`), as in jinja2; a name inside it that Loom does not
    /// implement fails as an unsupported feature.
    static let names: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join",
        "last", "length", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr",
        "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
        "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount",
        "wordwrap", "xmlattr",
    ]

    /// Python `iter(value)` materialised: dicts give keys, strings give code points, undefined is empty.
    static func iterate(_ value: JinjaValue) throws -> [JinjaValue] {
        switch value.plain {
        case .array(let items), .generator(let items): return items
        case .dict(let d): return d.keys.map(\.value)
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw JinjaRuntimeError.type("'\(value.pythonTypeName)' object is not iterable")
        }
    }

    /// Python `len(value)`; undefined has length 0.
    static func length(_ value: JinjaValue) throws -> Int {
        switch value.plain {
        case .array(let items): return items.count
        case .dict(let d): return d.count
        case .string(let s): return s.unicodeScalars.count
        case .undefined: return 0
        default: throw JinjaRuntimeError.type("object of type '\(value.pythonTypeName)' has no len()")
        }
    }

    /// jinja2's `make_attrgetter`: a dotted path of items ("function.name", "0").
    /// `fallback` replaces an undefined result after each step, as jinja2 does.
    static func attributePath(_ path: JinjaValue, of item: JinjaValue, default fallback: JinjaValue? = nil) throws -> JinjaValue {
        let parts: [JinjaValue]
        if case .string(let p) = path.plain {
            parts = p.split(separator: ".", omittingEmptySubsequences: false).map { Int($0).map { .int($0) } ?? .string(String($0)) }
        } else {
            parts = [path]
        }
        var v = item
        for part in parts {
            v = try JinjaAccess.getitem(v, part)
            if v.isUndefined, let fallback { v = fallback }
        }
        return v
    }

    /// Sort key used by sort, dictsort, unique, min and max: strings fold case unless asked not to.
    private static func foldCase(_ v: JinjaValue, caseSensitive: Bool) -> JinjaValue {
        if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    private static func sorted(_ items: [JinjaValue], key: (JinjaValue) throws -> JinjaValue, reverse: Bool) throws -> [JinjaValue] {
        let keyed = try items.map { (try key($0), $0) }
        var failure: JinjaRuntimeError? = nil
        // A stable sort, like Python's.
        let order = keyed.indices.sorted { a, b in
            let (ka, kb) = (keyed[a].0, keyed[b].0)
            guard let less = reverse ? kb.pythonLess(ka) : ka.pythonLess(kb) else {
                failure = .type("'<' not supported between instances of '\(ka.pythonTypeName)' and '\(kb.pythonTypeName)'")
                return a < b
            }
            if less { return true }
            let greater = reverse ? ka.pythonLess(kb) : kb.pythonLess(ka)
            return greater == false && a < b
        }
        if let failure { throw failure }
        return order.map { keyed[$0].1 }
    }

    /// Allows `text.replace(old, new)` before it is built: at most one `new` per `old` found
    /// (per code point and one more when `old` is empty).
    static func allowReplacement(in text: String, _ old: String, _ new: String) throws {
        let (textBytes, newBytes) = (text.utf8.count, new.utf8.count)
        guard newBytes > old.utf8.count else { return }
        let occurrences = old.isEmpty ? text.unicodeScalars.count + 1 : textBytes / old.utf8.count
        try JinjaBudget.allocate(bytes: JinjaBudget.sum(JinjaBudget.product(occurrences, newBytes), textBytes))
    }

    /// Allows `separator.join(strings)` before it is built.
    static func allowJoin(_ strings: [String], separator: String) throws {
        let separators = JinjaBudget.product(separator.utf8.count, max(0, strings.count - 1))
        try JinjaBudget.allocate(bytes: strings.reduce(separators) { JinjaBudget.sum($0, $1.utf8.count) })
    }

    /// Values in `value` (itself included) and how deeply they nest.
    private static func extent(_ value: JinjaValue) -> (values: Int, depth: Int) {
        switch value.plain {
        case .array(let items), .generator(let items):
            return items.reduce((1, 1)) { total, item in let e = extent(item); return (total.0 + e.values, max(total.1, e.depth + 1)) }
        case .dict(let d):
            return d.keys.reduce((1, 1)) { total, key in let e = extent(d[key]!); return (total.0 + e.values, max(total.1, e.depth + 1)) }
        default: return (1, 1)
        }
    }

    static func apply(_ name: String, to input: JinjaValue, args: JinjaArgs) throws -> JinjaValue {
        let value = input.plain
        switch name {
        case "length", "count":
            return .int(try length(value))
        case "string":
            return .string(value.pythonStr)
        case "safe":
            return .markup(value.pythonStr)
        case "trim":
            return .string(PyString.strip(value.pythonStr, chars: try args.string(0, "chars"), leading: true, trailing: true))
        case "lower": return .string(PyString.lower(value.pythonStr))
        case "upper": return .string(PyString.upper(value.pythonStr))
        case "title": return .string(PyString.title(value.pythonStr))
        case "capitalize": return .string(PyString.capitalize(value.pythonStr))
        case "default", "d":
            let fallback = args.value(0, "default_value") ?? .string("")
            if value.isUndefined || (args.bool(1, "boolean", default: false) && !value.isTruthy) { return fallback }
            return value
        case "replace":
            guard let old = args.value(0, "old"), let new = args.value(1, "new") else {
                throw JinjaRuntimeError.type("do_replace() missing required arguments 'old' and 'new'")
            }
            let count = try args.int(2, "count", default: -1)
            let text = value.pythonStr
            try allowReplacement(in: text, old.pythonStr, new.pythonStr)
            return .string(PyString.replace(text, old.pythonStr, new.pythonStr, count: count))
        case "join":
            var items = try iterate(value)
            if let attribute = args.value(1, "attribute"), !(attribute.isUndefined) {
                if case .none = attribute {} else { items = try items.map { try attributePath(attribute, of: $0) } }
            }
            let separator = args.value(0, "d")?.pythonStr ?? ""
            let strings = items.map(\.pythonStr)
            try allowJoin(strings, separator: separator)
            return .string(strings.joined(separator: separator))
        case "first":
            guard let first = try iterate(value).first else { return .undefined(hint: "No first item, sequence was empty.") }
            return first
        case "last":
            if case .generator = value { throw JinjaRuntimeError.type("'generator' object is not reversible") }
            guard let last = try iterate(value).last else { return .undefined(hint: "No last item, sequence was empty.") }
            return last
        case "list":
            return .array(try iterate(value))
        case "reverse":
            if case .string(let s) = value { return .string(PyString.fromScalars(s.unicodeScalars.reversed())) }
            return .generator(try iterate(value).reversed())
        case "items":
            if value.isUndefined { return .generator([]) }
            guard case .dict(let d) = value else { throw JinjaRuntimeError.type("Can only get item pairs from a mapping.") }
            return .generator(d.pairs.map { .tuple([$0.0.value, $0.1]) })
        case "dictsort":
            guard case .dict(let d) = value else { throw JinjaRuntimeError(kind: "FilterArgumentError", message: "You can only sort by either \"key\" or \"value\"") }
            let caseSensitive = args.bool(0, "case_sensitive", default: false)
            let by = try args.string(1, "by", default: "key")
            guard by == "key" || by == "value" else {
                throw JinjaRuntimeError(kind: "FilterArgumentError", message: "You can only sort by either \"key\" or \"value\"")
            }
            let pairs = d.pairs.map { JinjaValue.tuple([$0.0.value, $0.1]) }
            return .array(try sorted(pairs, key: { pair in
                guard case .tuple(let kv) = pair else { return pair }
                return foldCase(kv[by == "key" ? 0 : 1], caseSensitive: caseSensitive)
            }, reverse: args.bool(2, "reverse", default: false)))
        case "sort":
            let caseSensitive = args.bool(1, "case_sensitive", default: false)
            let attribute = args.value(2, "attribute")
            return .array(try sorted(try iterate(value), key: { item in
                let k = try attribute.map { try attributePath($0, of: item) } ?? item
                return foldCase(k, caseSensitive: caseSensitive)
            }, reverse: args.bool(0, "reverse", default: false)))
        case "unique":
            let caseSensitive = args.bool(0, "case_sensitive", default: false)
            let attribute = args.value(1, "attribute")
            var seen: [JinjaValue] = []
            var result: [JinjaValue] = []
            for item in try iterate(value) {
                let k = foldCase(try attribute.map { try attributePath($0, of: item) } ?? item, caseSensitive: caseSensitive)
                if !seen.contains(where: { $0.pythonEquals(k) }) { seen.append(k); result.append(item) }
            }
            return .generator(result)
        case "min", "max":
            let caseSensitive = args.bool(0, "case_sensitive", default: false)
            let attribute = args.value(1, "attribute")
            let items = try iterate(value)
            guard !items.isEmpty else { return .undefined(hint: "No aggregated item, sequence was empty.") }
            let ordered = try sorted(items, key: { item in
                foldCase(try attribute.map { try attributePath($0, of: item) } ?? item, caseSensitive: caseSensitive)
            }, reverse: false)
            return name == "min" ? ordered.first! : ordered.last!
        case "map":
            // jinja2's map and select families yield nothing for a falsy input (even None).
            let items = value.isTruthy ? try iterate(value) : []
            if let attribute = args.keyword.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = args.keyword.first { $0.0 == "default" }?.1
                return .generator(try items.map { try attributePath(attribute, of: $0, default: fallback) })
            }
            guard case .string(let filter)? = args.positional.first else {
                throw JinjaRuntimeError.runtime("map requires a filter argument")
            }
            let rest = JinjaArgs(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            return .generator(try items.map { try apply(filter, to: $0, args: rest) })
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var positional = args.positional
            var attribute: JinjaValue? = nil
            if byAttribute {
                guard !positional.isEmpty else { throw JinjaRuntimeError.type("Missing parameter for attribute name") }
                attribute = positional.removeFirst()
            }
            var test: String? = nil
            if !positional.isEmpty {
                guard case .string(let t) = positional.removeFirst() else { throw JinjaRuntimeError.type("test name must be a string") }
                test = t
            }
            let testArgs = JinjaArgs(positional: positional, keyword: args.keyword)
            return .generator(try (value.isTruthy ? iterate(value) : []).filter { item in
                let subject = try attribute.map { try attributePath($0, of: item) } ?? item
                let passed = try test.map { try JinjaTests.apply($0, to: subject, args: testArgs) } ?? subject.isTruthy
                return passed == keep
            })
        case "tojson":
            var options = JinjaJSON.DumpOptions()
            options.ensureASCII = args.bool(0, "ensure_ascii", default: false)
            switch args.value(1, "indent") {
            case .int(let n)?: options.indent = String(repeating: " ", count: max(0, n))
            case .string(let s)?: options.indent = s
            case .none?, nil: break
            case let other?: throw JinjaRuntimeError.type("indent must be an int or a string, not \(other.pythonTypeName)")
            }
            if let separators = args.value(2, "separators")?.plain, case .array(let pair) = separators, pair.count == 2 {
                options.itemSeparator = pair[0].pythonStr
                options.keySeparator = pair[1].pythonStr
            }
            options.sortKeys = args.bool(3, "sort_keys", default: false)
            // Each value goes on a line of its own, indented once per level it is nested at.
            if let indent = options.indent, !indent.isEmpty {
                let (values, depth) = extent(value)
                try JinjaBudget.allocate(bytes: JinjaBudget.product(indent.utf8.count, values * depth))
            }
            return .string(try JinjaJSON.dumps(value, options))
        case "indent":
            let width = args.value(0, "width") ?? .int(4)
            let indentation: String
            if case .string(let s) = width { indentation = s } else { indentation = String(repeating: " ", count: max(0, try args.int(0, "width", default: 4))) }
            let first = args.bool(1, "first", default: false)
            let blank = args.bool(2, "blank", default: false)
            let s = value.pythonStr + "\n"
            var lines = PyString.splitlines(s)
            try JinjaBudget.allocate(bytes: JinjaBudget.sum(JinjaBudget.product(indentation.utf8.count, lines.count + 1), s.utf8.count))
            var rv: String
            if blank {
                rv = lines.joined(separator: "\n" + indentation)
            } else {
                rv = lines.isEmpty ? "" : lines.removeFirst()
                if !lines.isEmpty {
                    rv += "\n" + lines.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
                }
            }
            return .string(first ? indentation + rv : rv)
        case "int":
            if case .undefined(let hint) = value { throw JinjaRuntimeError.undefined(hint) }
            let fallback = args.value(0, "default") ?? .int(0)
            switch value {
            case .int: return value
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return d.isFinite ? .int(Int(d)) : fallback
            case .string(let s):
                let t = PyString.strip(s, chars: nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
                if let i = Int(t) { return .int(i) }
                if let d = Double(t), d.isFinite { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            if case .undefined(let hint) = value { throw JinjaRuntimeError.undefined(hint) }
            if let d = value.numericValue { return .double(d) }
            if case .string(let s) = value, let d = Double(PyString.strip(s, chars: nil, leading: true, trailing: true)) { return .double(d) }
            return args.value(0, "default") ?? .double(0)
        case "round":
            let precision = try args.int(0, "precision", default: 0)
            let method = try args.string(1, "method", default: "common")
            guard let x = value.numericValue else {
                throw JinjaRuntimeError.type("type \(value.pythonTypeName) doesn't define __round__ method")
            }
            let scale = pow(10.0, Double(precision))
            switch method {
            case "ceil": return .double((x * scale).rounded(.up) / scale)
            case "floor": return .double((x * scale).rounded(.down) / scale)
            case "common":
                // Python's round() rounds the exact binary value half-to-even, as printf does.
                return .double(Double(String(format: "%.\(max(0, precision))f", x)) ?? x)
            default:
                throw JinjaRuntimeError(kind: "FilterArgumentError", message: "method must be common, ceil or floor")
            }
        case "abs":
            if case .int(let i) = value { return .int(Swift.abs(i)) }
            if case .double(let d) = value { return .double(Swift.abs(d)) }
            if case .bool(let b) = value { return .int(b ? 1 : 0) }
            throw JinjaRuntimeError.type("bad operand type for abs(): '\(value.pythonTypeName)'")
        case "sum":
            var total = args.value(1, "start") ?? .int(0)
            let attribute = args.value(0, "attribute")
            for item in try iterate(value) {
                total = try JinjaOperators.binary("+", total, try attribute.map { try attributePath($0, of: item) } ?? item)
            }
            return total
        case "attr":
            guard case .string(let n)? = args.value(0, "name") else { return .undefined(hint: "attr() needs a name") }
            return try JinjaAccess.getattr(value, n)
        case "escape", "e", "forceescape":
            if case .markup = input, name != "forceescape" { return input }
            return .markup(escapeHTML(value.pythonStr))
        case "wordcount":
            var count = 0
            var inWord = false
            for c in value.pythonStr.unicodeScalars {
                let word = c == "_" || c.properties.isAlphabetic || c.properties.numericType != nil
                if word && !inWord { count += 1 }
                inWord = word
            }
            return .int(count)
        default:
            if names.contains(name) { throw JinjaUnsupportedError(feature: "the '\(name)' filter") }
            throw JinjaRuntimeError.runtime("No filter named '\(name)' found.")
        }
    }
}

/// markupsafe's `escape`.
func escapeHTML(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&#34;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

import Foundation
