import LoomChatTemplate

/// The grammar of one tool call in a format, for `tool_choice` "required" or a named function:
/// the reply is then a call, to one of `tools`, whose arguments are an instance of that tool's
/// `parameters` schema.
public enum ToolCallGrammar {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// A tool's `parameters` schema cannot be turned into a grammar.
        case parameters(tool: Int, GrammarError)

        public var description: String {
            switch self {
            case let .parameters(tool, error):
                return "tools[\(tool)].function.parameters: \(error)"
            }
        }
    }

    /// A grammar for one call to one of `tools` (OpenAI's `[{"type": "function", "function":
    /// {"name", "parameters"}}]`, already narrowed to the named function when there is one).
    /// A format whose calls begin with a control token (Mistral's `[TOOL_CALLS]`) has the
    /// token put at the end of the prompt instead (`prefill`): grammars constrain text, and the
    /// grammar is then that of what follows the token, a JSON array of one call.
    public static func forcing(_ tools: [JinjaValue], format: ToolCallFormat) throws(Failure) -> Grammar {
        let (prefix, suffix): (String, String)
        switch format {
        case .hermes: (prefix, suffix) = ("<tool_call>\n", "\n</tool_call>")
        case .llama3JSON: (prefix, suffix) = ("", "")
        case .mistral: (prefix, suffix) = ("[", "]")
        }
        // Llama 3.x writes "parameters"; the others "arguments".
        let argumentsKey = format == .llama3JSON ? "parameters" : "arguments"
        var calls: [(tool: Int, schema: JinjaValue)] = []
        for (i, tool) in tools.enumerated() {
            guard case .dict(let t) = tool, case .dict(let function)? = t["function"], case .string(let name)? = function["name"] else { continue }
            var parameters = JinjaValue.dict(JinjaDict([(.string("type"), .string("object"))]))
            if case .dict? = function["parameters"] { parameters = function["parameters"]! }
            calls.append((i, .dict(JinjaDict([
                (.string("type"), .string("object")),
                (.string("properties"), .dict(JinjaDict([
                    (.string("name"), .dict(JinjaDict([(.string("const"), .string(name))]))),
                    (.string(argumentsKey), parameters),
                ]))),
                (.string("required"), .array([.string("name"), .string(argumentsKey)])),
                (.string("additionalProperties"), .bool(false)),
            ]))))
        }
        let schema: JinjaValue = calls.count == 1 ? calls[0].schema : .dict(JinjaDict([(.string("anyOf"), .array(calls.map(\.schema)))]))
        do {
            return try grammar(schema, prefix: prefix, suffix: suffix)
        } catch {
            // Name the tool whose parameters failed: convert each alone (only on this path).
            for call in calls {
                do { _ = try grammar(call.schema, prefix: "", suffix: "") } catch { throw .parameters(tool: call.tool, error) }
            }
            throw .parameters(tool: calls.first?.tool ?? 0, error)
        }
    }

    /// What goes at the end of the prompt before a forced call: the format's control-token
    /// marker, which the reply's parser must also be given before the generated text; nil when
    /// the grammar produces the whole call.
    public static func prefill(_ format: ToolCallFormat) -> String? {
        format == .mistral ? "[TOOL_CALLS]" : nil
    }

    private static func grammar(_ schema: JinjaValue, prefix: String, suffix: String) throws(GrammarError) -> Grammar {
        let text: String
        do { text = try JinjaJSON.text(schema) } catch { throw .invalidSchema(message: "\(error)", path: "") }
        return try Grammar.jsonSchema(text, after: prefix, before: suffix)
    }
}
