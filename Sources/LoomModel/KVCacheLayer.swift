import LoomCore
import LoomKernels

/// One layer's keys and values in a paged cache, as the forward pass needs them. The runtime
/// owns the storage (and its precision) and the page tables; the model only stores new rows at
/// the slots the runtime chose and asks for attention over its sequences.
///
/// A slot is `page · pageTokens + offset`. Page ids mean the same pages in every layer, so one
/// page table per sequence serves all of them.
public protocol KVCacheLayer: AnyObject, Sendable {
    /// Positions per page.
    var pageTokens: Int { get }
    /// Pages the layer holds.
    var pageCount: Int { get }

    /// Stores `count` rows' keys and values, row i at `slots[i]`.
    /// - Parameters:
    ///   - keys: [count, kvHeads, headDim]
    ///   - values: [count, kvHeads, headDim]
    ///   - slots: [count]
    func store(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, slots: UnsafePointer<Int32>, count: Int)

    /// Copies the first `positions` positions of page `source` into page `destination` (a
    /// sequence that writes into a shared page copies it first).
    func copyPage(_ source: Int, to destination: Int, positions: Int)

    /// Causal attention for the rows of `spans`: a row at position p of its sequence attends to
    /// positions `max(0, p - window + 1)...p`, found through its span's page table.
    /// - Parameters:
    ///   - queries: [rows, heads, headDim]
    ///   - pageTables: the concatenated page tables the spans' `pageTableOffset`s index
    ///   - out: [rows, heads, headDim]
    ///   - scores: scratch, one row per worker: [pool.threadCount, stride] with stride at least
    ///     `BlockedAttention.workerScratchFloats` for the longest sequence
    ///   - softcap: scores become cap · tanh(score / cap) before the softmax, when set (Gemma 2)
    ///   - sinks: [heads] a logit per query head that joins each softmax without a value (gpt-oss), when set
    func attend(queries: UnsafePointer<Float>, spans: [AttentionSpan], pageTables: UnsafePointer<Int32>, heads: Int,
                scale: Float, softcap: Float?, window: Int?, sinks: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>,
                scores: UnsafeMutableBufferPointer<Float>, pool: ThreadPool)
}

/// Where positions live in a paged layer: [pages, kvHeads, pageTokens, rowBytes], so that a
/// head's positions within one page are one contiguous run.
public struct PagedLayout: Sendable {
    public let pageTokens: Int
    public let pageCount: Int
    public let kvHeads: Int
    /// Bytes of one position of one head.
    public let rowBytes: Int

    public init(pageTokens: Int, pageCount: Int, kvHeads: Int, rowBytes: Int) {
        self.pageTokens = pageTokens
        self.pageCount = pageCount
        self.kvHeads = kvHeads
        self.rowBytes = rowBytes
    }

    /// Bytes of one K or V plane over all pages.
    public var planeBytes: Int { pageCount * kvHeads * pageTokens * rowBytes }

    /// Byte offset of (page, head, offset).
    @inline(__always)
    public func offset(page: Int, head: Int, position offset: Int) -> Int {
        ((page * kvHeads + head) * pageTokens + offset) * rowBytes
    }

    /// Byte offset of slot `slot` for `head`.
    @inline(__always)
    public func offset(slot: Int32, head: Int) -> Int {
        let s = Int(slot)
        return offset(page: s / pageTokens, head: head, position: s % pageTokens)
    }

    /// Calls `body(page, offsetInPage, count, done)` for each page-contiguous run of positions
    /// `first..<first+n` of a sequence whose page table is `table`; `done` counts the positions
    /// before the run.
    @inline(__always)
    public func forEachRun(_ table: UnsafePointer<Int32>, first: Int, count n: Int,
                           _ body: (_ page: Int, _ offset: Int, _ count: Int, _ done: Int) -> Void) {
        var position = first, done = 0
        while done < n {
            let offset = position % pageTokens
            let take = min(pageTokens - offset, n - done)
            body(Int(table[position / pageTokens]), offset, take, done)
            position += take
            done += take
        }
    }

    /// Copies positions `0..<positions` of `source` to `destination` in every head of a plane.
    public func copy(_ plane: UnsafeMutableRawPointer, page source: Int, to destination: Int, positions: Int) {
        for head in 0..<kvHeads {
            (plane + offset(page: destination, head: head, position: 0))
                .copyMemory(from: plane + offset(page: source, head: head, position: 0), byteCount: positions * rowBytes)
        }
    }
}

/// One (row, query head) of a forward batch and the span of its sequence it attends to, for
/// per-head attention (head sizes the tile kernels do not take).
public struct PagedAttentionTask {
    /// Index into [rows, heads] of the queries and the output.
    public let index: Int
    public let kvHead: Int
    /// The span the row belongs to.
    public let span: Int
    /// First position attended (later than 0 under a sliding window).
    public let first: Int
    /// Positions attended: first...position.
    public let length: Int
    /// The worker running it, which picks its row of the scores scratch.
    public let worker: Int
}

/// Runs every (row, head) attention task of a batch on the pool; each worker takes every
/// workers-th task.
public func forEachPagedAttentionTask(spans: [AttentionSpan], heads: Int, kvHeads: Int, window: Int?, pool: ThreadPool,
                                      _ body: (PagedAttentionTask) -> Void) {
    let groupSize = heads / kvHeads
    let rows = spans.reduce(0) { $0 + $1.count }
    let tasks = rows * heads
    guard tasks > 0 else { return }
    // [rows] the span of each row, in batch order (spans are contiguous and ordered).
    var spanOfRow = [Int](repeating: 0, count: rows)
    for (s, span) in spans.enumerated() { for r in span.rows where r < rows { spanOfRow[r] = s } }
    let workers = min(pool.threadCount, tasks)
    spanOfRow.withUnsafeBufferPointer { spanOfRow in
        pool.run(chunks: workers) { worker in
            var task = worker
            while task < tasks {
                let row = task / heads, s = spanOfRow[row]
                let position = spans[s].start + row - spans[s].row
                let first = window.map { max(0, position - $0 + 1) } ?? 0
                body(PagedAttentionTask(index: task, kvHead: (task % heads) / groupSize, span: s, first: first,
                                        length: position - first + 1, worker: worker))
                task += workers
            }
        }
    }
}
