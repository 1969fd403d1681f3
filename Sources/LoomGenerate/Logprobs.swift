import Foundation

/// Log-probabilities under the model's own distribution (the raw logits), for reporting.
struct LogprobReporter {
    /// Scratch for choosing the most likely ids without sorting the vocabulary.
    private var candidates = Candidates()

    /// The log-probability of `id` and the `top` most likely ids at this step.
    mutating func report(logits: [Float], id: Int32, top: Int) -> GeneratedToken {
        var maximum = -Float.infinity
        for v in logits where v > maximum { maximum = v }
        var sum: Double = 0
        for v in logits { sum += Double(expf(v - maximum)) }
        let logZ = maximum + Float(log(sum))
        candidates.load(logits)
        candidates.sortPrefix(top)
        let best = (0..<min(top, candidates.count)).map { TokenLogprob(id: candidates.ids[$0], logprob: candidates.logits[$0] - logZ) }
        return GeneratedToken(id: id, logprob: logits[Int(id)] - logZ, topLogprobs: best)
    }
}
