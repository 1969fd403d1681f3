import LoomGenerate

/// Splits a reply's text into content and tool calls as it is generated: deltas for a stream,
/// the whole for a response.
struct ReplyBuilder {
    /// A piece of a tool call in OpenAI's streaming shape; the first piece of a call carries its
    /// id and name, later pieces more of the arguments' JSON text.
    struct ToolCallPiece {
        var index: Int
        var id: String?
        var name: String?
        var arguments: String

        var object: [String: Any] {
            var function: [String: Any] = ["arguments": arguments]
            if let name { function["name"] = name }
            var out: [String: Any] = ["index": index, "function": function]
            if let id {
                out["id"] = id
                out["type"] = "function"
            }
            return out
        }
    }

    struct Parts {
        var content = ""
        var toolCalls: [ToolCallPiece] = []
    }

    /// Generated tokens, for log-probabilities of whole responses.
    var tokens: [GeneratedToken] = []
    private(set) var sawToolCalls = false
    private var pending = Parts()
    private var whole = Parts()

    init(parsesToolCalls: Bool, model: ServedModel) {}

    /// Takes newly generated text.
    mutating func push(_ text: String) {
        pending.content += text
        whole.content += text
    }

    /// What arrived since the last call.
    mutating func takeDeltas() -> Parts {
        defer { pending = Parts() }
        return pending
    }

    /// The generation has ended: for a stream, what is left to send; the whole reply is `whole`.
    mutating func finish() -> Parts {
        takeDeltas()
    }

    /// Everything: content and complete tool calls.
    var reply: Parts { whole }
}
