import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of worker threads shared by every kernel.
///
/// Decode issues a few hundred small parallel loops per token, so dispatch must cost far less
/// than a matrix-vector product: workers spin on an atomic state word for up to
/// `spinBudgetNanoseconds` before parking on a condition variable, and chunks are claimed with
/// one atomic add each, never a lock. The calling thread works too, so up to `threadCount`
/// threads run each loop.
///
/// The budget is wall time, not a count of spins, and it spans the gaps between decode steps
/// (sampling, detokenizing, the caller's callback): a worker that parks between two tokens costs
/// a futex wake-up of tens of microseconds on the next loop, during which the caller streams its
/// half alone. A budget of 20 000 spins (about 8 µs) made Q4_0 tg 5–15% slower than 1 ms (paired runs).
///
/// On a machine with other load a worker is often off its CPU. A loop therefore never waits for
/// a worker that has not started it: workers join a loop explicitly, the caller takes every chunk
/// nobody has claimed, and the loop ends when all chunks are done and no worker is inside. What
/// remains is a worker descheduled while it holds a chunk, which stalls the loop for a scheduler
/// time slice (milliseconds, against loops of microseconds). `ParallelismGovernor` compares each
/// loop's time with what the caller alone would have taken and runs loops on the caller alone
/// while the workers cost more than they bring, probing again later.
///
/// Which thread runs a chunk never changes how work is divided: `parallelFor`'s chunks and
/// `split`'s parts depend only on the count and `threadCount`, so results are the same whether
/// one thread or all of them run a loop.
public final class ThreadPool: @unchecked Sendable {
    /// Threads that may run each parallel loop, the caller included.
    public let threadCount: Int

    /// The loop's state, one word so that joining and closing are single atomic operations:
    /// [generation: 32 bits][open: 1 bit][workers inside: 31 bits]. A worker may join only an
    /// open loop of the generation it saw; the caller closes a loop only when no worker is inside,
    /// so the job below stays valid for every worker that joined.
    private let state = Atomic<UInt64>(0)
    private static let openBit: UInt64 = 1 << 31
    private static let insideMask: UInt64 = (1 << 31) - 1
    private let nextChunk = Atomic<Int>(0)
    private let shuttingDown = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private let callerWaiting = Atomic<Bool>(false)
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var lastWorkerLeft = pthread_cond_t()
    private(set) var workerThreads: [pthread_t] = []
    private static let cacheLine = 64
    /// `split`'s per-part cursors: [threadCount] × one cache line, an `Atomic<Int>` at the start of each.
    private let partCursors: UnsafeMutableRawPointer

    // The current loop, written by the caller only while the loop is closed.
    private var generation: UInt64 = 0
    private var chunkCount = 0
    /// Runs one chunk and returns how many units of work it did (the governor's measure).
    private var chunkBody: ((Int) -> Int)?
    private var governor = ParallelismGovernor()

    /// How long an idle thread spins before it parks (workers) or yields (the caller): 1 ms,
    /// or about nothing when the pool has more threads than the process has processors, where a
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
        pthread_cond_init(&lastWorkerLeft, nil)
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
        state.store(((generation &+ 1) & 0xffff_ffff) << 32, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for thread in workerThreads { pthread_join(thread, nil) }
        pthread_cond_destroy(&lastWorkerLeft)
        pthread_cond_destroy(&wake)
        pthread_mutex_destroy(&mutex)
        for part in 0..<threadCount { _ = partCursor(part).move() }
        partCursors.deallocate()
    }

    /// The processors this process may run on: its CPU affinity, capped by its cgroup's CPU quota.
    public static var processorCount: Int { AvailableProcessors.current }

    /// Runs `body(chunk)` for every chunk in `0..<chunks`, spread over the pool, and returns when
    /// all have finished. Chunks are claimed dynamically, so uneven chunks balance themselves.
    /// Not reentrant: `body` must not call back into the same pool.
    public func run(chunks: Int, _ body: (Int) -> Void) {
        guard chunks > 0 else { return }
        if threadCount == 1 || chunks == 1 {
            for chunk in 0..<chunks { body(chunk) }
            return
        }
        dispatch(chunks: chunks, units: chunks) { chunk in
            body(chunk)
            return 1
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
    /// a slower thread delays the loop by at most one piece, and the caller alone runs every part.
    public func split(_ count: Int, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let units = (count + alignment - 1) / alignment
        let parts = min(threadCount, units)
        let piece = max(1, units / (parts * Self.piecesPerPart))
        func bounds(_ part: Int) -> Range<Int> { units * part / parts ..< units * (part + 1) / parts }
        var pieces = 0
        for part in 0..<parts {
            let range = bounds(part)
            partCursor(part).pointee.store(range.lowerBound, ordering: .relaxed)
            pieces += (range.count + piece - 1) / piece
        }
        func work(_ first: Int) -> Int {
            var done = 0
            for offset in 0..<parts {
                let part = (first + offset) % parts, end = bounds(part).upperBound
                let cursor = partCursor(part)
                while true {
                    let unit = cursor.pointee.wrappingAdd(piece, ordering: .relaxed).oldValue
                    if unit >= end { break }
                    body(unit * alignment ..< min(count, min(end, unit + piece) * alignment))
                    done += 1
                }
            }
            return done
        }
        if parts == 1 {
            _ = work(0)
        } else {
            dispatch(chunks: parts, units: pieces, work)
        }
    }

    /// Pieces per part in `split`: enough that the last piece is a small delay, few enough that
    /// claiming one (an atomic add on a line its thread usually owns) costs nothing measurable.
    private static let piecesPerPart = 8

    /// The cursor of `split`'s part `part`, alone on its cache line.
    private func partCursor(_ part: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (partCursors + part * Self.cacheLine).assumingMemoryBound(to: Atomic<Int>.self)
    }

    /// Runs chunks `0..<chunks` of `body`, which together do `units` units of work, on the caller
    /// and whichever workers join; or on the caller alone while the governor says so.
    private func dispatch(chunks: Int, units: Int, _ body: (Int) -> Int) {
        let start = monotonicNanoseconds()
        if governor.runsSerially(at: start) {
            for chunk in 0..<chunks { _ = body(chunk) }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            chunkBody = escaping
            chunkCount = chunks
            nextChunk.store(0, ordering: .relaxed)
            generation = (generation &+ 1) & 0xffff_ffff
            state.store(generation << 32 | Self.openBit, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&wake)
                pthread_mutex_unlock(&mutex)
            }
            let callerUnits = drainChunks(escaping)
            let callerDone = monotonicNanoseconds()
            close()
            chunkBody = nil
            governor.record(start: start, callerDone: callerDone, end: monotonicNanoseconds(),
                            callerUnits: callerUnits, units: units)
        }
    }

    /// Closes the current loop once no worker is inside it (every chunk is claimed by now, so
    /// a worker inside holds one or is about to find none left).
    private func close() {
        let idle = generation << 32 | Self.openBit
        var spin = SpinBudget(nanoseconds: Self.callerSpinNanoseconds)
        while true {
            // Only workers change the state while the loop is open, by joining and leaving.
            if state.load(ordering: .acquiring) == idle,
               state.compareExchange(expected: idle, desired: generation << 32, ordering: .acquiring).exchanged {
                return
            }
            if spin.isSpent() {
                // A worker holds a chunk and is probably off its CPU: sleep, so that this CPU
                // is free to run it.
                pthread_mutex_lock(&mutex)
                callerWaiting.store(true, ordering: .sequentiallyConsistent)
                while state.load(ordering: .sequentiallyConsistent) & Self.insideMask != 0 {
                    pthread_cond_wait(&lastWorkerLeft, &mutex)
                }
                callerWaiting.store(false, ordering: .relaxed)
                pthread_mutex_unlock(&mutex)
            }
        }
    }

    /// How long the caller spins for a worker still inside the loop before it sleeps: longer
    /// than a running worker takes to finish its last piece, far shorter than a time slice.
    private static let callerSpinNanoseconds: UInt64 = 50_000

    /// Claims and runs chunks until none is left; returns the units of work done.
    private func drainChunks(_ body: (Int) -> Int) -> Int {
        var units = 0
        while true {
            let chunk = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            if chunk >= chunkCount { return units }
            units += body(chunk)
        }
    }

    fileprivate func workerLoop() {
        var seen: UInt64 = 0
        while true {
            var spin = SpinBudget(nanoseconds: spinBudgetNanoseconds)
            while state.load(ordering: .acquiring) >> 32 == seen {
                if spin.isSpent() {
                    pthread_mutex_lock(&mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while state.load(ordering: .sequentiallyConsistent) >> 32 == seen {
                        pthread_cond_wait(&wake, &mutex)
                    }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(&mutex)
                }
            }
            if shuttingDown.load(ordering: .acquiring) { return }
            var current = state.load(ordering: .acquiring)
            seen = current >> 32
            // Join only the loop just seen, and only while it is open: a worker that was off its
            // CPU long enough finds the loop closed (or a newer one) and goes back to waiting.
            var joined = false
            while current >> 32 == seen && current & Self.openBit != 0 {
                let attempt = state.compareExchange(expected: current, desired: current &+ 1, ordering: .acquiring)
                if attempt.exchanged { joined = true; break }
                current = attempt.original
            }
            guard joined else { continue }
            if let body = chunkBody { _ = drainChunks(body) }
            state.subtract(1, ordering: .sequentiallyConsistent)
            if callerWaiting.load(ordering: .sequentiallyConsistent) {
                pthread_mutex_lock(&mutex)
                pthread_cond_signal(&lastWorkerLeft)
                pthread_mutex_unlock(&mutex)
            }
        }
    }
}

/// Decides, from the loops the pool has run, whether the workers speed loops up or hold them back.
///
/// Each parallel loop is compared with an estimate of the caller alone: its own time for its
/// share, scaled to all the work. When a window of loops took longer than that estimate, the
/// workers were off their CPUs while holding chunks (the machine has other load), and loops run
/// on the caller alone for a while; then a window of parallel loops is tried again. Repeated
/// failed tries wait longer, up to `longestSerialNanoseconds`, so a machine that stays busy pays
/// one window in a second. The estimate flatters the parallel loops a little where two threads
/// share memory bandwidth (the caller's share then runs slower than it would alone), so the pool
/// stays parallel whenever the workers help at all.
struct ParallelismGovernor {
    private var serialUntil: UInt64 = 0
    private var serialNanoseconds = shortestSerialNanoseconds
    private var parallelNanoseconds: UInt64 = 0
    private var serialEstimateNanoseconds: Double = 0

    /// Parallel loop time over which the comparison is made.
    static let windowNanoseconds: UInt64 = 10_000_000
    static let shortestSerialNanoseconds: UInt64 = 100_000_000
    static let longestSerialNanoseconds: UInt64 = 1_000_000_000

    /// True while loops should run on the caller alone.
    mutating func runsSerially(at now: UInt64) -> Bool {
        guard serialUntil != 0 else { return false }
        if now < serialUntil { return true }
        serialUntil = 0
        return false
    }

    /// Records a parallel loop that started at `start`, whose caller ran `callerUnits` of the
    /// loop's `units` units of work until `callerDone`, and which ended at `end`.
    mutating func record(start: UInt64, callerDone: UInt64, end: UInt64, callerUnits: Int, units: Int) {
        let elapsed = end &- start
        parallelNanoseconds &+= elapsed
        serialEstimateNanoseconds += callerUnits > 0
            ? Double(callerDone &- start) * Double(units) / Double(callerUnits)
            : Double(elapsed)
        guard parallelNanoseconds >= Self.windowNanoseconds else { return }
        if Double(parallelNanoseconds) > serialEstimateNanoseconds {
            serialUntil = end &+ serialNanoseconds
            serialNanoseconds = min(Self.longestSerialNanoseconds, serialNanoseconds * 2)
        } else {
            serialNanoseconds = Self.shortestSerialNanoseconds
        }
        parallelNanoseconds = 0
        serialEstimateNanoseconds = 0
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
        let now = monotonicNanoseconds()
        if deadline == 0 { deadline = now + nanoseconds; return false }
        return now >= deadline
    }
}

private func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
}
