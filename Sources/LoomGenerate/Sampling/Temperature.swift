extension Candidates {
    /// Divides every logit by `temperature`; at 0 or below only the most likely token stays.
    public mutating func applyTemperature(_ temperature: Float) {
        guard count > 0 else { return }
        if temperature <= 0 {
            let best = argmax()
            select([best])
            sortedCount = 1
            return
        }
        guard temperature != 1 else { return }
        let scale = 1 / temperature
        let n = count
        logits.withUnsafeMutableBufferPointer { l in
            for i in 0..<n { l[i] *= scale }
        }
    }
}
