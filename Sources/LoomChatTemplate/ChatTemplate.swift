import Foundation

/// A chat template (the Jinja `chat_template` of tokenizer_config.json or GGUF
/// `tokenizer.chat_template`), rendered as transformers' `apply_chat_template` renders it:
/// jinja2 with `trim_blocks`, `lstrip_blocks`, loop controls, `raise_exception`,
/// `strftime_now` and transformers' `tojson`.
///
/// ```swift
/// let template = try ChatTemplate(source: source)
/// let prompt = try template.render(messages: try JinjaJSON.parse(json), addGenerationPrompt: true,
///                                  bosToken: "<s>", eosToken: "</s>")
/// ```
public struct ChatTemplate: Sendable {
    /// The template text as given.
    public let source: String
    private let nodes: [JinjaNode]

    /// Parses `source`. Throws `ChatTemplateError.syntax` where jinja2 would fail to compile, and
    /// `.unsupportedFeature` for Jinja features Loom does not implement (with the line).
    public init(source: String) throws {
        self.source = source
        self.nodes = try JinjaParser.parse(source)
    }

    /// Renders a conversation.
    /// - Parameters:
    ///   - messages: the `messages` array: dicts with `role`, `content` and optional `tool_calls`,
    ///     `name`, `tool_call_id`. Keys whose value is null are dropped, as transformers does.
    ///   - addGenerationPrompt: end with the header that starts an assistant turn.
    ///   - tools: JSON-schema tool definitions, or nil (templates then see `tools` as none).
    ///   - extraContext: further variables (`enable_thinking`, `documents`, ...); they override the
    ///     special tokens but not `messages`, `tools` or `add_generation_prompt`.
    ///   - now: the time `strftime_now` reports, in `timeZone`.
    /// - Throws: `ChatTemplateError`, naming the line, when the template raises or fails.
    public func render(messages: JinjaValue, addGenerationPrompt: Bool, bosToken: String? = nil, eosToken: String? = nil,
                       tools: JinjaValue? = nil, extraContext: [String: JinjaValue] = [:],
                       now: Date = Date(), timeZone: TimeZone = .current) throws -> String {
        var context: [String: JinjaValue] = [:]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        for (k, v) in extraContext { context[k] = v }
        context["messages"] = Self.droppingNullKeys(messages)
        context["tools"] = tools ?? JinjaValue.none
        context["documents"] = context["documents"] ?? JinjaValue.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        return try renderContext(context, now: now, timeZone: timeZone)
    }

    /// Renders with exactly the given variables (plus the globals), for templates that are not
    /// chat templates or callers that build the context themselves.
    public func renderContext(_ context: [String: JinjaValue], now: Date = Date(), timeZone: TimeZone = .current) throws -> String {
        let globals = JinjaScope(parent: nil, variables: JinjaGlobals.make(now: now, timeZone: timeZone))
        var out = ""
        _ = try JinjaEvaluator().render(nodes, scope: JinjaScope(parent: globals, variables: context), into: &out)
        return out
    }

    /// transformers drops message keys whose value is None before rendering.
    private static func droppingNullKeys(_ messages: JinjaValue) -> JinjaValue {
        guard case .array(let items) = messages else { return messages }
        return .array(items.map { item in
            guard case .dict(let d) = item else { return item }
            return .dict(JinjaDict(d.pairs.filter { if case .none = $0.1 { return false } else { return true } }))
        })
    }
}

extension JinjaNode: @unchecked Sendable {}
