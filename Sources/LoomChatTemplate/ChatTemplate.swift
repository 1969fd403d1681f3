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
    /// What parsing and each render may spend.
    public let limits: ChatTemplateLimits
    private let nodes: [JinjaNode]

    /// Parses `source`. Throws `ChatTemplateError.syntax` where jinja2 would fail to compile,
    /// `.unsupportedFeature` for Jinja features Loom does not implement (with the line), and
    /// `.limitExceeded` for a template nested deeper than `limits.depth`.
    public init(source: String, limits: ChatTemplateLimits = .standard) throws {
        self.source = source
        self.limits = limits
        self.nodes = try TemplateThread.run { try JinjaParser.parse(source, limits: limits) }
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
        try renderContext(Self.chatContext(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                                           eosToken: eosToken, tools: tools, extraContext: extraContext),
                          now: now, timeZone: timeZone)
    }

    /// The variables `render` gives the template.
    static func chatContext(messages: JinjaValue, addGenerationPrompt: Bool, bosToken: String? = nil, eosToken: String? = nil,
                            tools: JinjaValue? = nil, extraContext: [String: JinjaValue] = [:]) -> [String: JinjaValue] {
        var context: [String: JinjaValue] = [:]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        for (k, v) in extraContext { context[k] = v }
        context["messages"] = Self.droppingNullKeys(messages)
        context["tools"] = tools ?? JinjaValue.none
        context["documents"] = context["documents"] ?? JinjaValue.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        return context
    }

    /// Renders with exactly the given variables (plus the globals), for templates that are not
    /// chat templates or callers that build the context themselves.
    /// Throws `ChatTemplateError.limitExceeded` when the render reaches one of `limits`.
    public func renderContext(_ context: [String: JinjaValue], now: Date = Date(), timeZone: TimeZone = .current) throws -> String {
        try renderMeasured(context, now: now, timeZone: timeZone).text
    }

    /// The render, and the steps and deepest nesting it took.
    func renderMeasured(_ context: [String: JinjaValue], now: Date = Date(),
                        timeZone: TimeZone = .current) throws -> (text: String, steps: Int, depth: Int) {
        let globals = JinjaScope(parent: nil, variables: JinjaGlobals.make(now: now, timeZone: timeZone))
        let budget = JinjaBudget(limits: limits)
        let out = try TemplateThread.run {
            try JinjaBudget.$current.withValue(budget) {
                var out = ""
                _ = try JinjaEvaluator(budget: budget).render(nodes, scope: JinjaScope(parent: globals, variables: context), into: &out)
                return out
            }
        }
        return (out, budget.steps, budget.deepest)
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
