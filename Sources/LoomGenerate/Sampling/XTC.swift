extension Candidates {
    /// XTC ("Exclude Top Choices"): with chance `probability`, when two or more tokens are at
    /// least `threshold` likely, removes all of them except the least likely, so that the
    /// obvious choice gives way to another plausible one. `draw` is the step's uniform draw in
    /// [0, 1); the stage acts when draw ≤ probability, as in llama.cpp.
    public mutating func applyXTC(probability: Float, threshold: Float, minKeep: Int = 0, draw: Double) {
        guard probability > 0, threshold <= 0.5, count >= 2, draw <= Double(probability) else { return }
        // At most 1/threshold tokens can reach the threshold, so only that head needs an order.
        let head = threshold > 0 ? min(count, Int(1 / threshold) + 2) : count
        sortPrefix(head)
        softmax()
        var lastAbove = 0
        for i in 0..<count {
            if probs[i] >= threshold { lastAbove = i } else { break }
        }
        if count - lastAbove >= minKeep && lastAbove > 0 {
            dropFirst(lastAbove)
        }
    }
}
