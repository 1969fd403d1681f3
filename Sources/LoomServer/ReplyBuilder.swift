import LoomGenerate

/// Splits a reply's text into content and tool calls as it is generated (the model's own
/// tool-call format, when tools were given): deltas for a stream, the whole for a response.
struct ReplyBuilder {
    struct Parts {
        var content = ""
        var toolCalls: [ToolCallDelta] = []
    }

    /// Generated tokens, for the log-probabilities of whole responses.
    var tokens: [GeneratedToken] = []
    private var parser: ToolCallStreamParser?
    private var pending = Parts()
    private var result: ToolCallParseResult?
    private var plainContent = ""
    private let callLimit: Int?

    /// - Parameters:
    ///   - toolNames: the tools given to the model, or nil when none were (or the model has no
    ///     format Loom parses): the reply is then all content.
    ///   - streaming: a stream sends each call's arguments as they come; a whole response needs
    ///     only the result.
    ///   - callLimit: calls after the first `callLimit` are dropped (`parallel_tool_calls: false`);
    ///     nil keeps every call.
    ///   - prefix: text that precedes the generated text for the parser only (a call marker
    ///     that ended the prompt); never part of the content.
    init(toolNames: Set<String>?, format: ToolCallFormat?, streaming: Bool, callLimit: Int? = nil, prefix: String? = nil) {
        self.callLimit = callLimit
        if let toolNames, let format {
            parser = ToolCallStreamParser(format: format, argumentStreaming: streaming ? .incremental : .wholeCalls, toolNames: toolNames)
            if let prefix { take(parser!.feed(prefix)) }
        }
    }

    /// Takes newly generated text.
    mutating func push(_ text: String) {
        guard parser != nil else {
            pending.content += text
            plainContent += text
            return
        }
        take(parser!.feed(text))
    }

    private mutating func take(_ events: [ToolCallStreamEvent]) {
        for event in events {
            switch event {
            case .content(let text): pending.content += text
            case .toolCall(let delta) where delta.index < (callLimit ?? Int.max): pending.toolCalls.append(delta)
            case .toolCall: break
            }
        }
    }

    /// What arrived since the last call.
    mutating func takeDeltas() -> Parts {
        defer { pending = Parts() }
        return pending
    }

    /// The generation has ended: what is left to send. `content` and `toolCalls` then hold the whole reply.
    mutating func finish() -> Parts {
        if var parser {
            let (events, result) = parser.finish()
            take(events)
            var kept = result
            if let callLimit { kept.toolCalls = Array(kept.toolCalls.prefix(callLimit)) }
            self.result = kept
            self.parser = parser
        }
        return takeDeltas()
    }

    var content: String { result?.content ?? plainContent }
    var toolCalls: [ToolCall] { result?.toolCalls ?? [] }

    /// OpenAI's finish reason: `tool_calls` when the model stopped after calling tools.
    func finishReason(_ reason: FinishReason) -> String {
        // Only a shutdown cancels a generation whose client is still there; its reply simply ends.
        if reason == .cancelled { return "stop" }
        return result?.openAIFinishReason(for: reason) ?? reason.rawValue
    }
}
