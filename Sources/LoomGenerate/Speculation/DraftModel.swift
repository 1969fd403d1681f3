import Foundation
import LoomRuntime

/// A small model with the target's vocabulary that proposes tokens by greedy decoding.
///
/// Each generation gets a sequence of its own in the draft's paged cache (`Cursor`), kept in step
/// with the generation's context: a call evaluates only the tokens the draft has not seen (after
/// the last accepted one) and then decodes the proposals one pass each. The draft is planned as
/// any engine is (its weights, cache and scratch in its own plan), and shares the target's
/// threads when it was loaded with the target's pool.
public final class DraftModel: @unchecked Sendable {
    /// The draft: an `Engine`, or any model that runs sequences in a paged cache.
    public let engine: any BatchEvaluator

    /// The draft must read the same token ids: its vocabulary is the target's.
    public init(engine: any BatchEvaluator, targetVocabularySize: Int) throws(GenerationError) {
        guard engine.vocabularySize == targetVocabularySize else {
            throw .invalidOption(name: "draft", reason: "the draft model's vocabulary has \(engine.vocabularySize) ids and the target's \(targetVocabularySize)")
        }
        self.engine = engine
    }

    /// A generation's place in the draft: its sequence and the tokens that sequence holds.
    final class Cursor {
        let sequence: SequenceID
        /// [held] what the draft's sequence holds, in order.
        var held: [Int32] = []
        init(sequence: SequenceID) { self.sequence = sequence }
    }

    /// One draft pass as a fraction of one target pass, measured: the median of a few one-token
    /// passes of each on a scratch sequence (freed after).
    public func passCost(comparedTo target: any BatchEvaluator) throws -> Double {
        func passSeconds(_ engine: any BatchEvaluator) throws -> Double {
            let sequence = engine.createSequence(cacheSalt: nil)
            defer { engine.free(sequence) }
            var times: [Double] = []
            for i in 0..<6 {
                let start = ContinuousClock.now
                _ = try engine.forward([SequenceChunk(sequence: sequence, tokens: [i % max(1, engine.vocabularySize)])])
                let elapsed = ContinuousClock.now - start
                times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
            return times.sorted()[times.count / 2]
        }
        return try passSeconds(engine) / max(1e-9, passSeconds(target))
    }

    /// The draft's memory plan in a line: its weights, cache and scratch, as planned.
    public var planSummary: String {
        guard let engine = engine as? Engine else { return "\(engine.vocabularySize)-token vocabulary" }
        let plan = engine.plan
        let planned = engine.usage.reduce(0) { $0 + $1.plannedBytes }
        return String(format: "planned %.1f MiB", Double(planned) / 1_048_576)
            + " (\(plan.cachePages) cache pages of \(plan.pageTokens) tokens), context \(engine.capacity)"
    }

    func makeCursor(cacheSalt: String?) -> Cursor { Cursor(sequence: engine.createSequence(cacheSalt: cacheSalt)) }

    func release(_ cursor: Cursor) { engine.free(cursor.sequence) }

    /// Up to `count` tokens after `context` (the draft's greedy choice, or what `choose` picks
    /// from the draft's logits and the proposals so far); fewer when the draft's context is full.
    func propose(_ cursor: Cursor, after context: [Int32], count: Int,
                 choose: ((_ logits: [Float], _ proposed: [Int32]) -> Int32?)? = nil) throws -> [Int32] {
        let room = engine.capacity - context.count
        let count = min(count, room)
        guard count > 0, !context.isEmpty else { return [] }
        var shared = 0
        while shared < min(cursor.held.count, context.count) && cursor.held[shared] == context[shared] { shared += 1 }
        // The last context token is evaluated again: its logits give the first proposal.
        shared = min(shared, context.count - 1)
        if cursor.held.isEmpty {
            shared = min(try engine.mapCachedPrefix(cursor.sequence, prompt: context.map(Int.init)), context.count - 1)
            try engine.truncate(cursor.sequence, to: shared)
        } else if shared < cursor.held.count {
            try engine.truncate(cursor.sequence, to: shared)
        }
        cursor.held = Array(context[..<shared])
        var feed = Array(context[shared...])
        var proposals: [Int32] = []
        while proposals.count < count {
            var logits: [Float] = []
            var start = 0
            while start < feed.count {
                let end = min(feed.count, start + engine.chunkTokens)
                let rows = try engine.forward([SequenceChunk(sequence: cursor.sequence, tokens: feed[start..<end].map(Int.init),
                                                             logits: end == feed.count ? .last : .none)])
                cursor.held += feed[start..<end]
                if end == feed.count { logits = rows[0].last ?? [] }
                start = end
            }
            let next: Int32
            if let choose {
                guard !logits.isEmpty, let chosen = choose(logits, proposals) else { break }
                next = chosen
            } else {
                guard let best = logits.indices.max(by: { logits[$0] < logits[$1] }) else { break }
                next = Int32(best)
            }
            proposals.append(next)
            feed = [next]
        }
        return proposals
    }
}
