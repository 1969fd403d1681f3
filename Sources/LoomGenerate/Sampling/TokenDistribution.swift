/// A distribution over token ids, as a sampler draws from it: the ids with positive probability,
/// ascending, so that every walk over it (a draw, a difference) goes in the same order on every
/// run.
public struct TokenDistribution: Sendable, Equatable {
    /// [support] token ids, ascending.
    public private(set) var ids: [Int32]
    /// [support] each id's probability (or weight: they need not sum to 1).
    public private(set) var probabilities: [Float]

    /// The entries with positive weight, put in ascending order of id.
    public init(ids: [Int32], probabilities: [Float], ascending: Bool = false) {
        var pairs = zip(ids, probabilities).filter { $0.1 > 0 }
        if !ascending { pairs.sort { $0.0 < $1.0 } }
        self.ids = pairs.map(\.0)
        self.probabilities = pairs.map(\.1)
    }

    /// All the mass on one token.
    public static func certain(_ id: Int32) -> TokenDistribution { TokenDistribution(ids: [id], probabilities: [1], ascending: true) }

    public func probability(of id: Int32) -> Float {
        var low = 0, high = ids.count
        while low < high {
            let mid = (low + high) / 2
            if ids[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low < ids.count && ids[low] == id ? probabilities[low] : 0
    }

    /// The sum of the weights.
    public var total: Double { probabilities.reduce(0) { $0 + Double($1) } }

    /// The entries whose ids `isIncluded` keeps, weights unchanged.
    public func filter(_ isIncluded: (Int32) -> Bool) -> TokenDistribution {
        let kept = zip(ids, probabilities).filter { isIncluded($0.0) }
        return TokenDistribution(ids: kept.map(\.0), probabilities: kept.map(\.1), ascending: true)
    }

    /// self + weight · other, id by id.
    public func adding(_ other: TokenDistribution, weight: Float) -> TokenDistribution {
        var outIds: [Int32] = [], outWeights: [Float] = []
        outIds.reserveCapacity(ids.count + other.ids.count)
        outWeights.reserveCapacity(ids.count + other.ids.count)
        var i = 0, j = 0
        while i < ids.count || j < other.ids.count {
            if j == other.ids.count || (i < ids.count && ids[i] < other.ids[j]) {
                outIds.append(ids[i]); outWeights.append(probabilities[i]); i += 1
            } else if i == ids.count || other.ids[j] < ids[i] {
                outIds.append(other.ids[j]); outWeights.append(weight * other.probabilities[j]); j += 1
            } else {
                outIds.append(ids[i]); outWeights.append(probabilities[i] + weight * other.probabilities[j]); i += 1; j += 1
            }
        }
        return TokenDistribution(ids: outIds, probabilities: outWeights, ascending: true)
    }

    /// max(0, self − other) for every id, unnormalized: the mass of `self` that `other` does not
    /// cover (speculative sampling's residual).
    public func excess(over other: TokenDistribution) -> TokenDistribution {
        var outIds: [Int32] = [], outWeights: [Float] = []
        var j = 0
        for (id, p) in zip(ids, probabilities) {
            while j < other.ids.count && other.ids[j] < id { j += 1 }
            let q = j < other.ids.count && other.ids[j] == id ? other.probabilities[j] : 0
            if p > q {
                outIds.append(id)
                outWeights.append(p - q)
            }
        }
        return TokenDistribution(ids: outIds, probabilities: outWeights, ascending: true)
    }
}
