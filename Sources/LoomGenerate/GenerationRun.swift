import Foundation
import LoomTokenizer
import Synchronization

/// One generation, advanced a step at a time by `next()`. `Generator.generate` drives one on
/// its own thread and streams the events; a command-line loop can drive one directly.
///
/// Text is decoded incrementally (whole characters only). Text that might be the beginning of a
/// stop or banned string is held back until it is resolved; tokens are released with their text,
/// so a banned-string rewind never retracts anything already reported.
public final class GenerationRun: @unchecked Sendable {
    let model: any TokenEvaluator
    let tokenizer: Tokenizer
    let sampler: Sampler
    let options: GenerationOptions
    let prompt: [Int32]
    let endTokens: Set<Int32>
    let stops: StringWatch
    /// Stop and banned strings together: both hold text back.
    let watched: StringWatch
    let banned: StringWatch
    /// What the model's cache holds, shared with the generator for prefix reuse.
    let mirror: EvaluatedContext
    private let cancelled = Atomic<Bool>(false)
    private let onClose: () -> Void

    /// Prompt and generated tokens, for the penalties.
    private var context: [Int32]
    /// [generated] each token with its logprobs.
    private var generated: [GeneratedToken] = []
    /// [generated] byte length of `text` after each token.
    private var tokenEnds: [Int] = []
    /// [generated] the decoder before each token, to rewind it.
    private var decoderBefore: [StreamingDecoder] = []
    private var decoder: StreamingDecoder
    /// [bytes] all text decoded so far (emitted and held).
    private var text: [UInt8] = []
    private var emittedBytes = 0
    private var emittedTokens = 0
    /// Position in the reply → ids banned there by banned strings.
    private var bans: [Int: Set<Int32>] = [:]
    private var rewinds = 0
    /// [vocab] the model's logits for the next position.
    private var logits: [Float] = []
    private var reporter = LogprobReporter()
    private var started = false
    public private(set) var isFinished = false
    public private(set) var timings = GenerationTimings()
    private var startTime = Date()
    private var firstTokenTime: Date?

    init(model: any TokenEvaluator, tokenizer: Tokenizer, sampler: Sampler, options: GenerationOptions, prompt: [Int32],
         endTokens: Set<Int32>, mirror: EvaluatedContext, onClose: @escaping () -> Void) {
        self.model = model
        self.tokenizer = tokenizer
        self.sampler = sampler
        self.options = options
        self.prompt = prompt
        self.endTokens = endTokens
        self.mirror = mirror
        self.onClose = onClose
        stops = StringWatch(options.stopStrings)
        banned = StringWatch(options.bannedStrings)
        watched = StringWatch(options.stopStrings + options.bannedStrings)
        context = prompt
        decoder = tokenizer.makeStreamingDecoder(skipSpecial: options.skipSpecialTokens)
    }

    /// Asks the run to stop; the next step (or the current one's end) reports `cancelled`.
    /// Safe to call from any thread.
    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Runs one step and returns what it produced (possibly nothing, while text is held back or
    /// after a rewind). The last call returns a `.finished` event; later calls return nothing.
    public func next() throws -> [GenerationEvent] {
        guard !isFinished else { return [] }
        do {
            return try step()
        } catch {
            close()
            throw error
        }
    }

    private func step() throws -> [GenerationEvent] {
        if !started { try start() }
        if cancelled.load(ordering: .relaxed) { return finish(.cancelled) }
        if generated.count >= options.maxTokens { return flush() + finish(.length) }
        let index = generated.count
        var bias: [Int32: Float] = [:]
        for id in bans[index] ?? [] { bias[id] = -.infinity }
        if index < options.minTokens { for id in endTokens { bias[id] = -.infinity } }
        let id = sampler.sample(logits: logits, context: context, bias: bias)
        if firstTokenTime == nil {
            firstTokenTime = Date()
            timings.timeToFirstToken = firstTokenTime!.timeIntervalSince(startTime)
        }
        if endTokens.contains(id) && index >= options.minTokens { return flush() + finish(.stop) }

        let token = options.topLogprobs > 0 ? reporter.report(logits: logits, id: id, top: options.topLogprobs)
                                            : GeneratedToken(id: id, logprob: nil, topLogprobs: [])
        decoderBefore.append(decoder)
        text.append(contentsOf: decoder.push(id).utf8)
        tokenEnds.append(text.count)
        generated.append(token)
        context.append(id)

        if let start = banned.firstMatch(in: text, from: emittedBytes) {
            try rewind(toTokenAt: tokenEnds.firstIndex { $0 > start }!)
            return []
        }
        if generated.count >= options.minTokens, let start = stops.firstMatch(in: text, from: emittedBytes) {
            return release(upTo: start, stopping: true) + finish(.stop)
        }
        var events = release(upTo: text.count - watched.heldTail(of: text, from: emittedBytes), stopping: false)
        if generated.count >= options.maxTokens { return events + flush() + finish(.length) }
        if mirror.tokens.count >= model.capacity {
            events += flush() + finish(.length)
            return events
        }
        logits = try evaluate([id])
        return events
    }

    /// Evaluates the prompt, reusing the longest prefix the model already holds.
    private func start() throws {
        started = true
        startTime = Date()
        var shared = 0
        let cached = mirror.tokens
        while shared < min(cached.count, prompt.count) && cached[shared] == prompt[shared] { shared += 1 }
        // The last prompt token is always evaluated again: its logits are needed.
        shared = min(shared, prompt.count - 1)
        rewindModel(to: shared)
        logits = try evaluate(Array(prompt[shared...]))
        timings.reusedPromptTokens = shared
        timings.promptTokens = prompt.count - shared
        timings.promptSeconds = Date().timeIntervalSince(startTime)
    }

    /// Drops generated token `index` and everything after it, bans its id at that position, and
    /// recomputes the logits there.
    private func rewind(toTokenAt index: Int) throws {
        rewinds += 1
        guard rewinds <= options.maxRewinds else { throw GenerationError.tooManyRewinds(rewinds) }
        bans = bans.filter { $0.key < index }
        bans[index, default: []].insert(generated[index].id)
        let dropped = generated.count - index
        generated.removeLast(dropped)
        tokenEnds.removeLast(dropped)
        context.removeLast(dropped)
        decoder = decoderBefore[index]
        decoderBefore.removeLast(dropped)
        text.removeLast(text.count - (index == 0 ? 0 : tokenEnds[index - 1]))
        // The logits for position `index` come from evaluating the token before it again.
        let previous = index == 0 ? prompt[prompt.count - 1] : generated[index - 1].id
        rewindModel(to: prompt.count + index - 1)
        logits = try evaluate([previous])
    }

    /// Releases held text up to byte `end`, and the tokens whose text is now all out (or, when
    /// stopping, every token whose text began before `end`).
    private func release(upTo end: Int, stopping: Bool) -> [GenerationEvent] {
        var events: [GenerationEvent] = []
        if end > emittedBytes {
            events.append(.text(String(decoding: text[emittedBytes..<end], as: UTF8.self)))
            emittedBytes = end
        }
        while emittedTokens < generated.count {
            let tokenStart = emittedTokens == 0 ? 0 : tokenEnds[emittedTokens - 1]
            let done = stopping ? tokenStart < end : tokenEnds[emittedTokens] <= end
            if !done { break }
            events.append(.token(generated[emittedTokens]))
            emittedTokens += 1
        }
        return events
    }

    /// Releases everything: the decoder's unfinished character and all held text.
    private func flush() -> [GenerationEvent] {
        text.append(contentsOf: decoder.finish().utf8)
        if let last = tokenEnds.indices.last { tokenEnds[last] = text.count }
        return release(upTo: text.count, stopping: false)
    }

    private func finish(_ reason: FinishReason) -> [GenerationEvent] {
        timings.generatedTokens = generated.count
        if let first = firstTokenTime { timings.generationSeconds = Date().timeIntervalSince(first) }
        close()
        return [.finished(reason, timings)]
    }

    private func close() {
        guard !isFinished else { return }
        isFinished = true
        onClose()
    }

    private func evaluate(_ tokens: [Int32]) throws -> [Float] {
        let rows: [[Float]]
        do {
            rows = try model.evaluate(tokens.map(Int.init), allPositions: false)
        } catch {
            // A failed chunk may have advanced the model part-way: forget it.
            model.rewind(to: mirror.tokens.count)
            throw error
        }
        mirror.tokens.append(contentsOf: tokens)
        return rows[rows.count - 1]
    }

    private func rewindModel(to position: Int) {
        model.rewind(to: position)
        mirror.tokens.removeLast(max(0, mirror.tokens.count - position))
    }
}

/// The tokens a model's cache holds, as far as generation knows.
final class EvaluatedContext: @unchecked Sendable {
    var tokens: [Int32] = []
}
