import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of worker threads shared by every kernel.
///
/// Decode issues a few hundred small parallel loops per token, so dispatch must cost far less
/// than a matrix-vector product: workers spin on an atomic generation counter for up to
/// `spinBudgetNanoseconds` before parking on a condition variable, and chunks are claimed with
/// one atomic add each, never a lock. The calling thread works too, so `threadCount` threads run
/// each loop.
///
/// The budget is wall time, not a count of spins, and it spans the gaps between decode steps
/// (sampling, detokenizing, the caller's callback): a worker that parks between two tokens costs
/// a futex wake-up of tens of microseconds on the next loop, during which the caller streams its
/// half alone. A budget of 20 000 spins (about 8 µs) made Q4_0 tg 5–15% slower than 1 ms (paired runs).
public final class ThreadPool: @unchecked Sendable {
    /// Threads that run each parallel loop, the caller included.
    public let threadCount: Int

    private let generation = Atomic<Int>(0)
    private let nextChunk = Atomic<Int>(0)
    private let unfinishedWorkers = Atomic<Int>(0)
    private let shuttingDown = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var workerThreads: [pthread_t] = []
    private static let cacheLine = 64
    /// `split`'s per-part cursors: [threadCount] × one cache line, an `Atomic<Int>` at the start of each.
    private let partCursors: UnsafeMutableRawPointer

    // The current loop, valid only between publish and completion.
    private var chunkCount = 0
    private var chunkBody: ((Int) -> Void)?

    /// How long an idle thread spins before it parks (workers) or yields (the caller): 1 ms,
    /// or about nothing when the pool has more threads than the machine has processors, where a
    /// spinning thread would take the time slice of one with work.
    private let spinBudgetNanoseconds: UInt64
    /// Held by a user of the pool for a whole sequence of loops that must not interleave with
    /// another user's (an engine's forward pass), so that engines may share one pool.
    public let exclusive = Locked(())

    /// A pool with `threads` threads in all (at least 1). One thread means loops run inline.
    public init(threads: Int) {
        threadCount = max(1, threads)
        spinBudgetNanoseconds = threadCount <= Self.processorCount ? 1_000_000 : 0
        partCursors = UnsafeMutableRawPointer.allocate(byteCount: threadCount * Self.cacheLine, alignment: Self.cacheLine)
        for part in 0..<threadCount {
            (partCursors + part * Self.cacheLine).bindMemory(to: Atomic<Int>.self, capacity: 1).initialize(to: Atomic(0))
        }
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        // Workers hold the pool unretained: a strong reference would keep it alive for ever, so
        // `deinit` (which stops and joins them) would never run and every pool's threads would leak.
        // The object outlives them, since `deinit` joins every worker before it returns.
        let unretained = Unmanaged.passUnretained(self).toOpaque()
        for _ in 1..<threadCount {
            var thread = pthread_t()
            #if canImport(Glibc)
            let status = pthread_create(&thread, nil, { raw in
                Unmanaged<ThreadPool>.fromOpaque(raw!)._withUnsafeGuaranteedRef { $0.workerLoop() }
                return nil
            }, unretained)
            #else
            let status = pthread_create(&thread, nil, { raw in
                Unmanaged<ThreadPool>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.workerLoop() }
                return nil
            }, unretained)
            #endif
            precondition(status == 0, "pthread_create failed: \(status)")
            workerThreads.append(thread)
        }
    }

    deinit {
        shuttingDown.store(true, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for thread in workerThreads { pthread_join(thread, nil) }
        pthread_cond_destroy(&wake)
        pthread_mutex_destroy(&mutex)
        for part in 0..<threadCount { _ = partCursor(part).move() }
        partCursors.deallocate()
    }

    /// The number of online processors.
    public static var processorCount: Int {
        Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// Runs `body(chunk)` for every chunk in `0..<chunks`, spread over the pool, and returns when
    /// all have finished. Chunks are claimed dynamically, so uneven chunks balance themselves.
    /// Not reentrant: `body` must not call back into the same pool.
    public func run(chunks: Int, _ body: (Int) -> Void) {
        guard chunks > 0 else { return }
        if threadCount == 1 || chunks == 1 {
            for chunk in 0..<chunks { body(chunk) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            chunkBody = escaping
            chunkCount = chunks
            nextChunk.store(0, ordering: .relaxed)
            unfinishedWorkers.store(threadCount - 1, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            drainChunks()
            var spin = SpinBudget(nanoseconds: spinBudgetNanoseconds)
            while unfinishedWorkers.load(ordering: .acquiring) > 0 {
                if spin.isSpent() { sched_yield() }
            }
            chunkBody = nil
        }
    }

    /// Splits `0..<count` into ranges of at least `grain` items, about four per thread, and runs
    /// `body` on each range in parallel.
    public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let target = threadCount == 1 ? 1 : threadCount * 4
        let size = max(max(1, grain), (count + target - 1) / target)
        let chunks = (count + size - 1) / size
        run(chunks: chunks) { chunk in
            let start = chunk * size
            body(start..<min(count, start + size))
        }
    }

    /// Splits `0..<count` into one contiguous part per thread (boundaries on multiples of
    /// `alignment`) and runs `body` over every index in parallel, in pieces of about an eighth
    /// of a part, each part in order.
    ///
    /// For loops that stream memory, as decode's matrix-vector products do: each thread reads
    /// its own sequential run, which the hardware prefetchers follow best (Q4_0 decode on 2
    /// threads: +3% over `parallelFor`'s eight claimed chunks). A thread that finishes early, or
    /// finds its own part already done, goes on to take the next pieces of the other parts, so
    /// a slower or descheduled thread delays the loop by at most one piece.
    public func split(_ count: Int, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let units = (count + alignment - 1) / alignment
        let parts = min(threadCount, units)
        let piece = max(1, units / (parts * Self.piecesPerPart))
        func bounds(_ part: Int) -> Range<Int> { units * part / parts ..< units * (part + 1) / parts }
        for part in 0..<parts { partCursor(part).pointee.store(bounds(part).lowerBound, ordering: .relaxed) }
        run(chunks: parts) { first in
            for offset in 0..<parts {
                let part = (first + offset) % parts, end = bounds(part).upperBound
                let cursor = partCursor(part)
                while true {
                    let unit = cursor.pointee.wrappingAdd(piece, ordering: .relaxed).oldValue
                    if unit >= end { break }
                    body(unit * alignment ..< min(count, min(end, unit + piece) * alignment))
                }
            }
        }
    }

    /// Pieces per part in `split`: enough that the last piece is a small delay, few enough that
    /// claiming one (an atomic add on a line its thread usually owns) costs nothing measurable.
    private static let piecesPerPart = 8

    /// The cursor of `split`'s part `part`, alone on its cache line.
    private func partCursor(_ part: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (partCursors + part * Self.cacheLine).assumingMemoryBound(to: Atomic<Int>.self)
    }

    private func drainChunks() {
        guard let body = chunkBody else { return }
        while true {
            let chunk = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            if chunk >= chunkCount { return }
            body(chunk)
        }
    }

    fileprivate func workerLoop() {
        var seen = 0
        while true {
            var spin = SpinBudget(nanoseconds: spinBudgetNanoseconds)
            while generation.load(ordering: .acquiring) == seen {
                if spin.isSpent() {
                    pthread_mutex_lock(&mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while generation.load(ordering: .sequentiallyConsistent) == seen {
                        pthread_cond_wait(&wake, &mutex)
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(&mutex)
                }
            }
            seen = generation.load(ordering: .acquiring)
            if shuttingDown.load(ordering: .acquiring) { return }
            drainChunks()
            unfinishedWorkers.subtract(1, ordering: .releasing)
        }
    }
}

/// A busy-wait limit in wall time. The clock is read once every 1024 checks, so a check costs
/// about as little as the atomic load it guards.
private struct SpinBudget {
    private var checks = 0
    private var deadline: UInt64 = 0
    private let nanoseconds: UInt64

    init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// True once the budget has run out (and every time after).
    mutating func isSpent() -> Bool {
        checks &+= 1
        guard checks & 1023 == 0 else { return false }
        let now = Self.monotonicNanoseconds()
        if deadline == 0 { deadline = now + nanoseconds; return false }
        return now >= deadline
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
