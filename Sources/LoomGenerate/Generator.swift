import Foundation
import LoomFormats
import LoomRuntime
import LoomTokenizer

/// Generates text from a model: the entry point for apps.
///
/// A generator owns a model and its tokenizer and runs one generation at a time; a new one waits
/// for the previous to end. Consecutive prompts that share a beginning (a chat, growing turn by
/// turn) reuse the cached part, so only the new tokens are evaluated.
public final class Generator: @unchecked Sendable {
    public let model: any TokenEvaluator
    public let tokenizer: Tokenizer
    /// The model's end tokens (EOS, end of turn).
    public let endTokens: Set<Int32>
    private let mirror = EvaluatedContext()
    private let idle = NSCondition()
    private var busy = false

    /// - Parameter endTokens: ids that end a reply; `StopTokens.of(_:tokenizer:)` finds a model's.
    public init(model: any TokenEvaluator, tokenizer: Tokenizer, endTokens: Set<Int32>) throws {
        guard tokenizer.vocabularySize <= model.vocabularySize else {
            throw GenerationError.vocabularyMismatch(tokenizer: tokenizer.vocabularySize, model: model.vocabularySize)
        }
        self.model = model
        self.tokenizer = tokenizer
        self.endTokens = endTokens
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

    /// The tokens of `text` as a prompt (with BOS when the tokenizer adds one).
    public func encode(_ text: String, parseSpecial: Bool = false) -> [Int32] {
        tokenizer.encode(text, parseSpecial: parseSpecial)
    }

    /// Starts a generation to be driven step by step with `GenerationRun.next()`; it must run
    /// to its `.finished` event (or be cancelled and stepped once more) before the next starts.
    public func makeRun(prompt: [Int32], options: GenerationOptions = GenerationOptions()) throws -> GenerationRun {
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard options.maxTokens >= 0 else { throw GenerationError.invalidOption(name: "maxTokens", reason: "must be at least 0") }
        guard options.minTokens >= 0 else { throw GenerationError.invalidOption(name: "minTokens", reason: "must be at least 0") }
        guard options.topLogprobs >= 0 else { throw GenerationError.invalidOption(name: "topLogprobs", reason: "must be at least 0") }
        if let bad = prompt.first(where: { $0 < 0 || Int($0) >= model.vocabularySize }) {
            throw GenerationError.invalidOption(name: "prompt", reason: "token \(bad) is outside the vocabulary of \(model.vocabularySize)")
        }
        let sampler = try Sampler(parameters: options.sampling, tokenizer: tokenizer)
        idle.lock()
        while busy { idle.wait() }
        busy = true
        idle.unlock()
        let ends = (options.stopAtModelEndTokens ? endTokens : []).union(options.stopTokens)
        return GenerationRun(model: model, tokenizer: tokenizer, sampler: sampler, options: options, prompt: prompt,
                             endTokens: ends, mirror: mirror) { [idle] in
            idle.lock()
            self.busy = false
            idle.broadcast()
            idle.unlock()
        }
    }

    /// Generates a continuation of `prompt` as a stream of events, ending with `.finished`.
    ///
    /// The model runs on a thread of its own. Cancelling the consuming task (or dropping the
    /// stream) stops generation within one step.
    public func generate(prompt: [Int32], options: GenerationOptions = GenerationOptions()) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let run: GenerationRun
            do { run = try makeRun(prompt: prompt, options: options) } catch {
                continuation.finish(throwing: error)
                return
            }
            continuation.onTermination = { _ in run.cancel() }
            let thread = Thread {
                do {
                    while !run.isFinished {
                        for event in try run.next() { continuation.yield(event) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.name = "loom-generate"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Generates a continuation of `text` (tokenized with BOS as the tokenizer prescribes).
    public func generate(_ text: String, options: GenerationOptions = GenerationOptions()) -> AsyncThrowingStream<GenerationEvent, Error> {
        generate(prompt: encode(text), options: options)
    }
}
