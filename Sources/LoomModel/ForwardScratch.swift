import LoomCore
import LoomFormats
import LoomKernels

/// The activations of one forward pass of up to `maxTokens` rows (of any sequences), allocated
/// once per device; attention scores are sized for the longest sequence, `sequenceLength`.
/// `byteCount` is the same arithmetic the planner uses, so the plan and the arena agree.
public final class ForwardScratch: @unchecked Sendable {
    public let maxTokens: Int
    public let hidden: ArenaBuffer<Float>      // [maxTokens, hidden]
    public let normed: ArenaBuffer<Float>      // [maxTokens, hidden]
    public let query: ArenaBuffer<Float>       // [maxTokens, heads, headDim]
    public let key: ArenaBuffer<Float>         // [maxTokens, kvHeads, headDim]
    public let value: ArenaBuffer<Float>       // [maxTokens, kvHeads, headDim]
    public let attention: ArenaBuffer<Float>   // [maxTokens, heads, headDim]
    /// Dense layers: [maxTokens, intermediate]. Sparse ones: [max(maxTokens, k), expertWidth], one
    /// expert's rows of a prompt, or a decoded token's k experts side by side.
    public let gate: ArenaBuffer<Float>
    public let up: ArenaBuffer<Float>          // as `gate`
    public let scores: ArenaBuffer<Float>      // [threads, BlockedAttention.workerScratchFloats(…)]
    public let routing: ArenaBuffer<Float>     // [maxTokens, experts]: router logits, then probabilities
    public let expertRows: ArenaBuffer<Float>  // [maxTokens, hidden]: the normed rows routed to one expert
    public let expertOutput: ArenaBuffer<Float> // [max(maxTokens, k, min(maxTokens, laneRows)·k), hidden]: expert outputs
    public let expertSum: ArenaBuffer<Float>   // [maxTokens, hidden]: the weighted sum of each row's experts
    /// One lane per thread for a small batch's experts run side by side: [threads, laneFloats] (see `ExpertLane`).
    public let expertLanes: ArenaBuffer<Float>
    public let matmul: ArenaBuffer<UInt8>      // quantized activations for the widest matmul

    /// Rows a batch may have for its experts to run side by side, one expert per thread at a time.
    public static let laneRows = 16

    /// One thread's lane of `expertLanes`.
    public struct ExpertLane {
        /// Scratch for its matrices' prepared activations, 64-byte aligned.
        public let activations: UnsafeMutableRawPointer
        public let activationBytes: Int
        public let rows: UnsafeMutablePointer<Float>   // [laneRows, hidden]: the normed rows routed to its expert
        public let gate: UnsafeMutablePointer<Float>   // [laneRows, expertWidth]
        public let up: UnsafeMutablePointer<Float>     // [laneRows, expertWidth]
    }

    /// Lanes in `expertLanes`: the planned thread count, 0 without experts.
    public let expertLaneCount: Int
    private let laneActivationFloats: Int
    private let laneFloats: Int
    private let laneRowFloats: Int
    private let laneGateFloats: Int

    /// Floats of one lane's activation scratch: the most any of its matrices (quantized, or bf16
    /// with dot products) needs for `laneRows` rows of the wider of hidden and the expert width,
    /// on whole cache lines.
    static func laneActivationFloats(config: ModelConfig) -> Int {
        guard let moe = config.moe else { return 0 }
        let widest = max(config.hiddenSize, moe.expertIntermediateSize)
        let bytes = max(QuantizedMatrix.scratchBytes(batch: laneRows, cols: widest),
                        FloatMatrix.scratchBytes(type: .bf16, cols: widest, batch: laneRows))
        return (bytes + 63) / 64 * 16
    }

    /// Floats of one expert lane: activation scratch, gathered rows, gate and up.
    static func laneFloats(config: ModelConfig) -> Int {
        guard let moe = config.moe else { return 0 }
        return laneActivationFloats(config: config) + laneRows * (config.hiddenSize + 2 * moe.expertIntermediateSize)
    }

    /// Lane `i` of `expertLanes`.
    public func expertLane(_ i: Int) -> ExpertLane {
        let base = expertLanes.pointer + i * laneFloats
        let rows = base + laneActivationFloats
        return ExpertLane(activations: UnsafeMutableRawPointer(base), activationBytes: laneActivationFloats * 4, rows: rows,
                          gate: rows + laneRowFloats, up: rows + laneRowFloats + laneGateFloats)
    }

    /// Float counts of each buffer, in declaration order, then the matmul bytes.
    static func floatCounts(config: ModelConfig, maxTokens: Int, threads: Int, sequenceLength: Int) -> [Int] {
        let hidden = config.hiddenSize
        var ffn = maxTokens * config.intermediateSize
        var moeCounts = [0, 0, 0, 0, 0]
        if let moe = config.moe {
            let sideBySide = max(maxTokens, moe.expertsPerToken)
            let dense = moe.denseLayers.isEmpty ? 0 : ffn
            ffn = max(dense, sideBySide * moe.expertIntermediateSize)
            let lanesOut = min(maxTokens, laneRows) * moe.expertsPerToken
            moeCounts = [maxTokens * moe.expertCount, maxTokens * hidden, max(sideBySide, lanesOut) * hidden, maxTokens * hidden,
                         threads * laneFloats(config: config)]
        }
        return [maxTokens * hidden, maxTokens * hidden, maxTokens * config.queryWidth,
                maxTokens * config.kvWidth, maxTokens * config.kvWidth, maxTokens * config.queryWidth, ffn, ffn,
                threads * BlockedAttention.workerScratchFloats(capacity: sequenceLength, heads: config.headCount,
                                                               kvHeads: config.kvHeadCount, headDim: config.headDim, maxTokens: maxTokens)]
            + moeCounts
    }

    /// Bytes this scratch takes (each buffer carries up to 64 bytes of alignment slack).
    public static func byteCount(config: ModelConfig, maxTokens: Int, threads: Int, sequenceLength: Int,
                                 matmulScratchBytes: Int) -> Int {
        floatCounts(config: config, maxTokens: maxTokens, threads: threads, sequenceLength: sequenceLength)
            .reduce(0) { $0 + $1 * 4 } + matmulScratchBytes
    }

    public init(config: ModelConfig, maxTokens: Int, threads: Int, sequenceLength: Int,
                matmulScratchBytes: Int, arena: MemoryArena) throws {
        self.maxTokens = maxTokens
        let counts = Self.floatCounts(config: config, maxTokens: maxTokens, threads: threads, sequenceLength: sequenceLength)
        func take(_ i: Int) throws -> ArenaBuffer<Float> { try arena.allocate(Float.self, count: counts[i], label: "scratch") }
        hidden = try take(0); normed = try take(1); query = try take(2); key = try take(3); value = try take(4)
        attention = try take(5); gate = try take(6); up = try take(7); scores = try take(8)
        routing = try take(9); expertRows = try take(10); expertOutput = try take(11); expertSum = try take(12)
        expertLanes = try take(13)
        laneActivationFloats = Self.laneActivationFloats(config: config)
        laneFloats = Self.laneFloats(config: config)
        laneRowFloats = Self.laneRows * config.hiddenSize
        laneGateFloats = Self.laneRows * (config.moe?.expertIntermediateSize ?? 0)
        expertLaneCount = laneFloats == 0 ? 0 : threads
        matmul = try arena.allocate(UInt8.self, count: matmulScratchBytes, label: "scratch")
    }
}
