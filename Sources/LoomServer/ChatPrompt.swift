import LoomChatTemplate

/// A chat request's conversation, rendered in the model's chat template.
struct ChatPrompt {
    /// The rendered text, specials and all.
    var text: String
    /// Whether tools were rendered (so the reply is parsed for tool calls).
    var hasTools: Bool

    /// Renders `messages` (and `tools`, unless `tool_choice` is "none") with the generation prompt.
    /// `chat_template_kwargs` (an object) passes further variables, such as `enable_thinking`.
    static func render(_ body: RequestFields, model: ServedModel) throws(APIError) -> ChatPrompt {
        guard let items = try body.array("messages") else { throw .invalid("messages", "is required") }
        guard !items.isEmpty else { throw .invalid("messages", "must hold at least one message") }
        let messages = try items.enumerated().map { (i, item) throws(APIError) in try templateMessage(item, index: i) }

        var tools = try body.array("tools")
        if let tools, let i = tools.firstIndex(where: { if case .dict = $0 { return false } else { return true } }) {
            throw .invalid("tools[\(i)]", "must be an object")
        }
        switch body.value("tool_choice") {
        case nil: break
        case .string("none")?: tools = nil
        case .string("auto")?, .string("required")?: break
        case .dict(let choice)?:
            let choiceFields = RequestFields(fields: choice, path: "tool_choice.")
            guard let function = try choiceFields.object("function"), let name = try function.string("name") else {
                throw .invalid("tool_choice", "must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}")
            }
            let chosen = (tools ?? []).filter { toolName($0) == name }
            guard !chosen.isEmpty else { throw .invalid("tool_choice.function.name", "no tool named \(name) in tools") }
            tools = chosen
        default:
            throw .invalid("tool_choice", "must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}")
        }
        if tools?.isEmpty == true { tools = nil }

        var extra: [String: JinjaValue] = [:]
        if let kwargs = try body.object("chat_template_kwargs") {
            for (key, value) in kwargs.fields.pairs { extra[key.jsonText] = value }
        }
        guard let template = tools == nil ? model.chatTemplate : model.toolTemplate else {
            throw .badRequest("chat completions need a chat template: \(model.chatTemplateProblem ?? "none found"); use /v1/completions",
                              code: "no_chat_template")
        }
        do {
            let text = try template.render(messages: .array(messages), addGenerationPrompt: true, bosToken: model.chatSpecials.bos,
                                           eosToken: model.chatSpecials.eos, tools: tools.map { .array($0) }, extraContext: extra)
            return ChatPrompt(text: text, hasTools: tools != nil)
        } catch {
            // A template that raises (a role it does not know, alternation it insists on) is the request's fault.
            throw .badRequest("the model's chat template refused the conversation: \(error)", code: "template_error")
        }
    }

    private static func toolName(_ tool: JinjaValue) -> String? {
        guard case .dict(let d) = tool, case .dict(let function)? = d["function"], case .string(let name)? = function["name"] else { return nil }
        return name
    }

    /// One message as templates expect it: text parts joined into a string, and tool-call
    /// arguments (a JSON string in OpenAI's API) parsed into an object, as templates print them
    /// with `tojson`.
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
            out = out.replacing("content", with: .string(text.joined(separator: "\n")))
        default:
            throw .invalid(path + ".content", "must be a string or a list of text parts")
        }
        if let calls = try fields.array("tool_calls") {
            var parsed: [JinjaValue] = []
            for (k, call) in calls.enumerated() {
                let callPath = "\(path).tool_calls[\(k)]"
                guard case .dict(var c) = call else { throw .invalid(callPath, "must be an object") }
                guard case .dict(var function)? = c["function"] else { throw .invalid(callPath + ".function", "is required") }
                guard case .string? = function["name"] else { throw .invalid(callPath + ".function.name", "must be a string") }
                if case .string(let arguments)? = function["arguments"] {
                    let object = (try? JinjaJSON.parse(arguments)) ?? .string(arguments)
                    function = function.replacing("arguments", with: object)
                }
                c = c.replacing("function", with: .dict(function))
                parsed.append(.dict(c))
            }
            out = out.replacing("tool_calls", with: .array(parsed))
        }
        return .dict(out)
    }
}

extension JinjaDict {
    /// The dict with `key` set to `value` (in place if present, else appended).
    func replacing(_ key: String, with value: JinjaValue) -> JinjaDict {
        var pairs = self.pairs
        if let i = pairs.firstIndex(where: { $0.0 == .string(key) }) {
            pairs[i].1 = value
        } else {
            pairs.append((.string(key), value))
        }
        return JinjaDict(pairs)
    }
}
