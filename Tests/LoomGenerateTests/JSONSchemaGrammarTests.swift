import Foundation
import Testing
@testable import LoomGenerate

/// JSON Schema and regex to grammar. Oracles: llama.cpp's accept/reject cases
/// (tests/test-grammar-integration.cpp), and Python's `jsonschema` 4.26.0, which validates 100
/// random documents the grammar accepts per schema and rejects mutants of them that the grammar
/// must reject too (tools/fixtures/jsonschema-oracle.py).
struct JSONSchemaGrammarTests {
    static let oracleAvailable = FileManager.default.isExecutableFile(atPath: GrammarFixtures.jsonschemaPython)
        || ProcessInfo.processInfo.environment["CI"] != nil

    /// Schemas of our own, beside llama.cpp's: patterns, nesting, recursion, tuples, bounds.
    static let extraSchemas = [
        #"{"type": "string", "pattern": "^[a-z]+\\d{2,3}$"}"#,
        #"{"type": "string", "pattern": "(foo|ba[rz])+-[^abc\"\\\\]{3}"}"#,
        #"{"type": "string", "pattern": "^\\w+@\\w+\\.(com|org)$"}"#,
        #"{"type": "array", "prefixItems": [{"type": "integer", "minimum": -5, "maximum": 5}, {"enum": ["a", 1, null]}], "items": {"type": "boolean"}, "maxItems": 4}"#,
        ##"{"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 2}}, "required": ["value"], "additionalProperties": false}}, "$ref": "#/$defs/node"}"##,
        #"{"type": "object", "properties": {"a": {"type": "string", "minLength": 2, "maxLength": 4}, "b": {"type": ["integer", "null"], "exclusiveMinimum": 10, "exclusiveMaximum": 20}}, "required": ["b"], "additionalProperties": {"type": "number"}}"#,
        #"{"allOf": [{"type": "object", "properties": {"x": {"type": "string", "format": "uuid"}}, "required": ["x"]}, {"properties": {"y": {"const": {"k": [1, 2]}}}}]}"#,
        #"{"type": "object", "properties": {"when": {"type": "string", "format": "date-time"}, "day": {"type": "string", "format": "date"}, "at": {"type": "string", "format": "time"}}, "additionalProperties": false}"#,
    ]

    @Test func llamaCppIntegrationSchemaCases() throws {
        let cases = try GrammarFixtures.json("integration-cases.json")["cases"] as! [[String: Any]]
        var refused: [String] = []
        var checked = 0
        for c in cases where c["kind"] as? String == "schema" {
            let where_ = "test-grammar-integration.cpp:\(c["line"]!) \(c["description"]!)"
            let grammar: Grammar
            do {
                grammar = try Grammar.jsonSchema(c["text"] as! String)
            } catch {
                guard case .unsupportedSchemaKeyword = error else { Issue.record("\(where_): \(error)"); continue }
                refused.append("\(where_): \(error)")
                continue
            }
            checked += 1
            for s in c["passing"] as! [String] { #expect(matches(grammar, s), "\(where_): should accept \(s.debugDescription)") }
            for s in c["failing"] as! [String] { #expect(!matches(grammar, s), "\(where_): should reject \(s.debugDescription)") }
        }
        #expect(checked >= 28, "refused: \(refused)")
    }

    /// The schemas of llama.cpp's converter tests: each converts, or is refused naming a keyword.
    static func llamaCppSchemas() throws -> (supported: [String], refused: [String]) {
        let cases = try GrammarFixtures.json("schema-conversion-cases.json")["cases"] as! [[String: Any]]
        var supported: [String] = [], refused: [String] = []
        for c in cases where c["status"] as? String == "SUCCESS" {
            let text = c["schema"] as! String
            do {
                _ = try Grammar.jsonSchema(text)
                supported.append(text)
            } catch {
                switch error {
                case .unsupportedSchemaKeyword, .unsupportedRegex: refused.append("\(c["name"]!): \(error)")
                default: refused.append("UNEXPECTED \(c["name"]!): \(error)")
                }
            }
        }
        return (supported, refused)
    }

    @Test func llamaCppConverterSchemasConvertOrAreRefusedByName() throws {
        let (supported, refused) = try Self.llamaCppSchemas()
        #expect(refused.allSatisfy { !$0.hasPrefix("UNEXPECTED") }, "\(refused)")
        #expect(supported.count >= 50, "refused: \(refused)")
        print("llama.cpp converter schemas: \(supported.count) converted, \(refused.count) refused:\n  " + refused.joined(separator: "\n  "))
    }

    @Test(.enabled(if: oracleAvailable, "needs .fixtures/venv-jsonschema (run tools/fixtures/fetch-jsonschema)"))
    func randomDocumentsValidateAndMutantsAreRejected() throws {
        let schemas = try Self.llamaCppSchemas().supported + Self.extraSchemas
        var rng = RandomSource(seed: 0x10_0A_5C)
        var request: [[String: Any]] = []
        var grammars: [Grammar] = []
        for schema in schemas {
            let grammar = try Grammar.jsonSchema(schema)
            grammars.append(grammar)
            var instances: [String] = []
            for walk in 0..<100 {
                guard let bytes = randomWalk(grammar, using: &rng) else {
                    Issue.record("walk \(walk) of \(schema) did not end")
                    continue
                }
                instances.append(String(decoding: bytes, as: UTF8.self))
            }
            request.append(["schema": schema, "instances": instances])
        }
        // A control the oracle must flag, so a silent oracle cannot pass the test.
        let response = try runOracle(request + [["schema": #"{"type": "integer"}"#, "instances": [#""x""#]]])
        #expect(response.count == schemas.count + 1)
        #expect((response.last?["invalid"] as? [[Any]])?.count == 1, "the oracle flags a string where an integer belongs")
        var mutants = 0, invalidSchemas = 0
        for (i, result) in response.dropLast().enumerated() {
            // llama.cpp tests a few schemas that are not valid JSON Schema (prefixItems as an
            // object): nothing to validate against.
            if result["schema_error"] is String { invalidSchemas += 1; continue }
            let invalid = result["invalid"] as! [[Any]]
            let instances = request[i]["instances"] as! [String]
            for entry in invalid.prefix(3) {
                Issue.record("\(schemas[i])\n  generated \(instances[entry[0] as! Int].debugDescription)\n  jsonschema: \(entry[1])")
            }
            for mutant in result["mutants"] as! [String] {
                mutants += 1
                #expect(!matches(grammars[i], mutant), "\(schemas[i])\n  accepts \(mutant.debugDescription), which jsonschema rejects")
            }
        }
        #expect(mutants > 500)
        #expect(invalidSchemas <= 3)
        print("jsonschema oracle: \(schemas.count) schemas (\(invalidSchemas) not valid JSON Schema), \(schemas.count * 100) documents, \(mutants) mutants")
    }

    func runOracle(_ request: [[String: Any]]) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: GrammarFixtures.jsonschemaPython)
        process.arguments = [GrammarFixtures.repositoryRoot.appendingPathComponent("tools/fixtures/jsonschema-oracle.py").path]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let data = try JSONSerialization.data(withJSONObject: request)
        let writer = Thread { input.fileHandleForWriting.write(data); try? input.fileHandleForWriting.close() }
        writer.start()
        let result = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try JSONSerialization.jsonObject(with: result) as! [[String: Any]]
    }

    @Test func unsupportedKeywordsAreNamedWithTheirPointer() {
        let cases: [(String, String, String)] = [
            (#"{"type": "string", "format": "email"}"#, #"format: "email""#, "/format"),
            (#"{"type": "array", "uniqueItems": true}"#, "uniqueItems", "/uniqueItems"),
            (#"{"properties": {"a/b": {"not": {"type": "null"}}}}"#, "not", "/properties/a~1b/not"),
            (#"{"type": "number", "minimum": 0.5}"#, "minimum", "/minimum"),
            (##"{"$defs": {"x": {"type": "object", "patternProperties": {}}}, "$ref": "#/$defs/x"}"##, "patternProperties", "/$defs/x/patternProperties"),
            (#"{"$ref": "https://example.com/schema.json"}"#, "$ref", "/$ref"),
            (#"{"type": "integer", "multipleOf": 3}"#, "multipleOf", "/multipleOf"),
            (#"{"anyOf": [{"type": "string"}], "minLength": 2}"#, "minLength", "/minLength"),
        ]
        for (schema, keyword, path) in cases {
            #expect(throws: GrammarError.unsupportedSchemaKeyword(keyword, path: path), "\(schema)") { try Grammar.jsonSchema(schema) }
        }
        #expect(throws: GrammarError.self) { try Grammar.jsonSchema("{not json") }
    }

    @Test func anyJSONAcceptsJSONWithBoundedWhitespace() {
        for text in [#"{"a": [1, -2.5e3, "x\n", true, null, {}]}"#, "[]", "\"\"", "0", "-0.0", "null"] {
            #expect(matches(Grammar.anyJSON, text), "\(text)")
        }
        for text in ["{a: 1}", "[1,]", "01", "\"\\x\"", "[" + String(repeating: " ", count: 30) + "]", "{} {}"] {
            #expect(!matches(Grammar.anyJSON, text), "\(text)")
        }
    }

    @Test func regexMatchesWholeOutput() throws {
        let g = try Grammar.regex(#"^(\d{3}-)?[A-Z][a-z]*(?: [A-Z][a-z]*)*\.?$"#)
        for s in ["Ada", "555-Grace Hopper.", "Alan Turing"] { #expect(matches(g, s), "\(s)") }
        for s in ["ada", "55-Ada", "Ada  Lovelace", "Ada."+"x", ""] { #expect(!matches(g, s), "\(s)") }
        let classes = try Grammar.regex(#"[\w.-]+@[^\s@]+|\S\s\D"#)
        for s in ["a.b-c@host", "x y", "é\tz"] { #expect(matches(classes, s), "\(s)") }
        for s in ["a b@c", "x 1", "@"] { #expect(!matches(classes, s), "\(s)") }
        #expect(throws: GrammarError.unsupportedRegex(feature: "backreference", offset: 4)) { try Grammar.regex(#"(a+)\1"#) }
        #expect(throws: GrammarError.unsupportedRegex(feature: "lookahead", offset: 2)) { try Grammar.regex("a(?=b)") }
        #expect(throws: GrammarError.unsupportedRegex(feature: "lookbehind", offset: 1)) { try Grammar.regex("(?<!b)a") }
        #expect(throws: GrammarError.unsupportedRegex(feature: "word boundary \\b", offset: 0)) { try Grammar.regex(#"\bword"#) }
        #expect(throws: GrammarError.unsupportedRegex(feature: "'^' anchor inside the pattern", offset: 1)) { try Grammar.regex("a^b") }
        #expect(throws: GrammarError.self) { try Grammar.regex("(a") }
    }
}
