import Foundation
import Testing
@testable import LoomChatTemplate

/// The oracle: jinja2 renderings of llama.cpp's 70 real chat templates, made by
/// tools/chat-templates/make_expected.py with transformers' environment. The templates
/// themselves come from the llama-cpp-python sdist (tools/fixtures/fetch-templates).
enum RealTemplateFixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let templatesDirectory = root.appendingPathComponent(".fixtures/templates")

    struct Case {
        let template: String
        let conversation: String
        let output: String?
        let error: String?
    }

    struct Conversation {
        let messages: JinjaValue
        let tools: JinjaValue?
        let addGenerationPrompt: Bool
    }

    static let expected: JinjaDict = {
        let url = root.appendingPathComponent("Tests/LoomChatTemplateTests/Fixtures/chat-templates-expected.json")
        guard let text = try? String(contentsOf: url, encoding: .utf8),
              case .dict(let d) = try? JinjaJSON.parse(text) else { return JinjaDict() }
        return d
    }()

    static var cases: [Case] {
        guard case .array(let items)? = expected["cases"] else { return [] }
        return items.compactMap { item in
            guard case .dict(let d) = item, case .string(let t)? = d["template"], case .string(let c)? = d["conversation"] else { return nil }
            var output: String? = nil, error: String? = nil
            if case .string(let o)? = d["output"] { output = o }
            if case .string(let e)? = d["error"] { error = e }
            return Case(template: t, conversation: c, output: output, error: error)
        }
    }

    static var templateNames: [String] { Array(Set(cases.map(\.template))).sorted() }

    static var conversations: [String: Conversation] {
        guard case .dict(let all)? = expected["conversations"] else { return [:] }
        var result: [String: Conversation] = [:]
        for (name, value) in all.pairs {
            guard case .dict(let c) = value, let messages = c["messages"] else { continue }
            var tools: JinjaValue? = c["tools"]
            if case .none? = tools { tools = nil }
            result[name.text] = Conversation(messages: messages, tools: tools, addGenerationPrompt: c["add_generation_prompt"]?.isTruthy ?? false)
        }
        return result
    }

    /// strftime_now's fixed time in make_expected.py (2025-01-15 12:00:00, local time).
    static var fixedNow: Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        return calendar.date(from: DateComponents(year: 2025, month: 1, day: 15, hour: 12))!
    }

    enum Outcome: Equatable {
        case rendered(String)
        /// The Python exception class jinja2 would raise, and the message.
        case failed(kind: String, message: String)
    }

    static func render(template source: String, _ conversation: Conversation) -> Outcome {
        do {
            let template = try ChatTemplate(source: source)
            return .rendered(try template.render(messages: conversation.messages, addGenerationPrompt: conversation.addGenerationPrompt,
                                                 bosToken: "<s>", eosToken: "</s>", tools: conversation.tools, now: fixedNow))
        } catch let error as ChatTemplateError {
            return outcome(of: error)
        } catch {
            return .failed(kind: "\(type(of: error))", message: "\(error)")
        }
    }

    /// The jinja2 exception class that corresponds to a Loom error.
    static func outcome(of error: ChatTemplateError) -> Outcome {
        switch error {
        case let .runtime(kind, message, _): return .failed(kind: kind, message: message)
        case let .raised(message, _): return .failed(kind: "TemplateError", message: message)
        case let .syntax(message, _): return .failed(kind: "TemplateSyntaxError", message: message)
        case let .unsupportedFeature(feature, _): return .failed(kind: "unsupported", message: feature)
        case let .limitExceeded(limit, _, _): return .failed(kind: "limit", message: limit)
        }
    }
}

@Suite struct RealTemplateTests {
    @Test func fixtureIsPresent() throws {
        #expect(RealTemplateFixture.cases.count == 490, "expected 70 templates x 7 conversations in the fixture JSON")
        let names = try FileManager.default.contentsOfDirectory(atPath: RealTemplateFixture.templatesDirectory.path)
            .filter { $0.hasSuffix(".jinja") }
        #expect(names.count == 70, "run tools/fixtures/fetch-templates to fetch llama.cpp's templates into .fixtures/templates")
    }

    @Test(arguments: RealTemplateFixture.templateNames)
    func rendersLikeJinja2(template name: String) throws {
        let url = RealTemplateFixture.templatesDirectory.appendingPathComponent(name)
        let source = try String(contentsOf: url, encoding: .utf8)
        let conversations = RealTemplateFixture.conversations
        for c in RealTemplateFixture.cases where c.template == name {
            let conversation = try #require(conversations[c.conversation])
            let outcome = RealTemplateFixture.render(template: source, conversation)
            if let expected = c.output {
                #expect(outcome == .rendered(expected), "\(name) / \(c.conversation)")
            } else {
                // jinja2 raised: Loom must raise the same kind of error (same message for raise_exception).
                guard case let .failed(kind, message) = outcome else {
                    Issue.record("\(name) / \(c.conversation): jinja2 raised \(c.error ?? "") but Loom rendered")
                    continue
                }
                let expectedKind = String(c.error?.prefix { $0 != ":" } ?? "")
                #expect(kind == expectedKind, "\(name) / \(c.conversation): jinja2 raised \(c.error ?? ""), Loom \(kind): \(message)")
                if kind == "TemplateError" { #expect(c.error == "TemplateError: \(message)") }
            }
        }
    }
}
