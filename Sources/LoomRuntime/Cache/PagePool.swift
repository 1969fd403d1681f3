import Foundation

/// A sequence held by an engine: its id in the page pool.
public struct SequenceID: Hashable, Sendable, CustomStringConvertible {
    public let raw: Int
    public init(_ raw: Int) { self.raw = raw }
    public var description: String { "sequence \(raw)" }
}

/// Errors of sequence and page bookkeeping.
public enum PagePoolError: Error, Equatable, CustomStringConvertible {
    /// Appending would need more free pages than the pool has.
    case outOfPages(needed: Int, available: Int)
    /// The sequence would pass the longest sequence the plan allows.
    case sequenceTooLong(length: Int, limit: Int)
    case unknownSequence(SequenceID)

    public var description: String {
        switch self {
        case let .outOfPages(needed, available):
            return "the KV cache needs \(needed) more pages and has \(available) free; raise --cache-tokens or lower --parallel"
        case let .sequenceTooLong(length, limit):
            return "a sequence of \(length) tokens passes the context of \(limit) (--max-seq-len)"
        case let .unknownSequence(id): return "\(id) does not exist (freed, or never created)"
        }
    }
}

/// The key of a full page: a chained hash of its tokens and of every token before them, so equal
/// keys mean equal keys and values in every layer.
struct PageKey: Hashable {
    let high: UInt64
    let low: UInt64

    static let root = PageKey(high: 0x6a09_e667_f3bc_c908, low: 0xbb67_ae85_84ca_a73b)

    /// The key of a page holding `tokens` after the page keyed `self`.
    func chained<C: Collection>(with tokens: C) -> PageKey where C.Element == Int32 {
        var a = high, b = low
        for token in tokens {
            a = Self.mix(a ^ UInt64(UInt32(bitPattern: token)) &+ 0x9e37_79b9_7f4a_7c15)
            b = Self.mix(b &+ UInt64(UInt32(bitPattern: token)) ^ 0xd1b5_4a32_d192_ed03)
        }
        return PageKey(high: Self.mix(a ^ b), low: Self.mix(b &+ a))
    }

    /// The root of a cache namespace: pages keyed under one salt never match prompts under
    /// another, so tenants that do not share a salt cannot probe each other's prompts.
    static func root(salt: String?) -> PageKey {
        guard let salt else { return root }
        let bytes = Array(salt.utf8)
        // The length goes first, so "ab" + tokens and "a" + other tokens cannot collide by framing.
        return root.chained(with: [Int32(truncatingIfNeeded: bytes.count)] + bytes.map { Int32($0) })
    }

    /// SplitMix64's finaliser: every input bit moves every output bit.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// The page bookkeeping of a paged KV cache: which pages each sequence holds, how many holders
/// each page has, and the prefix index.
///
/// - A page is **referenced** (one or more sequences hold it), **cached** (no holder, but full
///   and keyed, so a later prompt with the same beginning can map it), or **free**.
/// - Full pages are keyed by `PageKey` (their tokens and everything before them). A new sequence
///   maps the cached pages its prompt begins with instead of recomputing them.
/// - Cached pages are reused in least-recently-released order when free pages run out.
/// - A page with another holder, or a keyed one, is never written: a sequence that appends into
///   it gets a private copy first (`Append.copies`).
///
/// Storage is not here: the engine's layers hold `pageCount` pages each, and page ids mean the
/// same page in every layer. Every public operation is atomic (a lock), so sequences driven
/// from different threads can share a pool.
public final class PagePool: @unchecked Sendable {
    private let lock = NSLock()
    public let pageTokens: Int
    public let pageCount: Int
    /// Pages one sequence may hold (the plan's longest sequence).
    public let maxSequenceLength: Int

    /// [pages] holders of each page.
    private var holders: [Int32]
    /// [pages] the key of each full, indexed page.
    private var keys: [PageKey?]
    private var index: [PageKey: Int32] = [:]
    /// Pages with no holder and no key.
    private var free: [Int32]
    /// Cached pages (no holder, keyed) as a doubly linked list, least recently released first.
    private var lruPrevious: [Int32]
    private var lruNext: [Int32]
    private var lruHead: Int32 = -1
    private var lruTail: Int32 = -1
    /// Cached pages (no holder, keyed).
    public var cachedPageCount: Int { lock.lock(); defer { lock.unlock() }; return cached }
    private var cached = 0

    struct Sequence {
        var pages: [Int32] = []
        var tokens: [Int32] = []
        /// [full pages] the key of each full page of this sequence.
        var keys: [PageKey] = []
        /// The key the chain of this sequence's pages starts from (its cache namespace).
        var root = PageKey.root
    }
    private var sequences: [Int: Sequence] = [:]
    private var nextID = 0

    public init(pageTokens: Int, pageCount: Int, maxSequenceLength: Int) {
        precondition(pageTokens > 0 && pageCount >= 0)
        self.pageTokens = pageTokens
        self.pageCount = pageCount
        self.maxSequenceLength = maxSequenceLength
        holders = [Int32](repeating: 0, count: pageCount)
        keys = [PageKey?](repeating: nil, count: pageCount)
        free = (0..<Int32(pageCount)).reversed()
        lruPrevious = [Int32](repeating: -1, count: pageCount)
        lruNext = [Int32](repeating: -1, count: pageCount)
    }

    /// Pages that an allocation can take now: free ones and cached ones.
    public var availablePages: Int { lock.lock(); defer { lock.unlock() }; return available }
    private var available: Int { free.count + cached }
    /// Pages that no sequence holds and that hold nothing reusable.
    public var freePageCount: Int { lock.lock(); defer { lock.unlock() }; return free.count }
    /// Pages held by at least one sequence.
    public var referencedPageCount: Int { lock.lock(); defer { lock.unlock() }; return pageCount - free.count - cached }
    /// Sequences alive.
    public var sequenceCount: Int { lock.lock(); defer { lock.unlock() }; return sequences.count }
    public var sequenceIDs: [SequenceID] { lock.lock(); defer { lock.unlock() }; return sequences.keys.sorted().map(SequenceID.init) }

    /// A new empty sequence. Its full pages are indexed under `cacheSalt`: only sequences created
    /// with the same salt (or, for nil, without one) map them.
    public func create(cacheSalt: String? = nil) -> SequenceID {
        lock.lock(); defer { lock.unlock() }
        let id = nextID
        nextID += 1
        var sequence = Sequence()
        sequence.root = PageKey.root(salt: cacheSalt)
        sequences[id] = sequence
        return SequenceID(id)
    }

    /// Tokens in `id`.
    public func length(_ id: SequenceID) throws -> Int {
        lock.lock(); defer { lock.unlock() }
        return try sequence(id).tokens.count
    }

    /// The tokens `id` holds.
    public func tokens(_ id: SequenceID) throws -> [Int32] {
        lock.lock(); defer { lock.unlock() }
        return try sequence(id).tokens
    }

    /// The page table of `id`.
    public func pages(_ id: SequenceID) throws -> [Int32] {
        lock.lock(); defer { lock.unlock() }
        return try sequence(id).pages
    }

    private func sequence(_ id: SequenceID) throws -> Sequence {
        guard let s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        return s
    }

    /// Maps onto the empty sequence `id` the longest run of cached or shared full pages that
    /// `prompt` begins with, never its last token (whose logits the caller needs), and returns
    /// the tokens mapped.
    @discardableResult
    public func mapCachedPrefix(_ id: SequenceID, prompt: [Int32]) throws -> Int {
        lock.lock(); defer { lock.unlock() }
        guard var s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        guard s.tokens.isEmpty, prompt.count > 1 else { return 0 }
        var key = s.root
        let usable = (min(prompt.count, maxSequenceLength) - 1) / pageTokens
        for p in 0..<usable {
            let slice = prompt[(p * pageTokens)..<((p + 1) * pageTokens)]
            let next = key.chained(with: slice)
            guard let page = index[next] else { break }
            take(page)
            s.pages.append(page)
            s.tokens.append(contentsOf: slice)
            s.keys.append(next)
            key = next
        }
        sequences[id.raw] = s
        return s.tokens.count
    }

    /// How many pages appending `count` tokens to `id` would take from the pool.
    public func pagesNeeded(_ id: SequenceID, appending count: Int) throws -> Int {
        lock.lock(); defer { lock.unlock() }
        let s = try sequence(id)
        return pagesNeeded(s, count)
    }

    private func pagesNeeded(_ s: Sequence, _ count: Int) -> Int {
        guard count > 0 else { return 0 }
        let length = s.tokens.count
        let pagesAfter = (length + count + pageTokens - 1) / pageTokens
        var needed = pagesAfter - s.pages.count
        // A partly filled last page that is not this sequence's alone is copied first.
        if length % pageTokens != 0, let last = s.pages.last, !isWritable(last) { needed += 1 }
        return needed
    }

    private func isWritable(_ page: Int32) -> Bool { holders[Int(page)] == 1 && keys[Int(page)] == nil }

    /// The storage work of one append: where each new token goes, and which pages to copy first.
    public struct Append: Equatable, Sendable {
        /// The position of the first appended token.
        public var start: Int
        /// [count] the slot (page · pageTokens + offset) of each appended token.
        public var slots: [Int32]
        /// Copies to make before writing: the first `positions` positions of `source` into `destination`.
        public var copies: [(source: Int32, destination: Int32, positions: Int)]

        public static func == (a: Append, b: Append) -> Bool {
            a.start == b.start && a.slots == b.slots && a.copies.elementsEqual(b.copies) { $0 == $1 }
        }
    }

    /// Makes room for `count` more tokens in `id`, taking pages from the pool (and giving the
    /// sequence a private copy of a shared last page). Either it takes every page it needs, or it
    /// throws and changes nothing. The tokens themselves are recorded by `commit`.
    public func reserve(_ id: SequenceID, appending count: Int) throws -> Append {
        lock.lock(); defer { lock.unlock() }
        guard var s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        let length = s.tokens.count
        guard length + count <= maxSequenceLength else {
            throw PagePoolError.sequenceTooLong(length: length + count, limit: maxSequenceLength)
        }
        let needed = pagesNeeded(s, count)
        guard needed <= available else { throw PagePoolError.outOfPages(needed: needed, available: available) }
        var copies: [(Int32, Int32, Int)] = []
        if count > 0, length % pageTokens != 0, let last = s.pages.last, !isWritable(last) {
            let copy = allocate()
            copies.append((last, copy, length % pageTokens))
            release(last)
            s.pages[s.pages.count - 1] = copy
        }
        let pagesAfter = (length + count + pageTokens - 1) / pageTokens
        while s.pages.count < pagesAfter { s.pages.append(allocate()) }
        var slots: [Int32] = []
        slots.reserveCapacity(count)
        for position in length..<(length + count) {
            slots.append(s.pages[position / pageTokens] * Int32(pageTokens) + Int32(position % pageTokens))
        }
        // Pages reserved but not yet committed hold no tokens: `commit` or `truncate` settles them.
        sequences[id.raw] = s
        return Append(start: length, slots: slots, copies: copies)
    }

    /// Records that `tokens` were written at the slots the last `reserve` gave, and indexes every
    /// page they fill.
    public func commit(_ id: SequenceID, tokens: [Int32]) throws {
        lock.lock(); defer { lock.unlock() }
        guard var s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        precondition(s.tokens.count + tokens.count <= s.pages.count * pageTokens, "commit without reserve")
        s.tokens.append(contentsOf: tokens)
        while s.keys.count < s.tokens.count / pageTokens {
            let p = s.keys.count
            let key = (s.keys.last ?? s.root).chained(with: s.tokens[(p * pageTokens)..<((p + 1) * pageTokens)])
            s.keys.append(key)
            let page = s.pages[p]
            // A page with the same key may already be indexed (two prompts prefilled at once):
            // keep that one indexed and this one private.
            if index[key] == nil, keys[Int(page)] == nil, holders[Int(page)] == 1 {
                index[key] = page
                keys[Int(page)] = key
            }
        }
        sequences[id.raw] = s
    }

    /// Drops the tokens of `id` after the first `length` (and the pages they alone needed).
    public func truncate(_ id: SequenceID, to length: Int) throws {
        lock.lock(); defer { lock.unlock() }
        guard var s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        let kept = max(0, min(length, s.tokens.count))
        s.tokens.removeLast(s.tokens.count - kept)
        s.keys.removeLast(s.keys.count - kept / pageTokens)
        let pagesKept = (kept + pageTokens - 1) / pageTokens
        while s.pages.count > pagesKept { release(s.pages.removeLast()) }
        sequences[id.raw] = s
    }

    /// A new sequence holding the first `length` tokens of `id` (all of them by default), sharing
    /// its pages; whichever writes into a shared page first copies it.
    public func fork(_ id: SequenceID, length: Int? = nil) throws -> SequenceID {
        lock.lock(); defer { lock.unlock() }
        guard var s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        let kept = max(0, min(length ?? s.tokens.count, s.tokens.count))
        s.tokens.removeLast(s.tokens.count - kept)
        s.keys.removeLast(s.keys.count - kept / pageTokens)
        s.pages.removeLast(s.pages.count - (kept + pageTokens - 1) / pageTokens)
        for page in s.pages { take(page) }
        let child = nextID
        nextID += 1
        sequences[child] = s
        return SequenceID(child)
    }

    /// Releases every page of `id` and forgets it. Its full pages stay cached for reuse.
    public func free(_ id: SequenceID) {
        lock.lock(); defer { lock.unlock() }
        guard let s = sequences.removeValue(forKey: id.raw) else { return }
        for page in s.pages.reversed() { release(page) }
    }

    // MARK: pages

    private func allocate() -> Int32 {
        if let page = free.popLast() {
            holders[Int(page)] = 1
            return page
        }
        // The least recently released cached page gives up its contents.
        let page = lruHead
        precondition(page >= 0, "allocate with no page available")
        unlinkCached(page)
        index.removeValue(forKey: keys[Int(page)]!)
        keys[Int(page)] = nil
        holders[Int(page)] = 1
        return page
    }

    /// One more holder for `page` (a prefix mapping or a fork).
    private func take(_ page: Int32) {
        if holders[Int(page)] == 0 { unlinkCached(page) }
        holders[Int(page)] += 1
    }

    private func release(_ page: Int32) {
        let p = Int(page)
        holders[p] -= 1
        precondition(holders[p] >= 0, "page \(page) released more often than taken")
        guard holders[p] == 0 else { return }
        if keys[p] != nil { linkCached(page) } else { free.append(page) }
    }

    private func linkCached(_ page: Int32) {
        let p = Int(page)
        lruPrevious[p] = lruTail
        lruNext[p] = -1
        if lruTail >= 0 { lruNext[Int(lruTail)] = page } else { lruHead = page }
        lruTail = page
        cached += 1
    }

    private func unlinkCached(_ page: Int32) {
        let p = Int(page)
        let previous = lruPrevious[p], next = lruNext[p]
        if previous >= 0 { lruNext[Int(previous)] = next } else { lruHead = next }
        if next >= 0 { lruPrevious[Int(next)] = previous } else { lruTail = previous }
        lruPrevious[p] = -1
        lruNext[p] = -1
        cached -= 1
    }

    // MARK: checks

    /// Whether the bookkeeping is consistent: every page is free, cached or held exactly as often
    /// as the sequences' page tables list it, and the index names exactly the keyed pages. Tests
    /// call it after every operation.
    public func isConsistent() -> Bool {
        lock.lock(); defer { lock.unlock() }
        var counted = [Int32](repeating: 0, count: pageCount)
        for s in sequences.values {
            guard s.pages.count == (s.tokens.count + pageTokens - 1) / pageTokens else { return false }
            for page in s.pages { counted[Int(page)] += 1 }
        }
        guard counted == holders else { return false }
        var listed = 0
        var page = lruHead
        while page >= 0 {
            guard holders[Int(page)] == 0, keys[Int(page)] != nil else { return false }
            listed += 1
            page = lruNext[Int(page)]
        }
        guard listed == cached else { return false }
        let freeSet = Set(free)
        guard freeSet.count == free.count, free.allSatisfy({ holders[Int($0)] == 0 && keys[Int($0)] == nil }) else { return false }
        guard free.count + cached + holders.filter({ $0 > 0 }).count == pageCount else { return false }
        for (key, page) in index where keys[Int(page)] != key { return false }
        return index.count == keys.compactMap({ $0 }).count
    }
}
