import Foundation
import Testing
@testable import LoomChatTemplate

/// One small template per Jinja feature (tools/chat-templates/feature_cases.py), rendered by
/// jinja2 in transformers' environment; Loom must match each byte for byte or raise the same
/// kind of error.
@Suite struct FeatureTests {
    struct Case: CustomStringConvertible {
        let name: String
        let template: String
        let output: String?
        let error: String?
        var description: String { name }
    }

    static var cases: [Case] {
        guard case .array(let items)? = RealTemplateFixture.expected["features"] else { return [] }
        return items.compactMap { item in
            guard case .dict(let d) = item, case .string(let name)? = d["name"], case .string(let t)? = d["template"] else { return nil }
            var output: String? = nil, error: String? = nil
            if case .string(let o)? = d["output"] { output = o }
            if case .string(let e)? = d["error"] { error = e }
            return Case(name: name, template: t, output: output, error: error)
        }
    }

    static var context: [String: JinjaValue] {
        guard case .dict(let d)? = RealTemplateFixture.expected["feature_context"] else { return [:] }
        var result: [String: JinjaValue] = [:]
        for (k, v) in d.pairs { result[k.text] = v }
        return result
    }

    @Test func fixtureHasFeatures() {
        #expect(Self.cases.count >= 70)
    }

    @Test(arguments: cases)
    func matchesJinja2(_ c: Case) throws {
        let outcome: RealTemplateFixture.Outcome
        do {
            let template = try ChatTemplate(source: c.template)
            outcome = .rendered(try template.renderContext(Self.context, now: RealTemplateFixture.fixedNow))
        } catch let error as ChatTemplateError {
            outcome = RealTemplateFixture.outcome(of: error)
        }
        if let expected = c.output {
            #expect(outcome == .rendered(expected))
        } else {
            let expectedKind = String(c.error?.prefix { $0 != ":" } ?? "")
            // jinja2 reports unknown filters at compile time as TemplateAssertionError, a syntax error.
            let kind = expectedKind == "TemplateAssertionError" ? "TemplateSyntaxError" : expectedKind
            guard case let .failed(loomKind, message) = outcome else {
                Issue.record("jinja2 raised \(c.error ?? "") but Loom rendered: \(outcome)")
                return
            }
            #expect(loomKind == kind, "jinja2: \(c.error ?? ""); Loom: \(loomKind): \(message)")
        }
    }
}
