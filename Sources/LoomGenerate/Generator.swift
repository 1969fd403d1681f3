import Foundation
import LoomFormats
import LoomRuntime
import LoomTokenizer

/// Generates text from a model: the entry point for apps.
///
/// Over an `Engine` (any `BatchEvaluator`), generations submitted with `generate` or `submit`
/// run together under continuous batching (`Scheduler`): many at once, each with its own
/// stream, sampler, stops and cancellation, one forward pass per step for all of them, and
/// prompts that begin like an earlier one reuse its cached pages. Over a single-sequence model
/// they run one at a time.
///
/// `makeRun` gives a run to drive by hand (`GenerationRun.next()`), one at a time; consecutive
/// prompts that share a beginning (a chat, growing turn by turn) reuse the cached part.
public final class Generator: @unchecked Sendable {
    public let model: any TokenEvaluator
    public let tokenizer: Tokenizer
    /// The model's end tokens (EOS, end of turn).
    public let endTokens: Set<Int32>
    /// The continuous-batching scheduler, when the model can batch.
    public let scheduler: Scheduler?
    /// What verification passes cost on this model and machine (`measureSpeculationCosts`),
    /// given to every speculating request that brings no figures of its own. Set it before
    /// submitting requests.
    public var speculationPassCosts: PassCosts?
    private let mirror = EvaluatedContext()
    private let idle = NSCondition()
    private var busy = false

    /// - Parameters:
    ///   - endTokens: ids that end a reply; `StopTokens.of(_:tokenizer:)` finds a model's.
    ///   - parallel: requests batched together at most (an engine's plan says how many its page
    ///     pool is sized for: `plan.request.parallel`).
    ///   - promptTokensPerStep: prompt tokens a scheduler pass takes at most while other requests
    ///     decode (`Scheduler.promptTokensPerStep`).
    public init(model: any TokenEvaluator, tokenizer: Tokenizer, endTokens: Set<Int32>, parallel: Int? = nil,
                promptTokensPerStep: Int = Scheduler.defaultPromptTokensPerStep) throws {
        guard tokenizer.vocabularySize <= model.vocabularySize else {
            throw GenerationError.vocabularyMismatch(tokenizer: tokenizer.vocabularySize, model: model.vocabularySize)
        }
        self.model = model
        self.tokenizer = tokenizer
        self.endTokens = endTokens
        if let engine = model as? Engine {
            scheduler = Scheduler(model: engine, maxParallel: parallel ?? engine.plan.request.parallel, promptTokensPerStep: promptTokensPerStep)
        } else if let batch = model as? BatchEvaluator {
            scheduler = Scheduler(model: batch, maxParallel: parallel ?? 1, promptTokensPerStep: promptTokensPerStep)
        } else {
            scheduler = nil
        }
        model.rewind(to: 0)
    }

    /// Loads a model directory (config.json, safetensors, tokenizer files) or a GGUF file onto the CPU.
    public convenience init(modelPath: String, options: EngineOptions = EngineOptions()) throws {
        let files = try ModelFiles(path: modelPath)
        let tokenizer = try Generator.loadTokenizer(files)
        let plan = try Engine.singleDevicePlan(try files.footprint(), options)
        let engine = try Engine(config: files.config, source: files.source, ropeLayout: files.ropeLayout, plan: plan)
        try self.init(model: engine, tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer))
    }

    /// The tokenizer of a model: its GGUF vocabulary, or the tokenizer files of its directory.
    public static func loadTokenizer(_ files: ModelFiles) throws -> Tokenizer {
        if let gguf = files.gguf { return try Tokenizer(gguf: gguf) }
        return try Tokenizer.load(modelDirectory: files.path)
    }

    /// Measures `speculationPassCosts` on the model (a batching one; others keep none) for up
    /// to `maxProposals` proposals a pass. Call it before requests run: it runs passes of its own.
    public func measureSpeculationCosts(maxProposals: Int = Speculation.defaultMaxDraft) throws {
        guard let batch = model as? BatchEvaluator else { return }
        speculationPassCosts = try PassCosts.measure(on: batch, maxProposals: maxProposals)
    }

    /// The tokens of `text` as a prompt (with BOS when the tokenizer adds one).
    public func encode(_ text: String, parseSpecial: Bool = false) -> [Int32] {
        tokenizer.encode(text, parseSpecial: parseSpecial)
    }

    /// A run for `prompt`, checked: the checks every request passes before it may disturb others.
    private func checkedRun(prompt: [Int32], options: GenerationOptions, driver: SingleSequenceDriver?,
                            onClose: @escaping () -> Void = {}) throws -> GenerationRun {
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard options.maxTokens >= 0 else { throw GenerationError.invalidOption(name: "maxTokens", reason: "must be at least 0") }
        guard options.minTokens >= 0 else { throw GenerationError.invalidOption(name: "minTokens", reason: "must be at least 0") }
        guard (options.softMaxTokens ?? 0) >= 0 else { throw GenerationError.invalidOption(name: "softMaxTokens", reason: "must be at least 0") }
        guard options.topLogprobs >= 0 else { throw GenerationError.invalidOption(name: "topLogprobs", reason: "must be at least 0") }
        try options.speculation?.validate()
        if let bad = prompt.first(where: { $0 < 0 || Int($0) >= model.vocabularySize }) {
            throw GenerationError.invalidOption(name: "prompt", reason: "token \(bad) is outside the vocabulary of \(model.vocabularySize)")
        }
        guard prompt.count <= model.capacity else {
            throw GenerationError.promptTooLong(tokens: prompt.count, context: model.capacity)
        }
        var options = options
        if options.speculation != nil && options.speculation?.passCosts == nil { options.speculation?.passCosts = speculationPassCosts }
        let sampler = try Sampler(parameters: options.sampling, tokenizer: tokenizer)
        let ends = (options.stopAtModelEndTokens ? endTokens : []).union(options.stopTokens)
        let constraint = options.grammar.map { TokenConstraint(grammar: $0, tokenizer: tokenizer, endTokens: ends) }
        return GenerationRun(tokenizer: tokenizer, sampler: sampler, options: options, prompt: prompt, endTokens: ends,
                             capacity: model.capacity, constraint: constraint, driver: driver, onClose: onClose)
    }

    /// Starts a generation to be driven step by step with `GenerationRun.next()`; it must run
    /// to its `.finished` event (or be cancelled and stepped once more) before the next starts.
    public func makeRun(prompt: [Int32], options: GenerationOptions = GenerationOptions()) throws -> GenerationRun {
        idle.lock()
        while busy { idle.wait() }
        busy = true
        idle.unlock()
        let release = { [idle] in
            idle.lock()
            self.busy = false
            idle.broadcast()
            idle.unlock()
        }
        do {
            return try checkedRun(prompt: prompt, options: options, driver: SingleSequenceDriver(model: model, mirror: mirror),
                                  onClose: release)
        } catch {
            release()
            throw error
        }
    }

    /// Queues a generation of `prompt` with the scheduler and returns at once; `onEvent` gets its
    /// events in order, on the scheduler's thread, ending with `.finished`. Over a model that
    /// cannot batch it runs on a thread of its own, after the runs before it.
    public func submit(prompt: [Int32], options: GenerationOptions = GenerationOptions(),
                       onEvent: @escaping @Sendable (GenerationEvent) -> Void) throws -> GenerationHandle {
        if let scheduler {
            return scheduler.submit(try checkedRun(prompt: prompt, options: options, driver: nil), onEvent: onEvent)
        }
        let run = try makeRun(prompt: prompt, options: options)
        let handle = GenerationHandle(run: run)
        let thread = Thread {
            do {
                while !run.isFinished { for event in try run.next() { onEvent(event) } }
                handle.end(nil)
            } catch {
                handle.end(error)
            }
        }
        thread.name = "loom-generate"
        thread.stackSize = 8 << 20
        thread.start()
        return handle
    }

    /// Generates a continuation of `prompt` as a stream of events, ending with `.finished`.
    ///
    /// Cancelling the consuming task (or dropping the stream) stops generation within one step.
    public func generate(prompt: [Int32], options: GenerationOptions = GenerationOptions()) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let handle: GenerationHandle
            do {
                handle = try submit(prompt: prompt, options: options) { continuation.yield($0) }
            } catch {
                continuation.finish(throwing: error)
                return
            }
            continuation.onTermination = { [scheduler] _ in
                handle.cancel()
                scheduler?.wake()
            }
            handle.whenEnded { error in continuation.finish(throwing: error) }
        }
    }

    /// Generates a continuation of `text` (tokenized with BOS as the tokenizer prescribes).
    public func generate(_ text: String, options: GenerationOptions = GenerationOptions()) -> AsyncThrowingStream<GenerationEvent, Error> {
        generate(prompt: encode(text), options: options)
    }
}
