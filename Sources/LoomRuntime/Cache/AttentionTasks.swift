import LoomCore

/// One query head of one token, and the cached span it attends to.
struct AttentionTask {
    /// Index into [count, heads] of the queries and the output.
    let index: Int
    let kvHead: Int
    /// First cached position attended (later than 0 under a sliding window).
    let first: Int
    /// Positions attended: first...position.
    let length: Int
    /// The worker running it, which picks its row of the scores scratch.
    let worker: Int
}

/// Runs every (token, head) attention task of a chunk on the pool. Each worker takes every
/// workers-th task: later tokens attend further, and interleaving spreads them evenly.
func forEachAttentionTask(start: Int, count: Int, heads: Int, kvHeads: Int, window: Int?, pool: ThreadPool,
                          _ body: (AttentionTask) -> Void) {
    let groupSize = heads / kvHeads
    let tasks = count * heads
    let workers = min(pool.threadCount, tasks)
    pool.run(chunks: workers) { worker in
        var task = worker
        while task < tasks {
            let position = start + task / heads
            let first = window.map { max(0, position - $0 + 1) } ?? 0
            body(AttentionTask(index: task, kvHead: (task % heads) / groupSize, first: first,
                               length: position - first + 1, worker: worker))
            task += workers
        }
    }
}
