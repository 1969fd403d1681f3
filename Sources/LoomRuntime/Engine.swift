import LoomCore
import LoomFormats
import LoomKernels
import LoomModel

/// Options for running a model on one device.
public struct EngineOptions: Sendable {
    /// Positions the KV cache holds; nil means the model's `max_position_embeddings`, capped at 4096.
    public var maxSequenceLength: Int?
    /// Tokens evaluated per forward chunk; longer prompts are split.
    public var maxBatch: Int = 512
    public var cacheType: CacheType = .fp16
    public var threads: Int = ThreadPool.processorCount
    /// Bytes the device may hold; `Int.max` for no limit.
    public var budgetBytes: Int = .max

    public init(maxSequenceLength: Int? = nil, maxBatch: Int = 512, cacheType: CacheType = .fp16,
                threads: Int = ThreadPool.processorCount, budgetBytes: Int = .max) {
        self.maxSequenceLength = maxSequenceLength
        self.maxBatch = maxBatch
        self.cacheType = cacheType
        self.threads = threads
        self.budgetBytes = budgetBytes
    }
}

/// Errors from setting up or driving an engine.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case cacheTypeNotRunnable(CacheType)
    case invalidOption(name: String, reason: String)

    public var description: String {
        switch self {
        case let .cacheTypeNotRunnable(type):
            return "cache type \(type.rawValue) can be planned but not yet run; use fp16 or f32"
        case let .invalidOption(name, reason):
            return "option \(name): \(reason)"
        }
    }
}

/// A loaded model with its cache and scratch, evaluating tokens one chunk at a time and keeping
/// its position, as llama.cpp's context does.
public final class Engine: @unchecked Sendable {
    public let model: DecoderModel
    public let arena: MemoryArena
    public let pool: ThreadPool
    public let options: EngineOptions
    public let capacity: Int
    private let cache: [any KVCacheLayer]
    private let scratch: ForwardScratch
    private let logitsBuffer: ArenaBuffer<Float>   // [maxBatch, vocab]
    /// Tokens held in the cache.
    public private(set) var position = 0

    /// Loads a Hugging Face model directory (config.json + safetensors).
    public convenience init(directory: String, options: EngineOptions = EngineOptions()) throws {
        let config = try ModelConfig.load(directory: directory)
        let archive = try SafeTensorsArchive(directory: directory)
        try self.init(config: config, source: SafeTensorsWeightSource(archive: archive), options: options)
    }

    public init(config: ModelConfig, source: any WeightSource, ropeLayout: RopeLayout = .halves,
                options: EngineOptions) throws {
        guard options.cacheType.isRunnable else { throw EngineError.cacheTypeNotRunnable(options.cacheType) }
        guard options.maxBatch > 0 else { throw EngineError.invalidOption(name: "maxBatch", reason: "must be positive") }
        let capacity = options.maxSequenceLength ?? min(config.maxPositionEmbeddings, 4096)
        guard capacity > 0 else { throw EngineError.invalidOption(name: "maxSequenceLength", reason: "must be positive") }
        self.capacity = capacity
        self.options = options
        let arena = MemoryArena(name: "cpu0", budget: options.budgetBytes)
        self.arena = arena
        pool = ThreadPool(threads: options.threads)
        let weights = try DecoderWeights.load(config: config, source: source) { _ in arena }
        model = try DecoderModel(config: config, weights: weights, ropePositions: capacity, ropeLayout: ropeLayout, arena: arena)
        var layers: [any KVCacheLayer] = []
        for _ in 0..<config.layerCount {
            switch options.cacheType {
            case .f32:
                layers.append(try DenseKVCacheLayer<F32Element>(kvHeads: config.kvHeadCount, headDim: config.headDim, capacity: capacity, arena: arena))
            default:
                layers.append(try DenseKVCacheLayer<F16Element>(kvHeads: config.kvHeadCount, headDim: config.headDim, capacity: capacity, arena: arena))
            }
        }
        cache = layers
        let batch = min(options.maxBatch, capacity)
        scratch = try ForwardScratch(config: config, maxTokens: batch, threads: pool.threadCount, cacheCapacity: capacity,
                                     matmulScratchBytes: model.matmulScratchBytes(batch: batch), arena: arena)
        logitsBuffer = try arena.allocate(Float.self, count: batch * config.vocabSize, label: "logits")
    }

    public var config: ModelConfig { model.config }

    /// Forgets the cached tokens.
    public func reset() { position = 0 }

    /// Drops cached tokens after `newPosition` (for rewinding on banned strings or edits).
    public func rewind(to newPosition: Int) {
        position = max(0, min(position, newPosition))
    }

    /// Appends `tokens` to the context and returns the logits of the last one, or of every one
    /// when `allPositions` is true ([tokens.count][vocab]).
    public func evaluate(_ tokens: [Int], allPositions: Bool = false) throws -> [[Float]] {
        guard !tokens.isEmpty else { return [] }
        guard position + tokens.count <= capacity else {
            throw ModelError.contextFull(position: position + tokens.count - 1, capacity: capacity)
        }
        let vocab = config.vocabSize
        var result: [[Float]] = []
        var offset = 0
        while offset < tokens.count {
            let count = min(scratch.maxTokens, tokens.count - offset)
            let chunk = tokens[offset..<(offset + count)]
            try model.embed(chunk, scratch: scratch)
            for layer in 0..<config.layerCount {
                try model.runLayer(layer, start: position, count: count, cache: cache[layer], scratch: scratch, pool: pool)
            }
            let isLast = offset + count == tokens.count
            if allPositions || isLast {
                let rows = allPositions ? 0..<count : (count - 1)..<count
                model.logits(rows: rows, scratch: scratch, into: logitsBuffer.pointer, pool: pool)
                for r in 0..<rows.count {
                    result.append(Array(UnsafeBufferPointer(start: logitsBuffer.pointer + r * vocab, count: vocab)))
                }
            }
            position += count
            offset += count
        }
        return result
    }
}
