import ArgumentParser
import Foundation
import LoomChatTemplate

/// `loom template`: renders a conversation with the model's chat template, to check a prompt format.
struct Template: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the prompt a model's chat template makes from a conversation.",
        discussion: """
        FILE.json holds an OpenAI-style messages array, or an object {"messages": [...], "tools": [...]}.
        The template comes from chat_template.jinja or tokenizer_config.json in the model directory.
        """)

    @Option(name: .long, help: "Model directory (with tokenizer_config.json) or .gguf file.")
    var model: String

    @Option(name: .long, help: "JSON file with the messages.")
    var messages: String

    @Flag(name: .long, help: "End with the header that starts the assistant's reply.")
    var addGenerationPrompt = false

    @Option(name: .long, help: "Which of several named templates to use (e.g. tool_use).")
    var templateName: String?

    func run() throws {
        do {
            let model = try ModelChatTemplate.load(model: self.model)
            var conversation = try ModelChatTemplate.readJSON(messages)
            var tools: JinjaValue? = nil
            if case .dict(let d) = conversation {
                guard let m = d["messages"] else {
                    throw ChatTemplateLoadError.wrongType(path: messages, field: "messages", expected: "present when the file holds an object")
                }
                conversation = m
                if let t = d["tools"], case .array = t { tools = t }
            }
            guard case .array(let items) = conversation else {
                throw ChatTemplateLoadError.wrongType(path: messages, field: "messages", expected: "an array of message objects")
            }
            for (i, item) in items.enumerated() {
                guard case .dict(let m) = item, case .string? = m["role"] else {
                    throw ChatTemplateLoadError.wrongType(path: messages, field: "messages[\(i)]", expected: "an object with a string 'role'")
                }
            }
            let template = try model.template(named: templateName, hasTools: tools != nil)
            let prompt = try template.render(messages: conversation, addGenerationPrompt: addGenerationPrompt,
                                             bosToken: model.bosToken, eosToken: model.eosToken, tools: tools)
            FileHandle.standardOutput.write(Data(prompt.utf8))
        } catch let error as ChatTemplateLoadError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as ChatTemplateError {
            FileHandle.standardError.write(Data("error: \(self.model): \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
