import ArgumentParser
import Foundation
import LoomRuntime

/// Greedy continuation of a token prompt.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt greedily and print the new token ids.")

    @OptionGroup var options: RunOptions

    @Option(help: "Comma-separated prompt token ids.")
    var tokens: String

    @Option(name: .customLong("max-tokens"), help: "Tokens to generate.")
    var maxTokens = 16

    @Flag(help: "Print a JSON array of ids.")
    var json = false

    func run() throws {
        let prompt = try parseTokenList(tokens)
        try reportingErrors {
            let engine = try options.makeEngine()
            let start = Date()
            var logits = try engine.evaluate(prompt)[0]
            let promptSeconds = Date().timeIntervalSince(start)
            var produced: [Int] = []
            let decodeStart = Date()
            while produced.count < maxTokens {
                let next = logits.indices.max { logits[$0] < logits[$1] }!
                produced.append(next)
                if produced.count == maxTokens { break }
                logits = try engine.evaluate([next])[0]
            }
            let decodeSeconds = Date().timeIntervalSince(decodeStart)
            if json {
                print(try jsonString(["tokens": produced, "devices": usageJSON(engine)]))
            } else {
                print(produced.map(String.init).joined(separator: " "))
            }
            printError(String(format: "prompt: %d tokens, %.1f tok/s; generated: %d tokens, %.1f tok/s",
                              prompt.count, Double(prompt.count) / promptSeconds,
                              produced.count, Double(max(0, produced.count - 1)) / max(decodeSeconds, 1e-9)))
        }
    }
}
