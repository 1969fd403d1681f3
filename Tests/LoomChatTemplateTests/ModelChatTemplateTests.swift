import Foundation
import Testing
import LoomFormats
@testable import LoomChatTemplate

/// Loading templates from model directories the way transformers does, checked against the
/// jinja2 renderings of the real templates.
@Suite struct ModelChatTemplateTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-chat-template-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func source(_ template: String) throws -> String {
        try String(contentsOf: RealTemplateFixture.templatesDirectory.appendingPathComponent(template), encoding: .utf8)
    }

    func expected(_ template: String, _ conversation: String) throws -> String {
        try #require(RealTemplateFixture.cases.first { $0.template == template && $0.conversation == conversation }?.output)
    }

    func render(_ model: ModelChatTemplate, _ conversation: String, name: String? = nil) throws -> String {
        let c = try #require(RealTemplateFixture.conversations[conversation])
        return try model.template(named: name, hasTools: c.tools != nil)
            .render(messages: c.messages, addGenerationPrompt: c.addGenerationPrompt, bosToken: model.bosToken,
                    eosToken: model.eosToken, tools: c.tools, now: RealTemplateFixture.fixedNow)
    }

    /// A JSON string literal for embedding a template in tokenizer_config.json.
    func json(_ s: String) throws -> String {
        try JinjaJSON.dumps(.string(s), JinjaJSON.DumpOptions())
    }

    @Test func stringTemplateAndTokenObjects() throws {
        let qwen = "Qwen-Qwen2.5-7B-Instruct.jinja"
        try write("tokenizer_config.json", """
            {"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "chat_template": \(try json(try source(qwen)))}
            """)
        let model = try ModelChatTemplate.load(model: directory.path)
        #expect(model.bosToken == "<s>" && model.eosToken == "</s>")
        #expect(try render(model, "multi_turn") == (try expected(qwen, "multi_turn")))
    }

    @Test func namedTemplatesPickToolUseForTools() throws {
        let plain = "google-gemma-2-2b-it.jinja", tools = "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"
        try write("tokenizer_config.json", """
            {"bos_token": "<s>", "eos_token": "</s>", "chat_template": [
              {"name": "default", "template": \(try json(try source(plain)))},
              {"name": "tool_use", "template": \(try json(try source(tools)))}]}
            """)
        let model = try ModelChatTemplate.load(model: directory.path)
        #expect(try render(model, "user_generation_prompt") == (try expected(plain, "user_generation_prompt")))
        #expect(try render(model, "tool_calls") == (try expected(tools, "tool_calls")))
        #expect(throws: ChatTemplateLoadError.noTemplateNamed(path: directory.appendingPathComponent("tokenizer_config.json").path,
                                                               name: "rag", available: ["default", "tool_use"])) {
            try model.template(named: "rag")
        }
    }

    @Test func chatTemplateJinjaFileWins() throws {
        let phi = "microsoft-Phi-3.5-mini-instruct.jinja"
        try write("tokenizer_config.json", #"{"bos_token": "<s>", "eos_token": "</s>", "chat_template": "ignored"}"#)
        try write("chat_template.jinja", try source(phi))
        let model = try ModelChatTemplate.load(model: directory.path)
        #expect(try render(model, "system_user_assistant") == (try expected(phi, "system_user_assistant")))
    }

    @Test func badFilesNameThemselves() throws {
        let config = directory.appendingPathComponent("tokenizer_config.json").path
        try write("tokenizer_config.json", #"{"chat_template": 3}"#)
        #expect(throws: ChatTemplateLoadError.wrongType(path: config, field: "chat_template",
                                                        expected: "a string or a list of {\"name\", \"template\"} objects")) {
            try ModelChatTemplate.load(model: directory.path)
        }
        try write("tokenizer_config.json", #"{"eos_token": "</s>"}"#)
        #expect(throws: ChatTemplateLoadError.noChatTemplate(path: config)) { try ModelChatTemplate.load(model: directory.path) }
        try write("tokenizer_config.json", "{\"chat_template\": \"x\",}")
        do {
            _ = try ModelChatTemplate.load(model: directory.path)
            Issue.record("loaded bad JSON")
        } catch let error as ChatTemplateLoadError {
            #expect(error.description.hasPrefix(config + ": invalid JSON at byte"))
        }
        #expect(throws: ChatTemplateLoadError.cannotRead(path: "/nonexistent/messages.json")) {
            try ModelChatTemplate.readJSON("/nonexistent/messages.json")
        }
        #expect(throws: ChatTemplateLoadError.self) { try ModelChatTemplate.load(model: "/models/x.gguf") }
    }

    @Test func ggufTemplateAndSpecialTokens() throws {
        let path = NSTemporaryDirectory() + "loom-template-\(UUID().uuidString).gguf"
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("tokenizer.chat_template", .string("{{ bos_token }}{% for m in messages %}{{ m['content'] }}{{ eos_token }}{% endfor %}"))
        writer.set("tokenizer.ggml.tokens", .array(GGUFArray(strings: ["<unk>", "<s>", "</s>"])))
        writer.set("tokenizer.ggml.bos_token_id", .uint32(1))
        writer.set("tokenizer.ggml.eos_token_id", .uint32(2))
        try writer.write(to: path)
        let model = try ModelChatTemplate.load(model: path)
        #expect(model.bosToken == "<s>" && model.eosToken == "</s>")
        let text = try model.template().render(messages: JinjaJSON.parse(#"[{"role": "user", "content": "hi"}]"#), addGenerationPrompt: false,
                                               bosToken: model.bosToken, eosToken: model.eosToken)
        #expect(text == "<s>hi</s>")
        var empty = GGUFWriter()
        empty.set("general.architecture", .string("llama"))
        try empty.write(to: path)
        #expect(throws: ChatTemplateLoadError.noChatTemplate(path: path)) { try ModelChatTemplate.load(model: path) }
    }
}
