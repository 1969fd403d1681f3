/// How a model writes tool calls in its reply. Each family has its own markers and JSON shape;
/// `ToolCallStreamParser` turns a reply in one of them into OpenAI `tool_calls`.
public enum ToolCallFormat: String, Sendable, CaseIterable {
    /// Hermes 2 Pro, Hermes 3, Qwen 2.5 and Qwen 3: each call is a JSON object
    /// `{"name": ..., "arguments": {...}}` on its own line between `<tool_call>` and
    /// `</tool_call>`; text may come before, between and after the calls.
    case hermes
    /// Llama 3.1, 3.2 and 3.3 with custom tools: the whole reply is a JSON object
    /// `{"name": ..., "parameters": {...}}` (also `"arguments"`, a leading `"type": "function"`,
    /// or the OpenAI shape `{"type": "function", "function": {...}}`), optionally after
    /// `<|python_tag|>`; further calls may follow, separated by whitespace or `;`. A reply that
    /// does not begin that way is plain text.
    case llama3JSON = "llama3-json"
    /// Mistral: `[TOOL_CALLS]` followed by a JSON array of `{"name": ..., "arguments": {...}}`
    /// objects (Mistral Nemo, Small 3.0 and 3.1), or by `name[ARGS]{...}`, optionally
    /// `name[CALL_ID]id[ARGS]{...}`, with one `[TOOL_CALLS]` per call (Small 3.2, Devstral,
    /// Ministral 3).
    case mistral

    /// The format for a name given on a command line or in a request: a raw value, or a model
    /// family that uses it (`qwen`, `llama3`, `mistral-nemo`, ...).
    public init?(name: String) {
        let key = name.lowercased().replacingOccurrences(of: "_", with: "-")
        if let exact = ToolCallFormat(rawValue: key) {
            self = exact
            return
        }
        switch key {
        case "qwen", "qwen2.5", "qwen3", "hermes2", "hermes-2-pro", "hermes3": self = .hermes
        case "llama3", "llama-3", "llama3.1", "llama3.2", "llama3.3", "llama3json": self = .llama3JSON
        case "mistral-nemo", "mistral-small", "devstral", "ministral": self = .mistral
        default: return nil
        }
    }

    /// The ids servers give these calls: Mistral's templates accept only nine letters and
    /// digits when the call is rendered back into the conversation.
    public var callIDStyle: ToolCallIDStyle {
        self == .mistral ? .nineAlphanumerics : .openAI
    }

    /// Strings that begin a tool call anywhere in the reply. Llama 3.x calls are recognised at the
    /// start of the reply instead.
    var openingMarkers: [String] {
        switch self {
        case .hermes: return ["<tool_call>"]
        case .mistral: return ["[TOOL_CALLS]"]
        case .llama3JSON: return []
        }
    }
}
