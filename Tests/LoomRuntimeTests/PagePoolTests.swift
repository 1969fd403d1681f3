import Testing
@testable import LoomRuntime

/// The page bookkeeping under random create/fork/append/rewind/free sequences, against a model
/// of what each sequence must hold.
@Suite struct PagePoolTests {
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    }

    /// 10,000 random operations (speculative steps among them) over a pool with storage simulated
    /// as one token id per slot:
    /// every sequence always reads back exactly its own tokens (so no shared page was ever
    /// written), the bookkeeping stays consistent after each operation, and once every sequence
    /// is freed no page is referenced.
    @Test(arguments: [1, 4, 16])
    func randomOperationsNeverCorruptOrLeak(pageTokens: Int) throws {
        let pageCount = 96 / pageTokens * 8
        let pool = PagePool(pageTokens: pageTokens, pageCount: pageCount, maxSequenceLength: 80)
        // [pageCount · pageTokens] what each slot holds, as the engine's layers would.
        var storage = [Int32](repeating: -1, count: pageCount * pageTokens)
        var expected: [SequenceID: [Int32]] = [:]
        var rng = Rng(state: UInt64(pageTokens) * 977)
        // A small alphabet with repeated prompts, so prefixes are shared and indexed often.
        let prompts: [[Int32]] = (0..<5).map { p in (0..<70).map { Int32(($0 * (p + 1)) % 7) } }
        func check() throws {
            #expect(pool.isConsistent())
            for (id, tokens) in expected {
                let table = try pool.pages(id)
                let read = (0..<tokens.count).map { storage[Int(table[$0 / pageTokens]) * pageTokens + $0 % pageTokens] }
                #expect(read == tokens, "\(id)")
                #expect(try pool.length(id) == tokens.count)
            }
        }
        func append(_ id: SequenceID, _ tokens: [Int32]) throws -> Bool {
            guard let append = try? pool.reserve(id, appending: tokens.count) else { return false }
            for copy in append.copies {
                for i in 0..<copy.positions {
                    storage[Int(copy.destination) * pageTokens + i] = storage[Int(copy.source) * pageTokens + i]
                }
            }
            for (slot, token) in zip(append.slots, tokens) { storage[Int(slot)] = token }
            try pool.commit(id, tokens: tokens)
            expected[id, default: []] += tokens
            return true
        }
        var mapped = 0
        for _ in 0..<10_000 {
            let ids = expected.keys.sorted { $0.raw < $1.raw }
            switch rng.below(10) {
            case 0, 1:
                guard expected.count < 12 else { continue }
                let id = pool.create()
                expected[id] = []
                let prompt = Array(prompts[rng.below(prompts.count)].prefix(1 + rng.below(70)))
                let reused = try pool.mapCachedPrefix(id, prompt: prompt)
                #expect(reused % pageTokens == 0 && reused < prompt.count)
                mapped += reused
                expected[id] = Array(prompt.prefix(reused))
                if !(try append(id, Array(prompt[reused...]))) {
                    pool.free(id)
                    expected[id] = nil
                }
            case 2, 3, 4:
                guard let id = ids.randomElement(using: &rng.generator) else { continue }
                let tokens = (0..<(1 + rng.below(6))).map { _ in Int32(rng.below(7)) }
                if (expected[id]!.count + tokens.count) <= 80 { _ = try append(id, tokens) }
            case 5:
                guard let id = ids.randomElement(using: &rng.generator) else { continue }
                let length = rng.below(expected[id]!.count + 1)
                try pool.truncate(id, to: length)
                expected[id]!.removeLast(expected[id]!.count - length)
            case 6:
                guard let id = ids.randomElement(using: &rng.generator), expected.count < 12 else { continue }
                let length = rng.below(expected[id]!.count + 1)
                let child = try pool.fork(id, length: length)
                expected[child] = Array(expected[id]!.prefix(length))
            case 7:
                // A speculative step: a token and up to 8 proposals appended, then the rejected
                // ones truncated away.
                guard let id = ids.randomElement(using: &rng.generator) else { continue }
                let start = expected[id]!.count
                let tokens = (0..<(1 + rng.below(9))).map { _ in Int32(rng.below(7)) }
                guard start + tokens.count <= 80, try append(id, tokens) else { continue }
                let kept = start + 1 + rng.below(tokens.count)
                try pool.truncate(id, to: kept)
                expected[id]!.removeLast(expected[id]!.count - kept)
            default:
                guard let id = ids.randomElement(using: &rng.generator) else { continue }
                pool.free(id)
                expected[id] = nil
            }
            try check()
        }
        #expect(mapped > 0, "prefixes were mapped from the index")
        for id in expected.keys.sorted(by: { $0.raw < $1.raw }) { pool.free(id) }
        #expect(pool.isConsistent())
        #expect(pool.referencedPageCount == 0)
        #expect(pool.availablePages == pageCount)
        #expect(pool.freePageCount + pool.cachedPageCount == pageCount)
    }

    /// A full page is mapped by a later prompt only when it and everything before it match.
    @Test func prefixIndexMatchesWholePrefixesOnly() throws {
        let pool = PagePool(pageTokens: 4, pageCount: 16, maxSequenceLength: 64)
        let first = pool.create()
        let tokens: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let append = try pool.reserve(first, appending: tokens.count)
        #expect(append.copies.isEmpty)
        try pool.commit(first, tokens: tokens)
        pool.free(first)
        #expect(pool.cachedPageCount == 2)
        let same = pool.create()
        #expect(try pool.mapCachedPrefix(same, prompt: tokens) == 8)
        // The last prompt token is never mapped: its logits are needed.
        let exact = pool.create()
        #expect(try pool.mapCachedPrefix(exact, prompt: Array(tokens.prefix(8))) == 4)
        // A different first page: the second page's tokens alone do not match.
        let other = pool.create()
        #expect(try pool.mapCachedPrefix(other, prompt: [0, 2, 3, 4, 5, 6, 7, 8, 9]) == 0)
        #expect(pool.isConsistent())
    }

    /// When pages run out, the least recently released cached page is reused first.
    @Test func cachedPagesAreReusedLeastRecentlyReleasedFirst() throws {
        let pool = PagePool(pageTokens: 2, pageCount: 3, maxSequenceLength: 64)
        for prompt in [[1, 2], [3, 4], [5, 6]] as [[Int32]] {
            let id = pool.create()
            _ = try pool.reserve(id, appending: 2)
            try pool.commit(id, tokens: prompt)
            pool.free(id)
        }
        #expect(pool.cachedPageCount == 3 && pool.freePageCount == 0)
        let taker = pool.create()
        _ = try pool.reserve(taker, appending: 2)
        try pool.commit(taker, tokens: [9, 9])
        // [1, 2] went first; [3, 4] and [5, 6] are still mapped.
        for (prompt, mapped) in [([1, 2, 0], 0), ([3, 4, 0], 2), ([5, 6, 0], 2)] as [([Int32], Int)] {
            let probe = pool.create()
            #expect(try pool.mapCachedPrefix(probe, prompt: prompt) == mapped)
            pool.free(probe)
        }
        #expect(throws: PagePoolError.outOfPages(needed: 30, available: 2)) { _ = try pool.reserve(taker, appending: 60) }
        #expect(pool.isConsistent())
    }
}

extension PagePoolTests.Rng {
    /// A generator view for `randomElement(using:)`.
    var generator: Generator { get { Generator(rng: self) } set { self = newValue.rng } }

    struct Generator: RandomNumberGenerator {
        var rng: PagePoolTests.Rng
        mutating func next() -> UInt64 { rng.next() << 32 | rng.next() }
    }
}
