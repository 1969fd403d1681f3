import Foundation

/// What keeping to a grammar costs a generation: the time spent in the grammar's work (checks,
/// masks, advancing its state) and the full masks over the vocabulary that took.
struct GrammarCost {
    var seconds = 0.0
    var masks = 0

    /// Runs `body`, counting its time.
    mutating func measure<T>(_ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 }
        return try body()
    }

    /// The tokens `constraint` allows after `matcher`, counted as one mask.
    mutating func mask(_ constraint: TokenConstraint, after matcher: GrammarMatcher) -> TokenMask {
        masks += 1
        return measure { constraint.allowedTokens(after: matcher) }
    }
}
