import Foundation

/// Finding a tokenizer by file or directory.
extension Tokenizer {
    /// Finds and loads the tokenizer of a model directory: `tokenizer.json` (with
    /// `tokenizer_config.json`), else `tekken.json`, else a `*.tiktoken` file, else a single
    /// `*.gguf` file's vocabulary.
    public static func load(modelDirectory directory: String) throws -> Tokenizer {
        let fm = FileManager.default
        for name in ["tokenizer.json", "tekken.json"] where fm.fileExists(atPath: directory + "/" + name) {
            return try load(file: directory + "/" + name)
        }
        let files = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        if let rank = files.first(where: { $0.hasSuffix(".tiktoken") }) { return try load(file: directory + "/" + rank) }
        let ggufs = files.filter { $0.hasSuffix(".gguf") }
        if ggufs.count == 1 { return try load(file: directory + "/" + ggufs[0]) }
        throw TokenizerError.noTokenizer(directory: directory)
    }

    /// Loads a tokenizer file by its kind: `.gguf`, `.tiktoken` (with `pattern`; by default
    /// Qwen2's for `qwen*.tiktoken`, else cl100k's), tekken JSON (`tekken*.json`), or HF
    /// `tokenizer.json`.
    public static func load(file path: String, pattern: PreTokenizerPattern? = nil) throws -> Tokenizer {
        let name = (path as NSString).lastPathComponent
        if name.hasSuffix(".gguf") { return try Tokenizer(ggufFile: path) }
        if name.hasSuffix(".tiktoken") {
            return try Tokenizer(tiktokenFile: path, pattern: pattern ?? (name.hasPrefix("qwen") ? .qwen2 : .cl100k))
        }
        if name.hasPrefix("tekken") && name.hasSuffix(".json") { return try Tokenizer(tekkenFile: path) }
        return try Tokenizer(huggingFaceFile: path)
    }
}
