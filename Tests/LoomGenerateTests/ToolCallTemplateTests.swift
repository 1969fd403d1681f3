import Foundation
import Testing
@testable import LoomChatTemplate
@testable import LoomGenerate

/// Tool calls against llama.cpp's real chat templates (.fixtures/templates, from
/// tools/fixtures/fetch-templates) and their jinja2 renderings:
/// - tool-call-templates-expected.json (tools/chat-templates/make_tool_call_expected.py): an
///   OpenAI-style conversation with string arguments and null content, rendered as llama.cpp
///   prepares it, with arguments parsed and with arguments left as strings;
/// - chat-templates-expected.json (tools/chat-templates/make_expected.py): its `tool_calls`
///   conversation.
struct ToolCallTemplateTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let templates = root.appendingPathComponent(".fixtures/templates")

    static func fixture(_ path: String) -> JinjaDict {
        guard let text = try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8),
              case .dict(let d) = try? JinjaJSON.parse(text) else { return JinjaDict() }
        return d
    }

    static let toolCallFixture = fixture("Tests/LoomGenerateTests/Fixtures/tool-call-templates-expected.json")
    static let chatFixture = fixture("Tests/LoomChatTemplateTests/Fixtures/chat-templates-expected.json")

    static func source(_ name: String) throws -> String {
        try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
    }

    /// strftime_now's fixed time in make_expected.py (2025-01-15 12:00:00, local time).
    static var fixedNow: Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        return calendar.date(from: DateComponents(year: 2025, month: 1, day: 15, hour: 12))!
    }

    static var toolCallCases: [JinjaDict] {
        guard case .array(let items)? = toolCallFixture["cases"] else { return [] }
        return items.compactMap { if case .dict(let d) = $0 { return d } else { return nil } }
    }

    static var toolCallTemplateNames: [String] {
        toolCallCases.compactMap { if case .string(let s)? = $0["template"] { return s } else { return nil } }
    }

    /// Families whose templates print arguments with `tojson` or loop over them, so an
    /// argument string would be written as a quoted string (see each template's tool_calls
    /// block); llama.cpp's probe gives them objects too.
    static let objectArgumentTemplates = [
        "Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja", "Qwen-QwQ-32B.jinja",
        "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
        "meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja", "meta-llama-Llama-3.3-70B-Instruct.jinja",
        "mistralai-Mistral-Nemo-Instruct-2407.jinja", "Mistral-Small-3.2-24B-Instruct-2506.jinja",
        "unsloth-mistral-Devstral-Small-2507.jinja", "mistralai-Ministral-3-14B-Reasoning-2512.jinja",
    ]

    @Test func fixturesArePresent() {
        #expect(Self.toolCallCases.count == 63, "run tools/chat-templates/make_tool_call_expected.py")
        #expect(FileManager.default.fileExists(atPath: Self.templates.path), "run tools/fixtures/fetch-templates")
    }

    @Test(arguments: toolCallTemplateNames)
    func openAIMessagesRenderLikeLlamaCppPreparedThemForJinja2(template name: String) throws {
        let template = try ChatTemplate(source: try Self.source(name))
        let testCase = try #require(Self.toolCallCases.first { $0["template"].map { if case .string(name) = $0 { true } else { false } } == true })
        let messages = try #require(Self.toolCallFixture["messages"])
        let objectArguments = ToolCallTemplateInput.templateTakesObjectArguments(template)
        guard case .dict(let expected)? = testCase[objectArguments ? "object_arguments" : "string_arguments"] else {
            Issue.record("\(name): no expected rendering")
            return
        }
        let tools = try ToolCallTemplateInput.tools(Self.toolCallFixture["tools"], toolChoice: .string("auto"))
        let rendered: String?
        do {
            rendered = try template.render(messages: try ToolCallTemplateInput.messages(messages, objectArguments: objectArguments),
                                           addGenerationPrompt: Self.toolCallFixture["add_generation_prompt"]?.isTruthy ?? false,
                                           bosToken: "<s>", eosToken: "</s>", tools: tools, now: Self.fixedNow)
        } catch {
            rendered = nil
        }
        if case .string(let output)? = expected["output"] {
            #expect(rendered == output, "\(name) with \(objectArguments ? "object" : "string") arguments")
        } else {
            #expect(rendered == nil, "\(name): jinja2 raised \(expected["error"].map { "\($0)" } ?? ""), Loom rendered")
        }
    }

    @Test(arguments: objectArgumentTemplates)
    func toolCallingFamiliesTakeObjectArguments(template name: String) throws {
        #expect(ToolCallTemplateInput.templateTakesObjectArguments(try ChatTemplate(source: try Self.source(name))))
    }

    @Test func argumentStringsThatAreNotJSONNameTheirPlace() throws {
        let messages = try JinjaJSON.parse(#"[{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"a\": "}}]}]"#)
        #expect(throws: ToolCallInputError.argumentsNotJSON(message: 1, call: 0, JinjaJSON.ParseError(message: "unexpected end of input", offset: 6))) {
            try ToolCallTemplateInput.messages(messages, objectArguments: true)
        }
    }

    @Test func toolChoiceChoosesTheToolsTheTemplateSees() throws {
        let tools = try JinjaJSON.parse(#"[{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "b"}}]"#)
        #expect(try ToolCallTemplateInput.tools(tools, toolChoice: .string("none")) == nil)
        guard case .array(let all)? = try ToolCallTemplateInput.tools(tools, toolChoice: nil) else { Issue.record("no tools"); return }
        #expect(all.count == 2)
        let named = try JinjaJSON.parse(#"{"type": "function", "function": {"name": "b"}}"#)
        guard case .array(let chosen)? = try ToolCallTemplateInput.tools(tools, toolChoice: named) else { Issue.record("no tools"); return }
        #expect(chosen.count == 1)
        #expect(throws: ToolCallInputError.unknownToolChoice("c")) {
            try ToolCallTemplateInput.tools(tools, toolChoice: try JinjaJSON.parse(#"{"type": "function", "function": {"name": "c"}}"#))
        }
        #expect(try ToolCallTemplateInput.tools(.array([]), toolChoice: nil) == nil)
    }

    // MARK: Formats

    /// Each family's format, as its template writes an assistant's tool calls (the jinja2
    /// renderings in chat-templates-expected.json show it).
    static let families: [(String, ToolCallFormat?)] = [
        ("Qwen-Qwen2.5-7B-Instruct.jinja", .hermes), ("Qwen-Qwen3-0.6B.jinja", .hermes), ("Qwen-QwQ-32B.jinja", .hermes),
        ("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", .hermes), ("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", .hermes),
        ("meta-llama-Llama-3.1-8B-Instruct.jinja", .llama3JSON), ("meta-llama-Llama-3.2-3B-Instruct.jinja", .llama3JSON),
        ("meta-llama-Llama-3.3-70B-Instruct.jinja", .llama3JSON),
        ("mistralai-Mistral-Nemo-Instruct-2407.jinja", .mistral), ("Mistral-Small-3.2-24B-Instruct-2506.jinja", .mistral),
        ("unsloth-mistral-Devstral-Small-2507.jinja", .mistral), ("mistralai-Ministral-3-14B-Reasoning-2512.jinja", .mistral),
        ("Qwen3-Coder.jinja", nil), ("Qwen3.5-4B.jinja", nil), ("GLM-4.6.jinja", nil), ("MiniMax-M2.jinja", nil),
        ("deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", nil), ("meetkai-functionary-medium-v3.1.jinja", nil),
        ("meetkai-functionary-medium-v3.2.jinja", nil), ("fireworks-ai-llama-3-firefunction-v2.jinja", nil),
        ("openai-gpt-oss-120b.jinja", nil), ("google-gemma-2-2b-it.jinja", nil), ("unsloth-Apriel-1.5.jinja", nil),
    ]

    @Test func detectsEachFamilysFormat() throws {
        for (name, format) in Self.families {
            #expect(ToolCallFormat.detect(templateSource: try Self.source(name)) == format, "\(name)")
        }
    }

    /// Where a reply would be parsed in a rendering: after the user's question (system prompts
    /// may show an example call), and for Llama 3.x each assistant turn on its own, since its
    /// calls are recognised at the start of a reply only.
    static func replies(in rendering: String, after question: String, format: ToolCallFormat) -> [String] {
        guard let asked = rendering.range(of: question) else { return [] }
        let rest = String(rendering[asked.upperBound...])
        guard format == .llama3JSON else { return [rest] }
        return rest.components(separatedBy: "<|start_header_id|>assistant<|end_header_id|>\n\n").dropFirst().map { turn in
            turn.components(separatedBy: "<|eot_id|>")[0].components(separatedBy: "<|eom_id|>")[0]
        }
    }

    static func compact(_ value: JinjaValue) throws -> String {
        try JinjaJSON.dumps(value, JinjaJSON.DumpOptions(itemSeparator: ",", keySeparator: ":"))
    }

    /// A template's own rendering of an assistant's tool calls, parsed with the format detected
    /// for that template, gives back the calls of the conversation.
    @Test func everyDetectedTemplatesRenderedCallsParseBack() throws {
        var checked = 0
        let sources: [(fixture: JinjaDict, renderings: [(template: String, output: String)], messages: JinjaValue?)] = [
            (Self.chatFixture, Self.chatToolCallRenderings(), {
                guard case .dict(let c)? = Self.chatFixture["conversations"], case .dict(let t)? = c["tool_calls"] else { return nil }
                return t["messages"]
            }()),
            (Self.toolCallFixture, Self.toolCallCases.compactMap { c in
                guard case .string(let t)? = c["template"], case .dict(let o)? = c["object_arguments"], case .string(let out)? = o["output"] else { return nil }
                return (t, out)
            }, Self.toolCallFixture["messages"]),
        ]
        for (_, renderings, messages) in sources {
            let expected = try Self.expectedCalls(in: try #require(messages))
            let question = try #require(messages.flatMap(Self.firstUserMessage))
            for (name, output) in renderings {
                guard let format = ToolCallFormat.detect(templateSource: try Self.source(name)) else { continue }
                var calls: [ToolCall] = []
                for reply in Self.replies(in: output, after: question, format: format) {
                    var parser = ToolCallStreamParser(format: format, ids: ToolCallIDGenerator(style: format.callIDStyle, seed: 1))
                    _ = parser.feed(reply)
                    calls += parser.finish().result.toolCalls
                }
                #expect(calls.map(\.name) == expected.map(\.name), "\(name) as \(format)")
                #expect(calls.map(\.arguments) == expected.map(\.arguments), "\(name)")
                checked += 1
            }
        }
        #expect(checked >= 20, "too few templates were checked")
    }

    static func chatToolCallRenderings() -> [(template: String, output: String)] {
        guard case .array(let items)? = chatFixture["cases"] else { return [] }
        return items.compactMap { item in
            guard case .dict(let c) = item, case .string("tool_calls")? = c["conversation"],
                  case .string(let t)? = c["template"], case .string(let out)? = c["output"] else { return nil }
            return (t, out)
        }
    }

    static func firstUserMessage(in messages: JinjaValue) -> String? {
        guard case .array(let items) = messages else { return nil }
        for case .dict(let message) in items {
            if case .string("user")? = message["role"], case .string(let text)? = message["content"] { return text }
        }
        return nil
    }

    /// The calls of the conversation's assistant messages, arguments compacted with
    /// LoomChatTemplate's `json.dumps(separators=(",", ":"))`.
    static func expectedCalls(in messages: JinjaValue) throws -> [(name: String, arguments: String)] {
        guard case .array(let items) = messages else { return [] }
        var result: [(name: String, arguments: String)] = []
        for case .dict(let message) in items {
            guard case .array(let calls)? = message["tool_calls"] else { continue }
            for case .dict(let call) in calls {
                guard case .dict(let function)? = call["function"], case .string(let name)? = function["name"],
                      var arguments = function["arguments"] else { continue }
                if case .string(let text) = arguments { arguments = try JinjaJSON.parse(text) }
                result.append((name, try compact(arguments)))
            }
        }
        return result
    }
}

extension ToolCallTemplateTests {
    @Test func anOverrideWinsOverDetection() throws {
        let qwen = try ChatTemplate(source: try Self.source("Qwen-Qwen2.5-7B-Instruct.jinja"))
        #expect(try ToolCallFormat.resolve(override: nil, template: qwen) == .hermes)
        #expect(try ToolCallFormat.resolve(override: "mistral", template: qwen) == .mistral)
        #expect(throws: UnknownToolCallFormat(name: "xml")) { try ToolCallFormat.resolve(override: "xml", template: qwen) }
    }
}
