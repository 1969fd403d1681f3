import Foundation
import Testing

/// A command of a README block and the output the README shows for it.
///
/// A fenced block whose first line starts with `$ loom ` is a transcript: each `$ ` line is a
/// command, run in /bin/sh from the repository root, and the lines under it, up to the next `$ `
/// line or the fence, are its output: stdout, then stderr. `tools/update-readme` writes them
/// from the tool's output, so a block is added by writing its command lines and running it.
/// A command must not depend on the machine: `loom plan` needs `--devices`, and `-t`, since each
/// thread has its own attention scratch.
struct ReadmeCommand: Sendable, CustomTestStringConvertible {
    var line: Int
    var command: String
    var expected: String

    var testDescription: String { "README.md:\(line): $ \(command)" }

    static func parse(_ text: String) -> [ReadmeCommand] {
        var commands: [ReadmeCommand] = []
        var block: [(number: Int, text: Substring)]?   // the lines of the open fence
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix("```") {
                if let lines = block { commands += transcript(lines) }
                block = block == nil ? [] : nil
            } else {
                block?.append((index + 1, line))
            }
        }
        return commands
    }

    private static func transcript(_ lines: [(number: Int, text: Substring)]) -> [ReadmeCommand] {
        guard let first = lines.first, first.text.hasPrefix("$ loom ") else { return [] }
        var commands: [ReadmeCommand] = []
        var output: [[Substring]] = []
        for line in lines {
            if line.text.hasPrefix("$ ") {
                commands.append(ReadmeCommand(line: line.number, command: String(line.text.dropFirst(2)), expected: ""))
                output.append([])
            } else {
                output[output.count - 1].append(line.text)
            }
        }
        for i in commands.indices {
            while output[i].last?.isEmpty == true { output[i].removeLast() }
            commands[i].expected = output[i].joined(separator: "\n")
        }
        return commands
    }

    /// Timings differ from run to run: their figures are masked, and only theirs. The counts of
    /// speculative proposals are left out: how many are sent follows the pass costs measured on
    /// the machine, down to none (the tokens do not change).
    static func maskingTimings(_ text: String) -> String {
        text.replacing(try! Regex(#"\d+(\.\d+)?(?= (tok/s|t/s|GB/s|ms|s)\b)"#), with: "…")
            .replacing(try! Regex(#"; proposals: \d+ of \d+ accepted \(\d+%\)"#), with: "")
    }

    /// What the command prints now, in the form the README shows.
    func output() throws -> String {
        let result = try LoomProcess.shell(command)
        var text = result.stdout + result.stderr
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

@Suite struct ReadmeTests {
    static let commands: [ReadmeCommand] = {
        let url = LoomProcess.root.appendingPathComponent("README.md")
        return ReadmeCommand.parse((try? String(contentsOf: url, encoding: .utf8)) ?? "")
    }()

    @Test func theReadmeHasTranscripts() {
        #expect(Self.commands.count >= 5, "README.md: \(Self.commands.count) `$ loom` commands found")
    }

    @Test(arguments: commands)
    func readmeOutputIsTheToolsOutput(_ command: ReadmeCommand) throws {
        let output = try command.output()
        #expect(ReadmeCommand.maskingTimings(output) == ReadmeCommand.maskingTimings(command.expected),
                "\(command.testDescription) prints something else now; run tools/update-readme")
    }

    @Test func transcriptsParseAsTheyRead() {
        let text = """
            ```sh
            swift build
            ```

            ```
            $ loom a
            one

            two
            $ loom b --x "y z"
            ```
            ```
            $ loom c
            ```
            """
        let commands = ReadmeCommand.parse(text)
        #expect(commands.map(\.command) == ["loom a", "loom b --x \"y z\"", "loom c"])
        #expect(commands.map(\.expected) == ["one\n\ntwo", "", ""])
        #expect(commands.map(\.line) == [6, 10, 13])
        #expect(ReadmeCommand.maskingTimings("prompt: 3 tokens, 12.5 tok/s; first token after 0.02 s; 2 layers")
                == "prompt: 3 tokens, … tok/s; first token after … s; 2 layers")
        #expect(ReadmeCommand.maskingTimings("generated: 32 tokens; proposals: 13 of 15 accepted (87%); finish: length")
                == "generated: 32 tokens; finish: length")
    }
}
