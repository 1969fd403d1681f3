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
/// `spinBudget` before parking on a condition variable, and chunks are claimed with one atomic add
/// each, never a lock. The calling thread works too, so `threadCount` threads run each loop.
///
/// The budget is wall time, not a count of spins, and it spans the gaps between decode steps
/// (sampling, detokenizing, the caller's callback): a worker that parks between two tokens costs
/// a futex wake-up of tens of microseconds on the next loop, during which the caller streams its
/// half alone. A budget of 20 000 spins (about 8 µs) made Q4_0 tg128 7–12% slower than 1 ms.
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

    // The current loop, valid only between publish and completion.
    private var chunkCount = 0
    private var chunkBody: ((Int) -> Void)?

    /// How long an idle thread spins before it parks (workers) or yields (the caller).
    private static let spinBudgetNanoseconds: UInt64 = 1_000_000

    /// A pool with `threads` threads in all (at least 1). One thread means loops run inline.
    public init(threads: Int) {
        threadCount = max(1, threads)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for _ in 1..<threadCount {
            let box = Unmanaged.passRetained(WorkerStart(pool: self))
            var thread = pthread_t()
            #if canImport(Glibc)
            let status = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop()
                return nil
            }, box.toOpaque())
            #else
            let status = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw).takeRetainedValue()
                start.pool.workerLoop()
                return nil
            }, box.toOpaque())
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
            var spin = SpinBudget(nanoseconds: Self.spinBudgetNanoseconds)
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

    /// Splits `0..<count` into one contiguous range per thread (boundaries on multiples of
    /// `alignment`) and runs `body` on each in parallel.
    ///
    /// For loops that stream memory, as decode's matrix-vector products do: each thread reads
    /// one sequential run, which the hardware prefetchers follow best, and no thread waits on a
    /// last small chunk. Q4_0 decode on 2 threads: +3% over `parallelFor`'s eight claimed chunks.
    /// Without dynamic claiming, a thread that is descheduled delays the whole loop.
    public func split(_ count: Int, alignment: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let units = (count + alignment - 1) / alignment
        let parts = min(threadCount, units)
        run(chunks: parts) { part in
            let start = units * part / parts * alignment, end = min(count, units * (part + 1) / parts * alignment)
            body(start..<end)
        }
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
            var spin = SpinBudget(nanoseconds: Self.spinBudgetNanoseconds)
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

private final class WorkerStart {
    let pool: ThreadPool
    init(pool: ThreadPool) { self.pool = pool }
}
