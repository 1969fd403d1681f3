extension Candidates {
    /// Adds `bias[id]` to the logit of each listed id that is still a candidate (−∞ bans it).
    public mutating func applyLogitBias(_ bias: [Int32: Float]) {
        guard !bias.isEmpty else { return }
        var changes: [(Int, Float)] = []
        forEachEntry(in: bias) { index, delta in changes.append((index, delta)) }
        for (index, delta) in changes { setLogit(at: index, logits[index] + delta) }
    }
}
