import Foundation
import Testing

/// `loom chat` on the demo model: the second turn evaluates only what the first did not leave in
/// the cache (the reply's last token, the end of the turn and the new message), not the whole
/// conversation again.
@Suite struct ChatTests {
    @Test func theNextTurnEvaluatesOnlyTheNewMessage() throws {
        let result = try LoomProcess.shell("printf 'Tell me a story\\nAnd another one please\\n/exit\\n' | loom chat --max-tokens 120 --seed 1")
        #expect(result.status == 0, "\(result.stderr)")
        // "[N tokens, … tok/s; prompt M new tokens, … tok/s]" once per reply.
        let evaluated = result.stderr.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "prompt ") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        #expect(evaluated.count == 2, "\(result.stderr)")
        guard evaluated.count == 2 else { return }
        let second = "And another one please"
        // The new message's text costs at most a token per byte, plus the template's markers.
        #expect(evaluated[1] <= second.utf8.count + 16, "second turn evaluated \(evaluated[1]) tokens")
    }
}
