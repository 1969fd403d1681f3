import ArgumentParser
import Foundation
import LoomFormats
import LoomRuntime
import LoomTokenizer

/// Which tokenizer a tokenizer command uses.
struct TokenizerOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (its tokenizer.json, tekken.json, *.tiktoken or *.gguf), or a GGUF file.")
    var model: String?

    @Option(name: .long, help: "Tokenizer file: tokenizer.json, tekken*.json, *.tiktoken or *.gguf.")
    var tokenizer: String?

    @Option(name: .long, help: "Pre-tokenizer for a .tiktoken file: \(PreTokenizerPattern.allCases.map(\.rawValue).joined(separator: ", ")).")
    var pattern: String?

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        guard (model == nil) != (tokenizer == nil) else { throw ValidationError("give exactly one of --model and --tokenizer") }
        if let pattern, PreTokenizerPattern(rawValue: pattern) == nil {
            throw ValidationError("\(TokenizerError.unknownPattern(name: pattern))")
        }
    }

    /// The WordPiece tokenizer, when the source is one (a BERT directory, its tokenizer.json or
    /// a GGUF with tokenizer model `bert`); nil for every other kind.
    func loadWordPiece() throws -> WordPieceTokenizer? {
        var path = model ?? tokenizer!
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { path += "/tokenizer.json" }
        if path.hasSuffix(".gguf") {
            let file = try GGUFFile(path: path)
            return try file.string("tokenizer.ggml.model") == "bert" ? try WordPieceTokenizer(gguf: file) : nil
        }
        return WordPieceTokenizer.isWordPiece(huggingFaceFile: path) ? try WordPieceTokenizer(huggingFaceFile: path) : nil
    }

    func load() throws -> Tokenizer {
        let path = model ?? tokenizer!
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw ModelPathError.missing(path: path) }
        if model != nil && isDirectory.boolValue { return try Tokenizer.load(modelDirectory: path) }
        return try Tokenizer.load(file: path, pattern: pattern.flatMap(PreTokenizerPattern.init(rawValue:)))
    }
}

/// A JSON string literal for `text` (JSONSerialization escapes as JSON requires).
func jsonString(_ text: String) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("[\"\"]".utf8)
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
}
