import ArgumentParser
import Foundation
import LoomRuntime
import LoomTokenizer

/// Strided perplexity of a text file, as Hugging Face's sliding-window method computes it.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a text file (sliding windows of --ctx tokens every --stride tokens).",
        discussion: """
            Each window is evaluated from an empty cache and scores only the tokens the previous \
            window did not, so every token but the first is scored once. The text is tokenized \
            without BOS and without parsing special tokens. A progress bar goes to stderr.
            """)

    @OptionGroup var options: RunOptions

    @Option(help: "UTF-8 text file to score.")
    var file: String

    @Option(parsing: .unconditional, help: "Tokens per window.")
    var ctx = 512

    @Option(parsing: .unconditional, help: "Tokens between window starts.")
    var stride = 256

    @Option(help: "Directory with the tokenizer (tokenizer.json, tekken.json or *.tiktoken); default: the model's own (its directory, or the vocabulary inside a GGUF file).")
    var tokenizer: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try requireAtLeast(2, ctx, "--ctx")
        guard stride > 0, stride <= ctx else { throw ValidationError("--stride must be between 1 and --ctx (\(ctx)), got \(stride)") }
    }

    func run() throws {
        try reportingErrors {
            var isDirectory: ObjCBool = false
            let modelIsDirectory = FileManager.default.fileExists(atPath: options.model, isDirectory: &isDirectory) && isDirectory.boolValue
            let vocab: Tokenizer
            if let tokenizer {
                vocab = try Tokenizer.load(modelDirectory: tokenizer)
            } else if modelIsDirectory {
                vocab = try Tokenizer.load(modelDirectory: options.model)
            } else {
                vocab = try Tokenizer(ggufFile: options.model)
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read --file \(file)")
            }
            let ids = vocab.encode(String(decoding: data, as: UTF8.self), parseSpecial: false, addBOS: false).map(Int.init)
            let engine = try options.makeEngine(logitsRows: min(ctx, 64), defaultLength: ctx, chunk: ctx)
            let bar = ProgressBar(label: "perplexity")
            let start = Date()
            let result = try engine.perplexity(tokens: ids, context: ctx, stride: stride) { done, total, ppl in
                bar.update(done: done, total: total, note: String(format: "ppl %.4f", ppl))
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            if json {
                print(try jsonString(["model": options.model, "file": file, "tokens": result.tokens, "scored": result.scored,
                                      "ctx": ctx, "stride": stride, "windows": result.windows, "nll": result.meanNLL,
                                      "perplexity": result.perplexity, "seconds": (seconds * 100).rounded() / 100]))
            } else {
                print(String(format: "perplexity %.4f over %@ (%d in file, %@, %.1f s)",
                             result.perplexity, counted(result.scored, "token"), result.tokens, counted(result.windows, "window"), seconds))
            }
        }
    }
}
