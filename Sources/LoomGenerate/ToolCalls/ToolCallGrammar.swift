import LoomChatTemplate

/// The grammar of one tool call in a format, for `tool_choice` "required" or a named function:
/// the reply is then a call, to one of `tools`, whose arguments are an instance of that tool's
/// `parameters` schema.
public enum ToolCallGrammar {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// The format's call marker is a control token, which grammars never produce.
        case formatNeedsControlToken(ToolCallFormat)
        /// A tool's `parameters` schema cannot be turned into a grammar.
        case parameters(tool: Int, GrammarError)

        public var description: String {
            switch self {
            case .formatNeedsControlToken(let format):
                return "tool_choice cannot be enforced for the \(format.rawValue) format: its calls begin with a control token"
            case let .parameters(tool, error):
                return "tools[\(tool)].function.parameters: \(error)"
            }
        }
    }

    /// A grammar for one call to one of `tools` (OpenAI's `[{"type": "function", "function":
    /// {"name", "parameters"}}]`, already narrowed to the named function when there is one).
    public static func forcing(_ tools: [JinjaValue], format: ToolCallFormat) throws(Failure) -> Grammar {
        // Llama 3.x writes "parameters"; the others "arguments".
        let argumentsKey = format == .llama3JSON ? "parameters" : "arguments"
        var alternatives: [JinjaValue] = []
        for (i, tool) in tools.enumerated() {
            guard case .dict(let t) = tool, case .dict(let function)? = t["function"], case .string(let name)? = function["name"] else { continue }
            var parameters = function["parameters"] ?? .dict(JinjaDict([(.string("type"), .string("object"))]))
            if case .dict = parameters {} else { parameters = .dict(JinjaDict([(.string("type"), .string("object"))])) }
            let call = JinjaDict([
                (.string("type"), .string("object")),
                (.string("properties"), .dict(JinjaDict([
                    (.string("name"), .dict(JinjaDict([(.string("const"), .string(name))]))),
                    (.string(argumentsKey), parameters),
                ]))),
                (.string("required"), .array([.string("name"), .string(argumentsKey)])),
                (.string("additionalProperties"), .bool(false)),
            ])
            // Each alternative alone first, so a bad schema is named by its tool.
            do { _ = try Grammar.jsonSchema(try JinjaJSON.text(.dict(call))) } catch let error as GrammarError {
                throw .parameters(tool: i, error)
            } catch {
                throw .parameters(tool: i, .invalidSchema(message: "\(error)", path: ""))
            }
            alternatives.append(.dict(call))
        }
        let schema: JinjaValue = alternatives.count == 1 ? alternatives[0] : .dict(JinjaDict([(.string("anyOf"), .array(alternatives))]))
        let (prefix, suffix): (String, String)
        switch format {
        case .hermes: (prefix, suffix) = ("<tool_call>\n", "\n</tool_call>")
        case .llama3JSON: (prefix, suffix) = ("", "")
        case .mistral: throw .formatNeedsControlToken(format)
        }
        do {
            return try Grammar.jsonSchema(try JinjaJSON.text(schema), after: prefix, before: suffix)
        } catch let error as GrammarError {
            throw .parameters(tool: 0, error)
        } catch {
            throw .parameters(tool: 0, .invalidSchema(message: "\(error)", path: ""))
        }
    }
}
