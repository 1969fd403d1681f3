import LoomCore
import LoomFormats
import LoomKernels
import LoomModel

/// The CPU backend: one planned device's arena, the buffers the plan names for it, and its
/// layers' KV cache, run with the CPU kernels on the shared thread pool.
final class CPUBackend: DeviceBackend, @unchecked Sendable {
    let planned: PlannedDevice
    let arena: MemoryArena
    private let pool: ThreadPool
    private var model: DecoderModel?
    private var plan: MemoryPlan?
    private var rope: RotaryTable?
    private var ropeStorage: ArenaBuffer<Float>?
    /// The sliding-window layers' table, for models whose local layers have their own θ.
    private var localRope: (RotaryTable, ArenaBuffer<Float>)?
    private var scratch: ForwardScratch?
    private var logitsBuffer: ArenaBuffer<Float>?   // [logitsRows, vocab]
    /// Layer index → its cache, for the layers placed here.
    private var cache: [Int: any KVCacheLayer] = [:]

    init(planned: PlannedDevice, pool: ThreadPool) {
        self.planned = planned
        self.pool = pool
        // The reserve is for what the arena cannot see; the arena itself may use the rest.
        arena = MemoryArena(name: planned.name, budget: planned.budgetBytes - planned.reserveBytes)
    }

    func prepare(model: DecoderModel, plan: MemoryPlan, layers: [Int], ropeLayout: RopeLayout) throws {
        self.model = model
        self.plan = plan
        let config = model.config, request = plan.request
        if planned.ropeBytes > 0 {
            (rope, ropeStorage) = try model.makeRotaryTable(positions: plan.maxSequenceLength, layout: ropeLayout, arena: arena)
            localRope = try model.makeLocalRotaryTable(positions: plan.maxSequenceLength, layout: ropeLayout, arena: arena)
            scratch = try ForwardScratch(config: config, maxTokens: plan.chunkTokens, threads: request.threads,
                                         sequenceLength: plan.maxSequenceLength,
                                         matmulScratchBytes: model.matmulScratchBytes(batch: plan.chunkTokens), arena: arena)
        }
        let (kvHeads, headDim, pageTokens) = (config.kvHeadCount, config.headDim, plan.pageTokens)
        for i in layers {
            let pageCount = plan.keepsWindow(layer: i) ? plan.window!.pageCount : plan.cachePages
            switch request.cacheType {
            case .f32:
                cache[i] = try DenseKVCacheLayer<F32Element>(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens,
                                                             pageCount: pageCount, arena: arena)
            case .fp16:
                cache[i] = try DenseKVCacheLayer<F16Element>(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens,
                                                             pageCount: pageCount, arena: arena)
            case .q8, .q6, .q4:
                let bits = QuantizedKVCacheLayer.bits(for: request.cacheType)!
                cache[i] = try QuantizedKVCacheLayer(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount,
                                                     keyBits: bits.key, valueBits: bits.value, arena: arena)
            }
        }
        if planned.logitsBytes > 0 {
            logitsBuffer = try arena.allocate(Float.self, count: planned.logitsBytes / 4, label: "logits")
        }
    }

    func copyPages(_ copies: [(source: Int32, destination: Int32, positions: Int)], window: Bool) {
        guard !copies.isEmpty else { return }
        for (index, layer) in cache where plan!.keepsWindow(layer: index) == window {
            for copy in copies { layer.copyPage(Int(copy.source), to: Int(copy.destination), positions: copy.positions) }
        }
    }

    func embed(_ batch: ForwardBatch) throws {
        try model!.embed(batch.tokens, scratch: scratch!)
    }

    func run(layers: ClosedRange<Int>, batch: ForwardBatch) throws {
        let windowBatch = plan!.window == nil ? nil : batch.windowView
        for layer in layers {
            let batch = plan!.keepsWindow(layer: layer) ? windowBatch! : batch
            try model!.runLayer(layer, batch: batch, cache: cache[layer]!, rope: rope!, localRope: localRope?.0, scratch: scratch!, pool: pool)
        }
    }

    func handHidden(rows: Int, to next: any DeviceBackend) throws {
        try next.receiveHidden(scratch!.hidden.pointer, count: rows * model!.config.hiddenSize)
    }

    func receiveHidden(_ rows: UnsafePointer<Float>, count: Int) {
        scratch!.hidden.pointer.update(from: rows, count: count)
    }

    func logits(rows wanted: [Int]) -> [[Float]] {
        let model = model!, scratch = scratch!, logits = logitsBuffer!
        let vocab = model.config.vocabSize, hidden = model.config.hiddenSize
        // The wanted rows, moved to the front of the hidden state in order.
        let h = scratch.hidden.pointer
        for (j, r) in wanted.enumerated() where j != r { (h + j * hidden).update(from: h + r * hidden, count: hidden) }
        var out: [[Float]] = []
        out.reserveCapacity(wanted.count)
        let rowsPerPass = logits.count / vocab
        var done = 0
        while done < wanted.count {
            let rows = done..<min(wanted.count, done + rowsPerPass)
            model.logits(rows: rows, scratch: scratch, into: logits.pointer, pool: pool)
            for r in 0..<rows.count { out.append(Array(UnsafeBufferPointer(start: logits.pointer + r * vocab, count: vocab))) }
            done = rows.upperBound
        }
        return out
    }
}

/// Planned against measured bytes of one device, for `--json` output and tests.
public struct DeviceUsage: Sendable, Equatable {
    public let name: String
    public let budgetBytes: Int
    /// What the plan said the arena would hold (weights, cache, rope, scratch, logits).
    public let plannedBytes: Int
    /// The most the arena ever held.
    public let peakBytes: Int
    public let byLabel: [String: Int]
}
