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

    @Flag(help: "JSON output (the logits are always JSON; this adds per-device planned/peak bytes on stderr).")
    var json = false

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        _ = try parseTokenList(tokens)
    }

    func run() throws {
        let ids = try parseTokenList(tokens)
        try reportingErrors {
            let engine = try options.makeEngine(logitsRows: allPositions ? 64 : 1)
            let logits = try engine.evaluate(ids, allPositions: allPositions)
            let rows = logits.map { "[" + $0.map { "\($0)" }.joined(separator: ",") + "]" }
            print("[" + rows.joined(separator: ",\n") + "]")
            if json { printError("devices: " + (try jsonString(usageJSON(engine)))) }
        }
    }
}
