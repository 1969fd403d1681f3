import ArgumentParser
import Foundation
import LoomGenerate
import LoomRuntime
import LoomTokenizer

/// Continues a text prompt (streamed to stdout) or a token prompt (ids printed).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt and stream the new text to stdout.",
        discussion: """
        stdout carries the prompt and the generated text (only the latter with --no-echo, or with --json
        unless --echo is given), so it pipes; timings go to stderr. Without a prompt, the prompt is "\(defaultPrompt)".
        Unless --max-tokens is given, generation ends at the first sentence end after --soft-max-tokens
        (\(defaultSoftMaxTokens)) tokens, and at \(defaultMaxTokens) tokens at the most.
        With --tokens the prompt is token ids and the new ids are printed (greedy unless --temp is given).
        With --prompts-file, each line of the file is a prompt; up to --parallel of them run together
        (continuous batching), and each result is printed in file order: its text, or with --json one
        object per line (index, text, tokens, finish_reason, timings).
        """)

    @OptionGroup var options: RunOptions
    @OptionGroup var sampling: SamplingFlags
    @OptionGroup var speculation: SpeculationFlags
    @OptionGroup var constraint: GrammarFlags

    /// The prompt when none is given: the start of a sentence, so that the demo model shows it
    /// can continue one.
    static let defaultPrompt = "The people of the city"
    static let defaultMaxTokens = 128
    /// Long enough for a sentence or two of the demo model's text.
    static let defaultSoftMaxTokens = 48

    @Option(help: "The prompt text (default \"\(defaultPrompt)\").")
    var prompt: String?

    @Option(help: "Comma-separated prompt token ids (prints ids instead of text).")
    var tokens: String?

    @Option(name: .customLong("prompts-file"), help: "A file with one prompt per line, run --parallel at a time.")
    var promptsFile: String?

    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Tokens to generate at the most (default \(defaultMaxTokens)).")
    var maxTokens: Int?

    @Option(name: .customLong("soft-max-tokens"), parsing: .unconditional,
            help: "After this many tokens, end at the next sentence end (. ! ? 。！？); 0 ends at the first (default \(defaultSoftMaxTokens) when --max-tokens is not given, else none).")
    var softMaxTokens: Int?

    @Option(name: .customLong("min-tokens"), parsing: .unconditional, help: "Tokens to generate before an end token or stop string may end the reply.")
    var minTokens = 0

    @Option(help: "Stop when the text contains this string (repeatable); it is not printed.")
    var stop: [String] = []

    @Option(help: "A string the text must never contain (repeatable): the model is rewound and resamples.")
    var ban: [String] = []

    @Flag(inversion: .prefixedNo, help: "Print the prompt before the continuation (default: yes, except with --json).")
    var echo: Bool?

    @Flag(help: "Keep generating past the model's end-of-sequence tokens.")
    var ignoreEos = false

    @Option(name: .customLong("top-logprobs"), parsing: .unconditional, help: "With --json, report this many most likely tokens per step.")
    var topLogprobs = 0

    @Flag(help: "Print one JSON object (text, tokens, finish reason, timings) instead of streaming.")
    var json = false

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        guard [prompt != nil, tokens != nil, promptsFile != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --prompt, --tokens and --prompts-file")
        }
        if let tokens {
            _ = try parseTokenList(tokens)
            // --tokens runs the bare sampler loop on ids; what needs the generator is refused, not ignored.
            if speculation.lookup != nil || speculation.draft != nil || constraint.grammar != nil || constraint.jsonSchema != nil {
                throw ValidationError("--tokens runs the plain sampler on token ids; --lookup, --draft, --grammar and --json-schema need --prompt")
            }
        }
        if let maxTokens { try requireAtLeast(0, maxTokens, "--max-tokens") }
        if let softMaxTokens { try requireAtLeast(0, softMaxTokens, "--soft-max-tokens") }
        try requireAtLeast(0, minTokens, "--min-tokens")
        try requireAtLeast(0, topLogprobs, "--top-logprobs")
    }

    func run() throws {
        if let tokens {
            try runTokens(try parseTokenList(tokens))
            return
        }
        try reportingErrors {
            let files = try ModelFiles(path: options.model)
            let tokenizer = try Generator.loadTokenizer(files)
            let engine = try options.makeEngine()
            let generator = try Generator(model: engine, tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer))
            var settings = GenerationOptions(maxTokens: maxTokens ?? Self.defaultMaxTokens, sampling: try sampling.parameters(),
                                             stopStrings: stop.map(unescape))
            settings.minTokens = minTokens
            settings.softMaxTokens = softMaxTokens ?? (maxTokens == nil ? Self.defaultSoftMaxTokens : nil)
            settings.bannedStrings = ban.map(unescape)
            settings.stopAtModelEndTokens = !ignoreEos
            settings.topLogprobs = topLogprobs
            settings.speculation = try speculation.speculation(target: engine)
            if let speculating = settings.speculation { try generator.measureSpeculationCosts(maxProposals: speculating.maxDraft) }
            settings.grammar = try constraint.constraint()
            if let promptsFile {
                try runPromptsFile(promptsFile, generator: generator, settings: settings)
                return
            }
            let prompt = self.prompt ?? Self.defaultPrompt
            let echo = self.echo ?? !json
            let promptIds = generator.encode(prompt)
            if echo && !json { writeOut(prompt) }
            let result = try generateOne(generator, prompt: promptIds, settings: settings, stream: !json)
            if json {
                var object = result.json(topLogprobs: topLogprobs)
                object["text"] = echo ? prompt + result.text : result.text
                object["prompt_tokens"] = promptIds.count
                object.merge(memoryJSON(engine, draft: settings.speculation?.draftEngine)) { _, new in new }
                print(try jsonString(object))
            } else if !result.text.hasSuffix("\n") {
                writeOut("\n")
            }
            printError(timingsLine(result.timings, reason: result.reason))
        }
    }

    /// One generation's outcome, as `--json` reports it.
    struct Result {
        var text = ""
        var tokens: [[String: Any]] = []
        var reason = FinishReason.cancelled
        var timings = GenerationTimings()
        var preemptions = 0

        func json(topLogprobs: Int) -> [String: Any] {
            var object: [String: Any] = ["text": text, "finish_reason": reason.rawValue, "timings": timingsJSON(timings)]
            object["tokens"] = topLogprobs > 0 ? tokens as Any : tokens.map { $0["id"]! } as Any
            if preemptions > 0 { object["preemptions"] = preemptions }
            return object
        }

        mutating func take(_ event: GenerationEvent) {
            switch event {
            case .text(let chunk): text += chunk
            case .token(let token):
                var entry: [String: Any] = ["id": Int(token.id)]
                if let logprob = token.logprob { entry["logprob"] = Double(logprob) }
                if !token.topLogprobs.isEmpty {
                    entry["top_logprobs"] = token.topLogprobs.map { ["id": Int($0.id), "logprob": Double($0.logprob)] }
                }
                tokens.append(entry)
            case .preempted: preemptions += 1
            case .finished(let reason, let timings): self.reason = reason; self.timings = timings
            }
        }
    }

    /// Runs one prompt through the scheduler, streaming its text to stdout when `stream` is set.
    private func generateOne(_ generator: Generator, prompt: [Int32], settings: GenerationOptions, stream: Bool) throws -> Result {
        let collected = Locked(Result())
        let handle = try generator.submit(prompt: prompt, options: settings) { event in
            if stream, case .text(let chunk) = event { writeOut(chunk) }
            collected.withLock { $0.take(event) }
        }
        try handle.wait()
        return collected.withLock { $0 }
    }

    /// Runs every line of `path` as a prompt, --parallel at a time, and prints each result in
    /// file order as soon as it and every one before it are done.
    private func runPromptsFile(_ path: String, generator: Generator, settings: GenerationOptions) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--prompts-file \(path): no such file or it cannot be read")
        }
        let prompts = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { unescape(String($0)) }.filter { !$0.isEmpty }
        let results = prompts.map { _ in Locked(Result()) }
        let handles = try prompts.enumerated().map { i, text in
            try generator.submit(prompt: generator.encode(text), options: settings) { event in results[i].withLock { $0.take(event) } }
        }
        for (i, handle) in handles.enumerated() {
            try handle.wait()
            let result = results[i].withLock { $0 }
            if json {
                var object = result.json(topLogprobs: topLogprobs)
                object["index"] = i
                object["prompt_tokens"] = generator.encode(prompts[i]).count
                print(try jsonString(object))
            } else {
                print("[\(i)] " + prompts[i] + result.text)
            }
            printError("[\(i)] " + timingsLine(result.timings, reason: result.reason))
        }
    }

    /// The token-id mode of the foundation issue: prints the continuation's ids.
    private func runTokens(_ prompt: [Int]) throws {
        try reportingErrors {
            let engine = try options.makeEngine()
            let sampler = try Sampler(parameters: try sampling.parameters(greedyByDefault: true))
            let start = Date()
            var logits = try engine.evaluate(prompt)[0]
            let promptSeconds = Date().timeIntervalSince(start)
            var context = prompt.map { Int32($0) }
            var produced: [Int] = []
            let decodeStart = Date()
            let maxTokens = self.maxTokens ?? Self.defaultMaxTokens
            while produced.count < maxTokens {
                let next = Int(sampler.sample(logits: logits, context: context))
                produced.append(next)
                context.append(Int32(next))
                if produced.count == maxTokens { break }
                logits = try engine.evaluate([next])[0]
            }
            let decodeSeconds = Date().timeIntervalSince(decodeStart)
            if json {
                print(try jsonString(memoryJSON(engine).merging(["tokens": produced]) { _, new in new }))
            } else {
                print(produced.map(String.init).joined(separator: " "))
            }
            printError(String(format: "prompt: %@, %.1f tok/s; generated: %@, %.1f tok/s",
                              counted(prompt.count, "token"), Double(prompt.count) / promptSeconds,
                              counted(produced.count, "token"), Double(max(0, produced.count - 1)) / max(decodeSeconds, 1e-9)))
        }
    }
}

/// A value shared between the scheduler's thread and the command.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.lock(); defer { lock.unlock() }; return body(&value) }
}

/// Writes text to stdout at once, even part of a line: it is a stream.
func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// The timings of a generation as one stderr line.
func timingsLine(_ t: GenerationTimings, reason: FinishReason) -> String {
    String(format: "prompt: %@ (%d reused), %.1f tok/s; generated: %@, %.1f tok/s; first token after %.2f s",
           counted(t.promptTokens, "token"), t.reusedPromptTokens, t.promptTokensPerSecond, counted(t.generatedTokens, "token"),
           t.generationTokensPerSecond, t.timeToFirstToken)
        + (t.proposedTokens > 0 ? String(format: "; proposals: %d of %d accepted (%.0f%%)", t.acceptedTokens, t.proposedTokens, 100 * t.acceptanceRate) : "")
        + "; finish: \(reason.rawValue)"
}

func timingsJSON(_ t: GenerationTimings) -> [String: Any] {
    ["prompt_tokens_evaluated": t.promptTokens, "reused_prompt_tokens": t.reusedPromptTokens, "prompt_seconds": t.promptSeconds,
     "generated_tokens": t.generatedTokens, "generation_seconds": t.generationSeconds, "time_to_first_token": t.timeToFirstToken,
     "prompt_tokens_per_second": t.promptTokensPerSecond, "generation_tokens_per_second": t.generationTokensPerSecond,
     "proposed_tokens": t.proposedTokens, "accepted_tokens": t.acceptedTokens,
     "grammar_seconds": t.grammarSeconds, "grammar_masks": t.grammarMasks]
}
