import Foundation
import Hummingbird
import LoomChatTemplate
import LoomGenerate

/// `POST /v1/chat/completions` and `POST /v1/completions`.
struct CompletionEndpoints: Sendable {
    let state: ServerState
    let metrics: ServerMetrics
    let configuration: ServerConfiguration
    let hangUps: HangUps

    func chat(_ body: RequestFields, context: ServerContext) async throws(APIError) -> Response {
        let (model, ticket) = try state.admit()
        var ended = false
        defer { if !ended { state.ended(ticket) } }
        let relay = try Self.chatRelay(body, model: model, configuration: configuration, metrics: metrics)
        ended = true
        return try await respond(relay, ticket: ticket, context: context)
    }

    func completion(_ body: RequestFields, context: ServerContext) async throws(APIError) -> Response {
        let (model, ticket) = try state.admit()
        var ended = false
        defer { if !ended { state.ended(ticket) } }
        let relay = try Self.completionRelay(body, model: model, configuration: configuration, metrics: metrics)
        ended = true
        return try await respond(relay, ticket: ticket, context: context)
    }

    /// Everything a chat request asks for, checked, up to the generation: the rendered prompt,
    /// its tokens, the sampling and stopping, a required call's grammar.
    static func chatRelay(_ body: RequestFields, model: ServedModel, configuration: ServerConfiguration,
                          metrics: ServerMetrics) throws(APIError) -> CompletionRelay {
        let rendered = try ChatPrompt.render(body, model: model)
        var prompt = model.tokenizer.encode(rendered.text, parseSpecial: true, addBOS: false)
        // A forced call whose marker is a control token starts in the prompt (ToolCallGrammar.prefill).
        let prefill = rendered.requiredTools == nil ? nil : model.toolCallFormat.flatMap(ToolCallGrammar.prefill)
        if let prefill { prompt += model.tokenizer.encode(prefill, parseSpecial: true, addBOS: false) }
        var fields = try generationFields(body, model: model, configuration: configuration, prompt: prompt, param: "messages")
        if let required = rendered.requiredTools {
            fields.options.grammar = try toolCallGrammar(required, fields: fields, model: model)
        }
        return CompletionRelay(kind: .chat, model: model, fields: fields, prompt: prompt, toolNames: rendered.toolNames,
                               toolCallLimit: rendered.toolCallLimit, replyPrefix: prefill, metrics: metrics)
    }

    /// Everything a text completion asks for, checked, up to the generation.
    static func completionRelay(_ body: RequestFields, model: ServedModel, configuration: ServerConfiguration,
                                metrics: ServerMetrics) throws(APIError) -> CompletionRelay {
        if body.has("suffix") { throw .invalid("suffix", "fill-in-the-middle is not supported") }
        let (prompt, text) = try promptTokens(body, model: model)
        let fields = try generationFields(body, model: model, configuration: configuration, prompt: prompt, param: "prompt")
        let echo = try body.bool("echo") == true ? text : nil
        return CompletionRelay(kind: .text, model: model, fields: fields, prompt: prompt, echo: echo, metrics: metrics)
    }

    /// A text completion's prompt: a string, a list of token ids, or a list holding one of those.
    private static func promptTokens(_ body: RequestFields, model: ServedModel) throws(APIError) -> ([Int32], String) {
        var value = body.value("prompt")
        if case .array(let items)? = value, items.count == 1, isPrompt(items[0]) { value = items[0] }
        switch value {
        case nil: throw .invalid("prompt", "is required")
        case .string(let text)?:
            return (model.generator.encode(text, parseSpecial: true), text)
        case .array(let items)?:
            var ids: [Int32] = []
            for (i, item) in items.enumerated() {
                guard case .int(let id) = item else {
                    throw .invalid("prompt", "must be a string, a list of token ids, or a list with one of those (one prompt per request); item \(i) is not a token id")
                }
                guard id >= 0 && id < model.tokenizer.vocabularySize else {
                    throw .invalid("prompt[\(i)]", "token \(id) is outside the vocabulary of \(model.tokenizer.vocabularySize)")
                }
                ids.append(Int32(id))
            }
            return (ids, model.tokenizer.decode(ids))
        default:
            throw .invalid("prompt", "must be a string or a list of token ids")
        }
    }

    private static func isPrompt(_ value: JinjaValue) -> Bool {
        switch value {
        case .string, .array: return true
        default: return false
        }
    }

    /// The grammar that makes the reply a call to one of `tools` (`tool_choice` "required" or
    /// a named function).
    private static func toolCallGrammar(_ tools: [JinjaValue], fields: GenerationFields, model: ServedModel) throws(APIError) -> Grammar {
        guard fields.options.grammar == nil else {
            throw .invalid("tool_choice", "a required tool call cannot be combined with response_format, grammar, json_schema or regex")
        }
        guard let format = model.toolCallFormat else {
            throw .invalid("tool_choice", "the model's tool-call format is not known (see --tool-call-format), so a call cannot be required")
        }
        do {
            return try ToolCallGrammar.forcing(tools, format: format)
        } catch {
            throw .invalid("tool_choice", error.description)
        }
    }

    /// Sampling and stopping for a prompt, with `max_tokens` bounded by the context left.
    private static func generationFields(_ body: RequestFields, model: ServedModel, configuration: ServerConfiguration, prompt: [Int32],
                                         param: String) throws(APIError) -> GenerationFields {
        var fields = try GenerationFields(body, defaults: configuration.sampling, speculation: model.speculation ?? configuration.speculation, vocabularySize: model.generator.model.vocabularySize,
                                          chat: param == "messages")
        guard !prompt.isEmpty else { throw .invalid(param, "the prompt has no tokens") }
        let room = model.context - prompt.count
        guard room > 0 else {
            var error = APIError.badRequest("the prompt has \(prompt.count) tokens and the context holds \(model.context) per sequence (--max-seq-len); no room to generate",
                                            code: "context_length_exceeded")
            error.param = param
            throw error
        }
        fields.options.maxTokens = min(fields.maxTokens ?? room, room)
        return fields
    }

    private func respond(_ relay: CompletionRelay, ticket: Int, context: ServerContext) async throws(APIError) -> Response {
        let stream: GenerationStream
        do {
            stream = try GenerationStream.start(relay.model, prompt: relay.prompt, options: relay.fields.options)
        } catch {
            state.ended(ticket)
            throw error
        }
        state.started(ticket, stream.handle)
        let (state, metrics, hangUps, handle, channel) = (self.state, self.metrics, self.hangUps, stream.handle, context.channel)
        // A client that hangs up before its reply is done cancels the generation, streamed or not.
        let watch = hangUps.watch(channel) {
            if !handle.hasEnded { metrics.disconnected() }
            handle.cancel()
        }
        handle.whenEnded { _ in
            state.ended(ticket)
            hangUps.forget(channel, watch)
        }
        if relay.fields.stream { return relay.stream(stream) }
        return try await relay.collect(stream)
    }
}

/// A request body checked as its endpoint checks it, without generating anything: what
/// `loom serve` would answer 400 to (for fuzzing the request path, and for tools that validate
/// requests ahead of sending them).
public enum RequestCheck {
    public enum Endpoint: Sendable { case chatCompletions, completions }

    /// The relays built here never run: one set of counters serves every check.
    private static let metrics = ServerMetrics()

    /// Nil when `body` would start a generation on `model`; else the error it gets, with its
    /// HTTP status.
    public static func problem(_ body: [UInt8], endpoint: Endpoint, model: ServedModel,
                               configuration: ServerConfiguration = ServerConfiguration()) -> (status: Int, message: String)? {
        do {
            let fields = try RequestFields(body: body)
            switch endpoint {
            case .chatCompletions: _ = try CompletionEndpoints.chatRelay(fields, model: model, configuration: configuration, metrics: metrics)
            case .completions: _ = try CompletionEndpoints.completionRelay(fields, model: model, configuration: configuration, metrics: metrics)
            }
            return nil
        } catch {
            return (Int(error.status.code), error.message)
        }
    }
}
