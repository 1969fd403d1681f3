import Foundation
import LoomCore
import LoomFormats
import LoomKernels
import LoomModel

/// Options for running a model on one device; `Engine(plan:)` takes a full plan instead.
public struct EngineOptions: Sendable {
    /// Positions the KV cache holds; nil means the model's `max_position_embeddings`, capped at 4096.
    public var maxSequenceLength: Int?
    /// Tokens evaluated per forward chunk; longer prompts are split.
    public var chunkTokens: Int = 512
    public var cacheType: CacheType = .fp16
    public var threads: Int = ThreadPool.processorCount
    /// Bytes the device may hold; nil for no limit.
    public var budgetBytes: Int?
    /// Logit rows computed per LM-head pass: 1 suits generation; more speeds up all-position logits.
    public var logitsRows: Int = 1
    /// Sequences run at once.
    public var parallel: Int = 1
    /// Tokens of the KV-cache page pool.
    public var cacheTokens: CacheTokens = .perSequence
    /// Positions per KV-cache page.
    public var pageTokens: Int = PlanRequest.defaultPageTokens
    /// Sliding-window layers keep every position (see `PlanRequest.fullWindowCache`).
    public var fullWindowCache = false

    public init(maxSequenceLength: Int? = nil, chunkTokens: Int = 512, cacheType: CacheType = .fp16,
                threads: Int = ThreadPool.processorCount, budgetBytes: Int? = nil, logitsRows: Int = 1, parallel: Int = 1,
                cacheTokens: CacheTokens = .perSequence, pageTokens: Int = PlanRequest.defaultPageTokens, fullWindowCache: Bool = false) {
        self.maxSequenceLength = maxSequenceLength
        self.chunkTokens = chunkTokens
        self.cacheType = cacheType
        self.threads = threads
        self.budgetBytes = budgetBytes
        self.logitsRows = logitsRows
        self.parallel = parallel
        self.cacheTokens = cacheTokens
        self.pageTokens = pageTokens
        self.fullWindowCache = fullWindowCache
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

/// What logits a chunk of a forward pass wants back.
public enum LogitRows: Sendable, Equatable {
    case none
    /// The last token's (to sample the next one).
    case last
    /// Every token's.
    case all
}

/// Tokens to append to one sequence in a forward pass.
public struct SequenceChunk: Sendable, Equatable {
    public var sequence: SequenceID
    public var tokens: [Int]
    public var logits: LogitRows

    public init(sequence: SequenceID, tokens: [Int], logits: LogitRows = .last) {
        self.sequence = sequence
        self.tokens = tokens
        self.logits = logits
    }
}

/// A loaded model with its paged KV cache and scratch, running forward passes over the tokens
/// of many sequences at once.
///
/// Sequences are created, forked (sharing their pages), truncated and freed through the engine;
/// `forward` appends a chunk of tokens to each of several sequences in one pass over the weights.
/// Full pages are indexed by their tokens and everything before them, so a new sequence whose
/// prompt begins like an earlier one maps those pages (`mapCachedPrefix`) instead of recomputing
/// them. The single-sequence API of `TokenEvaluator` (`evaluate`, `rewind`, `position`) drives a
/// default sequence.
///
/// Everything it allocates is named by its `MemoryPlan`, in the arena of the device the plan
/// chose. Layers on different devices run one after another on the shared thread pool, and the
/// hidden state is copied from one device's scratch to the next at the boundary. Passes run one
/// at a time; sequences may be driven from different threads, each sequence from one.
public final class Engine: @unchecked Sendable {
    public let model: DecoderModel
    public let plan: MemoryPlan
    public let pool: ThreadPool
    /// Which pages each sequence holds, and the prefix index.
    public let pages: PagePool
    /// One backend per planned device, in plan order.
    private let devices: [any DeviceBackend]
    private let host: MemoryArena?
    private let defaultSequence: SequenceID

    /// Positions one sequence can hold (the plan's `--max-seq-len`).
    public var capacity: Int { plan.maxSequenceLength }
    /// Rows one forward pass takes at most.
    public var chunkTokens: Int { plan.chunkTokens }
    /// Tokens held by the default sequence.
    public var position: Int { (try? pages.length(defaultSequence)) ?? 0 }

    /// Loads a Hugging Face model directory (config.json + safetensors) onto one device.
    public convenience init(directory: String, options: EngineOptions = EngineOptions()) throws {
        try self.init(path: directory, options: options)
    }

    /// The plan for one CPU device under `options`.
    public static func singleDevicePlan(_ footprint: ModelFootprint, _ options: EngineOptions) throws -> MemoryPlan {
        let length = options.maxSequenceLength ?? min(footprint.config.maxPositionEmbeddings, 4096)
        guard length > 0 else { throw EngineError.invalidOption(name: "maxSequenceLength", reason: "must be positive") }
        guard options.chunkTokens > 0, options.logitsRows > 0, options.threads > 0, options.parallel > 0 else {
            throw EngineError.invalidOption(name: "chunkTokens/logitsRows/threads/parallel", reason: "must be positive")
        }
        let device = DeviceSpec(name: "cpu0", budgetBytes: options.budgetBytes ?? (1 << 60), kind: .cpu)
        let request = PlanRequest(devices: [device], maxSequenceLength: length, cacheType: options.cacheType,
                                  parallel: options.parallel, cacheTokens: options.cacheTokens, pageTokens: options.pageTokens,
                                  chunkTokens: options.chunkTokens, threads: options.threads,
                                  logitsRows: options.logitsRows, reserveBytes: 0, fullWindowCache: options.fullWindowCache)
        return Planner.plan(footprint, request)
    }

    /// Loads `source` exactly as `plan` says. A plan that does not fit is refused before any
    /// weight is touched.
    ///
    /// `pool` shares another engine's threads (a draft model beside its target): their passes
    /// then take turns, and no pool's workers spin while the other's run.
    public init(config: ModelConfig, source: any WeightSource, ropeLayout: RopeLayout = .halves, plan: MemoryPlan,
                pool shared: ThreadPool? = nil) throws {
        guard plan.fits else {
            throw PlanError.doesNotFit(summary: plan.suggestions.first ?? "a device is over its budget")
        }
        let request = plan.request
        if QuantizedKVCacheLayer.bits(for: request.cacheType) != nil, config.headDim % 32 != 0 {
            throw EngineError.invalidOption(name: "cache", reason: "\(request.cacheType.rawValue) quantizes groups of 32 within a head, and head_dim is \(config.headDim)")
        }
        self.plan = plan
        pages = PagePool(pageTokens: plan.pageTokens, pageCount: plan.cachePages, maxSequenceLength: plan.maxSequenceLength,
                         window: plan.window)
        let pool = shared ?? ThreadPool(threads: request.threads)
        self.pool = pool
        let host = plan.hostBytes > 0 ? MemoryArena(name: "host") : nil
        self.host = host
        let tensorCount = ModelArchitectures.of(config).tensorInventory(config, separateHead: true).count
        let devices: [any DeviceBackend] = try plan.devices.map { planned in
            guard planned.spec.vulkanIndex != nil else { return CPUBackend(planned: planned, pool: pool) }
            return try VulkanBackend(planned: planned, host: host!, tensorCount: tensorCount)
        }
        self.devices = devices
        // The device a placement's weights go to; nil for the embedding kept on the host.
        func device(_ placement: WeightPlacement) -> Int? {
            switch placement {
            case .embedding: plan.embeddingDevice
            case let .layer(i): plan.layerDevice[i]
            case .head: plan.headDevice
            }
        }
        let weights = try DecoderWeights.load(config: config, source: source) { placement in
            device(placement).map { devices[$0].arena } ?? host!
        } inPlace: { placement in
            // A Vulkan device copies its matrices as stored; a tied head is the embedding itself.
            plan.devices[placement == .embedding ? plan.headDevice : device(placement)!].spec.vulkanIndex != nil
        }
        model = DecoderModel(config: config, weights: weights)
        for (d, device) in devices.enumerated() {
            try device.prepare(model: model, plan: plan, layers: plan.layerDevice.indices.filter { plan.layerDevice[$0] == d },
                               ropeLayout: ropeLayout)
        }
        defaultSequence = pages.create()
    }

    public var config: ModelConfig { model.config }

    /// Bytes one decode step of one sequence reads from memory when its cache holds `context`
    /// tokens: the weights it multiplies by and the cache it attends over. Decode is bound by
    /// memory bandwidth, so this over the step's time, against the machine's read bandwidth, says
    /// how close a step comes to the ceiling.
    public func decodeReadBytes(context: Int) -> Int {
        model.weights.decodeReadBytes + plan.kvCacheBytes(context: context)
    }

    /// Router and expert bytes the sparse layers read since the last reset (see
    /// `DecoderModel.expertReadBytes`); zero for dense models.
    public var expertReadBytes: Int { model.expertReadBytes }

    public func resetExpertReadBytes() { model.resetExpertReadBytes() }

    /// Bytes a decode step would read if every expert were read, as a dense model of the same
    /// weights does; equals `decodeReadBytes` for dense models.
    public func denseEquivalentReadBytes(context: Int) -> Int {
        model.weights.denseEquivalentReadBytes + plan.kvCacheBytes(context: context)
    }

    /// Planned and measured bytes of every device.
    public var usage: [DeviceUsage] {
        devices.map { DeviceUsage(name: $0.planned.name, budgetBytes: $0.planned.budgetBytes, plannedBytes: $0.planned.arenaBytes,
                                  peakBytes: $0.arena.peak, byLabel: $0.arena.usageByLabel) }
    }

    // MARK: sequences

    /// A new empty sequence.
    /// A new empty sequence; `cacheSalt` names the cache namespace its pages are shared in.
    public func createSequence(cacheSalt: String? = nil) -> SequenceID { pages.create(cacheSalt: cacheSalt) }

    /// Maps onto the empty sequence `id` the cached pages `prompt` begins with and returns the
    /// tokens they hold (a multiple of the page size, never the whole prompt): evaluate the rest.
    public func mapCachedPrefix(_ id: SequenceID, prompt: [Int]) throws -> Int {
        try pages.mapCachedPrefix(id, prompt: prompt.map { Int32(truncatingIfNeeded: $0) })
    }

    /// A new sequence sharing the first `length` tokens of `id` (all by default). Where the
    /// sliding-window pages of that length are already dropped, the new sequence maps what the
    /// prefix cache has and recomputes the rest.
    public func fork(_ id: SequenceID, length: Int? = nil) throws -> SequenceID {
        do {
            return try pages.fork(id, length: length)
        } catch PagePoolError.windowDropped(_, let kept) {
            let child = try pages.create(namespaceOf: id)
            do {
                try recompute(child, tokens: Array(try pages.tokens(id).prefix(kept)))
            } catch {
                pages.free(child)
                throw error
            }
            return child
        }
    }

    /// Drops the tokens of `id` after the first `length`. Where the sliding-window pages the new
    /// end attends to are already dropped, the sequence is rebuilt from its tokens (the prefix
    /// cache's pages, then a prefill of the rest).
    public func truncate(_ id: SequenceID, to length: Int) throws {
        do {
            try pages.truncate(id, to: length)
        } catch PagePoolError.windowDropped(_, let kept) {
            let tokens = Array(try pages.tokens(id).prefix(kept))
            try pages.truncate(id, to: 0)
            try recompute(id, tokens: tokens)
        }
    }

    /// Fills the empty sequence `id` with `tokens`: the cached pages they begin with, then
    /// forward passes (no logits) over the rest.
    private func recompute(_ id: SequenceID, tokens: [Int32]) throws {
        var done = try pages.mapCachedPrefix(id, prompt: tokens + [0])
        while done < tokens.count {
            let count = min(plan.chunkTokens, tokens.count - done)
            _ = try forward([SequenceChunk(sequence: id, tokens: tokens[done..<(done + count)].map(Int.init), logits: .none)])
            done += count
        }
    }

    /// Releases the pages of `id`; its full pages stay cached for later prompts.
    public func free(_ id: SequenceID) { pages.free(id) }

    /// Tokens held by `id`.
    public func length(_ id: SequenceID) throws -> Int { try pages.length(id) }

    // MARK: forward

    /// Appends each chunk's tokens to its sequence in one forward pass (every chunk of a
    /// different sequence, all rows together at most `chunkTokens`), and returns for each chunk
    /// the logits it asked for ([rows][vocab]). On error no sequence changes.
    public func forward(_ chunks: [SequenceChunk]) throws -> [[[Float]]] {
        try pass(chunks) { head, wanted in try head.logits(rows: wanted) }
    }

    /// As `forward`, but each row asked for comes back as its most likely token (the lowest id
    /// among equals), chosen on the device that holds the LM head: a GPU then sends back a token
    /// id instead of a vocabulary of logits.
    public func forwardGreedy(_ chunks: [SequenceChunk]) throws -> [[Int]] {
        try pass(chunks) { head, wanted in try head.greedy(rows: wanted) }
    }

    /// One forward pass over `chunks`; `read` turns the head device's rows into what each chunk gets.
    private func pass<Row>(_ chunks: [SequenceChunk], read: (any DeviceBackend, [Int]) throws -> [Row]) throws -> [[Row]] {
        // One pass at a time: passes share the devices' scratch, and engines may share the pool.
        pool.exclusive.lock()
        defer { pool.exclusive.unlock() }
        let rows = chunks.reduce(0) { $0 + $1.tokens.count }
        guard rows > 0 else { return chunks.map { _ in [] } }
        guard rows <= plan.chunkTokens else {
            throw EngineError.invalidOption(name: "chunks", reason: "\(rows) rows in one pass; the plan's scratch holds \(plan.chunkTokens) (--chunk)")
        }
        guard Set(chunks.map(\.sequence)).count == chunks.count else {
            throw EngineError.invalidOption(name: "chunks", reason: "a sequence appears twice in one pass")
        }
        for chunk in chunks {
            if let bad = chunk.tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw ModelError.tokenOutOfRange(token: bad, vocabSize: config.vocabSize)
            }
        }
        // Reserve every chunk's pages, or none.
        var batch = ForwardBatch()
        var reserved: [(SequenceID, Int)] = []
        do {
            for chunk in chunks where !chunk.tokens.isEmpty {
                let before = try pages.length(chunk.sequence)
                if before + chunk.tokens.count > capacity {
                    throw ModelError.contextFull(position: before + chunk.tokens.count - 1, capacity: capacity)
                }
                let append = try pages.reserve(chunk.sequence, appending: chunk.tokens.count)
                reserved.append((chunk.sequence, before))
                for device in devices {
                    try device.copyPages(append.copies, window: false)
                    try device.copyPages(append.windowCopies, window: true)
                }
                batch.spans.append(AttentionSpan(row: batch.tokens.count, count: chunk.tokens.count, start: append.start,
                                                 pageTableOffset: batch.pageTables.count))
                batch.pageTables += try pages.pages(chunk.sequence)
                batch.windowPageTables += try pages.windowPages(chunk.sequence)
                batch.windowSlots += append.windowSlots
                batch.tokens += chunk.tokens
                batch.positions += Array(append.start..<(append.start + chunk.tokens.count))
                batch.slots += append.slots
            }
            let logits = try run(batch, chunks: chunks, read: read)
            for chunk in chunks where !chunk.tokens.isEmpty {
                try pages.commit(chunk.sequence, tokens: chunk.tokens.map { Int32($0) })
            }
            return logits
        } catch {
            for (sequence, length) in reserved { try? pages.truncate(sequence, to: length) }
            throw error
        }
    }

    /// Embedding, layers and LM head over `batch`, each device running its layers and handing
    /// the hidden state on; what `read` makes of the rows each chunk asked for.
    private func run<Row>(_ batch: ForwardBatch, chunks: [SequenceChunk], read: (any DeviceBackend, [Int]) throws -> [Row]) throws -> [[Row]] {
        var current = devices[plan.layerDevice.first ?? plan.headDevice]
        try current.embed(batch)
        var layer = 0
        while layer < config.layerCount {
            let d = plan.layerDevice[layer]
            var last = layer
            while last + 1 < config.layerCount && plan.layerDevice[last + 1] == d { last += 1 }
            if devices[d] !== current {
                try current.handHidden(rows: batch.rowCount, to: devices[d])
                current = devices[d]
            }
            try current.run(layers: layer...last, batch: batch)
            layer = last + 1
        }
        let head = devices[plan.headDevice]
        if head !== current { try current.handHidden(rows: batch.rowCount, to: head) }
        var wanted: [Int] = []
        var row = 0
        for chunk in chunks {
            let n = chunk.tokens.count
            switch chunk.logits {
            case .none: break
            case .last: if n > 0 { wanted.append(row + n - 1) }
            case .all: wanted += Array(row..<(row + n))
            }
            row += n
        }
        let rowsOut = try read(head, wanted)
        // Hand each chunk its rows.
        var result: [[Row]] = []
        var next = 0
        for chunk in chunks {
            let n = chunk.logits == .all ? chunk.tokens.count : chunk.logits == .last && !chunk.tokens.isEmpty ? 1 : 0
            result.append(Array(rowsOut[next..<(next + n)]))
            next += n
        }
        return result
    }

    // MARK: one sequence

    /// Forgets the default sequence's tokens.
    public func reset() { try? truncate(defaultSequence, to: 0) }

    /// Drops the default sequence's tokens after `newPosition` (for rewinding on banned strings or edits).
    public func rewind(to newPosition: Int) {
        try? truncate(defaultSequence, to: max(0, newPosition))
    }

    /// Appends `tokens` to the default sequence and returns the logits of the last one, or of
    /// every one when `allPositions` is true ([tokens.count][vocab]). Long inputs run as several
    /// passes of at most `chunkTokens`.
    public func evaluate(_ tokens: [Int], allPositions: Bool = false) throws -> [[Float]] {
        try evaluate(tokens, allPositions: allPositions) { try forward($0) }
    }

    /// Appends `tokens` (at least one) to the default sequence and returns the most likely next
    /// token, chosen on the device (`forwardGreedy`).
    public func greedyNext(after tokens: [Int]) throws -> Int {
        guard !tokens.isEmpty else { throw EngineError.invalidOption(name: "tokens", reason: "no tokens to continue") }
        return try evaluate(tokens, allPositions: false) { try forwardGreedy($0) }[0]
    }

    private func evaluate<Row>(_ tokens: [Int], allPositions: Bool, pass: ([SequenceChunk]) throws -> [[Row]]) throws -> [Row] {
        guard !tokens.isEmpty else { return [] }
        guard position + tokens.count <= capacity else {
            throw ModelError.contextFull(position: position + tokens.count - 1, capacity: capacity)
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.tokenOutOfRange(token: bad, vocabSize: config.vocabSize)
        }
        var result: [Row] = []
        var offset = 0
        let start = position
        do {
            while offset < tokens.count {
                let count = min(plan.chunkTokens, tokens.count - offset)
                let isLast = offset + count == tokens.count
                let chunk = SequenceChunk(sequence: defaultSequence, tokens: Array(tokens[offset..<(offset + count)]),
                                          logits: allPositions ? .all : isLast ? .last : .none)
                result += try pass([chunk])[0]
                offset += count
            }
        } catch {
            rewind(to: start)
            throw error
        }
        return result
    }
}
