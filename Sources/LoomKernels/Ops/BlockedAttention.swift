import LoomCore
#if arch(x86_64)
import LoomKernelsAVX2
import LoomKernelsAVX512
#endif

/// Causal attention of a chunk of tokens over a KV cache, one tile of `AttentionTile.width` cached
/// positions at a time with an online softmax (the flash-attention order of work).
///
/// A task is one KV head and a run of tokens: its query rows are all the heads of the KV head's
/// group for those tokens, so each cached key and value is widened to f32 once per tile and met
/// by up to ~128 query rows, with scores and weighted sums as small matrix products. Per
/// (token, head) attention instead re-reads and re-widens the whole history for every row.
///
/// The cache supplies positions through `load`, in f32; how it stores them is its own business.
public struct BlockedAttention {
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int

    /// Query rows per task at most (a multiple of the group size, or one group if larger).
    static let targetRows = 128

    public init(heads: Int, kvHeads: Int, headDim: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    /// The blocked plan for one `attend` call, or nil when per-(token, head) attention should run
    /// instead: a head size the tiles do not take, a workspace row too small for one group, or a
    /// single token with fewer KV heads than threads (too few tasks to occupy the pool).
    public init?(heads: Int, kvHeads: Int, headDim: Int, count: Int, workspaceStride: Int, threads: Int) {
        self.init(heads: heads, kvHeads: kvHeads, headDim: headDim)
        guard Self.supports(headDim: headDim), fits(workspaceStride: workspaceStride), count > 1 || kvHeads >= threads
        else { return nil }
    }

    /// The blocked plan for any number of rows of any sequences, or nil when the tile kernels do
    /// not take this head size or the workspace row is too small for one group. Unlike the
    /// single-sequence plan it never declines a lone token: the choice of kernel must not depend
    /// on the rows a pass happens to hold.
    public init?(heads: Int, kvHeads: Int, headDim: Int, workspaceStride: Int) {
        self.init(heads: heads, kvHeads: kvHeads, headDim: headDim)
        guard Self.supports(headDim: headDim), fits(workspaceStride: workspaceStride) else { return nil }
    }

    /// Whether the tile kernels handle this head size.
    static func supports(headDim: Int) -> Bool { headDim > 0 && headDim % 16 == 0 }

    var groupSize: Int { heads / kvHeads }

    /// Query rows in one task: whole groups, as many tokens as fit in `targetRows`.
    var maxRows: Int { max(1, Self.targetRows / groupSize) * groupSize }

    /// Floats one worker's workspace needs for tasks of up to `rows` query rows. Layout: keysT
    /// [headDim, 64], tile [64, headDim], queries [rows, headDim], outputs [rows, headDim],
    /// scores [rows, 64], then maximum, sum and alpha [rows] each.
    static func workspaceFloats(rows: Int, headDim: Int) -> Int {
        2 * AttentionTile.width * headDim + rows * (2 * headDim + AttentionTile.width + 3)
    }

    /// Floats per worker that a KV cache's `attend` scratch should hold for passes of up to
    /// `maxTokens` rows: enough for per-head scores over the longest sequence (`capacity`
    /// positions), and for a blocked-attention workspace with the largest task such passes make.
    public static func workerScratchFloats(capacity: Int, heads: Int, kvHeads: Int, headDim: Int, maxTokens: Int) -> Int {
        let shape = BlockedAttention(heads: heads, kvHeads: kvHeads, headDim: headDim)
        let rows = min(shape.maxRows, max(1, maxTokens) * shape.groupSize)
        return max(capacity, workspaceFloats(rows: rows, headDim: headDim))
    }

    /// Query rows a task may have with `workspaceStride` floats per worker (whole groups), or 0.
    func rowLimit(workspaceStride: Int) -> Int {
        let perRow = 2 * headDim + AttentionTile.width + 3
        let fit = (workspaceStride - 2 * AttentionTile.width * headDim) / perRow
        return min(maxRows, max(0, fit) / groupSize * groupSize)
    }

    /// Whether `run` can work in `workspaceStride` floats per worker.
    func fits(workspaceStride: Int) -> Bool { rowLimit(workspaceStride: workspaceStride) > 0 }

    /// Writes into `into` ([n, headDim] f32) the keys (`keys` true) or values of cached positions
    /// `first..<first+n` of a KV head.
    public typealias Loader = (_ kvHead: Int, _ first: Int, _ n: Int, _ keys: Bool, _ into: UnsafeMutablePointer<Float>) -> Void

    /// As `Loader`, for the sequence of span `span` of a multi-span call.
    public typealias SpanLoader = (_ span: Int, _ kvHead: Int, _ first: Int, _ n: Int, _ keys: Bool,
                                   _ into: UnsafeMutablePointer<Float>) -> Void

    /// Attention for `count` tokens of one sequence at positions `start..<start+count`.
    /// - Parameters:
    ///   - queries: [count, heads, headDim]
    ///   - out: [count, heads, headDim]
    ///   - workspace: [pool.threadCount, workspaceStride]; `fits(workspaceStride:)` must hold
    ///   - rotated: the cache holds keys and values in the 32-point Hadamard basis (see
    ///     `hadamard32`): queries are rotated in and outputs rotated back.
    public func run(queries: UnsafePointer<Float>, start: Int, count: Int, scale: Float, softcap: Float? = nil, window: Int?,
                    sinks: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>,
                    workspaceStride: Int, rotated: Bool = false, path: KernelPath = .active, pool: ThreadPool, load: Loader) {
        run(queries: queries, spans: [AttentionSpan(row: 0, count: count, start: start)], scale: scale, softcap: softcap, window: window,
            sinks: sinks, out: out, workspace: workspace, workspaceStride: workspaceStride, rotated: rotated, path: path, pool: pool) {
            load($1, $2, $3, $4, $5)
        }
    }

    /// Attention for the rows of several sequences in one pool dispatch: span i's rows attend to
    /// their own sequence, which `load` reads with i as its first argument.
    ///
    /// A row's arithmetic depends only on its query, its position and its sequence's cache:
    /// tiles start at multiples of the tile width, and a task's rows never share an
    /// accumulator, so how rows are grouped into tasks (which depends on the other rows of the
    /// pass and the thread count) cannot change a result.
    /// - Parameters:
    ///   - queries: [rows, heads, headDim], rows of every span
    ///   - softcap: scores become cap · tanh(score / cap) before the softmax (Gemma 2), when set
    ///   - sinks: [heads] a logit per query head that joins every row's softmax without a value
    ///     (gpt-oss's attention sinks: the weights of the positions sum to less than 1), when set
    ///   - out: [rows, heads, headDim]
    public func run(queries: UnsafePointer<Float>, spans: [AttentionSpan], scale: Float, softcap: Float? = nil, window: Int?,
                    sinks: UnsafePointer<Float>? = nil, out: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, workspaceStride: Int,
                    rotated: Bool = false, path: KernelPath = .active, pool: ThreadPool, load: SpanLoader) {
        let group = groupSize
        let rowLimit = rowLimit(workspaceStride: workspaceStride) / group
        // Per span: tokens per task, and the first task index of the span.
        var tokensPerTask: [Int] = [], tokenRuns: [Int] = [], firstTask: [Int] = []
        var tasks = 0
        for span in spans {
            let perTask = max(1, min(rowLimit, (span.count * kvHeads + 4 * pool.threadCount - 1) / (4 * pool.threadCount)))
            let runs = (span.count + perTask - 1) / perTask
            tokensPerTask.append(perTask)
            tokenRuns.append(runs)
            firstTask.append(tasks)
            tasks += runs * kvHeads
        }
        guard tasks > 0 else { return }
        let workers = min(pool.threadCount, tasks)
        let kernels = TileKernels.on(path.isSupported ? path : .portable)
        tokensPerTask.withUnsafeBufferPointer { perTask in
        tokenRuns.withUnsafeBufferPointer { runs in
        firstTask.withUnsafeBufferPointer { firsts in
            pool.run(chunks: workers) { worker in
                let space = workspace + worker * workspaceStride
                // Later token runs attend further: take tasks from the end, striding by worker, so
                // every worker gets a similar mix.
                var task = worker
                var s = 0
                while task < tasks {
                    while s + 1 < spans.count && firsts[s + 1] <= task { s += 1 }
                    let local = task - firsts[s]
                    let run = runs[s] - 1 - local / kvHeads, kvHead = local % kvHeads
                    let span = spans[s]
                    let first = run * perTask[s]
                    let tokens = first..<min(span.count, first + perTask[s])
                    runTask(kvHead: kvHead, tokens: tokens, queries: queries + span.row * heads * headDim, start: span.start,
                            scale: scale, softcap: softcap, window: window, sinks: sinks, out: out + span.row * heads * headDim, space: space,
                            rotated: rotated, kernels: kernels) { load(s, $0, $1, $2, $3, $4) }
                    task += workers
                }
            }
        }
        }
        }
    }

    private func runTask(kvHead: Int, tokens: Range<Int>, queries: UnsafePointer<Float>, start: Int, scale: Float,
                         softcap cap: Float?, window: Int?, sinks: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>,
                         space: UnsafeMutablePointer<Float>,
                         rotated: Bool, kernels: TileKernels, load: Loader) {
        let width = AttentionTile.width, group = groupSize
        let rows = tokens.count * group
        let keysT = space                              // [headDim, 64]
        let tile = keysT + width * headDim             // [64, headDim]
        let q = tile + width * headDim                 // [rows, headDim]
        let o = q + rows * headDim                     // [rows, headDim]
        let s = o + rows * headDim                     // [rows, 64]
        let maximum = s + rows * width                 // [rows]
        let sum = maximum + rows                       // [rows]
        let alpha = sum + rows                         // [rows]

        // Row r is token tokens.lowerBound + r / group, query head kvHead·group + r % group.
        for r in 0..<rows {
            let source = queries + ((tokens.lowerBound + r / group) * heads + kvHead * group + r % group) * headDim
            let row = q + r * headDim
            for i in 0..<headDim { row[i] = source[i] * scale }
            if rotated { for g in stride(from: 0, to: headDim, by: 32) { hadamard32(row + g) } }
        }
        o.update(repeating: 0, count: rows * headDim)
        if let sinks {
            // The sink starts each row's softmax: the running maximum at its logit, its term 1.
            for r in 0..<rows { maximum[r] = sinks[kvHead * group + r % group] }
            sum.update(repeating: 1, count: rows)
        } else {
            maximum.update(repeating: -Float.infinity, count: rows)
            sum.update(repeating: 0, count: rows)
        }

        let firstPosition = start + tokens.lowerBound, lastPosition = start + tokens.upperBound - 1
        // Tiles start at multiples of the width whatever the task's first row, so every row sees
        // the same tiles alone or in any group; a tile a row cannot attend leaves it unchanged.
        let from = window.map { max(0, firstPosition - $0 + 1) / width * width } ?? 0
        var tileStart = from
        while tileStart <= lastPosition {
            let n = min(width, lastPosition + 1 - tileStart)
            load(kvHead, tileStart, n, true, tile)
            kernels.transpose(tile, n, headDim, keysT)
            kernels.scores(q, rows, headDim, keysT, s)
            if let cap { for r in 0..<rows { softcap(s + r * width, count: n, cap: cap) } }
            for r in 0..<rows {
                let position = start + tokens.lowerBound + r / group
                let low = window.map { max(0, position - $0 + 1 - tileStart) } ?? 0
                let high = min(n, position + 1 - tileStart)
                alpha[r] = kernels.softmaxStep(s + r * width, low..<max(low, high), &maximum[r], &sum[r])
            }
            load(kvHead, tileStart, n, false, tile)
            kernels.accumulate(s, alpha, rows, n, tile, headDim, o)
            tileStart += width
        }

        for r in 0..<rows {
            let row = o + r * headDim
            let inverse = sum[r] > 0 ? 1 / sum[r] : 0
            for i in 0..<headDim { row[i] *= inverse }
            if rotated { for g in stride(from: 0, to: headDim, by: 32) { hadamard32(row + g) } }
            let target = out + ((tokens.lowerBound + r / group) * heads + kvHead * group + r % group) * headDim
            target.update(from: row, count: headDim)
        }
    }
}

/// The tile kernels of one path.
struct TileKernels {
    let transpose: (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float>) -> Void
    let scores: (UnsafePointer<Float>, Int, Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    let accumulate: (UnsafePointer<Float>, UnsafePointer<Float>, Int, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void
    let softmaxStep: (UnsafeMutablePointer<Float>, Range<Int>, inout Float, inout Float) -> Float

    static func on(_ path: KernelPath) -> TileKernels {
        #if arch(x86_64)
        switch path {
        case .avx512:
            return TileKernels(transpose: { LoomKernelsAVX512.AttentionTile.transpose($0, count: $1, headDim: $2, into: $3) },
                               scores: { LoomKernelsAVX512.AttentionTile.scores($0, rows: $1, headDim: $2, keysT: $3, into: $4) },
                               accumulate: { LoomKernelsAVX512.AttentionTile.accumulate($0, alpha: $1, rows: $2, keys: $3, values: $4, headDim: $5, into: $6) },
                               softmaxStep: { LoomKernelsAVX512.AttentionTile.softmaxStep($0, valid: $1, maximum: &$2, sum: &$3) })
        case .avx2:
            return TileKernels(transpose: { LoomKernelsAVX2.AttentionTile.transpose($0, count: $1, headDim: $2, into: $3) },
                               scores: { LoomKernelsAVX2.AttentionTile.scores($0, rows: $1, headDim: $2, keysT: $3, into: $4) },
                               accumulate: { LoomKernelsAVX2.AttentionTile.accumulate($0, alpha: $1, rows: $2, keys: $3, values: $4, headDim: $5, into: $6) },
                               softmaxStep: { LoomKernelsAVX2.AttentionTile.softmaxStep($0, valid: $1, maximum: &$2, sum: &$3) })
        case .portable: break
        }
        #endif
        return TileKernels(transpose: { LoomKernels.AttentionTile.transpose($0, count: $1, headDim: $2, into: $3) },
                               scores: { LoomKernels.AttentionTile.scores($0, rows: $1, headDim: $2, keysT: $3, into: $4) },
                           accumulate: { LoomKernels.AttentionTile.accumulate($0, alpha: $1, rows: $2, keys: $3, values: $4, headDim: $5, into: $6) },
                           softmaxStep: { LoomKernels.AttentionTile.softmaxStep($0, valid: $1, maximum: &$2, sum: &$3) })
    }
}
