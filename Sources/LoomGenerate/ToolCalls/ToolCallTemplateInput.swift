import Foundation
import LoomChatTemplate

/// Why an OpenAI request's messages or tools cannot be given to a chat template.
public enum ToolCallInputError: Error, Equatable, CustomStringConvertible {
    /// `messages` is not an array.
    case messagesNotAnArray
    /// `messages[message].tool_calls[call].function.arguments` is a string that is not JSON.
    case argumentsNotJSON(message: Int, call: Int, JinjaJSON.ParseError)
    /// `tool_choice` names a function that is not in `tools`.
    case unknownToolChoice(String)
    /// `tool_choice` is neither `none`, `auto`, `required` nor `{"type": "function", "function": {"name": ...}}`.
    case invalidToolChoice

    public var description: String {
        switch self {
        case .messagesNotAnArray: return "messages: expected an array"
        case let .argumentsNotJSON(message, call, error):
            return "messages[\(message)].tool_calls[\(call)].function.arguments: \(error)"
        case .unknownToolChoice(let name): return "tool_choice: no tool named '\(name)' in tools"
        case .invalidToolChoice: return "tool_choice: expected \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}"
        }
    }
}

/// What a chat template needs from an OpenAI chat-completion request that uses tools.
///
/// OpenAI clients send an assistant's earlier calls with `function.arguments` as a JSON string
/// and often `content: null`, but most templates print the arguments with `tojson` or loop over
/// them, so they need an object, and some concatenate `content` as a string. llama.cpp fixes
/// both before rendering; these functions do the same.
///
/// ```swift
/// let objectArguments = ToolCallTemplateInput.templateTakesObjectArguments(template)  // once per template
/// let messages = try ToolCallTemplateInput.messages(try JinjaJSON.parse(messagesJSON), objectArguments: objectArguments)
/// let tools = try ToolCallTemplateInput.tools(try JinjaJSON.parse(toolsJSON), toolChoice: toolChoice)
/// let prompt = try template.render(messages: messages, addGenerationPrompt: true, tools: tools)
/// ```
public enum ToolCallTemplateInput {
    /// The request's `messages` as templates expect them: in assistant messages with
    /// `tool_calls`, a missing or null `content` becomes "", and when `objectArguments` each
    /// string `function.arguments` is parsed (keys kept in order). Everything else is unchanged.
    public static func messages(_ messages: JinjaValue, objectArguments: Bool) throws -> JinjaValue {
        guard case .array(let items) = messages else { throw ToolCallInputError.messagesNotAnArray }
        var result: [JinjaValue] = []
        for (messageIndex, item) in items.enumerated() {
            guard case .dict(var message) = item, case .array(let calls)? = message["tool_calls"] else {
                result.append(item)
                continue
            }
            switch message["content"] {
            case nil, .none?: message["content"] = .string("")
            default: break
            }
            if objectArguments {
                message["tool_calls"] = .array(try calls.enumerated().map { callIndex, call in
                    try parsingArguments(of: call, message: messageIndex, call: callIndex)
                })
            }
            result.append(.dict(message))
        }
        return .array(result)
    }

    /// `messages(_:objectArguments:)` with the choice made for `template`.
    public static func messages(_ messages: JinjaValue, for template: ChatTemplate) throws -> JinjaValue {
        try self.messages(messages, objectArguments: templateTakesObjectArguments(template))
    }

    /// Whether `template` wants tool-call arguments as objects rather than JSON strings.
    ///
    /// llama.cpp finds out by rendering a conversation with object arguments and seeing whether
    /// the template reads them; Loom renders the same conversation and looks at the output. A
    /// template that fails on an object, or prints it as a Python dict (`{'a': 'b'}`), wants
    /// the string; one that writes the value out (through `tojson` or a loop over the items)
    /// wants the object. A template that ignores the arguments gets them as sent.
    public static func templateTakesObjectArguments(_ template: ChatTemplate) -> Bool {
        let probeValue = "loom_probe_value"
        guard let output = try? template.render(messages: probeConversation(argumentValue: probeValue), addGenerationPrompt: false,
                                                bosToken: "<s>", eosToken: "</s>", tools: probeTools) else { return false }
        return output.contains(probeValue) && !output.contains("'\(probeValue)'")
    }

    /// The `tools` to render, given the request's `tools` and `tool_choice`: nil for no tools or
    /// `"none"` (the template then writes no tool instructions); only the named tool for a
    /// `{"type": "function", "function": {"name": ...}}` choice; all of them for `"auto"` and
    /// `"required"`. The template cannot force a call: `"required"` and a named choice need
    /// constrained sampling to be guaranteed.
    public static func tools(_ tools: JinjaValue?, toolChoice: JinjaValue?) throws -> JinjaValue? {
        guard case .array(let all)? = tools, !all.isEmpty else { return nil }
        switch toolChoice {
        case nil, .none?, .string("auto")?, .string("required")?:
            return .array(all)
        case .string("none")?:
            return nil
        case .dict(let choice)?:
            guard case .dict(let function)? = choice["function"], case .string(let name)? = function["name"] else {
                throw ToolCallInputError.invalidToolChoice
            }
            let chosen = all.filter { tool in
                guard case .dict(let t) = tool, case .dict(let f)? = t["function"], case .string(let n)? = f["name"] else { return false }
                return n == name
            }
            guard !chosen.isEmpty else { throw ToolCallInputError.unknownToolChoice(name) }
            return .array(chosen)
        default:
            throw ToolCallInputError.invalidToolChoice
        }
    }

    private static func parsingArguments(of call: JinjaValue, message: Int, call callIndex: Int) throws -> JinjaValue {
        guard case .dict(var c) = call, case .dict(var function)? = c["function"], case .string(let text)? = function["arguments"] else {
            return call
        }
        do {
            function["arguments"] = try JinjaJSON.parse(text)
        } catch let error as JinjaJSON.ParseError {
            throw ToolCallInputError.argumentsNotJSON(message: message, call: callIndex, error)
        }
        c["function"] = .dict(function)
        return .dict(c)
    }

    /// The conversation llama.cpp probes templates with: a call, its result, an answer and a new
    /// question. The id has nine characters because Mistral's templates accept no other length.
    private static func probeConversation(argumentValue: String) -> JinjaValue {
        func message(_ pairs: [(String, JinjaValue)]) -> JinjaValue { .dict(JinjaDict(pairs.map { (.string($0.0), $0.1) })) }
        let arguments = message([("loom_probe_argument", .string(argumentValue))])
        let call = message([("id", .string("call00001")), ("type", .string("function")),
                            ("function", message([("name", .string("loom_probe_tool")), ("arguments", arguments)]))])
        return .array([
            message([("role", .string("user")), ("content", .string("User message"))]),
            message([("role", .string("assistant")), ("content", .string("")), ("tool_calls", .array([call]))]),
            message([("role", .string("tool")), ("tool_call_id", .string("call00001")), ("content", .string("Tool response"))]),
            message([("role", .string("assistant")), ("content", .string("The tool response was 'tool response'"))]),
            message([("role", .string("user")), ("content", .string("User message"))]),
        ])
    }

    private static let probeTools: JinjaValue = {
        let json = #"[{"type": "function", "function": {"name": "loom_probe_tool", "description": "Tool description", "parameters": {"type": "object", "properties": {"loom_probe_argument": {"type": "string", "description": "Arg description"}}, "required": ["loom_probe_argument"]}}}]"#
        return (try? JinjaJSON.parse(json)) ?? .array([])
    }()
}
