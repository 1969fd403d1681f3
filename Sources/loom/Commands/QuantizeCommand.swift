import ArgumentParser
import Foundation
import LoomFormats
import LoomKernels
import LoomModel
import LoomRuntime
import LoomTokenizer

/// Quantizes a model into a GGUF file that llama.cpp loads, with importance-weighted rounding.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a GGUF model (F16/BF16/F32/Q8_0 tensors) to a GGUF file that llama.cpp loads.",
        discussion: """
            --type is a single type (q8_0, q4_0, q5_0, q6_k, q5_k, q4_k, q3_k, q2_k; the output head \
            is q6_K) or one of llama.cpp's mixes (q4_k_m, q4_k_s, q3_k_m, iq4_xs, iq4_nl), with \
            llama-quantize's per-tensor rules. Each block's scales are chosen to minimise the \
            squared error weighted by the importance matrix (--imatrix FILE in llama.cpp's format, \
            or one collected from --calibration text), else with every column alike. The plan (types, file size, peak \
            memory) is printed first; progress goes to stderr.

            --bpw B chooses a type per tensor instead (q2_K to q8_0 and iq4_xs; the output head and embeddings \
            too) so that the file holds B bits per weight with the least loss: each tensor's output \
            error under every type is measured against the importance matrix, its effect on the \
            logits (KL divergence from the source model on --calibration text, that tensor alone \
            at q3_K) scales it, and the budget goes where it buys the most. It needs --calibration; \
            with --imatrix too, the matrix is read and the text serves the measurement only.

            --gptq feeds each weight's rounding error forward to the columns not yet rounded \
            (GPTQ), along Σ x·xᵀ of the layer's input on the --calibration text, within the \
            format's blocks: the files are plain GGUF. It applies to the layers' matrices and an \
            untied output head, with --type or --bpw. The covariances are collected in windows \
            of at most --gptq-memory MB, one calibration pass per window; no importance matrix \
            is collected (unless --imatrix-out asks for one).
            """)

    @Argument(help: "The source model: a GGUF file.")
    var source: String

    @Option(help: "Quantization type or mix: \(QuantizationScheme.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: String?

    @Option(help: "Bits per weight of the whole file, with a type per tensor chosen by measurement (needs --calibration).")
    var bpw: Double?

    @Option(name: .customLong("allocation-chunks"), parsing: .unconditional,
            help: "With --bpw: calibration chunks each tensor's KL divergence is measured over.")
    var allocationChunks = 8

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

    @Flag(help: "With --calibration: GPTQ-style error feedback, from each layer's input covariance on the text.")
    var gptq = false

    @Option(name: .customLong("gptq-memory"), parsing: .unconditional,
            help: "With --gptq: MB the input covariances may hold at once (more layers than fit take more calibration passes).")
    var gptqMemory = 2048

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        guard (type == nil) != (bpw == nil) else { throw ValidationError("give --type or --bpw (one of them)") }
        if let type, QuantizationScheme(rawValue: type.lowercased()) == nil {
            throw ValidationError("--type must be one of \(QuantizationScheme.allCases.map(\.rawValue).joined(separator: ", ")), got \(type)")
        }
        if let bpw {
            guard bpw.isFinite, bpw > 0, bpw <= 32 else { throw ValidationError("--bpw must be above 0 and at most 32, got \(bpw)") }
            guard calibration != nil else { throw ValidationError("--bpw needs --calibration: the text each tensor's effect is measured on") }
            try requireAtLeast(1, allocationChunks, "--allocation-chunks")
        } else {
            guard imatrix == nil || calibration == nil || gptq else {
                throw ValidationError("--imatrix reads a matrix and --calibration collects one; give one of them (or both with --gptq)")
            }
        }
        guard imatrixOut == nil || calibration != nil else { throw ValidationError("--imatrix-out needs --calibration") }
        guard !gptq || calibration != nil else { throw ValidationError("--gptq needs --calibration: the text whose activations the errors are fed back along") }
        try requireAtLeast(1, gptqMemory, "--gptq-memory")
        try requireAtLeast(1, threads, "--threads")
        try requireAtLeast(2, ctx, "--ctx")
        if let chunks { try requireAtLeast(1, chunks, "--chunks") }
    }

    func run() throws {
        try reportingErrors {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue {
                throw QuantizationError(path: source, tensor: nil,
                                        reason: "is a directory; this version quantizes GGUF files (convert a Hugging Face directory with llama.cpp's convert_hf_to_gguf.py --outtype f16 first)")
            }
            let file = try GGUFFile(path: source)
            // The calibration text is tokenized once, for the importance matrix and the allocation alike.
            let text = try calibration.map(calibrationText)
            var matrix: ImportanceMatrix?
            if let imatrix {
                matrix = try ImportanceMatrix(path: imatrix)
                printError("importance matrix: \(matrix!.entries.count) entries from \(imatrix) (\(matrix!.chunkCount) chunks)")
            } else if let text, !gptq || imatrixOut != nil {
                // Feedback needs no importance matrix: every tensor it reaches has its input's
                // covariance, whose diagonal is the matrix, and the others have no entry in it.
                matrix = try collect(text)
            }
            let hessians = gptq ? try hessianWindows(file, calibration: text!) : nil
            let plan: QuantizationPlan, label: String
            if let bpw {
                // validate() makes --bpw come with --calibration.
                plan = try allocate(file, bitsPerWeight: bpw, importance: matrix, hessians: hessians, calibration: text!)
                label = String(format: "%.2f bpw allocated", bpw)
            } else {
                let scheme = QuantizationScheme(rawValue: type!.lowercased())!
                plan = try GGUFQuantizer.plan(file, scheme: scheme, importance: matrix)
                label = scheme.rawValue
            }
            var counts: [String: Int] = [:]
            for t in plan.tensors where !t.isCopied { counts[t.type.name, default: 0] += 1 }
            let mix = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            let copied = plan.tensors.filter(\.isCopied).count
            printError("plan: \(plan.tensors.count) tensors (\(mix), \(copied) copied); "
                       + String(format: "%.2f bpw, %@ out; peak memory %@ besides the mapped source", plan.bitsPerWeight,
                                formatBytes(plan.fileBytes), formatBytes(plan.peakBytes + (hessians?.plan.peakBytes ?? 0))))
            if let hessians {
                printError("gptq: \(hessians.inputs.count) layer inputs, their covariances \(formatBytes(hessians.plan.peakBytes)) at most at once, "
                           + "collected in \(hessians.plan.passes) calibration pass\(hessians.plan.passes == 1 ? "" : "es")")
            }
            let bar = ProgressBar(label: "quantize")
            let start = Date()
            var totalElements = plan.tensors.reduce(0) { $0 + ($1.isCopied ? 0 : $1.elements) }
            var doneElements = 0
            try GGUFQuantizer.run(file, plan: plan, importance: matrix, importancePath: imatrix ?? imatrixOut, hessians: hessians,
                                  to: out, threads: threads,
                                  resumed: { done in
                                      guard done > 0 else { return }
                                      printError("resuming \(out).partial after \(done) of \(plan.tensors.count) tensors")
                                      // The ETA counts only what this run quantizes.
                                      totalElements -= plan.tensors.prefix(done).reduce(0) { $0 + ($1.isCopied ? 0 : $1.elements) }
                                  }) { index, tensor in
                if !tensor.isCopied { doneElements += tensor.elements }
                let elapsed = Date().timeIntervalSince(start)
                let eta = doneElements > 0 ? elapsed * Double(totalElements - doneElements) / Double(doneElements) : 0
                bar.update(done: index + 1, total: plan.tensors.count, note: String(format: "%@ %@, ETA %.0f s", tensor.name, tensor.type.name, eta))
            }
            bar.finish()
            print(String(format: "wrote %@: %@, %.2f bpw, %@ (%.1f s)", out, formatBytes(plan.fileBytes), plan.bitsPerWeight, label,
                         Date().timeIntervalSince(start)))
        }
    }

    /// Measures every quantizable tensor on the calibration text and chooses its type so that the
    /// file holds `bitsPerWeight` with the least predicted KL divergence.
    private func allocate(_ file: GGUFFile, bitsPerWeight: Double, importance: ImportanceMatrix?, hessians: HessianWindows?,
                          calibration text: CalibrationText) throws -> QuantizationPlan {
        let names = try GGUFQuantizer.quantizable(file)
        let quantized = Set(names)
        let elements = file.tensors.reduce(0) { $0 + $1.elementCount }
        let copiedBytes = file.tensors.filter { !quantized.contains($0.name) }.reduce(0) { $0 + $1.byteCount }
        let budget = Int((bitsPerWeight * Double(elements) / 8).rounded(.down)) - copiedBytes
        let config = try ModelConfig.load(gguf: file)
        let ids = text.tokens
        let chunks = min(allocationChunks, max(1, ids.count / ctx))
        printError(String(format: "measuring %d tensors × %d types on %d calibration chunks of %d (the source's log-probabilities: %@)",
                          names.count, TensorSensitivity.candidateTypes.count, chunks, ctx,
                          formatBytes(chunks * (ctx - 1 - ctx / 2) * config.vocabSize * 4)))
        let bar = ProgressBar(label: "measure")
        let measured = try TensorSensitivity.measure(file, tensors: names, importance: importance, hessians: hessians, tokens: ids,
                                                     context: ctx, chunks: chunks, bos: text.bos, threads: threads) { done, total, tensor in
            bar.update(done: done, total: total, note: String(format: "%@ KLD at q3_K %.2e", tensor.name, tensor.probeKLD))
        }
        bar.finish()
        guard let chosen = BitAllocation.choose(measured.map(\.candidates), budgetBytes: budget) else {
            let smallest = measured.reduce(copiedBytes) { $0 + ($1.candidates.map(\.bytes).min() ?? 0) }
            throw QuantizationError(path: source, tensor: nil, reason: String(format: "%.3f bpw is below the smallest this model takes (%.3f bpw, every tensor at its smallest type)",
                                                                              bitsPerWeight, Double(smallest) * 8 / Double(elements)))
        }
        var types: [String: QuantType] = [:]
        var predicted = 0.0
        for (tensor, index) in zip(measured, chosen) {
            types[tensor.name] = tensor.candidates[index].type
            predicted += tensor.candidates[index].cost
        }
        printError(String(format: "allocation: predicted mean KLD %.6f (the sum of the tensors' measured costs)", predicted))
        return try GGUFQuantizer.plan(file, types: types, importance: importance)
    }

    /// The calibration text in the source's tokens, and the id that replaces each chunk's first.
    struct CalibrationText {
        let path: String
        let tokens: [Int]
        let bos: Int?
    }

    private func calibrationText(_ path: String) throws -> CalibrationText {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read --calibration \(path)") }
        let vocab = try Tokenizer(ggufFile: source)
        return CalibrationText(path: path, tokens: vocab.encode(String(decoding: data, as: UTF8.self), parseSpecial: false).map(Int.init),
                               bos: vocab.addsBOS ? vocab.bos.map(Int.init) : nil)
    }

    /// The source model, run for calibration.
    private func calibrationEngine() throws -> Engine {
        // Logits of every position in passes of up to 64 rows, where the head's input is collected.
        try Engine(path: source, options: EngineOptions(maxSequenceLength: ctx, chunkTokens: ctx, threads: threads, logitsRows: min(ctx, 64)))
    }

    /// Collects the input covariances of the quantized tensors on the calibration text, in
    /// windows of --gptq-memory, as the quantizer asks for them (in the file's order).
    private func hessianWindows(_ file: GGUFFile, calibration text: CalibrationText) throws -> HessianWindows {
        let engine = try calibrationEngine()
        let weights = try GGUFQuantizer.quantizable(file).map { (name: $0, columns: file.tensor(named: $0)!.dimensions[0]) }
        let chunks = self.chunks, ctx = self.ctx
        let identity = HessianWindows.identity(tokens: text.tokens, context: ctx, chunks: chunks, bos: text.bos)
        return HessianWindows(weights: weights, budgetBytes: gptqMemory * 1_000_000, identity: identity) { inputs in
            let bar = ProgressBar(label: "covariance")
            defer { bar.finish() }
            return try engine.collectHessians(tokens: text.tokens, context: ctx, bos: text.bos, maxChunks: chunks, inputs: inputs) { done, total in
                bar.update(done: done, total: total, note: "\(inputs.count) inputs")
            }
        }
    }

    /// Runs the source model on the calibration text and returns its importance matrix, written
    /// to --imatrix-out when given.
    private func collect(_ text: CalibrationText) throws -> ImportanceMatrix {
        let engine = try calibrationEngine()
        let bar = ProgressBar(label: "calibration")
        var matrix = try engine.collectImportance(tokens: text.tokens, context: ctx, bos: text.bos, maxChunks: chunks) { done, total in
            bar.update(done: done, total: total)
        }
        bar.finish()
        matrix.datasets = [text.path]
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
