import Testing
import Synchronization
import LoomCore

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

    @Test func everyIndexRunsExactlyOnce() {
        let pool = ThreadPool(threads: 3)
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

    @Test func splitCoversEveryIndexOnceInAlignedPieces() {
        let pool = ThreadPool(threads: 3)
        for (count, alignment) in [(1, 1), (2, 4), (7, 1), (64, 4), (1001, 4), (5, 8)] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            hits.initialize(repeating: 0, count: count)
            defer { hits.deallocate() }
            let ranges = Mutex<[Range<Int>]>([])
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

    @Test func bf16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between two bf16 values; ties go to the even one (1.0).
        #expect(floatToBF16(1 + 1.0 / 256) == floatToBF16(1))
        #expect(bf16ToFloat(floatToBF16(3.140625)) == 3.140625)
        #expect(f16ToFloat(floatToF16(0.5)) == 0.5)
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
