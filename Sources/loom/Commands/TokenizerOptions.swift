import ArgumentParser
import Foundation
import LoomTokenizer

/// Which tokenizer a tokenizer command uses.
struct TokenizerOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (its tokenizer.json, tekken.json, *.tiktoken or *.gguf).")
    var model: String?

    @Option(name: .long, help: "Tokenizer file: tokenizer.json, tekken*.json, *.tiktoken or *.gguf.")
    var tokenizer: String?

    @Option(name: .long, help: "Pre-tokenizer for a .tiktoken file: \(PreTokenizerPattern.allCases.map(\.rawValue).joined(separator: ", ")).")
    var pattern: String?

    func validate() throws {
        guard (model == nil) != (tokenizer == nil) else { throw ValidationError("give exactly one of --model and --tokenizer") }
        if let pattern, PreTokenizerPattern(rawValue: pattern) == nil {
            throw ValidationError("\(TokenizerError.unknownPattern(name: pattern))")
        }
    }

    func load() throws -> Tokenizer {
        if let model { return try Tokenizer.load(modelDirectory: model) }
        return try Tokenizer.load(file: tokenizer!, pattern: pattern.flatMap(PreTokenizerPattern.init(rawValue:)))
    }
}

/// A JSON string literal for `text` (JSONSerialization escapes as JSON requires).
func jsonString(_ text: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
}
