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

    public var rowCount: Int { tokens.count }

    public init(tokens: [Int] = [], positions: [Int] = [], slots: [Int32] = [], spans: [AttentionSpan] = [], pageTables: [Int32] = []) {
        self.tokens = tokens
        self.positions = positions
        self.slots = slots
        self.spans = spans
        self.pageTables = pageTables
    }
}
