import Foundation
import LoomChatTemplate
import LoomTokenizer

/// A conversation in a model's chat template, turn by turn: the prompt tokens for each reply.
///
/// It keeps the tokens the model was given and produced, and the text they stand for. The next
/// turn's prompt is those tokens plus the tokens of the new part of the rendered conversation, so
/// a cache holding the last turn matches the new prompt to the end of the reply. Re-encoding the
/// whole conversation could split the reply's text into other tokens, and the cache would miss.
/// A template that does not render the old turns unchanged falls back to encoding it all.
public final class ChatConversation {
    public let template: ChatTemplate
    public let tokenizer: Tokenizer
    public let bosToken: String?
    public let eosToken: String?
    public let system: String?
    /// The messages so far, as the template sees them (role and content).
    public private(set) var messages: [[String: String]] = []
    private var heldTokens: [Int32] = []
    private var heldText = ""
    private var lastPrompt: [Int32] = []
    private var lastRendered = ""

    /// - Parameters:
    ///   - chat: the model's templates and special-token strings; `templateName` picks one.
    ///   - system: a system message that starts every conversation.
    public init(chat: ModelChatTemplate, templateName: String? = nil, tokenizer: Tokenizer, system: String? = nil) throws {
        template = try chat.template(named: templateName)
        self.tokenizer = tokenizer
        bosToken = chat.bosToken
        eosToken = chat.eosToken
        self.system = system
        reset()
    }

    /// Starts a new conversation (the system message stays).
    public func reset() {
        messages = system.map { [["role": "system", "content": $0]] } ?? []
        heldTokens = []
        heldText = ""
    }

    /// Adds a user message and returns the prompt for the reply: the rendered conversation with
    /// the generation prompt, special tokens parsed, no BOS beyond what the template writes.
    public func prompt(user text: String) throws -> [Int32] {
        messages.append(["role": "user", "content": text])
        let json = String(decoding: try JSONSerialization.data(withJSONObject: messages, options: [.sortedKeys]), as: UTF8.self)
        let rendered = try template.render(messages: try JinjaJSON.parse(json), addGenerationPrompt: true,
                                           bosToken: bosToken, eosToken: eosToken)
        let prompt = !heldTokens.isEmpty && rendered.hasPrefix(heldText)
            ? heldTokens + tokenizer.encode(String(rendered.dropFirst(heldText.count)), parseSpecial: true, addBOS: false)
            : tokenizer.encode(rendered, parseSpecial: true, addBOS: false)
        lastPrompt = prompt
        lastRendered = rendered
        return prompt
    }

    /// Records the reply to the last prompt: its text and the ids that made it.
    public func record(reply: String, tokens: [Int32]) {
        messages.append(["role": "assistant", "content": reply])
        heldTokens = lastPrompt + tokens
        heldText = lastRendered + reply
    }
}
