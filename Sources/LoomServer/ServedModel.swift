import Foundation
import LoomChatTemplate
import LoomGenerate
import LoomRuntime
import LoomTokenizer

/// The model a server answers with: its generator (over the continuous-batching scheduler),
/// tokenizer and chat templates.
public final class ServedModel: Sendable {
    /// The id `/v1/models` lists and responses carry.
    public let name: String
    public let generator: Generator
    public let engine: Engine?
    /// Templates parsed once: without and with tools (they differ for models with a
    /// `tool_use` template).
    let chatTemplate: ChatTemplate?
    let toolTemplate: ChatTemplate?
    let chatSpecials: (bos: String?, eos: String?)
    /// Whether each template wants an assistant's earlier tool-call arguments as objects.
    let chatObjectArguments: Bool
    let toolObjectArguments: Bool
    /// How the model writes tool calls, when its template has a format Loom parses.
    public let toolCallFormat: ToolCallFormat?
    /// Why the model has no chat template, for the error a chat request gets.
    let chatTemplateProblem: String?
    /// When the model was loaded, for `/v1/models`.
    let created: Int
    /// The sentence encoder `/v1/embeddings` answers with, when the server has one.
    public let embedder: Embedder?
    /// The id the encoder is listed and answers under.
    public let embeddingName: String
    /// Speculation for requests that do not say, when it comes with the model (a draft model,
    /// loaded beside it); else the server configuration's.
    public let speculation: Speculation?

    /// The draft model's page pool, when the model comes with one: its pages are planned beside
    /// the target's and held while requests draft.
    var draftPages: PagePool? {
        speculation?.draftModel?.engine.pages
    }

    /// - Parameters:
    ///   - chat: the model's chat templates, or nil when it has none (chat requests then fail
    ///     with `chatTemplateProblem`).
    ///   - toolCallFormatName: how replies write tool calls (`ToolCallFormat`), when the template
    ///     does not make it plain; nil detects it from the template.
    ///   - embedder: a sentence encoder for `/v1/embeddings`, served as `embeddingName` (default:
    ///     its directory's name).
    ///   - speculation: the default for requests, when it needs the loaded model (a draft).
    public init(name: String, generator: Generator, engine: Engine?, chat: ModelChatTemplate?, chatTemplateProblem: String? = nil,
                templateName: String? = nil, toolCallFormatName: String? = nil,
                embedder: Embedder? = nil, embeddingName: String? = nil, speculation: Speculation? = nil) throws {
        self.speculation = speculation
        self.name = name
        self.generator = generator
        self.engine = engine
        chatTemplate = try chat?.template(named: templateName)
        toolTemplate = try chat?.template(named: templateName, hasTools: true)
        chatSpecials = (chat?.bosToken, chat?.eosToken)
        chatObjectArguments = chatTemplate.map(ToolCallTemplateInput.templateTakesObjectArguments) ?? false
        toolObjectArguments = toolTemplate.map(ToolCallTemplateInput.templateTakesObjectArguments) ?? false
        toolCallFormat = try toolTemplate.flatMap { try ToolCallFormat.resolve(override: toolCallFormatName, template: $0) }
        self.chatTemplateProblem = chat == nil ? (chatTemplateProblem ?? "the model has no chat template") : nil
        created = Int(Date().timeIntervalSince1970)
        self.embedder = embedder
        self.embeddingName = embeddingName ?? embedder.map { URL(fileURLWithPath: $0.path).lastPathComponent } ?? name
    }

    var tokenizer: Tokenizer { generator.tokenizer }
    /// Positions one sequence holds.
    var context: Int { generator.model.capacity }
}

