import Foundation
import LoomChatTemplate

extension Grammar {
    /// A grammar for the JSON documents a JSON Schema accepts.
    ///
    /// Implemented: `type` (one or a list, so `["string", "null"]`), `enum`, `const`, `anyOf`,
    /// `oneOf` (as `anyOf`: branches are not checked for overlap), `allOf` of object schemas,
    /// `$ref` to `#/...` pointers (`#/$defs/x`, `#/definitions/x`; recursion allowed); objects with
    /// `properties` (in the order given), `required` and `additionalProperties` (absent or true:
    /// other keys, none of them a declared name, with any value; a schema; false); arrays with
    /// `items`, `prefixItems`, `minItems`, `maxItems`; strings with `minLength`, `maxLength`,
    /// `pattern` (see `regex(_:)`) and `format` date, time, date-time and uuid; integers with
    /// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`. Annotations (`title`,
    /// `description`, `default`, `examples`, ...) are ignored. Numbers have at most 16 digits
    /// before the point, as in llama.cpp.
    /// - Throws: `GrammarError.unsupportedSchemaKeyword` naming any other keyword and its JSON
    ///   pointer; `invalidSchema` for text that is not a schema.
    public static func jsonSchema(_ text: String) throws(GrammarError) -> Grammar {
        try jsonSchema(text, after: "", before: "")
    }

    /// An instance of a JSON Schema with fixed text around it (a tool call's markers).
    public static func jsonSchema(_ text: String, after prefix: String, before suffix: String) throws(GrammarError) -> Grammar {
        let document: JinjaValue
        do {
            document = try JinjaJSON.parse(text)
        } catch {
            throw .invalidSchema(message: "not JSON: \(error)", path: "")
        }
        var converter = JSONSchemaConverter(document: document)
        var body = try converter.visit(document, path: "", name: "root")
        if !prefix.isEmpty || !suffix.isEmpty {
            body = .sequence([.literal(Array(prefix.utf8)), body, .literal(Array(suffix.utf8))])
        }
        converter.rules.insert(GrammarRuleDefinition(name: "root", body: body), at: 0)
        return try Grammar(compiled: CompiledGrammar.mappingRecursion(rules: converter.rules, root: "root"))
    }
}

/// JSON Schema to grammar rules, one rule per `$ref` target and per object's property chain.
struct JSONSchemaConverter {
    let document: JinjaValue
    var rules: [GrammarRuleDefinition] = []
    private var usedNames: Set<String> = ["root"]
    private var addedPrimitives: Set<String> = []
    /// JSON pointer of a `$ref` target → its rule.
    private var refRules: [String: String] = [:]
    private var depth = 0

    /// Schemas nested deeper than this are refused (the converter recurses).
    static let depthLimit = 128

    static let annotations: Set<String> = ["$schema", "$id", "$comment", "title", "description", "default", "examples",
                                           "deprecated", "readOnly", "writeOnly", "$defs", "definitions"]
    static let implemented: Set<String> = ["type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "properties", "required",
                                           "additionalProperties", "items", "prefixItems", "minItems", "maxItems", "minLength",
                                           "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
    /// Keywords that stand alone: any validation keyword beside them is refused by name.
    static let alone: Set<String> = ["enum", "const", "anyOf", "oneOf", "allOf", "$ref"]
    static let keywordsByType: [(type: String, keywords: Set<String>)] = [
        ("object", ["properties", "required", "additionalProperties"]),
        ("array", ["items", "prefixItems", "minItems", "maxItems"]),
        ("string", ["minLength", "maxLength", "pattern", "format"]),
        ("number", ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]),
    ]

    init(document: JinjaValue) { self.document = document }

    // MARK: Rules

    private static func reference(_ name: String) -> GrammarExpression { .reference(name, line: 0, column: 0) }
    private static func literal(_ text: String) -> GrammarExpression { .literal(Array(text.utf8)) }

    private mutating func primitive(_ name: String) -> GrammarExpression {
        JSONGrammarRules.add(name, to: &rules, added: &addedPrimitives)
        return Self.reference(name)
    }

    private var space: GrammarExpression { mutating get { primitive("space") } }

    /// Adds a rule under a fresh name derived from `preferred`.
    private mutating func rule(_ preferred: String, _ body: GrammarExpression) -> GrammarExpression {
        let name = reserve(preferred)
        rules.append(GrammarRuleDefinition(name: name, body: body))
        return Self.reference(name)
    }

    private mutating func reserve(_ preferred: String) -> String {
        var base = String(preferred.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") ? $0 : "-" })
        if base.isEmpty { base = "r" }
        var name = base, n = 1
        while usedNames.contains(name) || JSONGrammarRules.definitions[name] != nil { n += 1; name = "\(base)-\(n)" }
        usedNames.insert(name)
        return name
    }

    // MARK: Schemas

    private static func pointer(_ path: String, _ key: String) -> String {
        path + "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    private static func invalid(_ message: String, _ path: String) -> GrammarError { .invalidSchema(message: message, path: path) }

    /// The grammar of the values `schema` accepts (each followed by optional space).
    mutating func visit(_ schema: JinjaValue, path: String, name: String) throws(GrammarError) -> GrammarExpression {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.depthLimit else { throw .tooLarge(what: "schema nesting", limit: Self.depthLimit) }
        switch schema {
        case .bool(true): return primitive("value")
        case .bool(false): throw Self.invalid("the schema false accepts nothing", path)
        case .dict(let dict): return try visitObjectSchema(dict, path: path, name: name)
        default: throw Self.invalid("a schema must be an object or a boolean", path)
        }
    }

    private mutating func visitObjectSchema(_ schema: JinjaDict, path: String, name: String) throws(GrammarError) -> GrammarExpression {
        var keys: [String] = []
        for key in schema.keys {
            guard case .string(let k) = key else { throw Self.invalid("non-string key", path) }
            guard Self.annotations.contains(k) || Self.implemented.contains(k) else {
                throw .unsupportedSchemaKeyword(k, path: Self.pointer(path, k))
            }
            if !Self.annotations.contains(k) { keys.append(k) }
        }
        if let standalone = keys.first(where: { Self.alone.contains($0) }) {
            let allowed: Set<String> = standalone == "enum" || standalone == "const" ? [standalone, "type"] : [standalone]
            if let other = keys.first(where: { !allowed.contains($0) }) {
                throw .unsupportedSchemaKeyword(other, path: Self.pointer(path, other))
            }
            return try visitComposition(standalone, schema, path: path, name: name)
        }
        var types: [String] = []
        switch schema["type"] {
        case nil:
            // No type: the types whose keywords appear (a schema of none accepts any value).
            for (type, keywords) in Self.keywordsByType where keys.contains(where: keywords.contains) { types.append(type) }
            if types.isEmpty { return primitive("value") }
        case .string(let t)?: types = [t]
        case .array(let list)?:
            for item in list {
                guard case .string(let t) = item else { throw Self.invalid("type names must be strings", Self.pointer(path, "type")) }
                types.append(t)
            }
        default: throw Self.invalid("type must be a string or a list", Self.pointer(path, "type"))
        }
        var choices: [GrammarExpression] = []
        for type in types {
            choices.append(try visitTyped(type, schema, path: path, name: types.count > 1 ? "\(name)-\(type)" : name))
        }
        return choices.count == 1 ? choices[0] : .alternatives(choices)
    }

    private mutating func visitComposition(_ keyword: String, _ schema: JinjaDict, path: String, name: String) throws(GrammarError) -> GrammarExpression {
        let here = Self.pointer(path, keyword)
        switch keyword {
        case "$ref":
            guard case .string(let target)? = schema["$ref"] else { throw Self.invalid("$ref must be a string", here) }
            return try reference(target, path: here)
        case "const", "enum":
            let values: [JinjaValue]
            if keyword == "const" { values = [schema["const"]!] } else {
                guard case .array(let list)? = schema["enum"] else { throw Self.invalid("enum must be a list", here) }
                values = list
            }
            var allowedTypes: Set<String>? = nil
            if let type = schema["type"] {
                switch type {
                case .string(let t): allowedTypes = [t]
                case .array(let list): allowedTypes = Set(list.compactMap { if case .string(let t) = $0 { t } else { nil } })
                default: throw Self.invalid("type must be a string or a list", Self.pointer(path, "type"))
                }
            }
            var choices: [GrammarExpression] = []
            for value in values where allowedTypes.map({ Self.jsonTypes(of: value).isDisjoint(with: $0) == false }) ?? true {
                guard let text = JSONText.compact(value) else { throw Self.invalid("a value JSON cannot hold", here) }
                choices.append(Self.literal(text))
            }
            guard !choices.isEmpty else { throw Self.invalid("no value is allowed", here) }
            return .sequence([choices.count == 1 ? choices[0] : .alternatives(choices), space])
        case "anyOf", "oneOf":
            guard case .array(let list)? = schema[keyword], !list.isEmpty else { throw Self.invalid("\(keyword) must be a non-empty list", here) }
            var choices: [GrammarExpression] = []
            for (i, item) in list.enumerated() {
                choices.append(try visit(item, path: here + "/\(i)", name: "\(name)-\(i)"))
            }
            return choices.count == 1 ? choices[0] : .alternatives(choices)
        default:
            guard case .array(let list)? = schema["allOf"], !list.isEmpty else { throw Self.invalid("allOf must be a non-empty list", here) }
            return try mergedObject(list, path: here, name: name)
        }
    }

    /// The JSON Schema types `value` belongs to.
    private static func jsonTypes(of value: JinjaValue) -> Set<String> {
        switch value {
        case .none: ["null"]
        case .bool: ["boolean"]
        case .int: ["integer", "number"]
        case .double(let d): d == d.rounded() ? ["integer", "number"] : ["number"]
        case .string, .markup: ["string"]
        case .array, .tuple: ["array"]
        case .dict: ["object"]
        default: []
        }
    }

    private mutating func reference(_ target: String, path: String) throws(GrammarError) -> GrammarExpression {
        if let known = refRules[target] { return Self.reference(known) }
        guard target.hasPrefix("#") else { throw .unsupportedSchemaKeyword("$ref", path: path) }
        var node = document
        for part in target.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = String(part).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                .removingPercentEncoding ?? String(part)
            switch node {
            case .dict(let dict) where dict[key] != nil: node = dict[key]!
            case .array(let list) where Int(key).map({ $0 >= 0 && $0 < list.count }) == true: node = list[Int(key)!]
            default: throw Self.invalid("$ref target \(target) not found", path)
            }
        }
        let name = reserve(target.split(separator: "/").last.map(String.init) ?? "ref")
        refRules[target] = name
        let body = try visit(node, path: String(target.dropFirst()), name: name)
        rules.append(GrammarRuleDefinition(name: name, body: body))
        return Self.reference(name)
    }

    private mutating func visitTyped(_ type: String, _ schema: JinjaDict, path: String, name: String) throws(GrammarError) -> GrammarExpression {
        switch type {
        case "null": return primitive("null")
        case "boolean": return primitive("boolean")
        case "integer": return try integer(schema, path: path)
        case "number":
            for keyword in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] where schema[keyword] != nil {
                throw .unsupportedSchemaKeyword(keyword, path: Self.pointer(path, keyword))
            }
            return primitive("number")
        case "string": return try string(schema, path: path, name: name)
        case "array": return try array(schema, path: path, name: name)
        case "object":
            var properties: [(String, JinjaValue)] = []
            if let value = schema["properties"] {
                guard case .dict(let dict) = value else { throw Self.invalid("properties must be an object", Self.pointer(path, "properties")) }
                for (key, sub) in dict.pairs {
                    guard case .string(let k) = key else { continue }
                    properties.append((k, sub))
                }
            }
            var required: [String] = []
            if let value = schema["required"] {
                guard case .array(let list) = value else { throw Self.invalid("required must be a list", Self.pointer(path, "required")) }
                for item in list {
                    guard case .string(let k) = item else { throw Self.invalid("required names must be strings", Self.pointer(path, "required")) }
                    required.append(k)
                }
            }
            return try object(properties: properties, required: Set(required), requiredOrder: required,
                              additional: schema["additionalProperties"], path: path, name: name)
        default:
            throw Self.invalid("unknown type '\(type)'", Self.pointer(path, "type"))
        }
    }

    private static func number(_ value: JinjaValue?, _ path: String) throws(GrammarError) -> Double? {
        switch value {
        case nil: return nil
        case .int(let i)?: return Double(i)
        case .double(let d)?: return d
        default: throw invalid("expecting a number", path)
        }
    }

    private static func count(_ value: JinjaValue?, _ path: String) throws(GrammarError) -> Int? {
        guard let d = try number(value, path) else { return nil }
        guard d >= 0, d == d.rounded() else { throw invalid("expecting a non-negative integer", path) }
        guard d <= Double(GBNFParser.repetitionLimit) else { throw .tooLarge(what: "a count at \(path)", limit: GBNFParser.repetitionLimit) }
        return Int(d)
    }

    private mutating func string(_ schema: JinjaDict, path: String, name: String) throws(GrammarError) -> GrammarExpression {
        let minimum = try Self.count(schema["minLength"], Self.pointer(path, "minLength"))
        let maximum = try Self.count(schema["maxLength"], Self.pointer(path, "maxLength"))
        if let format = schema["format"] {
            guard case .string(let f) = format, let rule = JSONGrammarRules.formats[f] else {
                throw .unsupportedSchemaKeyword("format: \(JSONText.compact(format) ?? "?")", path: Self.pointer(path, "format"))
            }
            if let other = ["pattern", "minLength", "maxLength"].first(where: { schema[$0] != nil }) {
                throw .unsupportedSchemaKeyword(other, path: Self.pointer(path, other))
            }
            return primitive(rule)
        }
        if let pattern = schema["pattern"] {
            guard case .string(let p) = pattern else { throw Self.invalid("pattern must be a string", Self.pointer(path, "pattern")) }
            if let other = ["minLength", "maxLength"].first(where: { schema[$0] != nil }) {
                throw .unsupportedSchemaKeyword(other, path: Self.pointer(path, other))
            }
            var parser = RegexParser(p, insideJSONString: true)
            let body = try parser.parseWhole().expression
            return .sequence([Self.literal("\""), rule("\(name)-pattern", body), Self.literal("\""), space])
        }
        if minimum == nil && maximum == nil { return primitive("string") }
        if let minimum, let maximum, maximum < minimum { throw Self.invalid("maxLength below minLength", path) }
        return .sequence([Self.literal("\""), .repetition(primitive("char"), min: minimum ?? 0, max: maximum), Self.literal("\""), space])
    }

    private mutating func array(_ schema: JinjaDict, path: String, name: String) throws(GrammarError) -> GrammarExpression {
        let minimum = try Self.count(schema["minItems"], Self.pointer(path, "minItems")) ?? 0
        let maximum = try Self.count(schema["maxItems"], Self.pointer(path, "maxItems"))
        if let maximum, maximum < minimum { throw Self.invalid("maxItems below minItems", path) }
        var prefix: [GrammarExpression] = []
        var itemsSchema = schema["items"]
        switch schema["prefixItems"] {
        case nil: break
        case .dict?:
            // A single schema where a list belongs: llama.cpp reads it as `items`, unless there is one.
            if itemsSchema == nil { itemsSchema = schema["prefixItems"] }
        case .array(let list)?:
            for (i, item) in list.enumerated() {
                prefix.append(try visit(item, path: Self.pointer(path, "prefixItems") + "/\(i)", name: "\(name)-\(i)"))
            }
        default: throw Self.invalid("prefixItems must be a list", Self.pointer(path, "prefixItems"))
        }
        // Every prefix item is required (a shorter tuple is valid JSON Schema, but not generated).
        if let maximum, maximum < prefix.count { throw .unsupportedSchemaKeyword("maxItems", path: Self.pointer(path, "maxItems")) }
        var item: GrammarExpression? = primitive("value")
        switch itemsSchema {
        case nil: break
        case .bool(false)?: item = nil
        case .array?: throw .unsupportedSchemaKeyword("items", path: Self.pointer(path, "items"))
        case let sub?: item = try visit(sub, path: Self.pointer(path, "items"), name: "\(name)-item")
        }
        if let unit = item, case .reference = unit {} else if let unit = item { item = rule("\(name)-item", unit) }
        let comma = GrammarExpression.sequence([Self.literal(","), space])
        let open = GrammarExpression.sequence([Self.literal("["), space]), close = GrammarExpression.sequence([Self.literal("]"), space])
        var body: [GrammarExpression] = [open]
        for (i, p) in prefix.enumerated() { body += i == 0 ? [p] : [comma, p] }
        let extraMinimum = max(0, minimum - prefix.count), extraMaximum = maximum.map { $0 - prefix.count }
        if let item, extraMaximum != 0 {
            if prefix.isEmpty {
                let rest = GrammarExpression.repetition(.sequence([comma, item]), min: max(0, extraMinimum - 1), max: extraMaximum.map { $0 - 1 })
                let elements = GrammarExpression.sequence([item, rest])
                body.append(extraMinimum == 0 ? .repetition(elements, min: 0, max: 1) : elements)
            } else {
                body.append(.repetition(.sequence([comma, item]), min: extraMinimum, max: extraMaximum))
            }
        } else if extraMinimum > 0 {
            throw Self.invalid("minItems needs items the schema does not allow", Self.pointer(path, "minItems"))
        }
        body.append(close)
        return .sequence(body)
    }

    /// An object whose properties come in the declared order: required ones always, optional
    /// ones maybe, then (unless `additional` is false) any number of other keys.
    private mutating func object(properties declared: [(String, JinjaValue)], required: Set<String>, requiredOrder: [String],
                                 additional: JinjaValue?, path: String, name: String) throws(GrammarError) -> GrammarExpression {
        var properties = declared
        // Absent additionalProperties allows other keys only when no property is declared
        // (llama.cpp's reading, stricter than JSON Schema's, so a model is not invited to add keys).
        var additionalSchema: JinjaValue? = additional ?? (declared.isEmpty ? .bool(true) : .bool(false))
        if case .bool(false)? = additionalSchema { additionalSchema = nil }
        for key in requiredOrder where !properties.contains(where: { $0.0 == key }) {
            guard let additionalSchema else { throw Self.invalid("required property '\(key)' is not allowed", Self.pointer(path, "required")) }
            properties.append((key, additionalSchema))
        }
        let comma = GrammarExpression.sequence([Self.literal(","), space])
        var pairs: [GrammarExpression] = []
        for (key, sub) in properties {
            let value = try visit(sub, path: Self.pointer(Self.pointer(path, "properties"), key), name: "\(name)-\(key)")
            pairs.append(.sequence([Self.literal(JSONText.quoted(key)), space, Self.literal(":"), space, value]))
        }
        var extra: GrammarExpression? = nil
        if let additionalSchema {
            let value = try visit(additionalSchema, path: Self.pointer(path, "additionalProperties"), name: "\(name)-additional")
            extra = rule("\(name)-additional-kv", .sequence([try otherKey(properties.map(\.0), name: name), Self.literal(":"), space, value]))
        }
        // rest[i]: properties i... after at least one pair; first[i]: the same before any.
        var rest: GrammarExpression = extra.map { .repetition(.sequence([comma, $0]), min: 0, max: nil) } ?? .sequence([])
        var first: GrammarExpression = extra.map { .repetition(.sequence([$0, rest]), min: 0, max: 1) } ?? .sequence([])
        if extra != nil { rest = rule("\(name)-rest", rest); first = rule("\(name)-first", first) }
        for (i, pair) in pairs.enumerated().reversed() {
            let isRequired = required.contains(properties[i].0)
            let nextRest = rest
            if isRequired {
                first = .sequence([pair, nextRest])
                rest = .sequence([comma, pair, nextRest])
            } else {
                first = .alternatives([.sequence([pair, nextRest]), first])
                rest = .sequence([.repetition(.sequence([comma, pair]), min: 0, max: 1), nextRest])
            }
            if i > 0 {
                rest = rule("\(name)-rest-\(i)", rest)
                first = rule("\(name)-first-\(i)", first)
            }
        }
        return .sequence([Self.literal("{"), space, first, Self.literal("}"), space])
    }

    /// A quoted key (plain characters only, no escapes) that is none of `names`: a trie over the
    /// names where leaving the trie, or ending where no name ends, is allowed.
    private mutating func otherKey(_ names: [String], name: String) throws(GrammarError) -> GrammarExpression {
        final class Node { var children: [(UInt32, Node)] = []; var endsName = false }
        let root = Node()
        for key in names {
            var node = root
            for c in key.unicodeScalars.map(\.value) {
                if let child = node.children.first(where: { $0.0 == c })?.1 { node = child } else {
                    let child = Node()
                    node.children.append((c, child))
                    node = child
                }
            }
            node.endsName = true
        }
        let plain = RegexParser.jsonUnescaped.intersection(CodePointSet(0x7F).complement)
        let plainChar = primitive("plain-char")
        let close = GrammarExpression.sequence([Self.literal("\""), space])
        func expression(_ node: Node) -> GrammarExpression {
            var choices: [GrammarExpression] = []
            var taken: [ClosedRange<UInt32>] = []
            for (c, child) in node.children {
                taken.append(c...c)
                guard plain.contains(c, c) else { continue }
                var bytes: [UInt8] = []
                appendUTF8(c, to: &bytes)
                choices.append(.sequence([.literal(bytes), rule("\(name)-other-key", expression(child))]))
            }
            let leave = plain.intersection(CodePointSet(ranges: taken).complement)
            if !leave.isEmpty { choices.append(.sequence([.characterClass(leave), .repetition(plainChar, min: 0, max: nil), close])) }
            if !node.endsName { choices.append(close) }
            return choices.count == 1 ? choices[0] : .alternatives(choices)
        }
        return .sequence([Self.literal("\""), expression(root)])
    }

    /// `allOf` of object schemas (through `$ref`s): their properties and required names merged.
    private mutating func mergedObject(_ parts: [JinjaValue], path: String, name: String) throws(GrammarError) -> GrammarExpression {
        var properties: [(String, JinjaValue)] = []
        var required: [String] = []
        for (i, part) in parts.enumerated() {
            let here = path + "/\(i)"
            var schema = part
            var seen = 0
            while case .dict(let d) = schema, case .string(let target)? = d["$ref"], seen < Self.depthLimit {
                schema = try resolve(target, path: here)
                seen += 1
            }
            guard case .dict(let dict) = schema else { throw .unsupportedSchemaKeyword("allOf", path: here) }
            for key in dict.keys {
                guard case .string(let k) = key else { continue }
                let fine: Set<String> = ["type", "properties", "required"]
                guard Self.annotations.contains(k) || fine.contains(k) else { throw .unsupportedSchemaKeyword(k, path: Self.pointer(here, k)) }
            }
            if let type = dict["type"], case .string("object") = type {} else if dict["type"] != nil {
                throw .unsupportedSchemaKeyword("allOf", path: here)
            }
            if case .dict(let props)? = dict["properties"] {
                for (key, sub) in props.pairs {
                    guard case .string(let k) = key else { continue }
                    guard !properties.contains(where: { $0.0 == k }) else { throw .unsupportedSchemaKeyword("allOf", path: Self.pointer(here, "properties")) }
                    properties.append((k, sub))
                }
            }
            if case .array(let list)? = dict["required"] {
                for item in list { if case .string(let k) = item, !required.contains(k) { required.append(k) } }
            }
        }
        return try object(properties: properties, required: Set(required), requiredOrder: required, additional: nil, path: path, name: name)
    }

    private func resolve(_ target: String, path: String) throws(GrammarError) -> JinjaValue {
        guard target.hasPrefix("#") else { throw .unsupportedSchemaKeyword("$ref", path: path) }
        var node = document
        for part in target.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = String(part).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard case .dict(let dict) = node, let next = dict[key] else { throw Self.invalid("$ref target \(target) not found", path) }
            node = next
        }
        return node
    }

    private mutating func integer(_ schema: JinjaDict, path: String) throws(GrammarError) -> GrammarExpression {
        var low: Int64? = nil, high: Int64? = nil
        let limit = Double(IntegerRangeGrammar.largest)
        func bound(_ keyword: String, _ round: (Double) -> Double, _ offset: Double) throws(GrammarError) -> Int64? {
            guard let d = try Self.number(schema[keyword], Self.pointer(path, keyword)) else { return nil }
            let v = round(d) + (round(d) == d ? offset : 0)
            return Int64(max(-limit - 1, min(limit + 1, v)))
        }
        if let v = try bound("minimum", { $0.rounded(.up) }, 0) { low = max(low ?? v, v) }
        if let v = try bound("exclusiveMinimum", { $0.rounded(.up) }, 1) { low = max(low ?? v, v) }
        if let v = try bound("maximum", { $0.rounded(.down) }, 0) { high = min(high ?? v, v) }
        if let v = try bound("exclusiveMaximum", { $0.rounded(.down) }, -1) { high = min(high ?? v, v) }
        if low == nil && high == nil { return primitive("integer") }
        guard let range = IntegerRangeGrammar.expression(low: low, high: high) else { throw Self.invalid("no integer is in range", path) }
        return .sequence([range, space])
    }
}
