import LoomChatTemplate
import LoomGenerate

/// A chat request's conversation, rendered in the model's chat template.
struct ChatPrompt {
    /// The rendered text, specials and all.
    var text: String
    /// The names of the tools rendered, or nil when none were (the reply is then not parsed for calls).
    var toolNames: Set<String>?
    /// The tools one of which the reply must call (`tool_choice` "required" or a named
    /// function); nil when the model may answer in text.
    var requiredTools: [JinjaValue]?
    /// At most this many calls are returned (`parallel_tool_calls: false` is 1); nil for any.
    var toolCallLimit: Int?

    /// Renders `messages` (and `tools`, unless `tool_choice` is "none") with the generation prompt.
    /// `chat_template_kwargs` (an object) passes further variables, such as `enable_thinking`.
    static func render(_ body: RequestFields, model: ServedModel) throws(APIError) -> ChatPrompt {
        guard let items = try body.array("messages") else { throw .invalid("messages", "is required") }
        guard !items.isEmpty else { throw .invalid("messages", "must hold at least one message") }
        let messages = try items.enumerated().map { (i, item) throws(APIError) in try templateMessage(item, index: i) }

        let requested = try body.array("tools")
        if let requested, let i = requested.firstIndex(where: { toolName($0) == nil }) {
            throw .invalid("tools[\(i)]", "must be {\"type\": \"function\", \"function\": {\"name\": ...}}")
        }
        let tools: JinjaValue?
        do {
            tools = try ToolCallTemplateInput.tools(requested.map { .array($0) }, toolChoice: body.value("tool_choice"))
        } catch {
            throw .invalid("tool_choice", "\(error)".replacingOccurrences(of: "tool_choice: ", with: ""))
        }

        var extra: [String: JinjaValue] = [:]
        // Templates that describe parallel calls read it, as llama-server passes it.
        let parallel = try body.bool("parallel_tool_calls")
        if let parallel { extra["parallel_tool_calls"] = .bool(parallel) }
        if let kwargs = try body.object("chat_template_kwargs") {
            for (key, value) in kwargs.fields.pairs { extra[key.jsonText] = value }
        }
        guard let template = tools == nil ? model.chatTemplate : model.toolTemplate else {
            throw .badRequest("chat completions need a chat template: \(model.chatTemplateProblem ?? "none found"); use /v1/completions",
                              code: "no_chat_template")
        }
        let prepared: JinjaValue
        do {
            prepared = try ToolCallTemplateInput.messages(.array(messages), objectArguments: tools == nil ? model.chatObjectArguments
                                                                                                        : model.toolObjectArguments)
        } catch {
            throw .badRequest("\(error)", code: "invalid_tool_call")
        }
        do {
            let text = try template.render(messages: prepared, addGenerationPrompt: true, bosToken: model.chatSpecials.bos,
                                           eosToken: model.chatSpecials.eos, tools: tools, extraContext: extra)
            var names: Set<String>?
            var required: [JinjaValue]?
            if case .array(let rendered)? = tools {
                names = Set(rendered.compactMap(toolName))
                switch body.value("tool_choice") {
                case .string("required")?, .dict?: required = rendered
                default: break
                }
            }
            return ChatPrompt(text: text, toolNames: names, requiredTools: required, toolCallLimit: parallel == false ? 1 : nil)
        } catch {
            // A template that raises (a role it does not know, alternation it insists on) is the request's fault.
            throw .badRequest("the model's chat template refused the conversation: \(error)", code: "template_error")
        }
    }

    private static func toolName(_ tool: JinjaValue) -> String? {
        guard case .dict(let d) = tool, case .dict(let function)? = d["function"], case .string(let name)? = function["name"] else { return nil }
        return name
    }

    /// One message checked, with its text parts joined into a string (tool calls are prepared
    /// for the template by `ToolCallTemplateInput`).
    static func templateMessage(_ item: JinjaValue, index: Int) throws(APIError) -> JinjaValue {
        let path = "messages[\(index)]"
        guard case .dict(let message) = item else { throw .invalid(path, "must be an object") }
        let fields = RequestFields(fields: message, path: path + ".")
        guard let role = try fields.string("role") else { throw .invalid(path + ".role", "is required") }
        guard ["system", "developer", "user", "assistant", "tool", "function"].contains(role) else {
            throw .invalid(path + ".role", "must be system, developer, user, assistant or tool, got \(role)")
        }
        var out = message
        switch fields.value("content") {
        case nil:
            guard role == "assistant" else { throw .invalid(path + ".content", "is required") }
        case .string?: break
        case .array(let parts)?:
            var text: [String] = []
            for (j, part) in parts.enumerated() {
                let partPath = "\(path).content[\(j)]"
                guard case .dict(let p) = part else { throw .invalid(partPath, "must be an object") }
                let partFields = RequestFields(fields: p, path: partPath + ".")
                let type = try partFields.string("type") ?? "text"
                guard type == "text" else { throw .invalid(partPath + ".type", "\(type) parts are not supported; this model reads text only") }
                guard let t = try partFields.string("text") else { throw .invalid(partPath + ".text", "is required") }
                text.append(t)
            }
            out["content"] = .string(text.joined(separator: "\n"))
        default:
            throw .invalid(path + ".content", "must be a string or a list of text parts")
        }
        if let calls = try fields.array("tool_calls") {
            for (k, call) in calls.enumerated() {
                let callPath = "\(path).tool_calls[\(k)]"
                guard case .dict(let c) = call else { throw .invalid(callPath, "must be an object") }
                guard case .dict(let function)? = c["function"] else { throw .invalid(callPath + ".function", "is required") }
                guard case .string? = function["name"] else { throw .invalid(callPath + ".function.name", "must be a string") }
            }
        }
        return .dict(out)
    }
}
