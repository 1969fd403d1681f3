import Foundation

/// One evaluation window of strided perplexity: tokens `begin..<end` go through the model from
/// an empty cache, and the last `scored` of them are targets.
public struct PerplexityWindow: Equatable, Sendable {
    public let begin: Int
    public let end: Int
    public let scored: Int

    public init(begin: Int, end: Int, scored: Int) {
        self.begin = begin
        self.end = end
        self.scored = scored
    }
}

/// The result of `Engine.perplexity`.
public struct PerplexityResult: Sendable {
    /// Tokens in the text.
    public let tokens: Int
    /// Targets scored (every token but the first, when the windows cover the text).
    public let scored: Int
    public let windows: Int
    /// Mean negative log-likelihood per scored token, in nats.
    public let meanNLL: Double
    public var perplexity: Double { exp(meanNLL) }
}

/// Hugging Face's sliding-window perplexity ("Perplexity of fixed-length models"): windows of
/// `context` tokens start every `stride` tokens; each scores only the targets that the previous
/// window did not, every one predicted from all earlier tokens of its own window. The first
/// window scores all its tokens but the first. It stops after the window that reaches the end.
public enum StridedPerplexity {
    public static func windows(tokenCount n: Int, context: Int, stride: Int) -> [PerplexityWindow] {
        guard n > 1, context > 1, stride > 0 else { return [] }
        var out: [PerplexityWindow] = []
        var begin = 0
        var previousEnd = 0
        while begin < n {
            let end = min(begin + context, n)
            let fresh = previousEnd == 0 ? end - begin - 1 : end - previousEnd
            out.append(PerplexityWindow(begin: begin, end: end, scored: min(fresh, end - begin - 1)))
            previousEnd = end
            if end == n { break }
            begin += stride
        }
        return out
    }

    /// Negative log-likelihood of `target` under `logits` ([vocab]), computed in Double.
    static func negativeLogLikelihood(_ logits: [Float], target: Int) -> Double {
        var maximum = -Double.infinity
        for v in logits { maximum = max(maximum, Double(v)) }
        var sum = 0.0
        for v in logits { sum += exp(Double(v) - maximum) }
        return maximum + log(sum) - Double(logits[target])
    }
}

extension Engine {
    /// Strided perplexity of `tokens` (see `StridedPerplexity`). Each window starts from an empty
    /// cache. `progress` is called after each window with (windows done, windows in all, running
    /// perplexity).
    public func perplexity(tokens: [Int], context: Int, stride: Int,
                           progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> PerplexityResult {
        guard tokens.count >= 2 else {
            throw EngineError.invalidOption(name: "tokens", reason: "perplexity needs at least 2 tokens; the text has \(tokens.count)")
        }
        guard stride > 0, stride <= context else {
            throw EngineError.invalidOption(name: "stride", reason: "\(stride) must be between 1 and the context \(context)")
        }
        guard context <= capacity else {
            throw EngineError.invalidOption(name: "context", reason: "\(context) is larger than the cache of \(capacity) positions; raise --max-seq-len")
        }
        let windows = StridedPerplexity.windows(tokenCount: tokens.count, context: context, stride: stride)
        var total = 0.0
        var scored = 0
        for (k, window) in windows.enumerated() {
            reset()
            let length = window.end - window.begin
            let logits = try evaluate(Array(tokens[window.begin..<window.end]), allPositions: true)  // [length][vocab]
            // Row i predicts token begin + i + 1; the scored targets are the window's last `scored` tokens.
            for row in (length - 1 - window.scored)..<(length - 1) {
                total += StridedPerplexity.negativeLogLikelihood(logits[row], target: tokens[window.begin + row + 1])
            }
            scored += window.scored
            progress(k + 1, windows.count, exp(total / Double(scored)))
        }
        reset()
        return PerplexityResult(tokens: tokens.count, scored: scored, windows: windows.count, meanNLL: total / Double(scored))
    }
}
