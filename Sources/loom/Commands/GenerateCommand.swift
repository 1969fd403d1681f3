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
        stdout carries only the generated text (the prompt too with --echo), so it pipes; timings go to stderr.
        With --tokens the prompt is token ids and the new ids are printed (greedy unless --temp is given).
        """)

    @OptionGroup var options: RunOptions
    @OptionGroup var sampling: SamplingFlags

    @Option(help: "The prompt text.")
    var prompt: String?

    @Option(help: "Comma-separated prompt token ids (prints ids instead of text).")
    var tokens: String?

    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Tokens to generate.")
    var maxTokens = 256

    @Option(name: .customLong("min-tokens"), parsing: .unconditional, help: "Tokens to generate before an end token or stop string may end the reply.")
    var minTokens = 0

    @Option(help: "Stop when the text contains this string (repeatable); it is not printed.")
    var stop: [String] = []

    @Option(help: "A string the text must never contain (repeatable): the model is rewound and resamples.")
    var ban: [String] = []

    @Flag(help: "Also print the prompt.")
    var echo = false

    @Flag(help: "Keep generating past the model's end-of-sequence tokens.")
    var ignoreEos = false

    @Option(name: .customLong("top-logprobs"), parsing: .unconditional, help: "With --json, report this many most likely tokens per step.")
    var topLogprobs = 0

    @Flag(help: "Print one JSON object (text, tokens, finish reason, timings) instead of streaming.")
    var json = false

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        guard (prompt == nil) != (tokens == nil) else { throw ValidationError("give exactly one of --prompt and --tokens") }
        if let tokens { _ = try parseTokenList(tokens) }
        try requireAtLeast(0, maxTokens, "--max-tokens")
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
            var settings = GenerationOptions(maxTokens: maxTokens, sampling: try sampling.parameters(), stopStrings: stop.map(unescape))
            settings.minTokens = minTokens
            settings.bannedStrings = ban.map(unescape)
            settings.stopAtModelEndTokens = !ignoreEos
            settings.topLogprobs = topLogprobs
            let promptIds = generator.encode(prompt!)
            let run = try generator.makeRun(prompt: promptIds, options: settings)
            if echo && !json { writeOut(prompt!) }
            var text = "", ids: [[String: Any]] = [], finish: (FinishReason, GenerationTimings)?
            while !run.isFinished {
                for event in try run.next() {
                    switch event {
                    case .text(let chunk):
                        text += chunk
                        if !json { writeOut(chunk) }
                    case .token(let token):
                        var entry: [String: Any] = ["id": Int(token.id)]
                        if let logprob = token.logprob { entry["logprob"] = Double(logprob) }
                        if !token.topLogprobs.isEmpty {
                            entry["top_logprobs"] = token.topLogprobs.map { ["id": Int($0.id), "logprob": Double($0.logprob)] }
                        }
                        ids.append(entry)
                    case .finished(let reason, let timings):
                        finish = (reason, timings)
                    }
                }
            }
            guard let (reason, timings) = finish else { return }
            if json {
                var object: [String: Any] = ["text": echo ? prompt! + text : text, "finish_reason": reason.rawValue,
                                             "prompt_tokens": promptIds.count, "timings": timingsJSON(timings),
                                             "devices": usageJSON(engine)]
                object["tokens"] = topLogprobs > 0 ? ids as Any : ids.map { $0["id"]! } as Any
                print(try jsonString(object))
            } else if !text.hasSuffix("\n") {
                writeOut("\n")
            }
            printError(timingsLine(timings, reason: reason))
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
            while produced.count < maxTokens {
                let next = Int(sampler.sample(logits: logits, context: context))
                produced.append(next)
                context.append(Int32(next))
                if produced.count == maxTokens { break }
                logits = try engine.evaluate([next])[0]
            }
            let decodeSeconds = Date().timeIntervalSince(decodeStart)
            if json {
                print(try jsonString(["tokens": produced, "devices": usageJSON(engine)]))
            } else {
                print(produced.map(String.init).joined(separator: " "))
            }
            printError(String(format: "prompt: %@, %.1f tok/s; generated: %@, %.1f tok/s",
                              counted(prompt.count, "token"), Double(prompt.count) / promptSeconds,
                              counted(produced.count, "token"), Double(max(0, produced.count - 1)) / max(decodeSeconds, 1e-9)))
        }
    }
}

/// Writes text to stdout at once (no buffering: it is a stream).
func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// The timings of a generation as one stderr line.
func timingsLine(_ t: GenerationTimings, reason: FinishReason) -> String {
    String(format: "prompt: %@ (%d reused), %.1f tok/s; generated: %@, %.1f tok/s; first token after %.2f s",
           counted(t.promptTokens, "token"), t.reusedPromptTokens, t.promptTokensPerSecond, counted(t.generatedTokens, "token"),
           t.generationTokensPerSecond, t.timeToFirstToken) + "; finish: \(reason.rawValue)"
}

func timingsJSON(_ t: GenerationTimings) -> [String: Any] {
    ["prompt_tokens_evaluated": t.promptTokens, "reused_prompt_tokens": t.reusedPromptTokens, "prompt_seconds": t.promptSeconds,
     "generated_tokens": t.generatedTokens, "generation_seconds": t.generationSeconds, "time_to_first_token": t.timeToFirstToken,
     "prompt_tokens_per_second": t.promptTokensPerSecond, "generation_tokens_per_second": t.generationTokensPerSecond]
}
