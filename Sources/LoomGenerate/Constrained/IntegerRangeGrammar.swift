/// Decimal integers between two bounds as a grammar: the digit strings of a range split into
/// pieces of equal length, each a fixed prefix, one digit range and free digits (the usual
/// range-to-regex construction). No leading zeros, no `-0`.
enum IntegerRangeGrammar {
    /// Magnitudes have at most 16 digits, as the plain `integer` rule allows.
    static let largest: Int64 = 9_999_999_999_999_999

    /// Integers in `low...high` (nil: unbounded on that side, up to `largest` in magnitude), or
    /// nil when there is none.
    static func expression(low: Int64?, high: Int64?) -> GrammarExpression? {
        let low = max(low ?? -largest, -largest), high = min(high ?? largest, largest)
        guard low <= high else { return nil }
        var choices: [GrammarExpression] = []
        if low < 0 {
            // Negative numbers: "-" and a magnitude in max(1, -high)...-low.
            let magnitudes = nonNegative(max(1, high < 0 ? -high : 1), -low)
            choices.append(.sequence([.literal([0x2D]), magnitudes]))
        }
        if high >= 0 { choices.append(nonNegative(max(low, 0), high)) }
        return choices.count == 1 ? choices[0] : .alternatives(choices)
    }

    /// Non-negative integers in `low...high`.
    private static func nonNegative(_ low: Int64, _ high: Int64) -> GrammarExpression {
        var choices: [GrammarExpression] = []
        var length = String(low).count
        while length <= String(high).count {
            let smallest: Int64 = length == 1 ? 0 : power(length - 1)
            let biggest: Int64 = power(length) - 1
            let a = max(low, smallest), b = min(high, biggest)
            if a <= b { choices.append(sameLength(digits(a), digits(b))) }
            length += 1
        }
        return choices.count == 1 ? choices[0] : .alternatives(choices)
    }

    private static func power(_ n: Int) -> Int64 { (0..<n).reduce(1) { r, _ in r * 10 } }
    private static func digits(_ n: Int64) -> [UInt8] { Array(String(n).utf8).map { $0 - 0x30 } }

    private static func digit(_ d: UInt8) -> GrammarExpression { .literal([0x30 + d]) }
    private static func digitRange(_ a: UInt8, _ b: UInt8) -> GrammarExpression {
        a == b ? digit(a) : .characterClass(CodePointSet(ranges: [UInt32(0x30 + a)...UInt32(0x30 + b)]))
    }

    /// Digit strings of one length between `a` and `b` inclusive (`a` ≤ `b`).
    private static func sameLength(_ a: [UInt8], _ b: [UInt8]) -> GrammarExpression {
        guard let a0 = a.first, let b0 = b.first else { return .sequence([]) }
        let restA = Array(a.dropFirst()), restB = Array(b.dropFirst())
        let free = restA.count
        if a0 == b0 { return .sequence([digit(a0), sameLength(restA, restB)]) }
        let lowIsRound = restA.allSatisfy { $0 == 0 }, highIsRound = restB.allSatisfy { $0 == 9 }
        var choices: [GrammarExpression] = []
        if !lowIsRound { choices.append(.sequence([digit(a0), sameLength(restA, Array(repeating: 9, count: free))])) }
        let middleLow = lowIsRound ? a0 : a0 + 1, middleHigh = highIsRound ? b0 : b0 - 1
        if middleLow <= middleHigh {
            choices.append(.sequence([digitRange(middleLow, middleHigh), .repetition(digitRange(0, 9), min: free, max: free)]))
        }
        if !highIsRound { choices.append(.sequence([digit(b0), sameLength(Array(repeating: 0, count: free), restB)])) }
        return choices.count == 1 ? choices[0] : .alternatives(choices)
    }
}
