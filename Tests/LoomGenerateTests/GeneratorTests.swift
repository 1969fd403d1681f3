import Foundation
import Testing
import LoomRuntime
import LoomTokenizer
@testable import LoomGenerate

/// The Swift API on a real engine (the transformers golden qwen2-bias-tied-bf16, vocabulary 256,
/// with a byte-level tokenizer) and on the scripted model.
struct GeneratorTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/goldens/qwen2-bias-tied-bf16").path

    struct Greedy: Decodable { let prompt: [Int32]; let tokens: [Int32] }

    static func greedyGolden() throws -> Greedy {
        try JSONDecoder().decode(Greedy.self, from: Data(contentsOf: URL(fileURLWithPath: goldenDirectory + "/greedy.json")))
    }

    /// A model directory: the golden's weights plus a byte-level tokenizer.json (id b = byte b).
    static func goldenModelDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-golden-\(UUID().uuidString)").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["config.json", "generation_config.json", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: goldenDirectory + "/" + name, toPath: dir + "/" + name)
        }
        // GPT-2's byte-to-character map, so the BPE vocabulary spells every byte.
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var chars = printable
        var extra = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
        }
        var vocab: [String: Int] = [:]
        for (b, c) in zip(printable, chars) { vocab[String(UnicodeScalar(UInt32(c))!)] = b }
        let tokenizer: [String: Any] = [
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()],
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
            "decoder": ["type": "ByteLevel"],
            "added_tokens": [[String: Any]](),
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))
        return dir
    }

    @Test func greedyMatchesTransformers() async throws {
        let golden = try Self.greedyGolden()
        // Pages of 4 tokens, so the follow-up below reuses most of its short prompt.
        let generator = try Generator(modelPath: try Self.goldenModelDirectory(), options: EngineOptions(pageTokens: 4))
        // EOS ids 2 and 3 (generation_config.json's list) are ends; the golden never reaches one.
        #expect(generator.endTokens == [2, 3])
        var options = GenerationOptions(maxTokens: golden.tokens.count, sampling: .greedy)
        options.topLogprobs = 3
        var ids: [Int32] = [], tokens: [GeneratedToken] = [], finish: FinishReason?, timings: GenerationTimings?
        for try await event in generator.generate(prompt: golden.prompt, options: options) {
            switch event {
            case .token(let t): ids.append(t.id); tokens.append(t)
            case .finished(let r, let t): finish = r; timings = t
            case .text, .preempted: break
            }
        }
        #expect(ids == golden.tokens)
        #expect(finish == .length)
        // The first token's logprobs against the transformers logits of the last prompt position.
        let raw = try Data(contentsOf: URL(fileURLWithPath: Self.goldenDirectory + "/logits.f32"))
        let last: [Float] = raw.withUnsafeBytes { b in
            (0..<256).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: ((golden.prompt.count - 1) * 256 + $0) * 4, as: UInt32.self))) }
        }
        let m = last.max()!
        let logZ = Double(m) + log(last.reduce(0.0) { $0 + exp(Double($1 - m)) })
        let order = last.indices.sorted { last[$0] > last[$1] }
        #expect(tokens[0].topLogprobs.map { Int($0.id) } == Array(order.prefix(3)))
        for t in tokens[0].topLogprobs { #expect(abs(Double(t.logprob) - (Double(last[Int(t.id)]) - logZ)) < 2e-2) }
        #expect(timings!.promptTokens == golden.prompt.count && timings!.generatedTokens == golden.tokens.count)
        #expect(timings!.timeToFirstToken > 0 && timings!.generationTokensPerSecond > 0 && timings!.promptTokensPerSecond > 0)

        // A follow-up prompt that extends the first reuses the cached prefix (whole pages, never
        // the last prompt token) and continues the same way.
        let extended = golden.prompt + golden.tokens.prefix(6)
        var again: [Int32] = [], reused = GenerationTimings()
        for try await event in generator.generate(prompt: extended, options: GenerationOptions(maxTokens: 10, sampling: .greedy)) {
            if case .token(let t) = event { again.append(t.id) }
            if case .finished(_, let t) = event { reused = t }
        }
        #expect(again == Array(golden.tokens[6..<16]))
        #expect(reused.reusedPromptTokens == (extended.count - 1) / 4 * 4)
        #expect(reused.promptTokens == extended.count - reused.reusedPromptTokens)
    }

    @Test func cancellingTheConsumerStopsWithinAStep() async throws {
        let script = Array(repeating: Int32(UInt8(ascii: "a")), count: 1000)
        let model = ScriptedModel(script: script, alternative: 66, promptLength: 1, delay: 0.001)
        // The model stops at its 20th call until the consumer has been cancelled, so the test
        // does not depend on how soon a loaded machine runs each task.
        let gate = DispatchSemaphore(value: 0)
        model.gate = gate
        model.gateAfter = 20
        let generator = try Generator(model: model, tokenizer: ByteTokenizer.shared, endTokens: [])
        let stream = generator.generate(prompt: [65], options: GenerationOptions(maxTokens: 1000, sampling: .greedy))
        let consumer = Task {
            var seen = 0
            for try await event in stream { if case .text = event { seen += 1 } }
            return seen
        }
        while model.calls < 20 { try await Task.sleep(for: .milliseconds(5)) }
        consumer.cancel()
        let seen = try await consumer.value
        let atCancel = model.calls
        gate.signal()
        try await Task.sleep(for: .milliseconds(300))
        // At most the step in flight finished after the cancel.
        #expect(model.calls <= atCancel + 1)
        #expect(seen < 20)
        // The generator is free again: a new generation starts and ends normally.
        var reason: FinishReason?
        for try await event in generator.generate(prompt: [65], options: GenerationOptions(maxTokens: 3, sampling: .greedy)) {
            if case .finished(let r, _) = event { reason = r }
        }
        #expect(reason == .length)
    }

    @Test func readmeExampleRuns() async throws {
        let text = try await continueText("Hi", modelPath: try Self.goldenModelDirectory())
        #expect(!text.isEmpty)
    }

    @Test func readmeBlockMatchesTheCompiledExample() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let source = try String(contentsOf: here.appendingPathComponent("ReadmeExample.swift"), encoding: .utf8)
        let readme = try String(contentsOf: here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let begin = source.range(of: "// README-EXAMPLE-BEGIN\n")!, end = source.range(of: "// README-EXAMPLE-END")!
        let example = String(source[begin.upperBound..<end.lowerBound])
        #expect(readme.contains("```swift\n" + example + "```"), "README.md's Swift API example differs from Tests/LoomGenerateTests/ReadmeExample.swift")
    }

    @Test func stopTokensFromEveryFile() throws {
        let files = try ModelFiles(path: Self.goldenDirectory)
        // config.json says 3, generation_config.json says [2, 3].
        #expect(try StopTokens.of(files, tokenizer: nil) == [2, 3])
        #expect(try StopTokens.of(files, tokenizer: ByteTokenizer.shared) == [2, 3])
    }

    @Test func badRequestsAreTypedErrors() throws {
        let model = ScriptedModel(script: [], alternative: 66, promptLength: 1)
        let generator = try Generator(model: model, tokenizer: ByteTokenizer.shared, endTokens: [])
        #expect(throws: GenerationError.emptyPrompt) { try generator.makeRun(prompt: []) }
        #expect(throws: GenerationError.self) { try generator.makeRun(prompt: [9999]) }
        let small = ScriptedModel(script: [], alternative: 66, promptLength: 1, vocabularySize: 100)
        #expect(throws: GenerationError.vocabularyMismatch(tokenizer: 257, model: 100)) {
            try Generator(model: small, tokenizer: ByteTokenizer.shared, endTokens: [])
        }
    }
}
