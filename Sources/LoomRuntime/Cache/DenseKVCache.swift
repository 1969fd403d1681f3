import LoomCore
import LoomKernels
import LoomModel

/// One layer's keys and values in f32 or f16, laid out per KV head so that attention reads
/// each head's history as one contiguous run.
public final class DenseKVCacheLayer<Element: DenseElement & StorableElement>: KVCacheLayer, @unchecked Sendable {
    public let capacity: Int
    public let kvHeads: Int
    public let headDim: Int
    private let keys: ArenaBuffer<UInt8>     // [kvHeads, capacity, headDim] of Element
    private let values: ArenaBuffer<UInt8>   // [kvHeads, capacity, headDim] of Element

    public static func byteCount(kvHeads: Int, headDim: Int, capacity: Int) -> Int {
        2 * kvHeads * capacity * headDim * Element.byteWidth
    }

    public init(kvHeads: Int, headDim: Int, capacity: Int, arena: MemoryArena) throws {
        self.capacity = capacity
        self.kvHeads = kvHeads
        self.headDim = headDim
        let bytes = kvHeads * capacity * headDim * Element.byteWidth
        keys = try arena.allocate(UInt8.self, count: bytes, label: "cache")
        values = try arena.allocate(UInt8.self, count: bytes, label: "cache")
    }

    private func slot(_ base: ArenaBuffer<UInt8>, head: Int, position: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(base.pointer) + ((head * capacity + position) * headDim) * Element.byteWidth
    }

    public func store(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, start: Int, count: Int) {
        for t in 0..<count {
            for h in 0..<kvHeads {
                let source = (t * kvHeads + h) * headDim
                Element.store(k + source, count: headDim, to: slot(keys, head: h, position: start + t))
                Element.store(v + source, count: headDim, to: slot(values, head: h, position: start + t))
            }
        }
    }

    public func attend(queries: UnsafePointer<Float>, start: Int, count: Int, heads: Int, scale: Float,
                       window: Int?, into out: UnsafeMutablePointer<Float>, scores: UnsafeMutableBufferPointer<Float>,
                       pool: ThreadPool) {
        let stride = scores.count / pool.threadCount
        if let blocked = BlockedAttention(heads: heads, kvHeads: kvHeads, headDim: headDim, count: count,
                                          workspaceStride: stride, threads: pool.threadCount) {
            blocked.run(queries: queries, start: start, count: count, scale: scale, window: window, out: out,
                        workspace: scores.baseAddress!, workspaceStride: stride, pool: pool) { head, first, n, isKeys, into in
                let source = UnsafeRawPointer(slot(isKeys ? keys : values, head: head, position: first))
                Element.widen(source, count: n * headDim, into: into)
            }
            return
        }
        forEachAttentionTask(start: start, count: count, heads: heads, kvHeads: kvHeads, window: window, pool: pool) { task in
            attendOneHead(query: queries + task.index * headDim,
                          keys: slot(keys, head: task.kvHead, position: task.first),
                          values: slot(values, head: task.kvHead, position: task.first),
                          element: Element.self, length: task.length, headDim: headDim, scale: scale,
                          scores: scores.baseAddress! + task.worker * stride, out: out + task.index * headDim)
        }
    }
}

/// Elements a cache can write from f32.
public protocol StorableElement {
    static func store(_ source: UnsafePointer<Float>, count: Int, to destination: UnsafeMutableRawPointer)
}

extension F32Element: StorableElement {
    public static func store(_ source: UnsafePointer<Float>, count: Int, to destination: UnsafeMutableRawPointer) {
        destination.copyMemory(from: source, byteCount: count * 4)
    }
}

extension F16Element: StorableElement {
    public static func store(_ source: UnsafePointer<Float>, count: Int, to destination: UnsafeMutableRawPointer) {
        let out = destination.assumingMemoryBound(to: UInt16.self)
        for i in 0..<count { out[i] = floatToF16(source[i]) }
    }
}
