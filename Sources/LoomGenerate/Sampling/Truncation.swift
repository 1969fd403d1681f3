import Foundation

/// The stages that drop unlikely tokens. Each follows llama.cpp's definition, including how
/// `minKeep` and ties at the boundary behave, so that the same settings keep the same tokens.
extension Candidates {
    /// Keeps the `k` largest logits, sorted; k ≤ 0 keeps everything.
    public mutating func applyTopK(_ k: Int, minKeep: Int = 0) {
        guard k > 0 else { return }
        let k = min(max(k, minKeep), count)
        sortPrefix(k, droppingRest: true)
        truncate(to: k)
    }

    /// Keeps the most likely tokens, in order, up to and including the one whose cumulative
    /// probability first reaches `p` (and at least `minKeep`).
    public mutating func applyTopP(_ p: Float, minKeep: Int = 0) {
        guard p < 1, count > 0 else { return }
        // Probabilities over every candidate; the order below only needs the head.
        var guess = min(count, 256)
        sortPrefix(guess)
        softmax()
        var cumulative: Float = 0
        var i = 0
        while i < count {
            if i == guess {
                // The head was not enough: order everything (rare: needs a very flat distribution).
                guess = count
                sortPrefix(count)
                softmax()
                cumulative = 0
                for j in 0..<i { cumulative += probs[j] }
            }
            cumulative += probs[i]
            if cumulative >= p && i + 1 >= minKeep {
                truncate(to: i + 1)
                return
            }
            i += 1
        }
    }

    /// Keeps tokens at least `p` times as likely as the most likely one (and at least `minKeep`).
    public mutating func applyMinP(_ p: Float, minKeep: Int = 0) {
        guard p > 0, count > 0 else { return }
        var maximum = -Float.infinity
        for i in 0..<count where logits[i] > maximum { maximum = logits[i] }
        let threshold = maximum + logf(p)
        var kept = 0
        for i in 0..<count where logits[i] >= threshold { kept += 1 }
        if kept >= max(minKeep, 1) {
            keep(logitAtLeast: threshold)
            return
        }
        sortPrefix(count)
        var i = 1
        while i < count && !(logits[i] < threshold && i >= minKeep) { i += 1 }
        truncate(to: i)
    }

    /// Locally typical sampling: orders tokens by how far their surprise (−log p) is from the
    /// entropy and keeps them until the cumulative probability exceeds `p` (and at least `minKeep`).
    /// The result is in that order, not by logit.
    public mutating func applyTypicalP(_ p: Float, minKeep: Int = 0) {
        guard p < 1, count > 0 else { return }
        softmax()
        let n = count
        var entropy: Float = 0
        for i in 0..<n where probs[i] > 0 { entropy -= probs[i] * logf(probs[i]) }
        // [n] |−log p − H| per candidate.
        var shifted = [Float](repeating: 0, count: n)
        for i in 0..<n { shifted[i] = abs(-logf(probs[i]) - entropy) }
        var order = Array(0..<n)
        order.sort { shifted[$0] < shifted[$1] || (shifted[$0] == shifted[$1] && $0 < $1) }
        var cumulative: Float = 0
        var last = n
        for (rank, index) in order.enumerated() {
            cumulative += probs[index]
            if cumulative > p && (minKeep == 0 || rank >= minKeep - 1) {
                last = rank + 1
                break
            }
        }
        select(Array(order.prefix(last)))
    }
}
