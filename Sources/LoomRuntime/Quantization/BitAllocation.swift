import LoomKernels

/// Chooses one quantization type per tensor so that the model fits a byte budget with the least
/// predicted loss: a multiple-choice knapsack, solved greedily on each tensor's convex frontier.
///
/// Each tensor offers candidates (a type, its bytes, the KL divergence it is predicted to add).
/// Every tensor starts at its smallest candidate; then the upgrade that buys the most loss per
/// byte is taken, again and again, while the budget allows. Walking only the lower convex hull of
/// each tensor's (bytes, cost) points makes every tensor's next step less efficient than its last,
/// so the greedy order is the order of a Lagrangian sweep; steps that no longer fit are skipped
/// for smaller ones of other tensors, and whatever budget is left goes to the single upgrade, hull
/// or not, that lowers the cost most.
public enum BitAllocation {
    /// One type a tensor may be stored in.
    public struct Candidate: Sendable, Equatable {
        public let type: QuantType
        public let bytes: Int
        /// The loss it is predicted to add (mean KL divergence, or any additive measure).
        public let cost: Double

        public init(type: QuantType, bytes: Int, cost: Double) {
            self.type = type
            self.bytes = bytes
            self.cost = cost
        }
    }

    /// The index of the chosen candidate of each tensor, with at most `budgetBytes` in all; nil
    /// when even the smallest candidates do not fit (or a tensor has none).
    public static func choose(_ tensors: [[Candidate]], budgetBytes: Int) -> [Int]? {
        guard tensors.allSatisfy({ !$0.isEmpty }) else { return nil }
        let hulls = tensors.map(frontier)
        var step = [Int](repeating: 0, count: tensors.count)  // position on each hull
        var used = 0
        for hull in hulls { used += hull[0].bytes }
        guard used <= budgetBytes else { return nil }

        func efficiency(_ t: Int) -> Double? {
            let hull = hulls[t], s = step[t]
            guard s + 1 < hull.count else { return nil }
            return (hull[s].cost - hull[s + 1].cost) / Double(hull[s + 1].bytes - hull[s].bytes)
        }
        // Few tensors (hundreds) and few types: a linear scan per step costs nothing next to the
        // measurements that made the costs.
        var blocked = Set<Int>()
        while true {
            var best: (tensor: Int, efficiency: Double)?
            for t in tensors.indices where !blocked.contains(t) {
                guard let e = efficiency(t) else { continue }
                if best == nil || e > best!.efficiency { best = (t, e) }
            }
            guard let (t, _) = best else { break }
            let extra = hulls[t][step[t] + 1].bytes - hulls[t][step[t]].bytes
            if used + extra <= budgetBytes {
                used += extra
                step[t] += 1
            } else {
                blocked.insert(t)
            }
        }
        var chosen = tensors.indices.map { t in tensors[t].firstIndex(of: hulls[t][step[t]])! }
        // Spend what is left on the best single upgrade that fits, off the hull too.
        while true {
            var best: (tensor: Int, index: Int, gain: Double)?
            for t in tensors.indices {
                let current = tensors[t][chosen[t]]
                for (i, c) in tensors[t].enumerated() where c.cost < current.cost && used - current.bytes + c.bytes <= budgetBytes {
                    let gain = current.cost - c.cost
                    if best == nil || gain > best!.gain { best = (t, i, gain) }
                }
            }
            guard let (t, i, _) = best else { break }
            used += tensors[t][i].bytes - tensors[t][chosen[t]].bytes
            chosen[t] = i
        }
        return chosen
    }

    /// The candidates on the lower convex hull of (bytes, cost), from the smallest: each costs
    /// less than the one before, and buys less per extra byte.
    static func frontier(_ candidates: [Candidate]) -> [Candidate] {
        // Smallest first; of equal sizes the cheapest; then drop those no cheaper than a smaller one.
        let sorted = candidates.sorted { ($0.bytes, $0.cost) < ($1.bytes, $1.cost) }
        var useful: [Candidate] = []
        for c in sorted where useful.isEmpty || c.cost < useful.last!.cost {
            if useful.last?.bytes == c.bytes { continue }
            useful.append(c)
        }
        var hull: [Candidate] = []
        for c in useful {
            // Pop the last point while it lies on or above the segment from the one before it to c.
            while hull.count >= 2 {
                let a = hull[hull.count - 2], b = hull[hull.count - 1]
                let cross = Double(b.bytes - a.bytes) * (c.cost - a.cost) - (b.cost - a.cost) * Double(c.bytes - a.bytes)
                if cross <= 0 { hull.removeLast() } else { break }
            }
            hull.append(c)
        }
        return hull
    }
}
