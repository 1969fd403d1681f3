/// A whole tool call, as in OpenAI's `choices[0].message.tool_calls`. Encodes to that shape:
/// `{"id": ..., "type": "function", "function": {"name": ..., "arguments": "..."}}`.
public struct ToolCall: Sendable, Equatable, Encodable {
    /// Its position in the response's stream of calls (the `index` of its deltas).
    public var index: Int
    public var id: String
    public var name: String
    /// The arguments as JSON text: OpenAI sends `function.arguments` as a string, and clients
    /// parse it themselves.
    public var arguments: String

    public init(index: Int, id: String, name: String, arguments: String) {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    private enum CodingKeys: String, CodingKey { case id, type, function }
    private enum FunctionKeys: String, CodingKey { case name, arguments }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("function", forKey: .type)
        var function = container.nestedContainer(keyedBy: FunctionKeys.self, forKey: .function)
        try function.encode(name, forKey: .name)
        try function.encode(arguments, forKey: .arguments)
    }
}

/// One piece of a streamed tool call, as in OpenAI's `choices[0].delta.tool_calls`. A call's
/// first delta carries its `id` and `name` (and encodes `"type": "function"`); later ones carry
/// only `index` and the next piece of `arguments`. The pieces, in order, make the arguments text.
public struct ToolCallDelta: Sendable, Equatable, Encodable {
    public var index: Int
    /// Set on the first delta of a call only.
    public var id: String?
    /// Set on the first delta of a call only.
    public var name: String?
    public var arguments: String

    public init(index: Int, id: String? = nil, name: String? = nil, arguments: String) {
        self.index = index
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    private enum CodingKeys: String, CodingKey { case index, id, type, function }
    private enum FunctionKeys: String, CodingKey { case name, arguments }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        if let id {
            try container.encode(id, forKey: .id)
            try container.encode("function", forKey: .type)
        }
        var function = container.nestedContainer(keyedBy: FunctionKeys.self, forKey: .function)
        try function.encodeIfPresent(name, forKey: .name)
        try function.encode(arguments, forKey: .arguments)
    }
}

/// What the parser lets out as the reply streams: text for `delta.content`, or a piece of a
/// tool call for `delta.tool_calls`.
public enum ToolCallStreamEvent: Sendable, Equatable {
    case content(String)
    case toolCall(ToolCallDelta)
}

/// The reply once generation has ended, for a non-streaming response (`message.content` and
/// `message.tool_calls`) and for the last streamed chunk's `finish_reason`.
public struct ToolCallParseResult: Sendable, Equatable {
    /// The text outside tool calls. Whitespace between text and a call is dropped.
    public var content: String
    public var toolCalls: [ToolCall]
    /// A tool-call marker (or, for Llama 3.x, the start of a call) was followed by text that
    /// is not a valid call; that text is in `content`, as llama-server returns it. With `.incremental` argument streaming, deltas of
    /// such a call may already have been sent: its index is then missing from `toolCalls`.
    public var hadMalformedCall: Bool

    public init(content: String, toolCalls: [ToolCall], hadMalformedCall: Bool) {
        self.content = content
        self.toolCalls = toolCalls
        self.hadMalformedCall = hadMalformedCall
    }

    /// OpenAI's `finish_reason` for a generation that ended for `reason`: `tool_calls` when the
    /// model stopped by itself after calling tools (a reply cut off by `max_tokens` stays
    /// `length`), otherwise the generation's reason.
    public func openAIFinishReason(for reason: FinishReason) -> String {
        reason == .stop && !toolCalls.isEmpty ? "tool_calls" : reason.rawValue
    }
}
