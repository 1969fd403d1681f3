import Foundation
import Testing

/// `loom generate`'s defaults: the prompt is printed before its continuation, a default prompt
/// stands in for a missing one, and a reply ends at a sentence end after the soft limit or at
/// the hard limit. The defaults are read from the command's own help, so they are stated once.
struct GenerateTests {
    static let help: String = (try? LoomProcess.run(["generate", "--help"]).stdout) ?? ""

    /// The default that `--help` states for `option`: the number after "default" in its text.
    static func defaultNumber(of option: String) throws -> Int {
        let flat = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        // The option's own line in the list of options, as "--max-tokens <max-tokens> Tokens to ...".
        let entry = "\(option) <\(option.dropFirst(2))> "
        let text = try #require(flat.range(of: entry).map { flat[$0.upperBound...] }, "no \(entry) in the help")
        let match = try #require(text.firstMatch(of: /default (\d+)/), "no default for \(option) in the help")
        return Int(match.1)!
    }

    @Test func thePromptIsPrintedBeforeTheContinuation() throws {
        let echoed = try LoomProcess.run(["generate", "--prompt", "The history of", "--max-tokens", "4", "--seed", "1"])
        let bare = try LoomProcess.run(["generate", "--prompt", "The history of", "--max-tokens", "4", "--seed", "1", "--no-echo"])
        #expect(echoed.status == 0 && bare.status == 0, "\(echoed.stderr)\(bare.stderr)")
        #expect(echoed.stdout == "The history of" + bare.stdout)
    }

    @Test func withoutAPromptTheHelpsDefaultPromptIsUsedAndPrinted() throws {
        let echoed = try LoomProcess.run(["generate", "--max-tokens", "4", "--seed", "1"])
        let bare = try LoomProcess.run(["generate", "--max-tokens", "4", "--seed", "1", "--no-echo"])
        #expect(echoed.status == 0, "\(echoed.stderr)")
        #expect(echoed.stdout.hasSuffix(bare.stdout))
        let prompt = String(echoed.stdout.dropLast(bare.stdout.count))
        #expect(!prompt.isEmpty)
        let flat = Self.help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains("(default \"\(prompt)\")"), "the prompt printed, \"\(prompt)\", is not the one --help names")
    }

    @Test func jsonTextIsTheContinuationUnlessEchoIsGiven() throws {
        let plain = try LoomProcess.run(["generate", "--prompt", "The history of", "--max-tokens", "4", "--seed", "1", "--json"])
        let echoed = try LoomProcess.run(["generate", "--prompt", "The history of", "--max-tokens", "4", "--seed", "1", "--json", "--echo"])
        let a = try #require(try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
        let b = try #require(try JSONSerialization.jsonObject(with: Data(echoed.stdout.utf8)) as? [String: Any])
        let text = try #require(a["text"] as? String)
        #expect(b["text"] as? String == "The history of" + text)
    }

    @Test func theHardLimitHoldsWhenNoSentenceEnds() throws {
        let cap = try Self.defaultNumber(of: "--max-tokens")
        // A soft limit past the hard one leaves the hard one to end the reply.
        let result = try LoomProcess.run(["generate", "--seed", "1", "--json", "--ignore-eos", "--soft-max-tokens", "100000"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((object["tokens"] as? [Any])?.count == cap)
        #expect(object["finish_reason"] as? String == "length")
    }

    @Test func aSoftLimitOfZeroEndsAtTheFirstSentenceEnd() throws {
        let result = try LoomProcess.run(["generate", "--prompt", "The history of", "--seed", "1", "--json", "--ignore-eos",
                                          "--soft-max-tokens", "0", "--max-tokens", "200"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let text = try #require(object["text"] as? String)
        #expect(object["finish_reason"] as? String == "stop", "\(text)")
        let ends = text.indices.filter { ".!?。！？".contains(text[$0]) }
        // The last character is the only sentence end (closing quotes and brackets may follow it).
        #expect(ends.count == 1, "\(text)")
        if let end = ends.first { #expect(text[text.index(after: end)...].allSatisfy { "\"')]”’」』）".contains($0) }, "\(text)") }
    }

    @Test func aPipedCommandShowsItsFirstLineBeforeItEnds() throws {
        // Six reports of a few lines each, far less than a stdio block in all: a block-buffered
        // stdout would deliver the first line only as the command ended, with the rest.
        let types = Array(repeating: "q8_0", count: 6).joined(separator: ",")
        let piped = try LoomProcess.pipedFirstLine(["bench-kernels", "--types", types, "--shape", "256x896",
                                                    "--tokens", "30000", "--batch", "0", "-t", "1"])
        #expect(piped.line.hasPrefix("q8_0 "), "\(piped.line)")
        // The first of six equal reports comes about a sixth of the way through.
        #expect(piped.at < 0.6 * piped.end, "first line after \(piped.at) s of \(piped.end) s")
    }
}
