import Testing
@testable import LoomRuntime

/// The sliding-window tier of the page pool under random create/map/fork/append/rewind/free
/// sequences, with storage simulated as one token id per slot in each tier.
@Suite struct WindowPagingTests {
    typealias Rng = PagePoolTests.Rng

    /// 10,000 random operations: every sequence reads back all its tokens from the full tier and
    /// the positions its next row attends to from the window tier (so no shared window page was
    /// written and no needed one dropped); it never holds more window pages than
    /// `pagesPerSequence`; sequences longer than the window drop pages; truncating or forking
    /// past the held window throws `windowDropped` (and the test then rebuilds the sequence as
    /// the engine does); and once all are freed no page of either tier is referenced.
    @Test(arguments: [(4, 4), (4, 16), (16, 16), (1, 8)])
    func randomOperationsKeepTheWindowAndDropTheRest(pageTokens: Int, alignment: Int) throws {
        let pageCount = 96 / pageTokens * 8, maxLength = 80, window = 7, spare = 2
        let paging = WindowPaging(window: window, pageCount: pageCount, spare: spare, alignment: alignment, chunkTokens: maxLength,
                                  pageTokens: pageTokens)
        let pool = PagePool(pageTokens: pageTokens, pageCount: pageCount, maxSequenceLength: maxLength, window: paging)
        var storage = [Int32](repeating: -1, count: pageCount * pageTokens)
        var windowStorage = [Int32](repeating: -1, count: pageCount * pageTokens)
        var expected: [SequenceID: [Int32]] = [:]
        var rng = Rng(state: UInt64(pageTokens * 31 + alignment))
        let prompts: [[Int32]] = (0..<5).map { p in (0..<70).map { Int32(($0 * (p + 1)) % 7) } }
        var dropped = 0, refused = 0, mapped = 0
        func check() throws {
            #expect(pool.isConsistent())
            for (id, tokens) in expected {
                let table = try pool.pages(id), windowTable = try pool.windowPages(id)
                #expect(windowTable.count == table.count)
                let read = (0..<tokens.count).map { storage[Int(table[$0 / pageTokens]) * pageTokens + $0 % pageTokens] }
                #expect(read == tokens, "\(id)")
                let first = tokens.isEmpty ? 0 : paging.firstRead(position: tokens.count)
                let windowRead = (first..<tokens.count).map {
                    windowStorage[Int(windowTable[$0 / pageTokens]) * pageTokens + $0 % pageTokens]
                }
                #expect(windowRead == Array(tokens[first...]), "\(id) window")
                let held = windowTable.filter { $0 >= 0 }.count
                #expect(held <= paging.pagesPerSequence, "\(id) holds \(held) window pages")
                dropped += windowTable.filter { $0 < 0 }.count
            }
        }
        func append(_ id: SequenceID, _ tokens: [Int32]) throws -> Bool {
            guard let append = try? pool.reserve(id, appending: tokens.count) else { return false }
            for (copies, slots, store) in [(append.copies, append.slots, 0), (append.windowCopies, append.windowSlots, 1)] {
                for copy in copies {
                    for i in 0..<copy.positions {
                        if store == 0 { storage[Int(copy.destination) * pageTokens + i] = storage[Int(copy.source) * pageTokens + i] }
                        else { windowStorage[Int(copy.destination) * pageTokens + i] = windowStorage[Int(copy.source) * pageTokens + i] }
                    }
                }
                for (slot, token) in zip(slots, tokens) { if store == 0 { storage[Int(slot)] = token } else { windowStorage[Int(slot)] = token } }
            }
            try pool.commit(id, tokens: tokens)
            expected[id, default: []] += tokens
            return true
        }
        /// What the engine does when the window is gone: map what the prefix cache has, append the rest.
        func rebuild(_ id: SequenceID, _ tokens: [Int32]) throws -> Bool {
            let reused = try pool.mapCachedPrefix(id, prompt: tokens + [0])
            expected[id] = Array(tokens.prefix(reused))
            if reused == tokens.count { return true }
            return try append(id, Array(tokens[reused...]))
        }
        for _ in 0..<10_000 {
            let ids = expected.keys.sorted { $0.raw < $1.raw }
            switch rng.below(10) {
            case 0, 1:
                guard expected.count < 8 else { continue }
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
                if (expected[id]!.count + tokens.count) <= maxLength { _ = try append(id, tokens) }
            case 5:
                guard let id = ids.randomElement(using: &rng.generator) else { continue }
                let length = rng.below(expected[id]!.count + 1)
                do {
                    try pool.truncate(id, to: length)
                    expected[id]!.removeLast(expected[id]!.count - length)
                } catch PagePoolError.windowDropped {
                    refused += 1
                    let kept = Array(expected[id]!.prefix(length))
                    try pool.truncate(id, to: 0)
                    if !(try rebuild(id, kept)) { pool.free(id); expected[id] = nil }
                }
            case 6:
                guard let id = ids.randomElement(using: &rng.generator), expected.count < 8 else { continue }
                let length = rng.below(expected[id]!.count + 1)
                do {
                    let child = try pool.fork(id, length: length)
                    expected[child] = Array(expected[id]!.prefix(length))
                } catch PagePoolError.windowDropped {
                    refused += 1
                    let child = try pool.create(namespaceOf: id)
                    if !(try rebuild(child, Array(expected[id]!.prefix(length)))) { pool.free(child); expected[child] = nil }
                }
            default:
                guard let id = ids.randomElement(using: &rng.generator) else { continue }
                pool.free(id)
                expected[id] = nil
            }
            try check()
        }
        #expect(dropped > 0, "sequences longer than the window dropped pages")
        #expect(refused > 0, "some rewinds reached behind the window")
        #expect(mapped > 0, "prefixes were mapped from the index")
        for id in expected.keys.sorted(by: { $0.raw < $1.raw }) { pool.free(id) }
        #expect(pool.isConsistent())
        #expect(pool.referencedPageCount == 0 && pool.referencedWindowPageCount == 0)
        #expect(pool.available == pool.capacity)
    }

    /// Dropped window pages go to the prefix cache like any full page; a prompt that begins like
    /// a freed one maps its full pages only as far as the window pages of the mapped end are
    /// still cached.
    @Test func aCachedPrefixNeedsTheWindowOfItsEnd() throws {
        // Three window pages: the ones dropped first are reused first.
        let paging = WindowPaging(window: 5, pageCount: 3, spare: 0, alignment: 4, chunkTokens: 4, pageTokens: 4)
        let pool = PagePool(pageTokens: 4, pageCount: 64, maxSequenceLength: 64, window: paging)
        let prompt = (0..<40).map { Int32($0) }
        let first = pool.create()
        for chunk in stride(from: 0, to: 40, by: 4) {
            _ = try pool.reserve(first, appending: 4)
            try pool.commit(first, tokens: Array(prompt[chunk..<(chunk + 4)]))
            #expect(pool.isConsistent())
        }
        // A row at 40 reads from position 36 (its window 36...40): the first nine pages are dropped.
        #expect(try pool.windowPages(first).prefix(9).allSatisfy { $0 < 0 })
        #expect(try pool.windowPages(first)[9] >= 0)
        pool.free(first)
        // All 40 tokens are cached in the full tier, and the window page of 36..<40 too.
        let second = pool.create()
        #expect(try pool.mapCachedPrefix(second, prompt: prompt + [99]) == 40)
        pool.free(second)
        // Diverging at 37: 36 tokens match; their end reads from 32, whose page is still cached.
        let third = pool.create()
        #expect(try pool.mapCachedPrefix(third, prompt: Array(prompt.prefix(37)) + [7, 7, 7]) == 36)
        pool.free(third)
        // Diverging at 21: 20 tokens match in the full tier, but the window pages of 16..<20 (and
        // of every shorter prefix's end) were reused: nothing is mapped.
        let fourth = pool.create()
        #expect(try pool.mapCachedPrefix(fourth, prompt: Array(prompt.prefix(21)) + [9, 9]) == 0)
        #expect(pool.isConsistent())
    }
}
