import LoomCore
import LoomFormats
import LoomKernels
import LoomModel
import LoomVulkan

/// The Vulkan backend: one planned device's layers on a Vulkan device, in the device-local
/// memory the plan sizes (weights as stored, the paged cache, RoPE tables, scratch, logits).
///
/// A pass is one command buffer: the batch's indices and the hidden rows go up through the
/// staging buffer, every layer runs with no host round trip, and the hidden rows (or the
/// logits) come back at the end; only a sparse layer ends one, at its router, for the host to
/// route its rows as the CPU does. The embedding stays on the host, as the planner places it.
final class VulkanBackend: DeviceBackend, @unchecked Sendable {
    let planned: PlannedDevice
    /// The device arena's ledger: the loader charges the weights here, the backend the rest.
    var arena: MemoryArena { memory.ledger }
    let device: VulkanDevice
    let memory: VulkanArena
    private let host: MemoryArena
    private var model: DecoderModel!
    private var plan: MemoryPlan!
    private var layers: [Int: Layer] = [:]
    private var head: (norm: VulkanBuffer, matrix: Matrix)?
    private var scratch: Scratch!
    private var rope: Rope!
    /// [chunkTokens, hidden]: embedded rows, or rows handed over, on their way up; rows coming back.
    private var hostRows: ArenaBuffer<Float>!
    /// Rows in `hostRows` that the next pass uploads first.
    private var pendingRows = 0
    /// Page copies recorded before the next pass's layers (a sequence writing into a shared
    /// page): of the full-context layers' pages, and of the sliding-window layers' own pages.
    private var pendingCopies: [(source: Int32, destination: Int32, positions: Int)] = []
    private var pendingWindowCopies: [(source: Int32, destination: Int32, positions: Int)] = []
    /// The table of the sliding-window layers when they have a θ of their own (Gemma 3).
    private var localRope: Rope?
    /// Layers recorded by `run` and not yet submitted: the next command buffer records them first.
    private var recorded: [(VulkanRecorder) throws -> Void] = []

    struct Matrix {
        let type: QuantType
        let buffer: VulkanBuffer
        let rows: Int
        let cols: Int
    }

    struct Layer {
        let attentionNorm: VulkanBuffer
        let query: Matrix, key: Matrix, value: Matrix, output: Matrix
        let queryBias: VulkanBuffer?, keyBias: VulkanBuffer?, valueBias: VulkanBuffer?, outputBias: VulkanBuffer?
        let queryNorm: VulkanBuffer?, keyNorm: VulkanBuffer?
        let mlpNorm: VulkanBuffer
        let postAttentionNorm: VulkanBuffer?, postMLPNorm: VulkanBuffer?
        /// The dense MLP, or the router and experts of a sparse layer.
        let mlp: GatedMLP?
        let sparse: SparseMLP?
        let sinks: VulkanBuffer?
        let cache: VulkanRecorder.PagedPlanes
        /// Positions a row sees, itself included, in a sliding-window layer.
        let window: Int?
        /// Whether the layer's cache is the window's own pages (the batch's window slots and tables).
        let keepsWindow: Bool
    }

    struct GatedMLP {
        let gate: Matrix, up: Matrix, down: Matrix
        /// gpt-oss's experts have biases on all three.
        let gateBias: VulkanBuffer?, upBias: VulkanBuffer?, downBias: VulkanBuffer?
    }

    struct SparseMLP {
        let router: Matrix
        let routerBias: VulkanBuffer?
        let experts: [GatedMLP]
    }

    struct Rope {
        let cosines: VulkanBuffer
        let sines: VulkanBuffer
        let half: Int
        let positions: Int
        let pairs: Bool
    }

    /// The pass's working buffers, in the order `scratchBytes` sizes them.
    struct Scratch {
        let hidden, normed, query, key, value, attention, gate, up: VulkanBuffer
        let positions, slots, rowTables, pageTables, windowSlots, windowPageTables: VulkanBuffer
        let experts: ExpertScratch?
        let logits: VulkanBuffer?
    }

    /// A sparse layer's working buffers: each row's k choices side by side.
    struct ExpertScratch {
        let routing: VulkanBuffer       // [chunk, experts] router logits
        let gathered: VulkanBuffer      // [chunk · k, hidden] the normed rows, grouped by expert
        let gate, up: VulkanBuffer      // [chunk · k, expert width]
        let output: VulkanBuffer        // [chunk · k, hidden]
        let sum: VulkanBuffer           // [chunk, hidden]
        let choices: VulkanBuffer       // [chunk, k] Int32: each choice's row of `output`
        let weights: VulkanBuffer       // [chunk, k] the router's weights
    }

    /// Bytes of each scratch buffer, in `Scratch`'s order: [chunk, width] f32 rows, then the
    /// batch's Int32 indices (its page tables for up to `chunkTokens` sequences, and the
    /// sliding-window layers' slots and tables), then a sparse model's `ExpertScratch`.
    static func scratchParts(config: ModelConfig, chunkTokens chunk: Int, length: Int, pageTokens: Int) -> [Int] {
        let pagesPerSequence = (length + pageTokens - 1) / pageTokens
        var parts = [config.hiddenSize, config.hiddenSize, config.queryWidth, config.kvWidth, config.kvWidth, config.queryWidth,
                     max(config.intermediateSize, 1), max(config.intermediateSize, 1)].map { chunk * $0 * 4 }
            + [chunk * 4, chunk * 4, chunk * 4, chunk * pagesPerSequence * 4, chunk * 4, chunk * pagesPerSequence * 4]
        if let moe = config.moe {
            let k = moe.expertsPerToken, width = moe.expertIntermediateSize
            parts += [chunk * moe.expertCount * 4, chunk * k * config.hiddenSize * 4, chunk * k * width * 4, chunk * k * width * 4,
                      chunk * k * config.hiddenSize * 4, chunk * config.hiddenSize * 4, chunk * k * 4, chunk * k * 4]
        }
        return parts
    }

    /// The scratch line of a Vulkan device's plan: every part rounded to the arena's alignment,
    /// so the plan names exactly what is allocated.
    static func scratchBytes(config: ModelConfig, chunkTokens: Int, length: Int, pageTokens: Int) -> Int {
        scratchParts(config: config, chunkTokens: chunkTokens, length: length, pageTokens: pageTokens)
            .reduce(0) { $0 + round($1) }
    }

    /// Bytes one pass stages at most: hidden rows, the batch's indices and a sparse layer's
    /// choices, each 16-byte aligned.
    static func passStagingBytes(config: ModelConfig, chunkTokens chunk: Int, length: Int, pageTokens: Int) -> Int {
        let pagesPerSequence = (length + pageTokens - 1) / pageTokens
        let parts = [chunk * config.hiddenSize * 4, chunk * 4, chunk * 4, chunk * 4, chunk * pagesPerSequence * 4, chunk * 4,
                     chunk * pagesPerSequence * 4, (config.moe?.expertsPerToken ?? 0) * chunk * 8]
        return parts.reduce(0) { $0 + ($1 + 15) / 16 * 16 }
    }

    /// The staging buffer a plan line needs: a pass's uploads and, in the same command buffer,
    /// one logits row at least (more rows go in later ones), or the default size.
    static func stagingBytes(config: ModelConfig, chunkTokens: Int, length: Int, pageTokens: Int) -> Int {
        max(passStagingBytes(config: config, chunkTokens: chunkTokens, length: length, pageTokens: pageTokens) + config.vocabSize * 4,
            16 << 20)
    }

    /// Host bytes a Vulkan plan line adds to the plan: its row buffer and its staging buffer.
    static func hostBytes(config: ModelConfig, chunkTokens: Int, length: Int, pageTokens: Int) -> Int {
        chunkTokens * config.hiddenSize * 4 + stagingBytes(config: config, chunkTokens: chunkTokens, length: length, pageTokens: pageTokens)
    }

    private static func round(_ bytes: Int) -> Int { (bytes + VulkanArena.alignment - 1) / VulkanArena.alignment * VulkanArena.alignment }

    /// Bytes of alignment a weight region may add: weights start at multiples of 16 bytes.
    private static let weightAlignment = 16

    init(planned: PlannedDevice, host: MemoryArena, tensorCount: Int) throws {
        guard let index = planned.spec.vulkanIndex else { preconditionFailure("\(planned.name) is not a Vulkan device") }
        self.planned = planned
        self.host = host
        device = try VulkanDevice.shared(index: index)
        // The plan's bytes, and room for each weight to start on a 16-byte boundary.
        let slack = (tensorCount + 8) * Self.weightAlignment + VulkanArena.alignment
        memory = try VulkanArena(device: device, name: planned.name, capacity: max(1, planned.arenaBytes + slack))
    }

    /// The reasons the backend cannot run `config` with `plan`; empty when it can.
    static func unsupported(_ config: ModelConfig, plan: MemoryPlan) -> [String] {
        var reasons: [String] = []
        if config.headDim > 256 { reasons.append("head_dim \(config.headDim) (at most 256)") }
        if plan.request.cacheType == .f32 { reasons.append("an f32 cache (the Vulkan caches are fp16, q8, q6 and q4)") }
        return reasons
    }

    func prepare(model: DecoderModel, plan: MemoryPlan, layers placed: [Int], ropeLayout: RopeLayout) throws {
        self.model = model
        self.plan = plan
        let config = model.config
        let reasons = Self.unsupported(config, plan: plan)
        guard reasons.isEmpty else {
            throw EngineError.invalidOption(name: "devices", reason: "\(planned.name) cannot run this model: it has \(reasons.joined(separator: ", ")); run it on the CPU")
        }
        // Weights and vectors go up once; the loader charged them to the ledger already.
        for i in placed { layers[i] = try upload(layer: model.weights.layers[i], index: i, config: config, plan: plan) }
        if planned.holdsHead {
            // A tied head is the host's embedding: the loader charged it there, so its copy here is charged now.
            let embedding = model.weights.embedding.storedBlocks?.bytes.baseAddress
            let tied = embedding != nil && model.weights.lmHead.storedBlocks?.bytes.baseAddress == embedding
            head = (try upload(model.weights.finalNorm), try upload(model.weights.lmHead, name: "output", charge: tied))
        }
        if planned.ropeBytes > 0 {
            let tableArena = MemoryArena(name: "rope upload")
            let tables = [try model.makeRotaryTable(positions: plan.maxSequenceLength, layout: ropeLayout, arena: tableArena)]
                + [try model.makeLocalRotaryTable(positions: plan.maxSequenceLength, layout: ropeLayout, arena: tableArena)].compactMap { $0 }
            let uploaded = try tables.map { table, storage -> Rope in
                let buffer = try memory.allocate(bytes: storage.byteCount, label: "rope")
                try device.upload(UnsafeRawBufferPointer(storage.buffer), to: buffer)
                let half = table.headDim / 2
                return Rope(cosines: buffer, sines: buffer.slice(from: plan.maxSequenceLength * half * 4), half: half,
                            positions: plan.maxSequenceLength, pairs: table.layout == .adjacentPairs)
            }
            rope = uploaded[0]
            localRope = uploaded.count > 1 ? uploaded[1] : nil
            let parts = Self.scratchParts(config: config, chunkTokens: plan.chunkTokens, length: plan.maxSequenceLength, pageTokens: plan.pageTokens)
            let b = try parts.map { try memory.allocate(bytes: Self.round($0), label: "scratch") }
            let logits = planned.logitsBytes > 0 ? try memory.allocate(bytes: planned.logitsBytes, label: "logits") : nil
            let experts = config.moe == nil ? nil
                : ExpertScratch(routing: b[14], gathered: b[15], gate: b[16], up: b[17], output: b[18], sum: b[19], choices: b[20], weights: b[21])
            scratch = Scratch(hidden: b[0], normed: b[1], query: b[2], key: b[3], value: b[4], attention: b[5], gate: b[6], up: b[7],
                              positions: b[8], slots: b[9], rowTables: b[10], pageTables: b[11], windowSlots: b[12],
                              windowPageTables: b[13], experts: experts, logits: logits)
            hostRows = try host.allocate(Float.self, count: plan.chunkTokens * config.hiddenSize, label: "vulkan rows")
            let stagingBytes = Self.stagingBytes(config: config, chunkTokens: plan.chunkTokens, length: plan.maxSequenceLength,
                                                 pageTokens: plan.pageTokens)
            try device.reserveStaging(bytes: stagingBytes)
            try host.charge(stagingBytes, label: "staging")
        }
    }

    private func upload(layer: DecoderLayerWeights, index: Int, config: ModelConfig, plan: MemoryPlan) throws -> Layer {
        let optional = { (v: ArenaBuffer<Float>?) throws -> VulkanBuffer? in try v.map { try self.upload($0) } }
        let keepsWindow = plan.keepsWindow(layer: index)
        let pageCount = keepsWindow ? plan.window!.pageCount : plan.cachePages
        let bits = QuantizedKVCacheLayer.bits(for: plan.request.cacheType).map { ($0.key.rawValue, $0.value.rawValue) } ?? (16, 16)
        func plane(_ bits: Int) throws -> VulkanBuffer {
            try memory.allocate(bytes: VulkanRecorder.PagedPlanes.planeBytes(kvHeads: config.kvHeadCount, headDim: config.headDim,
                                                                             pageTokens: plan.pageTokens, pageCount: pageCount, bits: bits),
                                label: "cache")
        }
        let cache = VulkanRecorder.PagedPlanes(keys: try plane(bits.0), values: try plane(bits.1),
                                               kvHeads: config.kvHeadCount, headDim: config.headDim,
                                               pageTokens: plan.pageTokens, pageCount: pageCount, keyBits: bits.0, valueBits: bits.1)
        func name(_ suffix: String) -> String { "blk.\(index).\(suffix)" }
        return Layer(attentionNorm: try upload(layer.attentionNorm),
                     query: try upload(layer.query, name: name("attn_q")), key: try upload(layer.key, name: name("attn_k")),
                     value: try upload(layer.value, name: name("attn_v")), output: try upload(layer.output, name: name("attn_output")),
                     queryBias: try optional(layer.queryBias), keyBias: try optional(layer.keyBias),
                     valueBias: try optional(layer.valueBias), outputBias: try optional(layer.outputBias),
                     queryNorm: try optional(layer.queryNorm), keyNorm: try optional(layer.keyNorm),
                     mlpNorm: try upload(layer.mlpNorm),
                     postAttentionNorm: try optional(layer.postAttentionNorm), postMLPNorm: try optional(layer.postMLPNorm),
                     mlp: try layer.mlp.map { try upload($0, name: name("ffn")) },
                     sparse: try layer.experts.map { sparse in
                         SparseMLP(router: try upload(sparse.router, name: name("ffn_gate_inp")), routerBias: try optional(sparse.routerBias),
                                   experts: try sparse.experts.enumerated().map { e, expert in try upload(expert, name: name("expert \(e) ffn")) })
                     },
                     sinks: try optional(layer.sinks), cache: cache,
                     window: config.window(layer: index), keepsWindow: keepsWindow)
    }

    private func upload(_ mlp: GatedMLPWeights, name: String) throws -> GatedMLP {
        GatedMLP(gate: try upload(mlp.gate, name: name + "_gate"), up: try upload(mlp.up, name: name + "_up"),
                 down: try upload(mlp.down, name: name + "_down"), gateBias: try mlp.gateBias.map { try upload($0) },
                 upBias: try mlp.upBias.map { try upload($0) }, downBias: try mlp.downBias.map { try upload($0) })
    }

    private func upload(_ vector: ArenaBuffer<Float>) throws -> VulkanBuffer {
        let buffer = try memory.allocate(bytes: vector.byteCount, label: "weights", alignment: Self.weightAlignment, charge: false)
        try device.upload(UnsafeRawBufferPointer(vector.buffer), to: buffer)
        return buffer
    }

    private func upload(_ matrix: any WeightMatrix, name: String, charge: Bool = false) throws -> Matrix {
        let refused = EngineError.invalidOption(name: "devices", reason: "\(planned.name): \(name) is \(matrix.formatName), and the Vulkan kernels read \(VulkanRecorder.matmulTypes.map(\.name).joined(separator: ", "))")
        let buffer = try memory.allocate(bytes: matrix.byteCount, label: "weights", alignment: Self.weightAlignment, charge: charge)
        if let stored = matrix.storedBlocks {
            guard VulkanRecorder.matmulTypes.contains(stored.type) else { throw refused }
            try device.upload(stored.bytes, to: buffer)
            return Matrix(type: stored.type, buffer: buffer, rows: matrix.rows, cols: matrix.cols)
        }
        // A matrix made in the arena in a repacked layout (an expert the source transposed):
        // rebuilt in the stored layout on its way up.
        let rebuilt = UnsafeMutableRawBufferPointer.allocate(byteCount: matrix.byteCount, alignment: 64)
        defer { rebuilt.deallocate() }
        guard let type = matrix.writeStoredBlocks(into: rebuilt.baseAddress!), VulkanRecorder.matmulTypes.contains(type) else { throw refused }
        try device.upload(UnsafeRawBufferPointer(rebuilt), to: buffer)
        return Matrix(type: type, buffer: buffer, rows: matrix.rows, cols: matrix.cols)
    }

    func copyPages(_ copies: [(source: Int32, destination: Int32, positions: Int)], window: Bool) throws {
        // The copies join the next pass, before its layers.
        if window { pendingWindowCopies += copies } else { pendingCopies += copies }
    }

    func embed(_ batch: ForwardBatch) throws {
        try model.embed(batch.tokens, into: hostRows.pointer)
        pendingRows = batch.rowCount
    }

    func run(layers range: ClosedRange<Int>, batch: ForwardBatch) throws {
        if let last = batch.positions.max(), last >= rope.positions {
            throw ModelError.contextFull(position: last, capacity: rope.positions)
        }
        let s = scratch!, rows = batch.rowCount
        var rowTables = [Int32](repeating: 0, count: rows)
        for span in batch.spans { for r in span.rows { rowTables[r] = Int32(span.pageTableOffset) } }
        let copies = pendingCopies, windowCopies = pendingWindowCopies
        pendingCopies = []
        pendingWindowCopies = []
        // The layers are recorded, not submitted: the LM head (or the hand-over) joins them in one
        // command buffer. A sparse layer ends one at its router, whose logits the host routes (as
        // the CPU does) before the next command buffer runs its experts.
        var next = range.lowerBound, first = true
        var routed: (layer: Int, routes: [[(expert: Int, weight: Float)]])?
        while true {
            let sparseAt = (next...range.upperBound).first { layers[$0]!.sparse != nil }
            let end = sparseAt ?? range.upperBound
            var routerLogits: VulkanRecorder.Fetched?
            let segment: (VulkanRecorder) throws -> Void = { [first, routed, next] r in
                if first {
                    try self.stagePendingRows(r)
                    try r.stage(batch.positions.map { Int32($0) }, to: s.positions)
                    try r.stage(batch.slots, to: s.slots)
                    try r.stage(rowTables, to: s.rowTables)
                    try r.stage(batch.pageTables, to: s.pageTables)
                    try r.stage(batch.windowSlots, to: s.windowSlots)
                    try r.stage(batch.windowPageTables, to: s.windowPageTables)
                    try self.recordPageCopies(copies, window: false, r)
                    try self.recordPageCopies(windowCopies, window: true, r)
                    r.barrier()
                }
                if let (layer, routes) = routed { try self.recordExperts(layer: layer, routes: routes, rows: rows, r) }
                for index in next...end {
                    try self.recordAttention(layer: index, rows: rows, r)
                    if index == sparseAt {
                        routerLogits = try self.recordRouter(layer: index, rows: rows, r)
                    } else {
                        try self.recordDenseMLP(layer: index, rows: rows, r)
                    }
                }
            }
            guard let sparse = sparseAt else {
                recorded.append(segment)
                return
            }
            var routes: [[(expert: Int, weight: Float)]] = []
            try device.submit(staged: true) { r in
                try recordDeferred(r)
                try segment(r)
            } completion: { r in
                guard let fetched = routerLogits, let moe = model.config.moe else { return }
                let logits = UnsafeMutableRawBufferPointer(mutating: r.fetched(fetched)).bindMemory(to: Float.self)
                routes = (0..<rows).map { DecoderModel.route(logits.baseAddress! + $0 * moe.expertCount, moe) }
            }
            first = false
            routed = (sparse, routes)
            next = sparse + 1
            if next > range.upperBound {
                let experts = routed!
                recorded.append { r in try self.recordExperts(layer: experts.layer, routes: experts.routes, rows: rows, r) }
                return
            }
        }
    }

    /// Records the work `run` left for the next command buffer, in order.
    private func recordDeferred(_ r: VulkanRecorder) throws {
        let work = recorded
        recorded = []
        for record in work { try record(r) }
    }

    /// Submits the work `run` left, when nothing else is to join it.
    private func flush() throws {
        guard !recorded.isEmpty else { return }
        try device.submit(staged: true) { r in try recordDeferred(r) }
    }

    /// Records the upload of rows embedded or handed over since the last pass.
    private func stagePendingRows(_ r: VulkanRecorder) throws {
        guard pendingRows > 0 else { return }
        try r.stage(UnsafeRawBufferPointer(start: hostRows.pointer, count: pendingRows * model.config.hiddenSize * 4), to: scratch.hidden)
        pendingRows = 0
        r.barrier()
    }

    private func recordPageCopies(_ copies: [(source: Int32, destination: Int32, positions: Int)], window: Bool,
                                  _ r: VulkanRecorder) throws {
        guard !copies.isEmpty else { return }
        for layer in layers.values where layer.keepsWindow == window {
            let c = layer.cache
            for copy in copies {
                for (plane, rowBytes) in [(c.keys, c.keyRowBytes), (c.values, c.valueRowBytes)] {
                    for head in 0..<c.kvHeads {
                        let offset = { (page: Int32) in ((Int(page) * c.kvHeads + head) * c.pageTokens) * rowBytes }
                        try r.copy(plane.slice(from: offset(copy.source), bytes: copy.positions * rowBytes),
                                   to: plane.slice(from: offset(copy.destination), bytes: copy.positions * rowBytes),
                                   bytes: copy.positions * rowBytes)
                    }
                }
            }
        }
    }

    private func matmul(_ m: Matrix, _ x: VulkanBuffer, _ y: VulkanBuffer, rows: Int, _ r: VulkanRecorder) throws {
        try r.matmul(m.type, weights: m.buffer, rows: m.rows, cols: m.cols, input: x, batch: rows, output: y)
    }

    /// A layer's attention block over the batch, as `DecoderModel.runLayer` computes it on the CPU.
    private func recordAttention(layer index: Int, rows: Int, _ r: VulkanRecorder) throws {
        let c = model.config, l = layers[index]!, s = scratch!
        let hidden = c.hiddenSize, eps = c.rmsNormEps
        func matmul(_ m: Matrix, _ x: VulkanBuffer, _ y: VulkanBuffer) throws { try self.matmul(m, x, y, rows: rows, r) }
        try r.rmsNorm(s.hidden, weight: l.attentionNorm, eps: eps, rows: rows, width: hidden, output: s.normed)
        r.barrier()
        try matmul(l.query, s.normed, s.query)
        try matmul(l.key, s.normed, s.key)
        try matmul(l.value, s.normed, s.value)
        r.barrier()
        if let b = l.queryBias { try r.addRows(b, into: s.query, rows: rows, width: c.queryWidth) }
        if let b = l.keyBias { try r.addRows(b, into: s.key, rows: rows, width: c.kvWidth) }
        if let b = l.valueBias { try r.addRows(b, into: s.value, rows: rows, width: c.kvWidth) }
        r.barrier()
        if let qn = l.queryNorm, let kn = l.keyNorm {
            try r.rmsNorm(s.query, weight: qn, eps: eps, rows: rows * c.headCount, width: c.headDim, output: s.query)
            try r.rmsNorm(s.key, weight: kn, eps: eps, rows: rows * c.kvHeadCount, width: c.headDim, output: s.key)
            r.barrier()
        }
        let rope = l.window != nil ? localRope ?? rope! : rope!
        let slots = l.keepsWindow ? s.windowSlots : s.slots, pageTables = l.keepsWindow ? s.windowPageTables : s.pageTables
        try r.rope(s.query, rows: rows, heads: c.headCount, headStride: c.headDim, half: rope.half, pairs: rope.pairs,
                   cosines: rope.cosines, sines: rope.sines, positions: s.positions)
        try r.rope(s.key, rows: rows, heads: c.kvHeadCount, headStride: c.headDim, half: rope.half, pairs: rope.pairs,
                   cosines: rope.cosines, sines: rope.sines, positions: s.positions)
        r.barrier()
        try r.storeKV(keys: s.key, values: s.value, slots: slots, rows: rows, into: l.cache)
        r.barrier()
        try r.attention(queries: s.query, rows: rows, heads: c.headCount, cache: l.cache, pageTables: pageTables,
                        rowPositions: s.positions, rowTables: s.rowTables, scale: c.attentionScale ?? 1 / Float(c.headDim).squareRoot(),
                        window: l.window, softcap: c.attentionSoftcap, sinks: l.sinks, output: s.attention)
        r.barrier()
        try matmul(l.output, s.attention, s.normed)
        r.barrier()
        if let b = l.outputBias { try r.addRows(b, into: s.normed, rows: rows, width: hidden); r.barrier() }
        if let post = l.postAttentionNorm {
            try r.rmsNorm(s.normed, weight: post, eps: eps, rows: rows, width: hidden, output: s.normed)
            r.barrier()
        }
        try r.add(s.normed, into: s.hidden, count: rows * hidden)
        r.barrier()
        try r.rmsNorm(s.hidden, weight: l.mlpNorm, eps: eps, rows: rows, width: hidden, output: s.normed)
        r.barrier()
    }

    /// gate = act(gate) · up over `count` values, with the model's activation.
    private func activate(gate: VulkanBuffer, up: VulkanBuffer, count: Int, _ r: VulkanRecorder) throws {
        let c = model.config
        switch c.mlpActivation {
        case .silu: try r.swiGLU(gate: gate, up: up, count: count)
        case .geluTanh: try r.geluTanhGLU(gate: gate, up: up, count: count)
        case .clampedSwiGLU: try r.clampedSwiGLU(gate: gate, up: up, count: count, limit: c.swigluLimit, alpha: c.swigluAlpha)
        }
    }

    /// A dense layer's gated MLP over the normed rows, joined to the residual.
    private func recordDenseMLP(layer index: Int, rows: Int, _ r: VulkanRecorder) throws {
        let c = model.config, mlp = layers[index]!.mlp!, s = scratch!
        try matmul(mlp.gate, s.normed, s.gate, rows: rows, r)
        try matmul(mlp.up, s.normed, s.up, rows: rows, r)
        r.barrier()
        if let b = mlp.gateBias { try r.addRows(b, into: s.gate, rows: rows, width: c.intermediateSize) }
        if let b = mlp.upBias { try r.addRows(b, into: s.up, rows: rows, width: c.intermediateSize) }
        r.barrier()
        try activate(gate: s.gate, up: s.up, count: rows * c.intermediateSize, r)
        r.barrier()
        try matmul(mlp.down, s.gate, s.normed, rows: rows, r)
        r.barrier()
        if let b = mlp.downBias {
            try r.addRows(b, into: s.normed, rows: rows, width: c.hiddenSize)
            r.barrier()
        }
        try addMLPOutput(layer: index, s.normed, rows: rows, r)
    }

    /// x += the MLP's output rows, through the post-MLP norm where the layer has one.
    private func addMLPOutput(layer index: Int, _ output: VulkanBuffer, rows: Int, _ r: VulkanRecorder) throws {
        let c = model.config, s = scratch!
        if let post = layers[index]!.postMLPNorm {
            try r.rmsNorm(output, weight: post, eps: c.rmsNormEps, rows: rows, width: c.hiddenSize, output: output)
            r.barrier()
        }
        try r.add(output, into: s.hidden, count: rows * c.hiddenSize)
        r.barrier()
    }

    /// A sparse layer's router over the normed rows; its logits come back for routing.
    private func recordRouter(layer index: Int, rows: Int, _ r: VulkanRecorder) throws -> VulkanRecorder.Fetched {
        let moe = model.config.moe!, sparse = layers[index]!.sparse!, e = scratch.experts!
        try matmul(sparse.router, scratch.normed, e.routing, rows: rows, r)
        r.barrier()
        if let bias = sparse.routerBias {
            try r.addRows(bias, into: e.routing, rows: rows, width: moe.expertCount)
            r.barrier()
        }
        return try r.fetch(e.routing, bytes: rows * moe.expertCount * 4)
    }

    /// A sparse layer's chosen experts: each expert over its rows (gathered from the normed rows,
    /// in row order), then each row's weighted sum in expert order, joined to the residual.
    private func recordExperts(layer index: Int, routes: [[(expert: Int, weight: Float)]], rows: Int, _ r: VulkanRecorder) throws {
        let c = model.config, moe = c.moe!, sparse = layers[index]!.sparse!, s = scratch!, e = s.experts!
        let hidden = c.hiddenSize, width = moe.expertIntermediateSize, k = moe.expertsPerToken
        var assigned = [[Int]](repeating: [], count: moe.expertCount)
        for (row, chosen) in routes.enumerated() { for pick in chosen { assigned[pick.expert].append(row) } }
        // Each expert's rows take consecutive slots of the gathered buffer.
        var start = [Int](repeating: 0, count: moe.expertCount), slots = 0
        for expert in 0..<moe.expertCount { start[expert] = slots; slots += assigned[expert].count }
        var choices: [Int32] = [], weights: [Float] = []
        // Rows were assigned in row order, so a row's rank among its expert's rows is how many of
        // them came before it.
        var seen = [Int](repeating: 0, count: moe.expertCount)
        for chosen in routes {
            for pick in chosen {
                choices.append(Int32(start[pick.expert] + seen[pick.expert]))
                seen[pick.expert] += 1
                weights.append(pick.weight)
            }
        }
        try r.stage(choices, to: e.choices)
        try r.stage(weights, to: e.weights)
        let rowBytes = hidden * 4
        for (expert, rowsOf) in assigned.enumerated() {
            for (j, row) in rowsOf.enumerated() {
                try r.copy(s.normed.slice(from: row * rowBytes, bytes: rowBytes),
                           to: e.gathered.slice(from: (start[expert] + j) * rowBytes, bytes: rowBytes), bytes: rowBytes)
            }
        }
        r.barrier()
        func part(_ buffer: VulkanBuffer, _ expert: Int, _ rowWidth: Int) -> VulkanBuffer {
            buffer.slice(from: start[expert] * rowWidth * 4, bytes: assigned[expert].count * rowWidth * 4)
        }
        for (expert, rowsOf) in assigned.enumerated() where !rowsOf.isEmpty {
            let mlp = sparse.experts[expert]
            try matmul(mlp.gate, part(e.gathered, expert, hidden), part(e.gate, expert, width), rows: rowsOf.count, r)
            try matmul(mlp.up, part(e.gathered, expert, hidden), part(e.up, expert, width), rows: rowsOf.count, r)
        }
        r.barrier()
        for (expert, rowsOf) in assigned.enumerated() where !rowsOf.isEmpty {
            let mlp = sparse.experts[expert]
            if let b = mlp.gateBias { try r.addRows(b, into: part(e.gate, expert, width), rows: rowsOf.count, width: width) }
            if let b = mlp.upBias { try r.addRows(b, into: part(e.up, expert, width), rows: rowsOf.count, width: width) }
        }
        r.barrier()
        try activate(gate: e.gate, up: e.up, count: slots * width, r)
        r.barrier()
        for (expert, rowsOf) in assigned.enumerated() where !rowsOf.isEmpty {
            try matmul(sparse.experts[expert].down, part(e.gate, expert, width), part(e.output, expert, hidden), rows: rowsOf.count, r)
        }
        r.barrier()
        for (expert, rowsOf) in assigned.enumerated() where !rowsOf.isEmpty {
            if let b = sparse.experts[expert].downBias { try r.addRows(b, into: part(e.output, expert, hidden), rows: rowsOf.count, width: hidden) }
        }
        r.barrier()
        try r.expertSum(e.output, slots: e.choices, weights: e.weights, rows: rows, width: hidden, k: k, into: e.sum)
        r.barrier()
        try addMLPOutput(layer: index, e.sum, rows: rows, r)
    }

    func handHidden(rows: Int, to next: any DeviceBackend) throws {
        try flush()
        let count = rows * model.config.hiddenSize
        try device.download(scratch.hidden, into: UnsafeMutableRawBufferPointer(start: hostRows.pointer, count: count * 4))
        try next.receiveHidden(hostRows.pointer, count: count)
    }

    func receiveHidden(_ rows: UnsafePointer<Float>, count: Int) throws {
        hostRows.pointer.update(from: rows, count: count)
        pendingRows = count / model.config.hiddenSize
    }

    func logits(rows wanted: [Int]) throws -> [[Float]] {
        let vocab = model.config.vocabSize
        var out: [[Float]] = []
        out.reserveCapacity(wanted.count)
        try head(rows: wanted, fetchingLogits: true) { raw, count in
            let floats = raw.bindMemory(to: Float.self)
            for j in 0..<count { out.append(Array(floats[(j * vocab)..<((j + 1) * vocab)])) }
        }
        return out
    }

    /// The argmax runs here: a row's token id comes back, not its logits.
    func greedy(rows wanted: [Int]) throws -> [Int] {
        var out: [Int] = []
        try head(rows: wanted, fetchingLogits: false) { raw, count in
            out += raw.bindMemory(to: Int32.self).prefix(count).map(Int.init)
        }
        return out
    }

    /// Final norm, LM head and soft-cap for the hidden rows `wanted`, in groups the logits buffer
    /// (and the staging buffer) hold; each group's logits, or its argmax tokens, go to `take`.
    private func head(rows wanted: [Int], fetchingLogits: Bool, take: (UnsafeRawBufferPointer, Int) throws -> Void) throws {
        let c = model.config, s = scratch!, (norm, head) = self.head!
        let vocab = c.vocabSize, hidden = c.hiddenSize
        let logits = s.logits!
        // What the staging buffer holds besides a pass's uploads, which the first group shares.
        let passBytes = Self.passStagingBytes(config: c, chunkTokens: plan.chunkTokens, length: plan.maxSequenceLength,
                                              pageTokens: plan.pageTokens)
        let rowsPerPass = max(1, min(logits.bytes / (vocab * 4), (device.stagingBytes - passBytes) / (vocab * 4)))
        guard !wanted.isEmpty else { return try flush() }
        var done = 0
        while done < wanted.count {
            let group = Array(wanted[done..<min(wanted.count, done + rowsPerPass)])
            var fetched: VulkanRecorder.Fetched?
            try device.submit(staged: true) { r in
                try recordDeferred(r)
                try stagePendingRows(r)
                // The wanted rows, normed into the front of `normed` in order.
                for (j, row) in group.enumerated() {
                    try r.rmsNorm(s.hidden.slice(from: row * hidden * 4, bytes: hidden * 4), weight: norm, eps: c.rmsNormEps, rows: 1,
                                  width: hidden, output: s.normed.slice(from: j * hidden * 4, bytes: hidden * 4))
                }
                r.barrier()
                try r.matmul(head.type, weights: head.buffer, rows: head.rows, cols: head.cols, input: s.normed, batch: group.count,
                             output: logits)
                r.barrier()
                if let cap = c.finalLogitSoftcap {
                    try r.softcap(logits, count: group.count * vocab, cap: cap)
                    r.barrier()
                }
                if fetchingLogits {
                    fetched = try r.fetch(logits, bytes: group.count * vocab * 4)
                } else {
                    // The tokens go where the row tables were: the layers are done with them.
                    try r.argmax(logits, rows: group.count, width: vocab, output: s.rowTables)
                    r.barrier()
                    fetched = try r.fetch(s.rowTables, bytes: group.count * 4)
                }
            } completion: { r in
                try take(r.fetched(fetched!), group.count)
            }
            done += group.count
        }
    }
}
