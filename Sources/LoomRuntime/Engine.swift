import LoomCore
import LoomFormats
import LoomKernels
import LoomModel

/// Options for running a model on one device; `Engine(plan:)` takes a full plan instead.
public struct EngineOptions: Sendable {
    /// Positions the KV cache holds; nil means the model's `max_position_embeddings`, capped at 4096.
    public var maxSequenceLength: Int?
    /// Tokens evaluated per forward chunk; longer prompts are split.
    public var maxBatch: Int = 512
    public var cacheType: CacheType = .fp16
    public var threads: Int = ThreadPool.processorCount
    /// Bytes the device may hold; nil for no limit.
    public var budgetBytes: Int?
    /// Logit rows computed per LM-head pass: 1 suits generation; more speeds up all-position logits.
    public var logitsRows: Int = 1

    public init(maxSequenceLength: Int? = nil, maxBatch: Int = 512, cacheType: CacheType = .fp16,
                threads: Int = ThreadPool.processorCount, budgetBytes: Int? = nil, logitsRows: Int = 1) {
        self.maxSequenceLength = maxSequenceLength
        self.maxBatch = maxBatch
        self.cacheType = cacheType
        self.threads = threads
        self.budgetBytes = budgetBytes
        self.logitsRows = logitsRows
    }
}

/// Errors from setting up or driving an engine.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case invalidOption(name: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidOption(name, reason):
            return "option \(name): \(reason)"
        }
    }
}

/// A loaded model with its cache and scratch, evaluating tokens one chunk at a time and keeping
/// its position, as llama.cpp's context does.
///
/// Everything it allocates is named by its `MemoryPlan`, in the arena of the device the plan
/// chose. Layers on different devices run one after another on the shared thread pool: a
/// single sequence's layers are sequential, so each device gets every thread while it works,
/// and the hidden state is copied from one device's scratch to the next at the boundary.
public final class Engine: @unchecked Sendable {
    public let model: DecoderModel
    public let plan: MemoryPlan
    public let pool: ThreadPool
    public let capacity: Int
    private let devices: [DeviceContext]
    private let host: MemoryArena?
    private let cache: [any KVCacheLayer]
    /// Tokens held in the cache.
    public private(set) var position = 0

    /// Loads a Hugging Face model directory (config.json + safetensors) onto one device.
    public convenience init(directory: String, options: EngineOptions = EngineOptions()) throws {
        try self.init(path: directory, options: options)
    }

    /// The plan for one CPU device under `options`.
    public static func singleDevicePlan(_ footprint: ModelFootprint, _ options: EngineOptions) throws -> MemoryPlan {
        let length = options.maxSequenceLength ?? min(footprint.config.maxPositionEmbeddings, 4096)
        guard length > 0 else { throw EngineError.invalidOption(name: "maxSequenceLength", reason: "must be positive") }
        guard options.maxBatch > 0, options.logitsRows > 0, options.threads > 0 else {
            throw EngineError.invalidOption(name: "maxBatch/logitsRows/threads", reason: "must be positive")
        }
        let device = DeviceSpec(name: "cpu0", budgetBytes: options.budgetBytes ?? (1 << 60), kind: .cpu)
        let request = PlanRequest(devices: [device], maxSequenceLength: length, cacheType: options.cacheType,
                                  chunkTokens: options.maxBatch, threads: options.threads,
                                  logitsRows: options.logitsRows, reserveBytes: 0)
        return Planner.plan(footprint, request)
    }

    /// Loads `source` exactly as `plan` says. A plan that does not fit is refused before any
    /// weight is touched.
    public init(config: ModelConfig, source: any WeightSource, ropeLayout: RopeLayout = .halves, plan: MemoryPlan) throws {
        guard plan.fits else {
            throw PlanError.doesNotFit(summary: plan.suggestions.first ?? "a device is over its budget")
        }
        let request = plan.request
        if QuantizedKVCacheLayer.bits(for: request.cacheType) != nil, config.headDim % 32 != 0 {
            throw EngineError.invalidOption(name: "cache", reason: "\(request.cacheType.rawValue) quantizes groups of 32 within a head, and head_dim is \(config.headDim)")
        }
        self.plan = plan
        capacity = plan.maxSequenceLength * request.batch
        pool = ThreadPool(threads: request.threads)
        let devices = plan.devices.map(DeviceContext.init)
        self.devices = devices
        let host = plan.hostBytes > 0 ? MemoryArena(name: "host") : nil
        self.host = host
        let weights = try DecoderWeights.load(config: config, source: source) { placement in
            switch placement {
            case .embedding: return plan.embeddingDevice.map { devices[$0].arena } ?? host!
            case let .layer(i): return devices[plan.layerDevice[i]].arena
            case .head: return devices[plan.headDevice].arena
            }
        }
        model = DecoderModel(config: config, weights: weights)
        let chunk = plan.chunkTokens
        for device in devices where device.planned.ropeBytes > 0 {
            (device.rope, device.ropeStorage) = try model.makeRotaryTable(positions: plan.maxSequenceLength,
                                                                         layout: ropeLayout, arena: device.arena)
            device.scratch = try ForwardScratch(config: config, maxTokens: chunk, threads: request.threads,
                                                cacheCapacity: capacity, matmulScratchBytes: model.matmulScratchBytes(batch: chunk),
                                                arena: device.arena)
        }
        var layers: [any KVCacheLayer] = []
        for i in 0..<config.layerCount {
            let arena = devices[plan.layerDevice[i]].arena
            switch request.cacheType {
            case .f32:
                layers.append(try DenseKVCacheLayer<F32Element>(kvHeads: config.kvHeadCount, headDim: config.headDim, capacity: capacity, arena: arena))
            case .fp16:
                layers.append(try DenseKVCacheLayer<F16Element>(kvHeads: config.kvHeadCount, headDim: config.headDim, capacity: capacity, arena: arena))
            case .q8, .q6, .q4:
                let bits = QuantizedKVCacheLayer.bits(for: request.cacheType)!
                layers.append(try QuantizedKVCacheLayer(kvHeads: config.kvHeadCount, headDim: config.headDim, capacity: capacity,
                                                        keyBits: bits.key, valueBits: bits.value, arena: arena))
            }
        }
        cache = layers
        let headDevice = devices[plan.headDevice]
        headDevice.logits = try headDevice.arena.allocate(Float.self, count: headDevice.planned.logitsBytes / 4, label: "logits")
    }

    public var config: ModelConfig { model.config }

    /// Planned and measured bytes of every device.
    public var usage: [DeviceUsage] {
        devices.map { DeviceUsage(name: $0.planned.name, budgetBytes: $0.planned.budgetBytes, plannedBytes: $0.planned.arenaBytes,
                                  peakBytes: $0.arena.peak, byLabel: $0.arena.usageByLabel) }
    }

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
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.tokenOutOfRange(token: bad, vocabSize: config.vocabSize)
        }
        let vocab = config.vocabSize
        let hidden = config.hiddenSize
        let firstDevice = devices[plan.layerDevice.first ?? plan.headDevice]
        let headDevice = devices[plan.headDevice]
        var result: [[Float]] = []
        var offset = 0
        while offset < tokens.count {
            let count = min(plan.chunkTokens, tokens.count - offset)
            var current = firstDevice
            try model.embed(tokens[offset..<(offset + count)], scratch: current.scratch!)
            for layer in 0..<config.layerCount {
                let device = devices[plan.layerDevice[layer]]
                if device !== current {
                    device.scratch!.hidden.pointer.update(from: current.scratch!.hidden.pointer, count: count * hidden)
                    current = device
                }
                try model.runLayer(layer, start: position, count: count, cache: cache[layer], rope: device.rope!,
                                   scratch: device.scratch!, pool: pool)
            }
            if headDevice !== current {
                headDevice.scratch!.hidden.pointer.update(from: current.scratch!.hidden.pointer, count: count * hidden)
            }
            let isLast = offset + count == tokens.count
            if allPositions || isLast {
                let wanted = allPositions ? 0..<count : (count - 1)..<count
                let rowsPerPass = headDevice.logits!.count / vocab
                var row = wanted.lowerBound
                while row < wanted.upperBound {
                    let rows = row..<min(wanted.upperBound, row + rowsPerPass)
                    model.logits(rows: rows, scratch: headDevice.scratch!, into: headDevice.logits!.pointer, pool: pool)
                    for r in 0..<rows.count {
                        result.append(Array(UnsafeBufferPointer(start: headDevice.logits!.pointer + r * vocab, count: vocab)))
                    }
                    row = rows.upperBound
                }
            }
            position += count
            offset += count
        }
        return result
    }
}
