import ArgumentParser
import Foundation
import LoomFormats
import LoomRuntime
import LoomTokenizer

/// Quantizes a model into a GGUF file that llama.cpp loads, with importance-weighted rounding.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a GGUF model (F16/BF16/F32/Q8_0 tensors) to a GGUF file that llama.cpp loads.",
        discussion: """
            --type is a single type (q8_0, q4_0, q5_0, q6_k, q5_k, q4_k, q3_k, q2_k; the output head \
            is q6_K) or one of llama.cpp's mixes (q4_k_m, q4_k_s, q3_k_m), with llama-quantize's \
            per-tensor rules. Each block's scales are chosen to minimise the squared error weighted \
            by the importance matrix (--imatrix FILE in llama.cpp's format, or one collected from \
            --calibration text), else by the weights' squares. The plan (types, file size, peak \
            memory) is printed first; progress goes to stderr.
            """)

    @Argument(help: "The source model: a GGUF file.")
    var source: String

    @Option(help: "Quantization type or mix: \(QuantizationScheme.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: String

    @Option(help: "The GGUF file to write.")
    var out: String

    @Option(help: "An importance matrix from llama-imatrix or --imatrix-out (GGUF or legacy .dat).")
    var imatrix: String?

    @Option(help: "UTF-8 text to run the model on, collecting the importance matrix.")
    var calibration: String?

    @Option(name: .customLong("imatrix-out"), help: "With --calibration: write the collected importance matrix here (llama.cpp's GGUF format).")
    var imatrixOut: String?

    @Option(parsing: .unconditional, help: "With --calibration: tokens per chunk.")
    var ctx = 512

    @Option(parsing: .unconditional, help: "With --calibration: at most this many chunks.")
    var chunks: Int?

    @Option(name: [.customShort("t"), .long], help: "Threads.")
    var threads = 2

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        guard QuantizationScheme(rawValue: type.lowercased()) != nil else {
            throw ValidationError("--type must be one of \(QuantizationScheme.allCases.map(\.rawValue).joined(separator: ", ")), got \(type)")
        }
        guard imatrix == nil || calibration == nil else { throw ValidationError("--imatrix reads a matrix and --calibration collects one; give one of them") }
        guard imatrixOut == nil || calibration != nil else { throw ValidationError("--imatrix-out needs --calibration") }
        try requireAtLeast(1, threads, "--threads")
        try requireAtLeast(2, ctx, "--ctx")
        if let chunks { try requireAtLeast(1, chunks, "--chunks") }
    }

    func run() throws {
        try reportingErrors {
            let scheme = QuantizationScheme(rawValue: type.lowercased())!
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue {
                throw QuantizationError(path: source, tensor: nil,
                                        reason: "is a directory; this version quantizes GGUF files (convert a Hugging Face directory with llama.cpp's convert_hf_to_gguf.py --outtype f16 first)")
            }
            let file = try GGUFFile(path: source)
            var matrix: ImportanceMatrix?
            if let imatrix {
                matrix = try ImportanceMatrix(path: imatrix)
                printError("importance matrix: \(matrix!.entries.count) entries from \(imatrix) (\(matrix!.chunkCount) chunks)")
            } else if let calibration {
                matrix = try collect(calibration)
            }
            let plan = try GGUFQuantizer.plan(file, scheme: scheme, importance: matrix)
            var counts: [String: Int] = [:]
            for t in plan.tensors where !t.isCopied { counts[t.type.name, default: 0] += 1 }
            let mix = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            let copied = plan.tensors.filter(\.isCopied).count
            printError("plan: \(plan.tensors.count) tensors (\(mix), \(copied) copied); "
                       + String(format: "%.2f bpw, %@ out; peak memory %@ besides the mapped source", plan.bitsPerWeight,
                                formatBytes(plan.fileBytes), formatBytes(plan.peakBytes)))
            let bar = ProgressBar(label: "quantize")
            let start = Date()
            let totalElements = plan.tensors.reduce(0) { $0 + ($1.isCopied ? 0 : $1.elements) }
            var doneElements = 0
            try GGUFQuantizer.run(file, plan: plan, importance: matrix, importancePath: imatrix ?? imatrixOut, to: out, threads: threads) { index, tensor in
                if !tensor.isCopied { doneElements += tensor.elements }
                let elapsed = Date().timeIntervalSince(start)
                let eta = doneElements > 0 ? elapsed * Double(totalElements - doneElements) / Double(doneElements) : 0
                bar.update(done: index + 1, total: plan.tensors.count, note: String(format: "%@ %@, ETA %.0f s", tensor.name, tensor.type.name, eta))
            }
            bar.finish()
            print(String(format: "wrote %@: %@, %.2f bpw, %@ (%.1f s)", out, formatBytes(plan.fileBytes), plan.bitsPerWeight, scheme.rawValue,
                         Date().timeIntervalSince(start)))
        }
    }

    /// Runs the source model on the calibration text and returns its importance matrix, written
    /// to --imatrix-out when given.
    private func collect(_ path: String) throws -> ImportanceMatrix {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read --calibration \(path)") }
        let vocab = try Tokenizer(ggufFile: source)
        let ids = vocab.encode(String(decoding: data, as: UTF8.self), parseSpecial: false).map(Int.init)
        let engine = try Engine(path: source, options: EngineOptions(maxSequenceLength: ctx, chunkTokens: ctx, threads: threads, logitsRows: 1))
        let bar = ProgressBar(label: "calibration")
        var matrix = try engine.collectImportance(tokens: ids, context: ctx, bos: vocab.addsBOS ? vocab.bos.map(Int.init) : nil,
                                                  maxChunks: chunks) { done, total in
            bar.update(done: done, total: total)
        }
        bar.finish()
        matrix.datasets = [path]
        if let imatrixOut {
            try matrix.write(to: imatrixOut)
            printError("wrote importance matrix \(imatrixOut): \(matrix.entries.count) entries, \(matrix.chunkCount) chunks of \(ctx) tokens")
        }
        return matrix
    }
}

/// Bytes in the largest unit that keeps a number ≥ 1 (1000-based, as file sizes are shown).
func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(bytes), unit = 0
    while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.2f %@", value, units[unit])
}
