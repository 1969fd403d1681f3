import Testing
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
@testable import LoomCore

@Suite struct ThreadPoolTests {
    /// A pool nobody holds is freed, so its deinit stops and joins its workers (they hold it
    /// unretained); before, every pool's threads lived as long as the process.
    @Test func aDroppedPoolIsFreedAndStopsItsThreads() {
        weak var dropped: ThreadPool?
        do {
            let pool = ThreadPool(threads: 3)
            pool.parallelFor(1000) { _ in }
            dropped = pool
            #expect(dropped != nil)
        }
        #expect(dropped == nil, "the pool outlived its last reference: its workers keep it alive")
        // Pools made and dropped in a row, some before their workers have started.
        for _ in 0..<20 {
            let pool = ThreadPool(threads: 2)
            weak var again = pool
            _ = again
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func everyIndexRunsExactlyOnce(threads: Int) {
        let pool = ThreadPool(threads: threads)
        for count in [1, 2, 7, 64, 1000] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            hits.initialize(repeating: 0, count: count)
            defer { hits.deallocate() }
            for _ in 0..<20 {
                pool.parallelFor(count) { range in for i in range { hits[i] += 1 } }
            }
            for i in 0..<count { #expect(hits[i] == 20, "index \(i) of \(count)") }
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func splitCoversEveryIndexOnceInAlignedPieces(threads: Int) {
        let pool = ThreadPool(threads: threads)
        for (count, alignment) in [(1, 1), (2, 4), (7, 1), (64, 4), (1001, 4), (5, 8)] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            hits.initialize(repeating: 0, count: count)
            defer { hits.deallocate() }
            let ranges = Locked<[Range<Int>]>([])
            pool.split(count, alignment: alignment) { range in
                for i in range { hits[i] += 1 }
                ranges.withLock { $0.append(range) }
            }
            for i in 0..<count { #expect(hits[i] == 1, "index \(i) of \(count)") }
            let sorted = ranges.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
            #expect(sorted.first?.lowerBound == 0 && sorted.last?.upperBound == count)
            for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
            for range in sorted { #expect(range.lowerBound % alignment == 0 && !range.isEmpty) }
        }
    }

    /// A worker that is off its CPU between loops (here: stopped in a signal handler for two
    /// seconds) must not hold up the loops that follow; the caller runs them.
    @Test func aWorkerOffItsCPUDoesNotHoldUpLoops() {
        installStallHandler()
        let pool = ThreadPool(threads: 2)
        let count = 1000
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
        hits.initialize(repeating: 0, count: count)
        defer { hits.deallocate() }
        pool.split(count) { range in for i in range { hits[i] += 1 } }
        // Right after a loop the worker has left it, so the signal finds it waiting for the next.
        pthread_kill(pool.workerThreads[0], SIGUSR1)
        let clock = ContinuousClock()
        let loops = 200
        let elapsed = clock.measure {
            for _ in 0..<loops {
                pool.split(count) { range in for i in range { hits[i] += 1 } }
                pool.parallelFor(count) { range in for i in range { hits[i] += 1 } }
            }
        }
        #expect(elapsed < .seconds(1), "loops waited for a stopped worker: \(elapsed)")
        for i in 0..<count { #expect(hits[i] == 1 + 2 * loops, "index \(i)") }
    }

    /// A worker that is descheduled while it holds a chunk stalls that loop; after a few such
    /// loops the pool runs loops on the caller alone instead of stalling every one.
    @Test func loopsMoveToTheCallerWhileWorkersStallThem() {
        let pool = ThreadPool(threads: 2)
        let caller = pthread_self()
        let chunks = 8, loops = 100
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: chunks)
        hits.initialize(repeating: 0, count: chunks)
        defer { hits.deallocate() }
        var loopsWithWorkers = 0
        for _ in 0..<loops {
            let byWorkers = Atomic<Int>(0)
            pool.run(chunks: chunks) { chunk in
                // Long enough that a spinning worker joins before the caller has taken every chunk.
                let end = ContinuousClock.now + .microseconds(20)
                while ContinuousClock.now < end {}
                if pthread_equal(pthread_self(), caller) == 0 {
                    byWorkers.add(1, ordering: .relaxed)
                    usleep(4000)
                }
                hits[chunk] += 1
            }
            if byWorkers.load(ordering: .relaxed) > 0 { loopsWithWorkers += 1 }
        }
        #expect(loopsWithWorkers <= 10, "workers held chunks in \(loopsWithWorkers) of \(loops) loops")
        for chunk in 0..<chunks { #expect(hits[chunk] == loops, "chunk \(chunk)") }
    }

    /// Pools driven at once from their own threads, on more threads than the machine has, with
    /// chunks that stall at random (a worker descheduled while it holds one): every loop's chunks
    /// run exactly once and none after the loop has returned. Each loop writes into memory freed
    /// as soon as it returns, so a late chunk is a use-after-free that AddressSanitizer reports
    /// (`tools/sanitize address ThreadPoolTests`); without it, the counts are checked.
    /// `LOOM_POOL_STRESS_SECONDS` lengthens the run.
    @Test func concurrentPoolsWithStallingChunksRunEveryChunkOnceAndNoneLate() {
        let seconds = Double(ProcessInfo.processInfo.environment["LOOM_POOL_STRESS_SECONDS"] ?? "") ?? 1.5
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let drivers = 3
        let failures = Atomic<Int>(0), loops = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: drivers) { driver in
            let pool = ThreadPool(threads: driver == 0 ? 3 : 2)
            var random = SystemRandomNumberGenerator()
            while ContinuousClock.now < deadline {
                let count = Int.random(in: 1...600, using: &random)
                let hits = UnsafeMutablePointer<Int32>.allocate(capacity: count)
                hits.initialize(repeating: 0, count: count)
                // About one loop in 64 has a chunk that stalls, from 50 µs to 3 ms.
                let stallAt = Int.random(in: 0..<64, using: &random) == 0 ? Int.random(in: 0..<count, using: &random) : -1
                let stall = UInt32.random(in: 50...3000, using: &random)
                func touch(_ i: Int) {
                    if i == stallAt { usleep(stall) }
                    hits[i] &+= 1
                }
                switch Int.random(in: 0..<3, using: &random) {
                case 0: pool.run(chunks: count) { touch($0) }
                case 1: pool.parallelFor(count) { range in for i in range { touch(i) } }
                default: pool.split(count, alignment: Int.random(in: 1...8, using: &random)) { range in for i in range { touch(i) } }
                }
                for i in 0..<count where hits[i] != 1 { failures.add(1, ordering: .relaxed) }
                hits.deinitialize(count: count)
                hits.deallocate()
                loops.add(1, ordering: .relaxed)
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0, "indices run other than once over \(loops.load(ordering: .relaxed)) loops")
        #expect(loops.load(ordering: .relaxed) > 100)
    }

    /// Pools made, used for a loop or two and dropped, from several threads at once: a pool's
    /// workers may not have started when its first loop runs or when it is freed.
    @Test func shortLivedPoolsFromSeveralThreads() {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            for round in 0..<2000 {
                let pool = ThreadPool(threads: 2)
                let count = 1 + round % 5
                let hits = UnsafeMutablePointer<Int32>.allocate(capacity: count)
                hits.initialize(repeating: 0, count: count)
                for _ in 0..<(round % 3) {
                    pool.run(chunks: count) { hits[$0] &+= 1 }
                }
                for i in 0..<count where hits[i] != Int32(round % 3) { failures.add(1, ordering: .relaxed) }
                hits.deallocate()
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    /// The governor's decisions from synthetic loop timings (nanoseconds).
    @Test func governorRunsLoopsSeriallyWhileWorkersCostMoreThanTheyBring() {
        var governor = ParallelismGovernor()
        var now: UInt64 = 1_000_000
        // The caller did half the work in 90% of each loop: alone it would have taken 1.8 times as long.
        func healthy(_ loops: Int) {
            for _ in 0..<loops {
                governor.record(start: now, callerDone: now + 90_000, end: now + 100_000, callerUnits: 4, units: 8)
                now += 100_000
            }
        }
        // The caller did 7 of 8 chunks in 10 µs, then waited 4 ms for a worker off its CPU.
        func stalled(_ loops: Int) {
            for _ in 0..<loops {
                governor.record(start: now, callerDone: now + 10_000, end: now + 4_000_000, callerUnits: 7, units: 8)
                now += 4_000_000
            }
        }
        func serial(_ time: UInt64) -> Bool { governor.runsSerially(at: time) }
        healthy(300)
        #expect(!serial(now))
        stalled(3)
        let shortest = ParallelismGovernor.shortestSerialNanoseconds
        #expect(serial(now))
        #expect(serial(now + shortest - 1))
        now += shortest
        #expect(!serial(now), "a window of parallel loops is tried again")
        // A try that stalls again waits twice as long before the next.
        stalled(3)
        #expect(serial(now + 2 * shortest - 1))
        now += 2 * shortest
        #expect(!serial(now))
        // Failed tries wait at most the longest period.
        for _ in 0..<10 {
            stalled(3)
            now += ParallelismGovernor.longestSerialNanoseconds
            #expect(!serial(now))
        }
        // Once the workers help again the wait goes back to the shortest.
        healthy(100)
        stalled(3)
        #expect(!serial(now + shortest))
    }

    @Test func bf16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between two bf16 values; ties go to the even one (1.0).
        #expect(floatToBF16(1 + 1.0 / 256) == floatToBF16(1))
        #expect(bf16ToFloat(floatToBF16(3.140625)) == 3.140625)
        #expect(f16ToFloat(floatToF16(0.5)) == 0.5)
    }
}

/// SIGUSR1 stops the thread that receives it for two seconds, as a descheduled thread would be.
private func installStallHandler() {
    signal(SIGUSR1) { _ in
        var pause = timespec(tv_sec: 2, tv_nsec: 0)
        nanosleep(&pause, nil)
    }
}

@Suite struct MemoryArenaTests {
    @Test func budgetIsEnforcedAndPeakRecorded() throws {
        let arena = MemoryArena(name: "cpu0", budget: 1000)
        do {
            let a = try arena.allocate(Float.self, count: 100, label: "scratch")
            #expect(arena.inUse == 400)
            #expect(throws: OutOfBudget.self) { try arena.allocate(Float.self, count: 200, label: "cache") }
            _ = a
        }
        #expect(arena.inUse == 0)
        #expect(arena.peak == 400)
    }
}
