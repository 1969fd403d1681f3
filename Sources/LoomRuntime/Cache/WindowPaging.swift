import LoomKernels

/// The pages of the sliding-window layers. A row of such a layer attends to its own position and
/// the `window − 1` before it, so those layers keep a pool of their own in which a sequence
/// holds only the pages its next rows can reach; the pages behind them go back to the pool (or
/// to the prefix cache, when full) as the sequence grows.
///
/// Window pages have the same page numbers as the full-context layers' pages of the same
/// positions (`PagePool.windowPages`, -1 where dropped), so one position maps to a slot in each.
public struct WindowPaging: Sendable, Equatable {
    /// Positions a row attends at most: itself and the `window − 1` before it.
    public let window: Int
    /// Pages of the window layers' pool.
    public let pageCount: Int
    /// Positions kept beyond the window, so that a short rewind (a banned string, rejected draft
    /// tokens) still finds its window cached; a longer one recomputes.
    public let spare: Int
    /// Attention reads tiles of this many positions starting at its multiples, and pages are
    /// kept from the tile that holds a row's first position.
    public let alignment: Int
    /// Window pages one sequence holds at most (`pagesPerSequence(...)`).
    public let pagesPerSequence: Int

    public init(window: Int, pageCount: Int, spare: Int, alignment: Int = AttentionTile.width, chunkTokens: Int, pageTokens: Int) {
        precondition(window > 0 && pageCount >= 0 && spare >= 0 && alignment > 0)
        self.window = window
        self.pageCount = pageCount
        self.spare = spare
        self.alignment = alignment
        pagesPerSequence = Self.pagesPerSequence(window: window, spare: spare, alignment: alignment, chunkTokens: chunkTokens,
                                                 pageTokens: pageTokens)
    }

    /// The first position a row at `position` reads (from its tile's start).
    func firstRead(position: Int) -> Int { max(0, position - window + 1) / alignment * alignment }

    /// The first position a sequence of `length` tokens keeps: rows from `length − spare` on
    /// must find their window.
    func firstKept(length: Int) -> Int { firstRead(position: max(0, length - spare)) }

    /// Pages one sequence holds at most, with passes of up to `chunkTokens` rows: from the page of
    /// `firstKept` to the end of a pass's rows.
    public static func pagesPerSequence(window: Int, spare: Int, alignment: Int = AttentionTile.width, chunkTokens: Int,
                                        pageTokens: Int) -> Int {
        let positions = spare + window - 1 + alignment - 1 + chunkTokens
        return (positions + pageTokens - 1) / pageTokens + 1
    }
}
