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

            --kl-divergence-base FILE saves the model's log-probabilities instead, and \
            --kl-divergence FILE compares another model against them (mean KL divergence, \
            same top token, both perplexities). Both use llama.cpp's chunks (non-overlapping \
            --ctx tokens, the second half of each scored, BOS first when the tokenizer adds one) \
            and llama.cpp's file format, so llama-perplexity can read Loom's base and the other \
            way round; --stride does not apply.
            """)

    @OptionGroup var options: RunOptions

    @Option(help: "UTF-8 text file to score.")
    var file: String?

    @Option(parsing: .unconditional, help: "Tokens per window.")
    var ctx = 512

    @Option(parsing: .unconditional, help: "Tokens between window starts.")
    var stride = 256

    @Option(help: "Directory with the tokenizer (tokenizer.json, tekken.json or *.tiktoken); default: the model's own (its directory, or the vocabulary inside a GGUF file).")
    var tokenizer: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(name: .customLong("kl-divergence-base"), help: "Save this model's log-probabilities of --file to FILE (llama.cpp's format), to compare other models against.")
    var klDivergenceBase: String?

    @Option(name: .customLong("kl-divergence"), help: "Compare this model against the log-probabilities in FILE (made by --kl-divergence-base); the tokens come from FILE, --file is not needed.")
    var klDivergence: String?

    @Option(parsing: .unconditional, help: "With --kl-divergence-base: at most this many chunks.")
    var chunks: Int?

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try requireAtLeast(2, ctx, "--ctx")
        guard stride > 0, stride <= ctx else { throw ValidationError("--stride must be between 1 and --ctx (\(ctx)), got \(stride)") }
        guard klDivergenceBase == nil || klDivergence == nil else {
            throw ValidationError("--kl-divergence-base saves a base and --kl-divergence compares against one; give one of them")
        }
        guard file != nil || klDivergence != nil else { throw ValidationError("--file is required (except with --kl-divergence)") }
        if let chunks { try requireAtLeast(1, chunks, "--chunks") }
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
            let bos = vocab.addsBOS ? vocab.bos.map(Int.init) : nil
            if let klDivergence {
                try compare(against: klDivergence, bos: bos)
                return
            }
            guard let file, let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read --file \(file ?? "")")
            }
            if let klDivergenceBase {
                let ids = vocab.encode(String(decoding: data, as: UTF8.self), parseSpecial: false).map(Int.init)
                try saveBase(ids, bos: bos, to: klDivergenceBase)
                return
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

    private func saveBase(_ ids: [Int], bos: Int?, to path: String) throws {
        let engine = try options.makeEngine(logitsRows: min(ctx, 64), defaultLength: ctx, chunk: ctx)
        let bar = ProgressBar(label: "kl-divergence-base")
        let start = Date()
        let result = try engine.saveBaseLogProbs(tokens: ids, context: ctx, bos: bos, maxChunks: chunks, to: path) { done, total, ppl in
            bar.update(done: done, total: total, note: String(format: "ppl %.4f", ppl))
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        if json {
            print(try jsonString(["model": options.model, "file": file ?? "", "base": path, "ctx": ctx, "chunks": result.windows,
                                  "scored": result.scored, "tokens": result.tokens, "nll": result.meanNLL,
                                  "perplexity": result.perplexity, "seconds": (seconds * 100).rounded() / 100]))
        } else {
            print(String(format: "saved base log-probabilities to %@: %@, %@ scored; perplexity %.4f (%.1f s)",
                         path, counted(result.windows, "chunk"), counted(result.scored, "token"), result.perplexity, seconds))
        }
    }

    private func compare(against path: String, bos: Int?) throws {
        // The cache must hold the base's chunks, whatever --ctx says.
        let baseContext = try BaseLogProbsHeader(path: path).context
        let engine = try options.makeEngine(logitsRows: min(baseContext, 64), defaultLength: baseContext, chunk: baseContext)
        let bar = ProgressBar(label: "kl-divergence")
        let start = Date()
        let r = try engine.klDivergence(basePath: path, bos: bos) { done, total, partial in
            bar.update(done: done, total: total, note: String(format: "KLD %.5f", partial.meanKLD))
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        if json {
            print(try jsonString(["model": options.model, "base": path, "ctx": baseContext, "chunks": r.chunks, "scored": r.tokens,
                                  "mean_kld": r.meanKLD, "mean_kld_error": r.meanKLDError,
                                  "same_top": r.sameTop, "same_top_error": r.sameTopError,
                                  "perplexity": r.perplexity, "perplexity_base": r.perplexityBase,
                                  "nll": r.meanNLL, "nll_base": r.meanNLLBase, "rms_dp": r.rmsProbabilityDifference,
                                  "seconds": (seconds * 100).rounded() / 100]))
        } else {
            print(String(format: "mean KLD %.6f ± %.6f, same top %.3f ± %.3f %%, perplexity %.4f (base %.4f), RMS Δp %.3f %% over %@ (%@, %.1f s)",
                         r.meanKLD, r.meanKLDError, 100 * r.sameTop, 100 * r.sameTopError, r.perplexity, r.perplexityBase,
                         100 * r.rmsProbabilityDifference, counted(r.tokens, "token"), counted(r.chunks, "chunk"), seconds))
        }
    }
}
