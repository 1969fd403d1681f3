import Foundation
import LoomRuntime

/// A small model with the target's vocabulary that proposes tokens: its greedy choice, or what
/// the generation picks from its logits (a draw for a sampled run, among the allowed tokens under
/// a grammar).
///
/// Each generation gets a sequence of its own in the draft's paged cache (`Cursor`), kept in step
/// with the generation's context: a call evaluates only the tokens the draft has not seen (after
/// the last accepted one) and then decodes the proposals one pass each, for all the
/// generations that ask at once in the same passes. The draft is planned as
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

    /// One draft pass as a fraction of one target pass, measured: the fastest of a few one-token
    /// passes of each on a scratch sequence (freed after).
    public func passCost(comparedTo target: any BatchEvaluator) throws -> Double {
        try passSeconds(engine, rows: 1, repeats: 5) / max(1e-9, passSeconds(target, rows: 1, repeats: 5))
    }

    /// The draft's memory plan in a line: its weights, cache and scratch, as planned.
    public var planSummary: String {
        guard let engine = engine as? Engine else { return "\(engine.vocabularySize)-token vocabulary" }
        let plan = engine.plan
        let planned = engine.usage.reduce(0) { $0 + $1.plannedBytes }
        return String(format: "planned %.1f MiB", Double(planned) / 1_048_576)
            + " (\(plan.cachePages) cache pages of \(plan.pageTokens) tokens), context \(engine.capacity)"
    }

    /// The draft's greedy choice: the first id of the largest logit (nil for an empty row).
    static func greedy(_ logits: [Float]) -> Int32? { logits.indices.max(by: { logits[$0] < logits[$1] }).map(Int32.init) }

    func makeCursor(cacheSalt: String?) -> Cursor { Cursor(sequence: engine.createSequence(cacheSalt: cacheSalt)) }

    func release(_ cursor: Cursor) { engine.free(cursor.sequence) }

    /// What one generation asks of the draft: up to `count` tokens after `context`, the draft's
    /// greedy choice or what `choose` picks from its logits and the proposals so far.
    struct Request {
        let cursor: Cursor
        let context: [Int32]
        let count: Int
        let choose: ((_ logits: [Float], _ proposed: [Int32]) -> Int32?)?
    }

    /// The proposals of several generations at once (fewer than asked for where the draft's
    /// context is full), in lock step: each pass carries every
    /// generation's next row (its unseen context first, in chunks), so k proposals for n
    /// generations take about k passes over the draft's weights, not n × k. The draft's passes
    /// are batch-invariant, so each generation gets the tokens it would get alone.
    func propose(_ requests: [Request]) throws -> [[Int32]] {
        /// [feed] tokens to evaluate next, of which `fed` are done.
        struct Progress { var feed: [Int32] = []; var fed = 0; var proposals: [Int32] = []; var count = 0; var done = true }
        var progress = [Progress](repeating: Progress(), count: requests.count)
        for (i, request) in requests.enumerated() {
            let context = request.context, cursor = request.cursor
            let count = min(request.count, engine.capacity - context.count)
            guard count > 0, !context.isEmpty else { continue }
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
            progress[i] = Progress(feed: Array(context[shared...]), count: count, done: false)
        }
        while progress.contains(where: { !$0.done }) {
            var budget = engine.chunkTokens
            var chunks: [SequenceChunk] = []
            var owners: [(request: Int, end: Int)] = []
            for i in progress.indices where !progress[i].done && budget > 0 {
                let end = min(progress[i].feed.count, progress[i].fed + budget)
                let tokens = progress[i].feed[progress[i].fed..<end].map(Int.init)
                chunks.append(SequenceChunk(sequence: requests[i].cursor.sequence, tokens: tokens,
                                            logits: end == progress[i].feed.count ? .last : .none))
                owners.append((i, end))
                budget -= tokens.count
            }
            let rows = try engine.forward(chunks)
            for (k, (i, end)) in owners.enumerated() {
                requests[i].cursor.held += progress[i].feed[progress[i].fed..<end]
                progress[i].fed = end
                guard end == progress[i].feed.count else { continue }
                let logits = rows[k].last ?? []
                let next: Int32?
                if let choose = requests[i].choose {
                    next = logits.isEmpty ? nil : choose(logits, progress[i].proposals)
                } else {
                    next = Self.greedy(logits)
                }
                guard let next else { progress[i].done = true; continue }
                progress[i].proposals.append(next)
                progress[i].feed = [next]
                progress[i].fed = 0
                progress[i].done = progress[i].proposals.count >= progress[i].count
            }
        }
        return progress.map(\.proposals)
    }
}
