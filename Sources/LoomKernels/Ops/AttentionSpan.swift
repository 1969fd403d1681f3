/// The rows of one sequence in a forward batch: what attention needs to know of it.
public struct AttentionSpan: Sendable, Equatable {
    /// The first row of the span in the batch.
    public var row: Int
    /// Rows in the span; they sit at positions `start..<start+count`.
    public var count: Int
    /// The position of the span's first row. Rows attend causally to every earlier position of
    /// their sequence, cached or in this span.
    public var start: Int
    /// Where the span's page table begins in the batch's concatenated page tables.
    public var pageTableOffset: Int

    public init(row: Int, count: Int, start: Int, pageTableOffset: Int = 0) {
        self.row = row
        self.count = count
        self.start = start
        self.pageTableOffset = pageTableOffset
    }

    /// The rows of the span.
    public var rows: Range<Int> { row..<(row + count) }
}
