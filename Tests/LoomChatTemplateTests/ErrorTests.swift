import Foundation
import Testing
@testable import LoomChatTemplate

/// Loom's own error contract: a feature it lacks fails with an error naming the feature and the
/// template line; bad JSON names the byte offset.
@Suite struct ErrorTests {
    static let unsupported: [(source: String, feature: String, line: Int)] = [
        ("a\n{% call foo() %}x{% endcall %}", "{% call %} statement", 2),
        ("{% include 'other.jinja' %}", "{% include %} statement", 1),
        ("\n\n{% for x in y recursive %}{% endfor %}", "recursive for loop", 3),
        ("{{ f(*args) }}", "*args/**kwargs in a call", 1),
        ("x\n{{ '%s!' % 'a' }}", "printf-style string formatting with %", 2),
        ("\n{{ 'a'.zfill(3) }}", "str.zfill() method", 2),
        ("{{ [1, 2]|batch(1)|list }}", "the 'batch' filter", 1),
        ("{% set d = {none: 1} %}", "dict literal with a NoneType key", 1),
        ("{{ strftime_now('%U') }}", "strftime directive %U", 1),
    ]

    @Test(arguments: 0..<unsupported.count)
    func unsupportedFeatureNamesFeatureAndLine(_ index: Int) {
        let (source, feature, line) = Self.unsupported[index]
        do {
            let rendered = try ChatTemplate(source: source).renderContext([:])
            Issue.record("rendered \(rendered.debugDescription) instead of failing")
        } catch let error as ChatTemplateError {
            #expect(error == .unsupportedFeature(feature: feature, line: line))
            #expect(error.description.contains(feature) && error.description.contains("line \(line)"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    /// A number that ends the source (FuzzTemplate's finding: the lexer read one past the end
    /// looking for `_`) is lexed, and the unclosed tag is a syntax error; closed, the same
    /// numbers lex to their values.
    @Test(arguments: [("0{{7", JinjaToken.Kind.integer(7)), ("{{ 1_000", .integer(1000)), ("{{ 2.5", .float(2.5)), ("x\n{% if 12", .integer(12))])
    func aNumberAtTheEndOfTheSourceIsAnUnclosedTag(_ source: String, _ number: JinjaToken.Kind) throws {
        #expect(throws: ChatTemplateError.self) { _ = try ChatTemplate(source: source) }
        let closed = try JinjaLexer.tokenize(source + (source.contains("{%") ? " %}" : " }}"))
        #expect(closed.map(\.kind).contains(number), "\(closed)")
    }

    @Test func runtimeErrorsCarryTheLine() {
        let source = "ok\n{% for m in messages %}\n{{ m.content + 1 }}\n{% endfor %}"
        #expect(throws: ChatTemplateError.runtime(kind: "TypeError", message: "can only concatenate str (not \"int\") to str", line: 3)) {
            try ChatTemplate(source: source).renderContext(["messages": .array([.dict(JinjaDict([(.string("content"), .string("x"))]))])])
        }
        #expect(throws: ChatTemplateError.raised(message: "no system role", line: 2)) {
            try ChatTemplate(source: "\n{{ raise_exception('no system role') }}").renderContext([:])
        }
    }

    @Test func syntaxErrorsCarryTheLine() {
        #expect(throws: ChatTemplateError.syntax(message: "Encountered unknown tag 'frob'.", line: 3)) {
            try ChatTemplate(source: "a\nb\n{% frob %}")
        }
        #expect(throws: ChatTemplateError.syntax(message: "Missing end of comment tag", line: 2)) {
            try ChatTemplate(source: "a\n{# never closed")
        }
    }

    @Test func jsonErrorsNameTheOffset() {
        #expect(throws: JinjaJSON.ParseError(message: "unexpected character", offset: 7)) { try JinjaJSON.parse("[1, 2, ]") }
        #expect(throws: JinjaJSON.ParseError(message: "unterminated string", offset: 6)) { try JinjaJSON.parse("{\"a\": \"x") }
        #expect(throws: JinjaJSON.ParseError(message: "extra data after the value", offset: 3)) { try JinjaJSON.parse("{} x") }
    }

    @Test func jsonKeepsKeyOrderAndNumberKinds() throws {
        guard case .dict(let d) = try JinjaJSON.parse(#"{"z": 1, "a": 2.0, "m": [true, null, "\u00e9\ud83c\udf0d"]}"#) else {
            Issue.record("not a dict"); return
        }
        #expect(d.keys == [.string("z"), .string("a"), .string("m")])
        #expect(d["z"]?.pythonRepr == "1")
        #expect(d["a"]?.pythonRepr == "2.0")
        #expect(d["m"]?.pythonRepr == "[True, None, 'é🌍']")
    }
}
