import LoomChatTemplate

extension ToolCallFormat {
    /// The tool-call format a chat template teaches its model, judged from the template text as
    /// llama.cpp does: the markers the template writes when it renders an assistant's
    /// `tool_calls`. Nil when the template has no tool calls or uses a format Loom does not
    /// parse (Qwen3-Coder's `<function=...>` XML, GLM's `<arg_key>`, DeepSeek's
    /// `<｜tool▁calls▁begin｜>`, Functionary, Firefunction, ...).
    public static func detect(templateSource source: String) -> ToolCallFormat? {
        func has(_ s: String) -> Bool { source.contains(s) }
        if has("[TOOL_CALLS]") { return .mistral }
        if has("<tool_call>") {
            // These families mention the same tag but write XML-like calls inside it, or a JSON
            // list inside `<tool_calls>` (Apriel).
            let otherCallMarkers = ["<function=", "<parameter=", "<arg_key>", "<invoke name=", "<function name=\"", "<tool_calls>["]
            return otherCallMarkers.contains(where: has) ? nil : .hermes
        }
        // Llama-3-based fine-tunes with their own call syntax reuse the Llama 3 headers.
        let otherLlamaDerivedMarkers = ["<function=", ">>>all", "functools[", "<|python_start|>"]
        if otherLlamaDerivedMarkers.contains(where: has) { return nil }
        if has("<|python_tag|>") { return .llama3JSON }
        if has("<|start_header_id|>"), has("tools"), has("\"parameters\"") { return .llama3JSON }
        return nil
    }
}

/// A tool-call format name that `ToolCallFormat(name:)` does not know.
public struct UnknownToolCallFormat: Error, Equatable, CustomStringConvertible {
    public let name: String
    public var description: String {
        "unknown tool-call format '\(name)'; known: \(ToolCallFormat.allCases.map(\.rawValue).joined(separator: ", "))"
    }
}

extension ToolCallFormat {
    /// The format to parse a model's replies with: the one named by `override` (a setting or
    /// command-line option), else the one its chat template teaches. Nil: the replies are plain
    /// text.
    /// - Throws: `UnknownToolCallFormat` when `override` names no format.
    public static func resolve(override: String?, template: ChatTemplate) throws -> ToolCallFormat? {
        guard let override else { return detect(templateSource: template.source) }
        guard let format = ToolCallFormat(name: override) else { throw UnknownToolCallFormat(name: override) }
        return format
    }
}
