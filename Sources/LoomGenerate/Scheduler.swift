import Foundation
import LoomRuntime

/// What continuous batching needs of a model: sequences in a paged cache, and forward passes
/// over chunks of several sequences at once. `Engine` is one.
public protocol BatchEvaluator: AnyObject {
    var vocabularySize: Int { get }
    /// Positions one sequence can hold.
    var capacity: Int { get }
    /// Rows one forward pass takes at most.
    var chunkTokens: Int { get }
    var pages: PagePool { get }
    /// A new empty sequence whose pages are shared only with sequences of the same `cacheSalt`.
    func createSequence(cacheSalt: String?) -> SequenceID
    func mapCachedPrefix(_ id: SequenceID, prompt: [Int]) throws -> Int
    func truncate(_ id: SequenceID, to length: Int) throws
    func free(_ id: SequenceID)
    func length(_ id: SequenceID) throws -> Int
    func forward(_ chunks: [SequenceChunk]) throws -> [[[Float]]]
}

extension Engine: BatchEvaluator {}

/// A submitted generation: cancel it, or wait for it to end.
public final class GenerationHandle: @unchecked Sendable {
    let run: GenerationRun
    private let ended = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var error: Error?
    private var isEnded = false
    private var endObservers: [@Sendable (Error?) -> Void] = []

    init(run: GenerationRun) { self.run = run }

    /// Stops the generation within one step of the scheduler; its pages are freed then.
    public func cancel() { run.cancel() }

    /// Whether the generation has ended (its last event delivered).
    public var hasEnded: Bool { lock.withLock { isEnded } }

    /// Calls `body` once the generation has ended (after its last event), with its error if it
    /// failed; at once if it has ended already. For callers that must not block a thread.
    public func whenEnded(_ body: @escaping @Sendable (Error?) -> Void) {
        let ended: (Bool, Error?) = lock.withLock {
            if isEnded { return (true, error) }
            endObservers.append(body)
            return (false, nil)
        }
        if ended.0 { body(ended.1) }
    }

    /// Blocks until the generation ends; rethrows its error, if it failed.
    public func wait() throws {
        ended.wait()
        ended.signal()
        if let error = lock.withLock({ self.error }) { throw error }
    }

    func end(_ error: Error?) {
        let observers: [@Sendable (Error?) -> Void]? = lock.withLock {
            guard !isEnded else { return nil }
            isEnded = true
            self.error = error
            defer { endObservers.removeAll() }
            return endObservers
        }
        guard let observers else { return }
        ended.signal()
        for observer in observers { observer(error) }
    }
}

/// Continuous batching over one model: requests are admitted while there is room, every step
/// runs as one forward pass (the pending decode token of every running request first, then
/// prompt chunks up to the pass's token budget), and finished requests leave at once.
///
/// - Each request keeps its own sampler, stop and banned strings, logprobs and cancellation.
/// - A new prompt maps the cached pages it begins with (`PagePool`), so shared system prompts
///   and chat history are evaluated once.
/// - When the page pool runs out, the newest running request is preempted: its pages are freed,
///   it is told so (`GenerationEvent.preempted`), and it resumes later by evaluating its context
///   again (mostly from cached pages).
/// - A request's tokens do not depend on the others: each row of a pass is computed on its own
///   (see `DecoderModel.runLayer`), so greedy and seeded runs repeat exactly alone or among many.
public final class Scheduler: @unchecked Sendable {
    public let model: any BatchEvaluator
    /// Requests running at once at most.
    public let maxParallel: Int
    /// 128 rows cost about as much as a quarter of a 512-row chunk, so the running streams'
    /// worst gap is a few decode steps long rather than a whole prompt chunk. Measured against 64
    /// (BENCHMARKS.md): 64 halves the inter-token p99 at 8 streams at the same throughput, but at
    /// 4 streams costs 8% of the throughput and a long cold prompt's first token comes later.
    public static let defaultPromptTokensPerStep = 128

    final class Request {
        let run: GenerationRun
        let handle: GenerationHandle
        let onEvent: (GenerationEvent) -> Void
        let order: Int
        var sequence: SequenceID?
        /// Tokens the sequence holds now.
        var held = 0
        /// Prompt tokens found in the page cache at admission, for the timings.
        var reused = 0
        var admitted = false

        init(run: GenerationRun, handle: GenerationHandle, order: Int, onEvent: @escaping (GenerationEvent) -> Void) {
            self.run = run
            self.handle = handle
            self.order = order
            self.onEvent = onEvent
        }

        /// What the sequence must hold once the pending evaluation is done.
        var target: [Int32] {
            guard let pending = run.pending else { return [] }
            return Array(run.contextTokens.prefix(pending.position)) + pending.tokens
        }
    }

    private let condition = NSCondition()
    private var submitted: [Request] = []
    private var stopping = false
    private var nextOrder = 0
    // Owned by the scheduler thread.
    private var waiting: [Request] = []
    private var running: [Request] = []
    private var thread: Thread?

    /// Counters for tests and `/slots`-style reports.
    public private(set) var passes = 0
    public private(set) var preemptions = 0
    /// What each request was doing after the last step, for `slots()`; guarded by `condition`.
    private var reports: [SlotReport] = []

    /// Prompt tokens a pass takes at most while other requests are decoding (0: up to the
    /// pass's row budget). Smaller keeps the gap between tokens short for the running requests;
    /// larger evaluates new prompts in fewer passes. A pass with no decode tokens always takes
    /// prompt chunks up to the row budget.
    public let promptTokensPerStep: Int

    public init(model: any BatchEvaluator, maxParallel: Int, promptTokensPerStep: Int = Scheduler.defaultPromptTokensPerStep) {
        self.model = model
        self.maxParallel = max(1, maxParallel)
        self.promptTokensPerStep = max(0, promptTokensPerStep)
    }

    deinit {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues `run`; `onEvent` gets its events, in order, on the scheduler's thread.
    func submit(_ run: GenerationRun, onEvent: @escaping (GenerationEvent) -> Void) -> GenerationHandle {
        let handle = GenerationHandle(run: run)
        condition.lock()
        let request = Request(run: run, handle: handle, order: nextOrder, onEvent: onEvent)
        nextOrder += 1
        submitted.append(request)
        if thread == nil {
            let thread = Thread { [weak self] in self?.loop() }
            thread.name = "loom-scheduler"
            thread.stackSize = 8 << 20
            self.thread = thread
            thread.start()
        }
        condition.broadcast()
        condition.unlock()
        return handle
    }

    /// Wakes the scheduler (a request was cancelled from outside).
    func wake() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while submitted.isEmpty && waiting.isEmpty && running.isEmpty && !stopping { condition.wait() }
            if stopping && submitted.isEmpty && waiting.isEmpty && running.isEmpty { condition.unlock(); return }
            waiting += submitted
            submitted.removeAll()
            condition.unlock()
            step()
            publishReports()
            // Waiting requests that cannot be admitted yet, with nothing running, would spin.
            if running.isEmpty && !waiting.isEmpty {
                condition.lock()
                if submitted.isEmpty && !waiting.contains(where: { $0.run.isCancelled }) { _ = condition.wait(until: Date() + 0.05) }
                condition.unlock()
            }
        }
    }

    /// Every request the scheduler holds, running ones first, as of the last step (and the
    /// submissions since). Safe to call from any thread.
    public func slots() -> [SlotReport] {
        condition.lock()
        defer { condition.unlock() }
        return reports + submitted.map { SlotReport(request: $0, running: false, pages: 0) }
    }

    private func publishReports() {
        var fresh: [SlotReport] = []
        for request in running {
            let pages = request.sequence.flatMap { try? model.pages.pages($0).count } ?? 0
            fresh.append(SlotReport(request: request, running: true, pages: pages))
        }
        for request in waiting { fresh.append(SlotReport(request: request, running: false, pages: 0)) }
        condition.lock()
        reports = fresh
        condition.unlock()
    }

    /// One scheduling step: retire cancelled requests, admit new ones, run one pass.
    func step() {
        for request in waiting where request.run.isCancelled { end(request, events: request.run.finishCancelled(), error: nil) }
        waiting.removeAll { $0.run.isFinished }
        for request in running where request.run.isCancelled { end(request, events: request.run.finishCancelled(), error: nil) }
        running.removeAll { $0.run.isFinished }
        admit()
        guard !running.isEmpty else { return }
        var chunks = plan()
        guard !chunks.isEmpty else { return }
        let results: [[[Float]]]
        do {
            results = try model.forward(chunks.map(\.chunk))
        } catch {
            // Requests were checked at admission; a pass that fails anyway fails its requests.
            for (request, _) in chunks { end(request, events: [], error: error) }
            running.removeAll { $0.run.isFinished }
            return
        }
        passes += 1
        // The runs that will propose with a draft this step share its passes (proposeDrafts).
        for (_, requests) in draftGroups() { for request in requests { request.run.draftSharers = requests.count } }
        for (i, (request, chunk)) in chunks.enumerated() {
            request.held += chunk.tokens.count
            guard chunk.logits != .none, !results[i].isEmpty else { continue }
            do {
                let events = try request.run.advance(rows: results[i], reused: request.reused)
                for event in events { request.onEvent(event) }
                if request.run.isFinished {
                    end(request, events: [], error: nil)
                } else if let pending = request.run.pending, request.held > pending.position, let sequence = request.sequence {
                    // Proposals were rejected, or a banned string rewound the run.
                    try model.truncate(sequence, to: pending.position)
                    request.held = pending.position
                }
            } catch {
                end(request, events: [], error: error)
            }
        }
        chunks.removeAll()
        running.removeAll { $0.run.isFinished }
        proposeDrafts()
    }

    /// Makes the draft proposals every running request asked for in this step, those of one
    /// draft model in the same passes.
    private func proposeDrafts() {
        for (draft, group) in draftGroups() {
            let asking = group.filter { $0.run.draftRequest != nil }
            guard !asking.isEmpty else { continue }
            // A draft that fails (its pool full, say) only costs this step's proposals.
            let answers = (try? draft.propose(asking.compactMap(\.run.draftRequest))) ?? []
            for (k, request) in asking.enumerated() { request.run.receiveDraftProposals(k < answers.count ? answers[k] : []) }
        }
    }

    /// The running requests that speculate with a draft model, by draft, in running order.
    private func draftGroups() -> [(draft: DraftModel, requests: [Request])] {
        var groups: [(draft: DraftModel, requests: [Request])] = []
        for request in running {
            guard let draft = request.run.options.speculation?.draftModel else { continue }
            if let g = groups.firstIndex(where: { $0.draft === draft }) { groups[g].requests.append(request) } else { groups.append((draft, [request])) }
        }
        return groups
    }

    /// Starts waiting requests, oldest first, while the pool has the pages for their prompts.
    private func admit() {
        while running.count < maxParallel, let request = waiting.first {
            let target = request.target
            if target.count > model.capacity {
                waiting.removeFirst()
                end(request, events: [], error: PagePoolError.sequenceTooLong(length: target.count, limit: model.capacity))
                continue
            }
            let sequence = model.createSequence(cacheSalt: request.run.options.cacheSalt)
            do {
                let mapped = try model.mapCachedPrefix(sequence, prompt: target.map(Int.init))
                let needed = try model.pages.pagesNeeded(sequence, appending: target.count - mapped)
                if !needed.fits(within: model.pages.available) {
                    model.free(sequence)
                    if running.isEmpty && !needed.fits(within: model.pages.capacity) {
                        waiting.removeFirst()
                        end(request, events: [], error: needed.shortage(within: model.pages.capacity))
                        continue
                    }
                    return
                }
                waiting.removeFirst()
                request.sequence = sequence
                request.held = mapped
                if !request.admitted { request.reused = mapped - (request.run.pending?.position ?? 0) }
                request.admitted = true
                running.append(request)
            } catch {
                model.free(sequence)
                waiting.removeFirst()
                end(request, events: [], error: error)
            }
        }
    }

    /// The chunks of the next pass: each running request's pending decode token first, then
    /// prompt chunks, oldest request first, up to the pass's row budget; newer requests are
    /// preempted while the pool lacks the pages.
    private func plan() -> [(request: Request, chunk: SequenceChunk)] {
        while true {
            var budget = model.chunkTokens
            var chunks: [(Request, SequenceChunk)] = []
            var needed = PageCounts(pages: 0)
            let ordered = running.sorted { $0.order < $1.order }
            var remaining = ordered.map { $0.target.count - $0.held }
            // Decode tokens first, each with its proposals when the pass has room for them.
            for (k, request) in ordered.enumerated() where budget > 0 {
                guard let pending = request.run.pending,
                      remaining[k] == 1 || (pending.proposed > 0 && remaining[k] == pending.tokens.count) else { continue }
                if pending.tokens.count > budget {
                    request.run.dropProposals()
                    remaining[k] = 1
                }
                let target = request.target
                let tokens = target[request.held...].map(Int.init)
                chunks.append((request, SequenceChunk(sequence: request.sequence!, tokens: tokens, logits: tokens.count > 1 ? .all : .last)))
                budget -= tokens.count
                remaining[k] = 0
            }
            // While others are decoding, prompts get a bounded share of the pass: a pass's time
            // is every running stream's gap between tokens.
            if !chunks.isEmpty && promptTokensPerStep > 0 { budget = min(budget, promptTokensPerStep) }
            for (request, rest) in zip(ordered, remaining) where rest > 0 && budget > 0 {
                let take = min(rest, budget)
                let target = request.target
                let tokens = target[request.held..<(request.held + take)].map(Int.init)
                chunks.append((request, SequenceChunk(sequence: request.sequence!, tokens: tokens, logits: take == rest ? .last : .none)))
                budget -= take
            }
            for (request, chunk) in chunks {
                needed = needed + ((try? model.pages.pagesNeeded(request.sequence!, appending: chunk.tokens.count)) ?? PageCounts(pages: 0))
            }
            if needed.fits(within: model.pages.available) { return chunks }
            // Proposals are the first thing to give up when pages are short.
            if chunks.contains(where: { ($0.0.run.pending?.proposed ?? 0) > 0 }) {
                for (request, _) in chunks { request.run.dropProposals() }
                continue
            }
            if running.count <= 1 { return chunks }
            preemptNewest()
        }
    }

    /// Frees the newest running request's pages and puts it back at the head of the queue.
    private func preemptNewest() {
        guard let newest = running.max(by: { $0.order < $1.order }) else { return }
        running.removeAll { $0 === newest }
        newest.run.dropProposals()
        if let sequence = newest.sequence { model.free(sequence) }
        newest.sequence = nil
        newest.held = 0
        preemptions += 1
        newest.onEvent(.preempted)
        waiting.insert(newest, at: 0)
        waiting.sort { $0.order < $1.order }
    }

    private func end(_ request: Request, events: [GenerationEvent], error: Error?) {
        for event in events { request.onEvent(event) }
        if let sequence = request.sequence { model.free(sequence) }
        request.sequence = nil
        if error != nil { request.run.fail() }
        request.handle.end(error)
    }
}

/// What one request in the scheduler is doing.
public struct SlotReport: Sendable, Equatable {
    /// The request's place in submission order (unique per scheduler).
    public var id: Int
    /// Running (in the batch) or waiting to be admitted.
    public var isRunning: Bool
    public var promptTokens: Int
    public var generatedTokens: Int
    /// Tokens its sequence holds in the cache.
    public var cachedTokens: Int
    /// Cache pages its sequence holds.
    public var pages: Int
    /// Prompt tokens found in the page cache at admission.
    public var reusedPromptTokens: Int

    init(request: Scheduler.Request, running: Bool, pages: Int) {
        id = request.order
        isRunning = running
        promptTokens = request.run.prompt.count
        generatedTokens = request.run.generatedCount
        cachedTokens = running ? request.held : 0
        self.pages = pages
        reusedPromptTokens = request.reused
    }
}
