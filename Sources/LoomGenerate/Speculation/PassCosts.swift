import Foundation
import LoomRuntime

/// What a verification pass costs on one model and machine, by how many proposals it carries,
/// as a multiple of a plain one-row decode pass: measured, because it depends on both. A pass
/// reads the weights once for all its rows, so on a memory-bound machine extra rows are nearly
/// free; where one row's arithmetic takes about as long as reading the weights (a small model on
/// few cores), each extra row costs close to a whole pass, and proposals must be right far more
/// often to pay.
public struct PassCosts: Sendable, Equatable {
    /// (proposals, cost) measured, ascending in proposals, from (0, 1).
    public let points: [(proposals: Int, cost: Double)]

    public static func == (a: PassCosts, b: PassCosts) -> Bool {
        a.points.elementsEqual(b.points) { $0.proposals == $1.proposals && $0.cost == $1.cost }
    }

    /// Costs from measured points; each is at least the one before (extra rows never make a
    /// pass cheaper; a faster reading is noise).
    public init(points: [(proposals: Int, cost: Double)]) {
        var out: [(proposals: Int, cost: Double)] = [(0, 1)]
        for point in points.sorted(by: { $0.proposals < $1.proposals }) where point.proposals > 0 {
            out.append((point.proposals, max(point.cost, out.last!.cost)))
        }
        self.points = out
    }

    /// The cost of a pass with `proposals` proposals: linear between measured points, and past
    /// the last one along the slope of the last two.
    public func cost(proposals: Int) -> Double {
        guard proposals > 0 else { return 1 }
        if let i = points.firstIndex(where: { $0.proposals >= proposals }) {
            if points[i].proposals == proposals { return points[i].cost }
            let (a, b) = (points[i - 1], points[i])
            return a.cost + (b.cost - a.cost) * Double(proposals - a.proposals) / Double(b.proposals - a.proposals)
        }
        let (a, b) = (points[points.count - 2], points[points.count - 1])
        return b.cost + (b.cost - a.cost) / Double(b.proposals - a.proposals) * Double(proposals - b.proposals)
    }

    /// Measures passes of 1 + k rows on `model` for k in 1, 2, 4 and `maxProposals` (every row's
    /// logits asked for, as verification asks), on a scratch sequence freed after: the fastest
    /// of three passes of each width after one to warm up.
    public static func measure(on model: any BatchEvaluator, maxProposals: Int) throws -> PassCosts {
        let most = max(1, maxProposals)
        let widths = Set([1, 2, 4, most].filter { $0 <= most }).sorted()
        let plain = try passSeconds(model, rows: 1, repeats: 3)
        return PassCosts(points: try widths.map { k in (k, try passSeconds(model, rows: k + 1, repeats: 3) / plain) })
    }
}

/// The fastest of `repeats` passes of `rows` tokens (every row's logits asked for) on a scratch
/// sequence of `model`, after one more to warm up; the sequence is freed after.
func passSeconds(_ model: any BatchEvaluator, rows: Int, repeats: Int) throws -> Double {
    let sequence = model.createSequence(cacheSalt: nil)
    defer { model.free(sequence) }
    let tokens = (0..<rows).map { $0 % max(1, model.vocabularySize) }
    var fastest = Double.infinity
    for attempt in 0...repeats {
        try model.truncate(sequence, to: 0)
        let start = ContinuousClock.now
        _ = try model.forward([SequenceChunk(sequence: sequence, tokens: tokens, logits: rows > 1 ? .all : .last)])
        let elapsed = ContinuousClock.now - start
        if attempt > 0 { fastest = min(fastest, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) }
    }
    return fastest
}
