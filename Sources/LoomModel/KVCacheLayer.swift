import LoomCore

/// One layer's keys and values, as the forward pass needs them. The runtime owns the storage
/// (and its precision); the model only stores new positions and asks for attention over them.
public protocol KVCacheLayer: AnyObject, Sendable {
    /// Positions this layer can hold.
    var capacity: Int { get }

    /// Stores `count` tokens' keys and values at positions `start..<start+count`.
    /// - Parameters:
    ///   - keys: [count, kvHeads, headDim]
    ///   - values: [count, kvHeads, headDim]
    func store(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, start: Int, count: Int)

    /// Causal attention for `count` query tokens at positions `start..<start+count`. Token i
    /// attends to positions `max(0, p - window + 1)...p` with `p = start + i`.
    /// - Parameters:
    ///   - queries: [count, heads, headDim]
    ///   - out: [count, heads, headDim]
    ///   - scores: scratch, one row per worker: [pool.threadCount, stride] with stride at least
    ///     `capacity` (see `BlockedAttention.workerScratchFloats`)
    func attend(queries: UnsafePointer<Float>, start: Int, count: Int, heads: Int, scale: Float,
                window: Int?, into out: UnsafeMutablePointer<Float>, scores: UnsafeMutableBufferPointer<Float>,
                pool: ThreadPool)
}
