import LoomKernels

/// The tokens of one forward pass: rows from one or more sequences, each sequence's rows
/// contiguous and in position order.
///
/// A decode step for 16 sequences is 16 spans of one row each; a prompt chunk is one span of
/// many rows; both can share a pass. The runtime builds it from its page tables; the model only
/// reads it, and the KV cache resolves a sequence's positions through `pageTables`.
public struct ForwardBatch: Sendable {
    /// [rows] token ids.
    public var tokens: [Int]
    /// [rows] the position of each row in its sequence.
    public var positions: [Int]
    /// [rows] the cache slot (page · pageTokens + offset) each row's key and value go to.
    public var slots: [Int32]
    /// One run of rows per sequence.
    public var spans: [AttentionSpan]
    /// [Σ pages of every span] the page tables of the spans, concatenated; a span's table starts
    /// at its `pageTableOffset`.
    public var pageTables: [Int32]
    /// As `slots` and `pageTables`, in the pages of the sliding-window layers when the runtime
    /// keeps those apart (empty otherwise); a window table has -1 for pages dropped behind the
    /// window, at the same offsets as `pageTables`.
    public var windowSlots: [Int32] = []
    public var windowPageTables: [Int32] = []

    public var rowCount: Int { tokens.count }

    /// The batch as the sliding-window layers see it: their slots and page tables.
    public var windowView: ForwardBatch {
        var view = self
        view.slots = windowSlots
        view.pageTables = windowPageTables
        return view
    }

    public init(tokens: [Int] = [], positions: [Int] = [], slots: [Int32] = [], spans: [AttentionSpan] = [], pageTables: [Int32] = []) {
        self.tokens = tokens
        self.positions = positions
        self.slots = slots
        self.spans = spans
        self.pageTables = pageTables
    }
}
