import ArgumentParser
import LoomRuntime

/// Dumps logits for a token sequence, like llama.cpp's logits dumps, for debugging against a reference.
struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Print the logits of a token sequence as JSON (last position, or all).")

    @OptionGroup var options: RunOptions

    @Option(help: "Comma-separated token ids.")
    var tokens: String

    @Flag(name: .customLong("all-positions"), help: "Print one array per position instead of the last only.")
    var allPositions = false

    @Flag(help: "JSON output (the only format; accepted for symmetry with other commands).")
    var json = false

    func run() throws {
        let ids = try parseTokenList(tokens)
        try reportingErrors {
            let engine = try Engine(directory: options.model, options: try options.engineOptions())
            let logits = try engine.evaluate(ids, allPositions: allPositions)
            let rows = logits.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }
            print("[" + rows.joined(separator: ",\n") + "]")
        }
    }
}
