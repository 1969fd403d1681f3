import Foundation

extension Candidates {
    /// DRY ("Don't Repeat Yourself", p-e-w's sampler as in text-generation-webui and llama.cpp):
    /// for each earlier occurrence of the last token in `recent`, the token that followed it
    /// would extend a repeat as long as the matching run of tokens ending there. A token whose
    /// longest such run is L ≥ `allowedLength` loses multiplier × base^(L − allowedLength).
    /// Runs never cross a breaker token (one whose text contains a sequence breaker).
    ///
    /// Loom marks breakers per token rather than matching breaker strings across tokens, as
    /// llama.cpp does for multi-token breakers; for the default single-character breakers the
    /// two agree whenever a breaker character sits inside one token.
    public mutating func applyDRY(recent: ArraySlice<Int32>, multiplier: Float, base: Float, allowedLength: Int,
                                  breakers: Set<Int32>) {
        guard multiplier > 0, base >= 1, recent.count >= 2 else { return }
        let h = Array(recent)
        let last = h[h.count - 1]
        if breakers.contains(last) { return }
        var longest: [Int32: Int] = [:]
        for index in 0..<(h.count - 1) where h[index] == last {
            let next = h[index + 1]
            if breakers.contains(next) { continue }
            var length = 1
            while true {
                let j = index - length
                if j < 0 || breakers.contains(h[j]) || h[j] != h[h.count - 1 - length] { break }
                length += 1
            }
            longest[next] = max(longest[next] ?? 0, length)
        }
        var changes: [(Int, Float)] = []
        forEachEntry(in: longest) { index, length in
            guard length >= allowedLength else { return }
            changes.append((index, logits[index] - multiplier * powf(base, Float(length - allowedLength))))
        }
        for (index, logit) in changes { setLogit(at: index, logit) }
    }
}
