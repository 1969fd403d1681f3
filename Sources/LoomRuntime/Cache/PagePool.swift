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
    /// Keeping `length` tokens would need sliding-window pages the sequence has already dropped
    /// (it must be recomputed from its tokens).
    case windowDropped(SequenceID, length: Int)

    public var description: String {
        switch self {
        case let .outOfPages(needed, available):
            return "the KV cache needs \(needed) more pages and has \(available) free; raise --cache-tokens or lower --parallel"
        case let .sequenceTooLong(length, limit):
            return "a sequence of \(length) tokens passes the context of \(limit) (--max-seq-len)"
        case let .unknownSequence(id): return "\(id) does not exist (freed, or never created)"
        case let .windowDropped(id, length):
            return "\(id) has dropped the sliding-window pages its first \(length) tokens need"
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

/// Pages a sequence operation takes, or a pool has, in each of the pools.
public struct PageCounts: Sendable, Equatable, CustomStringConvertible {
    /// Pages of the full-context layers.
    public var pages: Int
    /// Pages of the sliding-window layers (0 without them).
    public var windowPages: Int

    public init(pages: Int, windowPages: Int = 0) {
        self.pages = pages
        self.windowPages = windowPages
    }

    /// Whether every pool has what `self` asks for.
    public func fits(within available: PageCounts) -> Bool { pages <= available.pages && windowPages <= available.windowPages }

    public static func + (a: PageCounts, b: PageCounts) -> PageCounts {
        PageCounts(pages: a.pages + b.pages, windowPages: a.windowPages + b.windowPages)
    }

    /// The error of asking for `self` from a pool with `available`, naming the pool that lacks pages.
    public func shortage(within available: PageCounts) -> PagePoolError {
        pages > available.pages ? .outOfPages(needed: pages, available: available.pages)
                                : .outOfPages(needed: windowPages, available: available.windowPages)
    }

    public var description: String { windowPages == 0 ? "\(pages) pages" : "\(pages) pages and \(windowPages) window pages" }
}

/// The page bookkeeping of a paged KV cache: which pages each sequence holds, how many holders
/// each page has, and the prefix index.
///
/// - Full pages are keyed by `PageKey` (their tokens and everything before them). A new sequence
///   maps the cached pages its prompt begins with instead of recomputing them.
/// - Cached pages are reused in least-recently-released order when free pages run out.
/// - A page with another holder, or a keyed one, is never written: a sequence that appends into
///   it gets a private copy first (`Append.copies`).
/// - With sliding-window layers (`WindowPaging`), a second tier of pages serves them: a sequence
///   holds window pages only for the positions its next rows can attend to, and drops the rest
///   as it grows. Keeping fewer tokens than it has (`truncate`, `fork`) works while the window of
///   the new end is still held, and throws `windowDropped` otherwise.
///
/// Storage is not here: the engine's full-context layers hold `pageCount` pages each and its
/// window layers `window.pageCount`; page ids mean the same page in every layer of a tier. Every
/// public operation is atomic (a lock), so sequences driven from different threads can share a
/// pool.
public final class PagePool: @unchecked Sendable {
    private let lock = NSLock()
    public let pageTokens: Int
    public let pageCount: Int
    /// Pages one sequence may hold (the plan's longest sequence).
    public let maxSequenceLength: Int
    /// The sliding-window layers' pages, when the model has such layers.
    public let window: WindowPaging?

    private var full: PageTier
    private var windowTier: PageTier

    struct Sequence {
        var pages: [Int32] = []
        /// [pages.count] the window page of each page of positions, -1 for those dropped (always
        /// a prefix: `windowFirst` of them). Empty without window layers.
        var windowPages: [Int32] = []
        var windowFirst = 0
        var tokens: [Int32] = []
        /// [full pages] the key of each full page of this sequence.
        var keys: [PageKey] = []
        /// The key the chain of this sequence's pages starts from (its cache namespace).
        var root = PageKey.root
    }
    private var sequences: [Int: Sequence] = [:]
    private var nextID = 0

    public init(pageTokens: Int, pageCount: Int, maxSequenceLength: Int, window: WindowPaging? = nil) {
        precondition(pageTokens > 0 && pageCount >= 0)
        self.pageTokens = pageTokens
        self.pageCount = pageCount
        self.maxSequenceLength = maxSequenceLength
        self.window = window
        full = PageTier(pageCount: pageCount)
        windowTier = PageTier(pageCount: window?.pageCount ?? 0)
    }

    /// Pages that an allocation can take now in each tier: free ones and cached ones.
    public var available: PageCounts {
        lock.lock(); defer { lock.unlock() }
        return PageCounts(pages: full.available, windowPages: windowTier.available)
    }
    /// Pages of each tier.
    public var capacity: PageCounts { PageCounts(pages: pageCount, windowPages: window?.pageCount ?? 0) }
    /// Full-context pages that an allocation can take now.
    public var availablePages: Int { lock.lock(); defer { lock.unlock() }; return full.available }
    /// Full-context pages that no sequence holds and that hold nothing reusable.
    public var freePageCount: Int { lock.lock(); defer { lock.unlock() }; return full.free.count }
    /// Full-context pages held by at least one sequence.
    public var referencedPageCount: Int { lock.lock(); defer { lock.unlock() }; return full.referenced }
    /// Full-context cached pages (no holder, keyed).
    public var cachedPageCount: Int { lock.lock(); defer { lock.unlock() }; return full.cached }
    /// Window pages held by at least one sequence.
    public var referencedWindowPageCount: Int { lock.lock(); defer { lock.unlock() }; return windowTier.referenced }
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

    /// A new empty sequence in the cache namespace of `id`.
    public func create(namespaceOf id: SequenceID) throws -> SequenceID {
        lock.lock(); defer { lock.unlock() }
        var sequence = Sequence()
        sequence.root = try self.sequence(id).root
        let child = nextID
        nextID += 1
        sequences[child] = sequence
        return SequenceID(child)
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

    /// The window page table of `id`: as long as `pages`, -1 for pages dropped behind the window;
    /// empty without window layers.
    public func windowPages(_ id: SequenceID) throws -> [Int32] {
        lock.lock(); defer { lock.unlock() }
        return try sequence(id).windowPages
    }

    private func sequence(_ id: SequenceID) throws -> Sequence {
        guard let s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        return s
    }

    /// The first window page a sequence must hold to go on from `length` tokens.
    private func firstWindowPageNeeded(length: Int) -> Int {
        guard let window, length > 0 else { return 0 }
        return window.firstRead(position: length) / pageTokens
    }

    /// Maps onto the empty sequence `id` the longest run of cached or shared full pages that
    /// `prompt` begins with, never its last token (whose logits the caller needs), and returns
    /// the tokens mapped. With window layers, the run also needs the window pages its end
    /// attends to.
    @discardableResult
    public func mapCachedPrefix(_ id: SequenceID, prompt: [Int32]) throws -> Int {
        lock.lock(); defer { lock.unlock() }
        guard var s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        guard s.tokens.isEmpty, prompt.count > 1 else { return 0 }
        var key = s.root
        var found: [(key: PageKey, page: Int32)] = []
        let usable = (min(prompt.count, maxSequenceLength) - 1) / pageTokens
        for p in 0..<usable {
            let next = key.chained(with: prompt[(p * pageTokens)..<((p + 1) * pageTokens)])
            guard let page = full.page(keyed: next) else { break }
            found.append((next, page))
            key = next
        }
        var count = found.count
        if window != nil {
            // The longest run whose end finds its window pages cached too.
            while count > 0, !(firstWindowPageNeeded(length: count * pageTokens)..<count).allSatisfy({ windowTier.page(keyed: found[$0].key) != nil }) {
                count -= 1
            }
            let first = firstWindowPageNeeded(length: count * pageTokens)
            s.windowFirst = count == 0 ? 0 : first
            for p in 0..<count {
                guard p >= first else { s.windowPages.append(-1); continue }
                let page = windowTier.page(keyed: found[p].key)!
                windowTier.take(page)
                s.windowPages.append(page)
            }
        }
        for (next, page) in found.prefix(count) {
            full.take(page)
            s.pages.append(page)
            s.keys.append(next)
        }
        s.tokens.append(contentsOf: prompt.prefix(count * pageTokens))
        sequences[id.raw] = s
        return s.tokens.count
    }

    /// How many pages of each tier appending `count` tokens to `id` would take from the pool;
    /// for more than one pass's rows, the most the window tier holds at once as it drops pages.
    public func pagesNeeded(_ id: SequenceID, appending count: Int) throws -> PageCounts {
        lock.lock(); defer { lock.unlock() }
        let s = try sequence(id)
        return pagesNeeded(s, count)
    }

    private func pagesNeeded(_ s: Sequence, _ count: Int) -> PageCounts {
        guard count > 0 else { return PageCounts(pages: 0) }
        let length = s.tokens.count
        let pagesAfter = (length + count + pageTokens - 1) / pageTokens
        // A partly filled last page that is not this sequence's alone is copied first.
        let copiesLast = length % pageTokens != 0
        var needed = PageCounts(pages: pagesAfter - s.pages.count)
        if copiesLast, let last = s.pages.last, !full.isWritable(last) { needed.pages += 1 }
        if let window {
            let held = s.windowPages.count - s.windowFirst
            let most = pagesAfter - s.windowFirst
            needed.windowPages = max(0, min(most, window.pagesPerSequence) - held)
            if copiesLast, let last = s.windowPages.last, last >= 0, !windowTier.isWritable(last) { needed.windowPages += 1 }
        }
        return needed
    }

    /// The storage work of one append: where each new token goes, and which pages to copy first.
    public struct Append: Equatable, Sendable {
        /// The position of the first appended token.
        public var start: Int
        /// [count] the slot (page · pageTokens + offset) of each appended token.
        public var slots: [Int32]
        /// Copies to make before writing: the first `positions` positions of `source` into `destination`.
        public var copies: [(source: Int32, destination: Int32, positions: Int)]
        /// As `slots` and `copies`, in the window layers' pages (empty without them).
        public var windowSlots: [Int32] = []
        public var windowCopies: [(source: Int32, destination: Int32, positions: Int)] = []

        public static func == (a: Append, b: Append) -> Bool {
            a.start == b.start && a.slots == b.slots && a.copies.elementsEqual(b.copies) { $0 == $1 }
                && a.windowSlots == b.windowSlots && a.windowCopies.elementsEqual(b.windowCopies) { $0 == $1 }
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
        let available = PageCounts(pages: full.available, windowPages: windowTier.available)
        guard needed.fits(within: available) else { throw needed.shortage(within: available) }
        let pagesAfter = (length + count + pageTokens - 1) / pageTokens
        var append = Append(start: length, slots: [], copies: [])
        append.copies = Self.extend(&s.pages, in: &full, length: length, appending: count, pagesAfter: pagesAfter, pageTokens: pageTokens)
        append.slots = Self.slots(s.pages, from: length, count: count, pageTokens: pageTokens)
        if window != nil {
            append.windowCopies = Self.extend(&s.windowPages, in: &windowTier, length: length, appending: count, pagesAfter: pagesAfter,
                                              pageTokens: pageTokens)
            append.windowSlots = Self.slots(s.windowPages, from: length, count: count, pageTokens: pageTokens)
        }
        // Pages reserved but not yet committed hold no tokens: `commit` or `truncate` settles them.
        sequences[id.raw] = s
        return append
    }

    /// Gives `table` a private copy of a shared, partly filled last page and pages up to
    /// `pagesAfter`; returns the copies to make.
    private static func extend(_ table: inout [Int32], in tier: inout PageTier, length: Int, appending count: Int, pagesAfter: Int,
                               pageTokens: Int) -> [(source: Int32, destination: Int32, positions: Int)] {
        var copies: [(Int32, Int32, Int)] = []
        if count > 0, length % pageTokens != 0, let last = table.last, last >= 0, !tier.isWritable(last) {
            let copy = tier.allocate()
            copies.append((last, copy, length % pageTokens))
            tier.release(last)
            table[table.count - 1] = copy
        }
        while table.count < pagesAfter { table.append(tier.allocate()) }
        return copies
    }

    private static func slots(_ table: [Int32], from length: Int, count: Int, pageTokens: Int) -> [Int32] {
        (length..<(length + count)).map { table[$0 / pageTokens] * Int32(pageTokens) + Int32($0 % pageTokens) }
    }

    /// Records that `tokens` were written at the slots the last `reserve` gave, indexes every
    /// page they fill, and drops the window pages the sequence's next rows can no longer reach.
    public func commit(_ id: SequenceID, tokens: [Int32]) throws {
        lock.lock(); defer { lock.unlock() }
        guard var s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        precondition(s.tokens.count + tokens.count <= s.pages.count * pageTokens, "commit without reserve")
        s.tokens.append(contentsOf: tokens)
        while s.keys.count < s.tokens.count / pageTokens {
            let p = s.keys.count
            let key = (s.keys.last ?? s.root).chained(with: s.tokens[(p * pageTokens)..<((p + 1) * pageTokens)])
            s.keys.append(key)
            full.index(s.pages[p], key: key)
            if window != nil, s.windowPages[p] >= 0 { windowTier.index(s.windowPages[p], key: key) }
        }
        if let window {
            let first = window.firstKept(length: s.tokens.count) / pageTokens
            while s.windowFirst < first {
                windowTier.release(s.windowPages[s.windowFirst])
                s.windowPages[s.windowFirst] = -1
                s.windowFirst += 1
            }
        }
        sequences[id.raw] = s
    }

    /// Drops the tokens of `id` after the first `length` (and the pages they alone needed).
    /// Throws `windowDropped`, changing nothing, when the window of the new end is gone.
    public func truncate(_ id: SequenceID, to length: Int) throws {
        lock.lock(); defer { lock.unlock() }
        guard var s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        let kept = max(0, min(length, s.tokens.count))
        guard kept == s.tokens.count || firstWindowPageNeeded(length: kept) >= s.windowFirst || kept == 0 else {
            throw PagePoolError.windowDropped(id, length: kept)
        }
        s.tokens.removeLast(s.tokens.count - kept)
        s.keys.removeLast(s.keys.count - kept / pageTokens)
        let pagesKept = (kept + pageTokens - 1) / pageTokens
        while s.pages.count > pagesKept { full.release(s.pages.removeLast()) }
        if window != nil {
            while s.windowPages.count > pagesKept {
                let page = s.windowPages.removeLast()
                if page >= 0 { windowTier.release(page) }
            }
            s.windowFirst = min(s.windowFirst, s.windowPages.count)
        }
        sequences[id.raw] = s
    }

    /// A new sequence holding the first `length` tokens of `id` (all of them by default), sharing
    /// its pages; whichever writes into a shared page first copies it. Throws `windowDropped`
    /// when the window of that length is gone.
    public func fork(_ id: SequenceID, length: Int? = nil) throws -> SequenceID {
        lock.lock(); defer { lock.unlock() }
        guard var s = sequences[id.raw] else { throw PagePoolError.unknownSequence(id) }
        let kept = max(0, min(length ?? s.tokens.count, s.tokens.count))
        guard kept == s.tokens.count || firstWindowPageNeeded(length: kept) >= s.windowFirst || kept == 0 else {
            throw PagePoolError.windowDropped(id, length: kept)
        }
        s.tokens.removeLast(s.tokens.count - kept)
        s.keys.removeLast(s.keys.count - kept / pageTokens)
        let pagesKept = (kept + pageTokens - 1) / pageTokens
        s.pages.removeLast(s.pages.count - pagesKept)
        for page in s.pages { full.take(page) }
        if window != nil {
            s.windowPages.removeLast(s.windowPages.count - pagesKept)
            if kept == 0 { s.windowFirst = 0 }
            s.windowFirst = min(s.windowFirst, s.windowPages.count)
            for page in s.windowPages where page >= 0 { windowTier.take(page) }
        }
        let child = nextID
        nextID += 1
        sequences[child] = s
        return SequenceID(child)
    }

    /// Releases every page of `id` and forgets it. Its full pages stay cached for reuse.
    public func free(_ id: SequenceID) {
        lock.lock(); defer { lock.unlock() }
        guard let s = sequences.removeValue(forKey: id.raw) else { return }
        for page in s.pages.reversed() { full.release(page) }
        for page in s.windowPages.reversed() where page >= 0 { windowTier.release(page) }
    }

    // MARK: checks

    /// Whether the bookkeeping is consistent: every page of each tier is free, cached or held
    /// exactly as often as the sequences' page tables list it, the index names exactly the keyed
    /// pages, and a sequence's dropped window pages are the prefix it says. Tests call it after
    /// every operation.
    public func isConsistent() -> Bool {
        lock.lock(); defer { lock.unlock() }
        var counted = [Int32](repeating: 0, count: pageCount)
        var countedWindow = [Int32](repeating: 0, count: windowTier.pageCount)
        for s in sequences.values {
            guard s.pages.count == (s.tokens.count + pageTokens - 1) / pageTokens else { return false }
            for page in s.pages { counted[Int(page)] += 1 }
            if window == nil {
                guard s.windowPages.isEmpty else { return false }
                continue
            }
            guard s.windowPages.count == s.pages.count, s.windowFirst <= s.windowPages.count,
                  s.windowPages.prefix(s.windowFirst).allSatisfy({ $0 == -1 }),
                  s.windowPages.dropFirst(s.windowFirst).allSatisfy({ $0 >= 0 }),
                  s.tokens.isEmpty || s.windowFirst <= firstWindowPageNeeded(length: s.tokens.count)
            else { return false }
            for page in s.windowPages where page >= 0 { countedWindow[Int(page)] += 1 }
        }
        return full.isConsistent(counted: counted) && windowTier.isConsistent(counted: countedWindow)
    }
}
