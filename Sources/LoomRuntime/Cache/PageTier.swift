/// One set of cache pages and its bookkeeping: how many holders each page has, the keys of full
/// pages and their index, the free list, and the cached pages in least-recently-released order.
///
/// A page is **referenced** (one or more sequences hold it), **cached** (no holder, but full
/// and keyed, so a later prompt with the same beginning can map it), or **free**. Not
/// thread-safe: `PagePool` calls it under its lock.
struct PageTier {
    let pageCount: Int
    /// [pages] holders of each page.
    private(set) var holders: [Int32]
    /// [pages] the key of each full, indexed page.
    private(set) var keys: [PageKey?]
    private(set) var index: [PageKey: Int32] = [:]
    /// Pages with no holder and no key.
    private(set) var free: [Int32]
    /// Cached pages (no holder, keyed) as a doubly linked list, least recently released first.
    private var lruPrevious: [Int32]
    private var lruNext: [Int32]
    private var lruHead: Int32 = -1
    private var lruTail: Int32 = -1
    /// Cached pages (no holder, keyed).
    private(set) var cached = 0

    init(pageCount: Int) {
        precondition(pageCount >= 0)
        self.pageCount = pageCount
        holders = [Int32](repeating: 0, count: pageCount)
        keys = [PageKey?](repeating: nil, count: pageCount)
        free = (0..<Int32(pageCount)).reversed()
        lruPrevious = [Int32](repeating: -1, count: pageCount)
        lruNext = [Int32](repeating: -1, count: pageCount)
    }

    /// Pages an allocation can take now: free ones and cached ones.
    var available: Int { free.count + cached }
    var referenced: Int { pageCount - free.count - cached }

    /// Whether a sequence holding `page` may write into it: it is the only holder and the page
    /// is not indexed (an indexed page's contents are promised to every later prompt).
    func isWritable(_ page: Int32) -> Bool { holders[Int(page)] == 1 && keys[Int(page)] == nil }

    /// The cached or shared page holding the tokens keyed `key`, if any.
    func page(keyed key: PageKey) -> Int32? { index[key] }

    /// A page with one holder: a free one, else the least recently released cached one, which
    /// gives up its contents.
    mutating func allocate() -> Int32 {
        if let page = free.popLast() {
            holders[Int(page)] = 1
            return page
        }
        let page = lruHead
        precondition(page >= 0, "allocate with no page available")
        unlinkCached(page)
        index.removeValue(forKey: keys[Int(page)]!)
        keys[Int(page)] = nil
        holders[Int(page)] = 1
        return page
    }

    /// One more holder for `page` (a prefix mapping or a fork).
    mutating func take(_ page: Int32) {
        if holders[Int(page)] == 0 { unlinkCached(page) }
        holders[Int(page)] += 1
    }

    mutating func release(_ page: Int32) {
        let p = Int(page)
        holders[p] -= 1
        precondition(holders[p] >= 0, "page \(page) released more often than taken")
        guard holders[p] == 0 else { return }
        if keys[p] != nil { linkCached(page) } else { free.append(page) }
    }

    /// Indexes the full page `page` under `key`, unless a page with that key is already indexed
    /// (two prompts prefilled at once: that one stays indexed and this one private) or `page`
    /// is shared.
    mutating func index(_ page: Int32, key: PageKey) {
        if index[key] == nil, keys[Int(page)] == nil, holders[Int(page)] == 1 {
            index[key] = page
            keys[Int(page)] = key
        }
    }

    private mutating func linkCached(_ page: Int32) {
        let p = Int(page)
        lruPrevious[p] = lruTail
        lruNext[p] = -1
        if lruTail >= 0 { lruNext[Int(lruTail)] = page } else { lruHead = page }
        lruTail = page
        cached += 1
    }

    private mutating func unlinkCached(_ page: Int32) {
        let p = Int(page)
        let previous = lruPrevious[p], next = lruNext[p]
        if previous >= 0 { lruNext[Int(previous)] = next } else { lruHead = next }
        if next >= 0 { lruPrevious[Int(next)] = previous } else { lruTail = previous }
        lruPrevious[p] = -1
        lruNext[p] = -1
        cached -= 1
    }

    /// Whether every page is free, cached or held exactly `counted[page]` times, and the index
    /// names exactly the keyed pages.
    func isConsistent(counted: [Int32]) -> Bool {
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
