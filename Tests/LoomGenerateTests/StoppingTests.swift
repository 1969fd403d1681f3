import Foundation
import Testing
import LoomTokenizer
@testable import LoomGenerate

/// Stop tokens, stop strings, banned strings and limits, on a scripted model whose choices are
/// known, with a byte-level tokenizer so that strings and characters split across tokens.
struct StoppingTests {
    let prompt = ByteTokenizer.ids("Q:")

    func run(_ script: [Int32], alternative: Int32 = Int32(UInt8(ascii: "X")), _ configure: (inout GenerationOptions) -> Void)
        throws -> (text: String, chunks: [String], tokens: [Int32], reason: FinishReason?, model: ScriptedModel) {
        let model = ScriptedModel(script: script, alternative: alternative, promptLength: prompt.count)
        let generator = try Generator(model: model, tokenizer: ByteTokenizer.shared, endTokens: [ByteTokenizer.eos])
        var options = GenerationOptions(maxTokens: 100, sampling: .greedy)
        configure(&options)
        let run = try generator.makeRun(prompt: prompt, options: options)
        var chunks: [String] = [], tokens: [Int32] = [], reason: FinishReason?
        while !run.isFinished {
            for event in try run.next() {
                switch event {
                case .text(let t): chunks.append(t)
                case .token(let t): tokens.append(t.id)
                case .finished(let r, _): reason = r
                case .preempted: break
                }
            }
        }
        return (chunks.joined(), chunks, tokens, reason, model)
    }

    @Test func eosStopsAndIsNotReported() throws {
        let r = try run(ByteTokenizer.ids("Hi!") + [ByteTokenizer.eos] + ByteTokenizer.ids("more")) { _ in }
        #expect(r.text == "Hi!")
        #expect(r.tokens == ByteTokenizer.ids("Hi!"))
        #expect(r.reason == .stop)
    }

    @Test func stopStringAcrossTokensIsNeverEmitted() throws {
        let r = try run(ByteTokenizer.ids("a ST b STOP more")) { $0.stopStrings = ["STOP"] }
        #expect(r.text == "a ST b ")
        #expect(r.reason == .stop)
        // The held-back "ST" of "a ST b" came out once it could no longer be "STOP".
        #expect(r.chunks.contains("ST "))
        #expect(!r.chunks.contains("S"))
        #expect(r.tokens == ByteTokenizer.ids("a ST b "))
        // Generation ended at the stop: no token after the P was evaluated.
        #expect(r.model.context.count <= prompt.count + "a ST b STOP".utf8.count)
    }

    @Test func earliestOfSeveralStopStringsWins() throws {
        let r = try run(ByteTokenizer.ids("one two three")) { $0.stopStrings = ["three", "wo"] }
        #expect(r.text == "one t")
    }

    @Test func heldTextIsReleasedAtTheLengthLimit() throws {
        let r = try run(ByteTokenizer.ids("abcST")) { $0.stopStrings = ["STOP"]; $0.maxTokens = 5 }
        #expect(r.text == "abcST")
        #expect(r.reason == .length)
        #expect(r.tokens.count == 5)
    }

    @Test func multiByteCharactersComeWhole() throws {
        let text = "héllo 👋 wörld"
        let r = try run(ByteTokenizer.ids(text + "|end")) { $0.stopStrings = ["|"] }
        #expect(r.text == text)
        // Every chunk is whole characters: re-encoding gives back exactly its bytes.
        #expect(r.chunks.allSatisfy { !$0.contains("\u{FFFD}") })
        #expect(r.chunks.map { Array($0.utf8) }.joined().elementsEqual(Array(text.utf8)))
        #expect(r.chunks.contains("👋"))
    }

    @Test func stopStringStartingInsideACharacterSplitAcrossTokens() throws {
        let r = try run(ByteTokenizer.ids("x 👋👋 y")) { $0.stopStrings = ["👋👋"] }
        #expect(r.text == "x ")
    }

    @Test func bannedStringRewindsAndResamples() throws {
        let r = try run(ByteTokenizer.ids("I think bad words") + [ByteTokenizer.eos]) { $0.bannedStrings = ["bad"] }
        // At the "b" the model is rewound and its next choice, "X", is taken instead.
        #expect(r.text == "I think Xad words")
        #expect(!r.text.contains("bad"))
        #expect(r.tokens == ByteTokenizer.ids("I think Xad words"))
        // The model's context is the prompt and the kept tokens (the EOS is never evaluated).
        #expect(r.model.context.map { Int32($0) } == prompt + ByteTokenizer.ids("I think Xad words"))
    }

    @Test func bannedStringAtTheVeryStart() throws {
        let r = try run(ByteTokenizer.ids("bad")) { $0.bannedStrings = ["ba"]; $0.maxTokens = 3 }
        #expect(r.text == "Xad")
    }

    @Test func maxTokensEndsWithLength() throws {
        let r = try run(ByteTokenizer.ids("abcdefgh")) { $0.maxTokens = 3 }
        #expect(r.text == "abc")
        #expect(r.reason == .length)
    }

    @Test func minTokensSuppressesEndTokens() throws {
        let script = ByteTokenizer.ids("ab") + [ByteTokenizer.eos] + ByteTokenizer.ids("cdef")
        let early = try run(script) { _ in }
        #expect(early.text == "ab")
        let held = try run(script) { $0.minTokens = 5; $0.maxTokens = 7 }
        // The EOS at position 2 is banned, so the alternative X comes instead.
        #expect(held.text == "abXcdef")
        #expect(held.reason == .length)
    }

    @Test func softMaxTokensEndsAtTheFirstSentenceEndAfterIt() throws {
        // One byte per token: "One." is done by token 4, before the soft limit of 6, so it does not count.
        let r = try run(ByteTokenizer.ids("One. Two three. Four.")) { $0.softMaxTokens = 6 }
        #expect(r.text == "One. Two three.")
        #expect(r.reason == .stop)
        // The space after the period showed the sentence was over; it was sampled, not printed.
        #expect(r.tokens == ByteTokenizer.ids("One. Two three."))
    }

    @Test func aSentenceEndKeepsItsClosingQuotes() throws {
        let r = try run(ByteTokenizer.ids("He said \"Go.\") Then more.")) { $0.softMaxTokens = 1 }
        #expect(r.text == "He said \"Go.\")")
    }

    @Test func fullWidthSentenceEndsNeedNoSpace() throws {
        // 。 is three tokens here; the character after it confirms the end.
        let r = try run(ByteTokenizer.ids("他来了。我们走吧。")) { $0.softMaxTokens = 1 }
        #expect(r.text == "他来了。")
        #expect(r.reason == .stop)
    }

    @Test func noSentenceEndBeforeMaxTokensEndsWithLength() throws {
        let r = try run(ByteTokenizer.ids("no end in sight here")) { $0.softMaxTokens = 2; $0.maxTokens = 8 }
        #expect(r.text == "no end i")
        #expect(r.reason == .length)
    }

    @Test func watchHoldsOnlyPossibleBeginnings() {
        let watch = StringWatch(["STOP", "bad"])
        #expect(watch.heldTail(of: Array("xxST".utf8), from: 0) == 2)
        #expect(watch.heldTail(of: Array("xxSX".utf8), from: 0) == 0)
        #expect(watch.heldTail(of: Array("xxb".utf8), from: 0) == 1)
        #expect(watch.firstMatch(in: Array("a bad STOP".utf8), from: 0) == 2)
        #expect(watch.firstMatch(in: Array("a bad STOP".utf8), from: 3) == 6)
    }
}
