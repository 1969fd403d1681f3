import Foundation
import Testing
@testable import LoomGenerate

/// GBNF parsing and matching. Oracle: llama.cpp's own grammars and the accept/reject cases of
/// its tests/test-grammar-integration.cpp (Fixtures/grammars, copied by
/// tools/fixtures/copy-llamacpp-grammars from the llama-cpp-python 0.3.36 sdist).
struct GrammarTests {
    @Test func everyLlamaCppGrammarParses() throws {
        let files = GrammarFixtures.gbnfFiles
        #expect(files.count == 8, "the eight grammars/*.gbnf of llama.cpp")
        for file in files {
            let grammar = try Grammar(gbnf: GrammarFixtures.text(file))
            #expect(!grammar.ruleNames.isEmpty, "\(file)")
        }
    }

    /// Every string llama.cpp's integration test accepts, Loom accepts; every one it rejects,
    /// Loom rejects (grammar cases; schema cases are in JSONSchemaGrammarTests).
    @Test func llamaCppIntegrationGrammarCases() throws {
        let cases = try GrammarFixtures.json("integration-cases.json")["cases"] as! [[String: Any]]
        let grammarCases = cases.filter { $0["kind"] as? String == "grammar" }
        #expect(grammarCases.count >= 12)
        for c in grammarCases {
            let where_ = "test-grammar-integration.cpp:\(c["line"]!) \(c["description"]!)"
            let grammar = try Grammar(gbnf: c["text"] as! String)
            for s in c["passing"] as! [String] { #expect(matches(grammar, s), "\(where_): should accept \(s.debugDescription)") }
            for s in c["failing"] as! [String] { #expect(!matches(grammar, s), "\(where_): should reject \(s.debugDescription)") }
        }
    }

    /// The grammars llama.cpp's JSON-schema converter is expected to produce
    /// (tests/test-json-schema-to-grammar.cpp) are GBNF too: each parses.
    @Test func llamaCppGeneratedGrammarsParse() throws {
        let cases = try GrammarFixtures.json("schema-conversion-cases.json")["cases"] as! [[String: Any]]
        var parsed = 0
        for c in cases where c["status"] as? String == "SUCCESS" {
            let text = c["grammar"] as! String
            do {
                _ = try Grammar(gbnf: text)
                parsed += 1
            } catch {
                Issue.record("test-json-schema-to-grammar.cpp:\(c["line"]!) \(c["name"]!): \(error)")
            }
        }
        #expect(parsed >= 70)
    }

    /// tests/test-grammar-integration.cpp, test_failure_missing_root (line 811),
    /// test_failure_missing_reference (831), test_failure_left_recursion (853),
    /// test_failure_missing_root_symbol (885), test_custom_root_symbol_check (898).
    @Test func llamaCppFailureCases() throws {
        #expect(throws: GrammarError.missingRoot(name: "root")) {
            try Grammar(gbnf: "rot ::= expr\nexpr ::= term (\"+\" term)*\nterm ::= number\nnumber ::= [0-9]+")
        }
        #expect(throws: GrammarError.undefinedRule(name: "numero", line: 3, column: 18)) {
            try Grammar(gbnf: "root ::= expr\n        expr ::= term (\"+\" term)*\n        term ::= numero\n        number ::= [0-9]+")
        }
        #expect(throws: GrammarError.leftRecursion(rule: "root")) { try Grammar(gbnf: #"root ::= "a" | root "a""#) }
        #expect(throws: GrammarError.leftRecursion(rule: "asdf")) { try Grammar(gbnf: "root ::= asdf\nasdf ::= \"a\" | asdf \"a\"") }
        #expect(throws: GrammarError.self) { try Grammar(gbnf: "root ::= asdf\nasdf ::= \"a\" | foo \"b\"\nfoo ::= \"c\" | asdf \"d\" | \"e\"") }
        #expect(throws: GrammarError.self) {
            try Grammar(gbnf: "root ::= asdf\nasdf ::= \"a\" | foo \"b\"\nfoo ::= \"c\" | empty asdf \"d\" | \"e\"\nempty ::= \"blah\" | ")
        }
        #expect(throws: GrammarError.missingRoot(name: "nonexistent")) { try Grammar(gbnf: #"root ::= "foobar""#, root: "nonexistent") }
        #expect(throws: GrammarError.missingRoot(name: "root")) { try Grammar(gbnf: #"foobar ::= "foobar""#) }
        #expect(matches(try Grammar(gbnf: #"foobar ::= "foobar""#, root: "foobar"), "foobar"))
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        #expect(throws: GrammarError.syntax(message: "expecting ')'", line: 2, column: 15)) { try Grammar(gbnf: "root ::= a\na ::= (\"x\" \"y\"") }
        #expect(throws: GrammarError.syntax(message: "expecting ::=", line: 1, column: 6)) { try Grammar(gbnf: "root = \"x\"") }
        #expect(throws: GrammarError.unsupportedSyntax(feature: "token references such as <[1000]> or !<token>", line: 1, column: 10)) {
            try Grammar(gbnf: "root ::= <[1000]> \"x\"")
        }
        #expect(throws: GrammarError.repetitionTooLarge(count: 1_000_000, limit: 2000, line: 1, column: 13)) { try Grammar(gbnf: #"root ::= "a"{1000000}"#) }
    }

    @Test func escapesAndClasses() throws {
        let g = try Grammar(gbnf: #"root ::= "\x41\u00e9\U0001F600\n\t\r\\\"" [\]\[\-a-c]+ [^\x00-\x7F] ."#)
        #expect(matches(g, "Aé😀\n\t\r\\\"]-[bé😀"))
        #expect(!matches(g, "Aé😀\n\t\r\\\"d\u{e9}x"))
        #expect(!matches(g, "Aé😀\n\t\r\\\"]ax!"))
    }

    /// A token may end inside a character: the bytes of "é😀" fed one at a time still match, and
    /// a class refuses a byte that no member's UTF-8 starts with.
    @Test func partialUTF8AcrossAccepts() throws {
        let g = try Grammar(gbnf: "root ::= [à-ÿ] [😀-🙏]")
        var m = GrammarMatcher(g)
        var accepted: [Bool] = []
        for byte in "é😀".utf8 { accepted.append(m.accept([byte])) }
        #expect(accepted == [Bool](repeating: true, count: 6))
        #expect(m.canEnd)
        var n = GrammarMatcher(g)
        let lead = n.accept([0xC3])
        let belowClass = n.accept([0x9F])
        let notContinuation = n.accept([0x41])
        let rest = n.accept([0xA9, 0xF0, 0x9F])
        let pastClass = n.accept([0xA0])
        #expect(lead && rest)
        #expect(!belowClass, "U+00DF is below à")
        #expect(!notContinuation, "a continuation byte is needed")
        #expect(!pastClass, "U+1F800 is past the class")
        #expect(!GrammarMatcher(try Grammar(gbnf: "root ::= .")).nextBytes[0xC0], "overlong lead byte")
    }

    @Test func snapshotAndRewind() throws {
        let g = try Grammar(gbnf: GrammarFixtures.text("json.gbnf"))
        var m = GrammarMatcher(g)
        let opened = m.accept(Array(#"{"a": [1, 2"#.utf8))
        let snapshot = m
        let closed = m.accept(Array("]}".utf8))
        let closedEnds = m.canEnd
        m = snapshot
        let rewoundEnds = m.canEnd
        let wrong = m.accept(Array("}".utf8))
        let continued = m.accept(Array(", 3]}".utf8))
        #expect(opened && closed && closedEnds && continued && m.canEnd)
        #expect(!rewoundEnds && !wrong)
    }

    /// Hostile grammars: refused with a typed error, or matched within the stack and step bounds.
    @Test func hostileGrammarsAreBounded() throws {
        // Deep nesting of parentheses.
        let deep = "root ::= " + String(repeating: "(", count: 5000) + "\"a\"" + String(repeating: ")", count: 5000)
        #expect(throws: GrammarError.self) { try Grammar(gbnf: deep) }
        // A chain of 40 rules, each two identical alternatives: 2^40 paths to the same stacks,
        // each stack expanded once.
        var chain = "root ::= r0\n"
        for i in 0..<40 { chain += "r\(i) ::= r\(i + 1) | r\(i + 1)\n" }
        chain += "r40 ::= \"x\"\n"
        let exponential = try Grammar(gbnf: chain)
        #expect(matches(exponential, "x") && !matches(exponential, "xx"))
        // 5000 alternatives that all start with a terminal: more start stacks than the bound.
        let wide = "root ::= w\nw ::= " + (0..<5000).map { "\"a\" \"\($0)\"" }.joined(separator: " | ")
        #expect(throws: GrammarError.tooComplex(limit: GrammarMatcher.stackLimit)) { try Grammar(gbnf: wide) }
        // Ambiguity that multiplies stacks as bytes arrive: refused per byte, never unbounded.
        let ambiguous = try Grammar(gbnf: "root ::= x*\nx ::= \"a\" | \"a\" \"a\" | \"a\" \"a\" \"a\" | y\ny ::= \"a\" y \"b\" | \"a\"")
        var m = GrammarMatcher(ambiguous)
        var accepted = 0
        while accepted < 20_000, m.accept(byte: 0x61) { accepted += 1 }
        #expect(accepted < 20_000 && m.exceededLimit, "nested a^n b^n keeps growing the stack set until the bound")
        // Huge repetition counts: llama.cpp's limit of 2000.
        #expect(throws: GrammarError.self) { try Grammar(gbnf: #"root ::= ("a" "b"){2001}"#) }
        // Nested counts stay small once lowered (each level is one helper rule).
        let nested = try Grammar(gbnf: #"root ::= (("a"{2000}){2000}){2000}"#)
        #expect(!matches(nested, "ab") && !matches(nested, "a"))
        // An unbounded upper count above the limit is dropped, as llama.cpp does.
        #expect(matches(try Grammar(gbnf: #"root ::= "a"{2,1000000}"#), String(repeating: "a", count: 3000)))
    }
}
