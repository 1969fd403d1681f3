import ArgumentParser
import Foundation
import LoomCore
import LoomGenerate

/// Sentence embeddings from a BERT encoder (sentence-transformers directories).
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Print the sentence embedding of each text (a BERT / sentence-transformers model directory).",
        discussion: """
        Each text becomes one line: a JSON array of floats, pooled and normalised as the model's \
        sentence-transformers files say (mean pooling and unit length for all-MiniLM-L6-v2). Texts \
        longer than the model's max_seq_length are cut there, as sentence-transformers does.
        """)

    @Option(name: .customLong("model"), help: "Model directory: config.json (BertModel), model.safetensors, tokenizer.json.")
    var model: String

    @Option(name: [.short, .customLong("threads")], help: "Threads (default: the processors available).")
    var threads: Int?

    @Option(name: .long, help: "Read texts from this file, one per line (or per --separator), instead of the arguments.")
    var file: String?

    @Option(name: .long, help: "What separates the texts of --file (default: a newline), as llama-embedding's --embd-separator.")
    var separator = "\n"

    @Option(name: .customLong("pass-tokens"), help: "Tokens one encoder pass takes at most (sentences are packed up to it).")
    var passTokens = 2048

    @Flag(help: "Print the cosine similarity of every pair of texts instead of the vectors.")
    var similarity = false

    @Flag(help: "Print the memory plan and exit.")
    var plan = false

    @Argument(help: "The texts.")
    var texts: [String] = []

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        guard plan || (file == nil) != texts.isEmpty else { throw ValidationError("give the texts or --file, not both") }
        guard !separator.isEmpty else { throw ValidationError("--separator must not be empty") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let embedder = try Embedder(path: model, options: EmbedderOptions(threads: threads ?? ThreadPool.processorCount,
                                                                               passTokens: passTokens))
            if plan {
                for line in embedder.plan.report { print(line) }
                return
            }
            var inputs = texts
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                inputs = String(decoding: data, as: UTF8.self).components(separatedBy: separator)
                if separator == "\n", inputs.last == "" { inputs.removeLast() }
            }
            let clock = ContinuousClock()
            let start = clock.now
            let sequences = inputs.map(embedder.tokens(of:))
            let vectors = try embedder.embed(tokens: sequences)
            let elapsed = (clock.now - start).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            let tokens = sequences.reduce(0) { $0 + $1.count }
            printError(String(format: "embed: %d texts, %d tokens in %.1f ms (%.0f tok/s)", inputs.count, tokens,
                              seconds * 1000, Double(tokens) / max(seconds, 1e-9)))
            if similarity {
                for (i, a) in vectors.enumerated() {
                    print(vectors.map { String(format: "%.4f", cosine(a, $0)) }.joined(separator: " ") + "  " + inputs[i].prefix(40))
                }
            } else {
                for v in vectors { print("[" + v.map { "\($0)" }.joined(separator: ",") + "]") }
            }
        }
    }

    private func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices { dot += Double(a[i]) * Double(b[i]); na += Double(a[i] * a[i]); nb += Double(b[i] * b[i]) }
        return dot / max((na * nb).squareRoot(), 1e-30)
    }
}
