import LoomCore
import LoomKernels
import LoomModel

/// One layer's keys and values in f32 or f16, in pages (see `PagedLayout`): attention reads a
/// head's history one page-long contiguous run at a time.
public final class DenseKVCacheLayer<Element: DenseElement & StorableElement>: KVCacheLayer, @unchecked Sendable {
    public let layout: PagedLayout
    public let headDim: Int
    private let keys: ArenaBuffer<UInt8>     // [pages, kvHeads, pageTokens, headDim] of Element
    private let values: ArenaBuffer<UInt8>   // [pages, kvHeads, pageTokens, headDim] of Element

    public var pageTokens: Int { layout.pageTokens }
    public var pageCount: Int { layout.pageCount }

    public static func byteCount(kvHeads: Int, headDim: Int, tokens: Int) -> Int {
        2 * kvHeads * tokens * headDim * Element.byteWidth
    }

    public init(kvHeads: Int, headDim: Int, pageTokens: Int, pageCount: Int, arena: MemoryArena) throws {
        layout = PagedLayout(pageTokens: pageTokens, pageCount: pageCount, kvHeads: kvHeads, rowBytes: headDim * Element.byteWidth)
        self.headDim = headDim
        keys = try arena.allocate(UInt8.self, count: layout.planeBytes, label: "cache")
        values = try arena.allocate(UInt8.self, count: layout.planeBytes, label: "cache")
    }

    @inline(__always)
    private func base(_ isKeys: Bool) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer((isKeys ? keys : values).pointer) }

    public func store(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, slots: UnsafePointer<Int32>, count: Int) {
        let keyBase = base(true), valueBase = base(false)
        for t in 0..<count {
            for h in 0..<layout.kvHeads {
                let source = (t * layout.kvHeads + h) * headDim
                let offset = layout.offset(slot: slots[t], head: h)
                Element.store(k + source, count: headDim, to: keyBase + offset)
                Element.store(v + source, count: headDim, to: valueBase + offset)
            }
        }
    }

    public func copyPage(_ source: Int, to destination: Int, positions: Int) {
        layout.copy(base(true), page: source, to: destination, positions: positions)
        layout.copy(base(false), page: source, to: destination, positions: positions)
    }

    public func attend(queries: UnsafePointer<Float>, spans: [AttentionSpan], pageTables: UnsafePointer<Int32>, heads: Int,
                       scale: Float, softcap: Float?, window: Int?, sinks: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>,
                       scores: UnsafeMutableBufferPointer<Float>, pool: ThreadPool) {
        let stride = scores.count / pool.threadCount
        let layout = layout, headDim = headDim
        if let blocked = BlockedAttention(heads: heads, kvHeads: layout.kvHeads, headDim: headDim, workspaceStride: stride) {
            blocked.run(queries: queries, spans: spans, scale: scale, softcap: softcap, window: window, sinks: sinks, out: out,
                        workspace: scores.baseAddress!, workspaceStride: stride, pool: pool) { span, head, first, n, isKeys, into in
                let plane = base(isKeys)
                layout.forEachRun(pageTables + spans[span].pageTableOffset, first: first, count: n) { page, offset, count, done in
                    Element.widen(UnsafeRawPointer(plane + layout.offset(page: page, head: head, position: offset)),
                                  count: count * headDim, into: into + done * headDim)
                }
            }
            return
        }
        let keyBase = base(true), valueBase = base(false)
        forEachPagedAttentionTask(spans: spans, heads: heads, kvHeads: layout.kvHeads, window: window, pool: pool) { task in
            let table = pageTables + spans[task.span].pageTableOffset
            attendOneHeadPaged(query: queries + task.index * headDim, element: Element.self, first: task.first, length: task.length,
                               headDim: headDim, scale: scale, softcap: softcap, sink: sinks.map { $0[task.index % heads] },
                               scores: scores.baseAddress! + task.worker * stride,
                               out: out + task.index * headDim) { position, isKeys in
                let offset = layout.offset(page: Int(table[position / layout.pageTokens]), head: task.kvHead,
                                           position: position % layout.pageTokens)
                return UnsafeRawPointer((isKeys ? keyBase : valueBase) + offset)
            }
        }
    }
}

/// Scaled dot-product attention of one query head over positions `first..<first+length` of a
/// paged cache, reached one position at a time through `row(position, isKeys)` (head sizes the
/// tile kernels do not take).
/// - Parameters:
///   - query: [headDim]
///   - scores: [length] scratch
///   - out: [headDim]
@inline(__always)
func attendOneHeadPaged<Element: DenseElement>(query: UnsafePointer<Float>, element: Element.Type, first: Int, length: Int,
                                               headDim: Int, scale: Float, softcap cap: Float? = nil, sink: Float? = nil,
                                               scores: UnsafeMutablePointer<Float>,
                                               out: UnsafeMutablePointer<Float>,
                                               row: (_ position: Int, _ isKeys: Bool) -> UnsafeRawPointer) {
    var maximum = -Float.infinity
    for t in 0..<length {
        let k = row(first + t, true)
        var dot: Float = 0
        for c in 0..<headDim { dot += Element.load1(k, c) * query[c] }
        scores[t] = dot * scale
        maximum = max(maximum, scores[t])
    }
    if let cap {
        softcap(scores, count: length, cap: cap)
        maximum = -Float.infinity
        for t in 0..<length { maximum = max(maximum, scores[t]) }
    }
    if let sink { maximum = max(maximum, sink) }
    var sum: Float = sink.map { expf($0 - maximum) } ?? 0
    for t in 0..<length { scores[t] = expf(scores[t] - maximum); sum += scores[t] }
    let inverse = 1 / sum
    out.update(repeating: 0, count: headDim)
    for t in 0..<length {
        let v = row(first + t, false), weight = scores[t] * inverse
        for c in 0..<headDim { out[c] += weight * Element.load1(v, c) }
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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
