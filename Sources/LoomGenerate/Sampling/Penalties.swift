extension Candidates {
    /// llama.cpp's penalties stage over `recent` (the last `penalty_last_n` context tokens): a
    /// token seen c > 0 times has its logit divided by `repetition` when positive (multiplied
    /// when not), then lowered by c × `frequency` + `presence`.
    public mutating func applyPenalties(recent: ArraySlice<Int32>, repetition: Float, frequency: Float, presence: Float) {
        guard !recent.isEmpty, repetition != 1 || frequency != 0 || presence != 0 else { return }
        var seen: [Int32: Int] = [:]
        for id in recent { seen[id, default: 0] += 1 }
        var changes: [(Int, Float)] = []
        forEachEntry(in: seen) { index, count in
            var logit = logits[index]
            logit = logit <= 0 ? logit * repetition : logit / repetition
            logit -= Float(count) * frequency + presence
            changes.append((index, logit))
        }
        for (index, logit) in changes { setLogit(at: index, logit) }
    }
}

/// The last `lastN` tokens of `context` (all of it for -1, none for 0).
func recentTokens(_ context: [Int32], lastN: Int) -> ArraySlice<Int32> {
    if lastN < 0 { return context[...] }
    return context.suffix(lastN)
}
