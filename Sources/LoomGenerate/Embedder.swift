import Foundation
import LoomCore
import LoomFormats
import LoomModel
import LoomTokenizer

/// Options for loading a sentence encoder.
public struct EmbedderOptions: Sendable {
    public var threads: Int = ThreadPool.processorCount
    /// Tokens one encoder pass takes at most; sentences are packed into passes up to it. At
    /// least the model's sequence length (a longer sentence is cut there anyway).
    public var passTokens: Int = 2048
    /// Bytes the model may hold; nil for no limit.
    public var budgetBytes: Int?

    public init(threads: Int = ThreadPool.processorCount, passTokens: Int = 2048, budgetBytes: Int? = nil) {
        self.threads = threads
        self.passTokens = passTokens
        self.budgetBytes = budgetBytes
    }
}

/// What a sentence encoder holds, by buffer, before anything is allocated.
public struct EmbedderPlan: Sendable, Equatable {
    /// Weight matrices: read where they lie in the mapped file, or repacked once into the arena
    /// (GGUF block quants on AVX2 and AVX-512), the same bytes either way.
    public var matrixBytes: Int
    /// Norm weights and biases, copied to f32.
    public var vectorBytes: Int
    /// One pass's activations (`EncoderScratch`).
    public var scratchBytes: Int
    public var passTokens: Int
    public var maxSequenceLength: Int

    public var totalBytes: Int { matrixBytes + vectorBytes + scratchBytes }

    /// Lines for `loom embed --plan` and the server's start-up banner.
    public var report: [String] {
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        return ["weight matrices \(mib(matrixBytes)), norms and biases \(mib(vectorBytes)), "
                + "scratch \(mib(scratchBytes)) for \(passTokens) tokens a pass; total \(mib(totalBytes)); "
                + "sentences cut at \(maxSequenceLength) tokens"]
    }
}

/// Why an encoder could not be planned or loaded.
public enum EmbedderError: Error, CustomStringConvertible, Equatable {
    case overBudget(path: String, planned: Int, budget: Int)
    case invalidOption(name: String, reason: String)

    public var description: String {
        switch self {
        case let .overBudget(path, planned, budget):
            return "\(path): the encoder needs \(planned) bytes, over the budget of \(budget)"
        case let .invalidOption(name, reason): return "option \(name): \(reason)"
        }
    }
}

/// A sentence encoder (BERT with sentence-transformers pooling) loaded for embedding text: its
/// WordPiece tokenizer, weights mapped in place, and one pass's scratch, all named by `plan`.
///
/// `embed` packs sentences into passes of up to `plan.passTokens` tokens; every sentence's
/// arithmetic is its own, so its vector does not depend on what it was packed with. Passes run
/// one at a time; the encoder may be called from any thread.
public final class Embedder: @unchecked Sendable {
    public let path: String
    public let config: EncoderConfig
    public let tokenizer: WordPieceTokenizer
    public let plan: EmbedderPlan
    public let pool: ThreadPool
    private let encoder: BertEncoder
    private let scratch: EncoderScratch
    private let arena: MemoryArena
    private let passLock = NSLock()

    /// Whether `path` holds a BERT encoder: a Hugging Face directory or a GGUF file.
    public static func isEncoder(path: String) -> Bool {
        if path.hasSuffix(".gguf") { return (try? GGUFFile(path: path)).map(EncoderConfig.isEncoder(gguf:)) ?? false }
        return EncoderConfig.isEncoder(directory: path)
    }

    /// Loads the encoder at `path`: a Hugging Face directory (config.json, safetensors,
    /// tokenizer.json, and the sentence-transformers files when present) or a BERT GGUF file
    /// as llama.cpp's converter writes it.
    public init(path: String, options: EmbedderOptions = EmbedderOptions()) throws {
        guard options.threads > 0 else { throw EmbedderError.invalidOption(name: "threads", reason: "must be positive") }
        self.path = path
        let source: any WeightSource
        if path.hasSuffix(".gguf") {
            let file = try GGUFFile(path: path)
            config = try EncoderConfig.load(gguf: file)
            tokenizer = try WordPieceTokenizer(gguf: file)
            source = GGUFWeightSource(file: file, naming: BertWeights.ggufName)
        } else {
            config = try EncoderConfig.load(directory: path)
            tokenizer = try WordPieceTokenizer(huggingFaceFile: path + "/tokenizer.json")
            source = SafeTensorsWeightSource(archive: try SafeTensorsArchive(directory: path))
        }
        guard options.passTokens >= config.maxSequenceLength else {
            throw EmbedderError.invalidOption(name: "passTokens", reason: "\(options.passTokens) is below the sequence length \(config.maxSequenceLength)")
        }
        let prefix = BertWeights.namePrefix(in: source)
        var mapped = 0, vectors = 0
        for spec in BertWeights.inventory(config) {
            switch spec.kind {
            case .matrix: mapped += try source.matrixBytes(prefix + spec.name)
            case let .vector(count): vectors += count * 4
            }
        }
        // Planned from the inventory, then checked against what the loaded matrices ask for.
        let probe = MemoryArena(name: "cpu")
        let weights = try BertWeights.load(config: config, source: source, arena: probe)
        let model = BertEncoder(config: config, weights: weights)
        let matmul = model.matmulScratchBytes(tokens: options.passTokens)
        let scratchBytes = EncoderScratch.byteCount(config: config, maxTokens: options.passTokens,
                                                    maxSequenceLength: config.maxSequenceLength, matmulScratchBytes: matmul)
        plan = EmbedderPlan(matrixBytes: mapped, vectorBytes: vectors, scratchBytes: scratchBytes,
                            passTokens: options.passTokens, maxSequenceLength: config.maxSequenceLength)
        if let budget = options.budgetBytes, plan.totalBytes > budget {
            throw EmbedderError.overBudget(path: path, planned: plan.totalBytes, budget: budget)
        }
        // The arena holds exactly the plan: a buffer the plan did not name fails to allocate.
        arena = MemoryArena(name: "cpu", budget: plan.totalBytes)
        try arena.charge(probe.usageByLabel["weights"] ?? 0, label: "weights")
        encoder = model
        scratch = try EncoderScratch(config: config, maxTokens: options.passTokens, maxSequenceLength: config.maxSequenceLength,
                                     matmulScratchBytes: matmul, arena: arena)
        pool = ThreadPool(threads: options.threads)
    }

    /// Bytes the arena holds now (the plan's total once loaded).
    public var bytesInUse: Int { arena.inUse }

    /// The ids a sentence embeds as: [CLS], its pieces cut to the sequence length, [SEP].
    public func tokens(of text: String) -> [Int32] {
        tokenizer.encode(text, maxLength: config.maxSequenceLength)
    }

    /// The sentence vector of each text ([hidden] each), in order.
    public func embed(_ texts: [String]) throws -> [[Float]] {
        try embed(tokens: texts.map(tokens(of:)))
    }

    /// The sentence vector of each token sequence ([CLS] and [SEP] included, each at most the
    /// sequence length), in order.
    public func embed(tokens sequences: [[Int32]]) throws -> [[Float]] {
        for (i, sequence) in sequences.enumerated() where sequence.isEmpty || sequence.count > config.maxSequenceLength {
            throw EmbedderError.invalidOption(name: "input[\(i)]", reason: "\(sequence.count) tokens, outside 1...\(config.maxSequenceLength)")
        }
        var results: [[Float]] = []
        results.reserveCapacity(sequences.count)
        var start = 0
        while start < sequences.count {
            var end = start, tokens = 0
            while end < sequences.count && tokens + sequences[end].count <= plan.passTokens {
                tokens += sequences[end].count
                end += 1
            }
            let batch = Array(sequences[start..<end])
            let hidden = config.hiddenSize
            var out = [Float](repeating: 0, count: batch.count * hidden)
            try passLock.withLock {
                try out.withUnsafeMutableBufferPointer { try encoder.embed(batch, scratch: scratch, into: $0.baseAddress!, pool: pool) }
            }
            for i in 0..<batch.count { results.append(Array(out[(i * hidden)..<((i + 1) * hidden)])) }
            start = end
        }
        return results
    }
}
