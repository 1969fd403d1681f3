import Foundation
import Testing
import LoomRuntime
import LoomTokenizer
import LoomChatTemplate
@testable import LoomGenerate

/// Many sequences per pass: the engine's batched forward and the continuous-batching scheduler,
/// on the demo model (trained weights, HF bf16 and its GGUF Q8_0 file, whose kernels differ).
@Suite(.serialized) struct BatchingTests {
    static let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Models/loom-demo").path
    static let models = [demo + "/hf", demo + "/gguf/loom-demo-Q8_0.gguf"]

    static func engine(_ path: String, length: Int = 256, parallel: Int = 4, cacheTokens: CacheTokens = .perSequence,
                       pageTokens: Int = 16, chunk: Int = 64, threads: Int = 2) throws -> Engine {
        try Engine(path: path, options: EngineOptions(maxSequenceLength: length, chunkTokens: chunk, cacheType: .fp16, threads: threads,
                                                      parallel: parallel, cacheTokens: cacheTokens, pageTokens: pageTokens))
    }

    static func prompts(_ count: Int, vocab: Int) -> [[Int]] {
        (0..<count).map { i in (0..<(3 + (i * 7) % 40)).map { (i * 31 + $0 * 17 + 5) % vocab } }
    }

    /// Logits of several sequences computed in one pass equal each computed alone, bit for bit:
    /// prompts of different lengths prefilled together, then decode steps for all of them.
    @Test(arguments: models)
    func batchedForwardEqualsSoloForward(_ path: String) throws {
        let batched = try Self.engine(path), solo = try Self.engine(path, parallel: 1)
        let prompts = Self.prompts(4, vocab: batched.config.vocabSize)
        let ids = prompts.map { _ in batched.createSequence() }
        let together = try batched.forward(zip(ids, prompts).map { SequenceChunk(sequence: $0, tokens: $1, logits: .all) })
        for (i, prompt) in prompts.enumerated() {
            solo.reset()
            let alone = try solo.evaluate(prompt, allPositions: true)
            #expect(sameBits(together[i], alone), "prompt \(i), \(path)")
        }
        // Three decode steps of all four in one pass each, against each sequence alone.
        var next = together.map { argmax($0.last!) }
        var soloNext: [Int] = []
        for prompt in prompts {
            solo.reset()
            var token = argmax(try solo.evaluate(prompt)[0])
            for _ in 0..<3 { token = argmax(try solo.evaluate([token])[0]) }
            soloNext.append(token)
        }
        for _ in 0..<3 {
            let rows = try batched.forward(zip(ids, next).map { SequenceChunk(sequence: $0, tokens: [$1]) })
            next = rows.map { argmax($0[0]) }
        }
        #expect(next == soloNext)
    }

    /// A prompt that begins with cached pages maps them (without recomputing) and gets the same
    /// logits as a cold evaluation; a fork shares its parent's pages and continues identically.
    @Test func prefixReuseAndForkMatchColdEvaluation() throws {
        let engine = try Self.engine(Self.models[0], pageTokens: 16)
        let vocab = engine.config.vocabSize
        let system = (0..<50).map { ($0 * 13 + 7) % vocab }
        let first = engine.createSequence()
        _ = try engine.forward([SequenceChunk(sequence: first, tokens: system + [1, 2, 3], logits: .none)])
        engine.free(first)
        let prompt = system + [9, 8, 7, 6]
        let second = engine.createSequence()
        let mapped = try engine.mapCachedPrefix(second, prompt: prompt)
        #expect(mapped == 48, "three full pages of 16 of the shared 50 tokens")
        let warm = try engine.forward([SequenceChunk(sequence: second, tokens: Array(prompt[mapped...]), logits: .all)])[0]
        let cold = try Self.engine(Self.models[0], pageTokens: 16)
        let reference = try cold.evaluate(prompt, allPositions: true)
        #expect(sameBits(warm, Array(reference[mapped...])))
        // A fork in the middle of a page: both continue with their own tokens; the shared page is copied.
        let child = try engine.fork(second, length: 52)
        let a = try engine.forward([SequenceChunk(sequence: second, tokens: [4]), SequenceChunk(sequence: child, tokens: [5])])
        cold.rewind(to: 52)
        let coldChild = try cold.evaluate([5])
        cold.rewind(to: 52)
        _ = try cold.evaluate(Array(prompt[52..<54]))
        let coldParent = try cold.evaluate([4])
        #expect(sameBits(a[0], coldParent))
        #expect(sameBits(a[1], coldChild))
        engine.free(second)
        engine.free(child)
        #expect(engine.pages.isConsistent())
    }

    /// A request's tokens do not depend on what else runs: 16 prompts submitted together, greedy
    /// and seeded, give exactly the tokens each gives alone, on both kernel families; and every
    /// page is free or cached afterwards.
    @Test(arguments: models)
    func sixteenRequestsTogetherMatchEachAlone(_ path: String) throws {
        let files = try ModelFiles(path: path)
        let tokenizer = try Generator.loadTokenizer(files)
        let texts = (0..<16).map { ["The history of", "Once upon a time", "大家好", "In the beginning", "The cat"][$0 % 5] + String(repeating: " and", count: $0 / 5) }
        func options(_ i: Int) -> GenerationOptions {
            var o = GenerationOptions(maxTokens: 24, sampling: i % 2 == 0 ? .greedy : SamplingParameters())
            o.sampling.seed = UInt64(100 + i)
            return o
        }
        func collect(_ generator: Generator, _ indices: [Int]) throws -> [Int: [Int32]] {
            let results = indices.map { _ in LockedTokens() }
            let handles = try indices.enumerated().map { k, i in
                try generator.submit(prompt: generator.encode(texts[i]), options: options(i)) { event in
                    if case .token(let t) = event { results[k].append(t.id) }
                }
            }
            for handle in handles { try handle.wait() }
            return Dictionary(uniqueKeysWithValues: zip(indices, results.map(\.tokens)))
        }
        let together = try Generator(model: try Self.engine(path, parallel: 16), tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer))
        let all = try collect(together, Array(0..<16))
        #expect(together.scheduler!.passes < 16 * 25, "requests shared passes")
        let alone = try Generator(model: try Self.engine(path, parallel: 1), tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer))
        for i in 0..<16 {
            let single = try collect(alone, [i])
            #expect(all[i] == single[i], "request \(i) alone and among 16, \(path)")
            #expect(!(all[i] ?? []).isEmpty)
        }
        let engine = together.model as! Engine
        #expect(engine.pages.referencedPageCount == 1 || engine.pages.referencedPageCount == 0, "only the default sequence's pages")
        #expect(engine.pages.isConsistent())
    }

    /// A pool too small for every request at once preempts the newest and resumes it later:
    /// results stay identical to unconstrained runs, the preempted requests are told, and no page
    /// leaks.
    @Test func preemptedRequestsResumeWithTheSameTokens() throws {
        let path = Self.models[0]
        let files = try ModelFiles(path: path)
        let tokenizer = try Generator.loadTokenizer(files)
        let ends = try StopTokens.of(files, tokenizer: tokenizer)
        // 8 requests of ~40 tokens each but room for ~3 sequences' worth of pages.
        let small = try Generator(model: try Self.engine(path, length: 128, parallel: 8, cacheTokens: .tokens(160), pageTokens: 16),
                                  tokenizer: tokenizer, endTokens: ends)
        let roomy = try Generator(model: try Self.engine(path, length: 128, parallel: 8), tokenizer: tokenizer, endTokens: ends)
        func run(_ generator: Generator) throws -> ([[Int32]], Int) {
            let results = (0..<8).map { _ in LockedTokens() }
            let preempted = LockedTokens()
            var options = GenerationOptions(maxTokens: 30, sampling: .greedy)
            options.stopAtModelEndTokens = false
            let handles = try (0..<8).map { i in
                try generator.submit(prompt: generator.encode("Story \(i): once upon a time"), options: options) { event in
                    if case .token(let t) = event { results[i].append(t.id) }
                    if case .preempted = event { preempted.append(Int32(i)) }
                }
            }
            for handle in handles { try handle.wait() }
            return (results.map(\.tokens), preempted.tokens.count)
        }
        let (constrained, preemptions) = try run(small)
        let (free, none) = try run(roomy)
        #expect(constrained == free)
        #expect(preemptions > 0 && none == 0)
        #expect(small.scheduler!.preemptions == preemptions)
        let engine = small.model as! Engine
        #expect(engine.pages.isConsistent())
        #expect(engine.pages.referencedPageCount <= 1)
    }

    /// Cancelling one request frees its pages within one step and leaves the others untouched.
    @Test func cancellingOneRequestDoesNotDisturbTheOthers() throws {
        let path = Self.models[0]
        let files = try ModelFiles(path: path)
        let tokenizer = try Generator.loadTokenizer(files)
        let ends = try StopTokens.of(files, tokenizer: tokenizer)
        var options = GenerationOptions(maxTokens: 40, sampling: .greedy)
        options.stopAtModelEndTokens = false
        let generator = try Generator(model: try Self.engine(path, parallel: 4), tokenizer: tokenizer, endTokens: ends)
        let texts = ["The history of", "Once upon a time", "The cat"]
        let results = texts.map { _ in LockedTokens() }
        let reasons = Locked<[Int: FinishReason]>([:])
        let victim = Locked<GenerationHandle?>(nil)
        let handles = try texts.enumerated().map { i, text in
            try generator.submit(prompt: generator.encode(text), options: options) { event in
                if case .token(let t) = event {
                    results[i].append(t.id)
                    if i == 1 && results[i].tokens.count >= 5 { victim.withLock { $0?.cancel() } }
                }
                if case .finished(let reason, _) = event { reasons.withLock { $0[i] = reason } }
            }
        }
        victim.withLock { $0 = handles[1] }
        for handle in handles { try handle.wait() }
        let finished = reasons.withLock { $0 }
        #expect(finished[1] == .cancelled)
        #expect(finished[0] == .length && finished[2] == .length)
        // Cancelled within a step of the fifth token (tokens are released as they are made).
        #expect(results[1].tokens.count <= 7)
        let alone = try Generator(model: try Self.engine(path, parallel: 1), tokenizer: tokenizer, endTokens: ends)
        for i in [0, 2] {
            let single = LockedTokens()
            try alone.submit(prompt: alone.encode(texts[i]), options: options) { if case .token(let t) = $0 { single.append(t.id) } }.wait()
            #expect(results[i].tokens == single.tokens)
        }
        let engine = generator.model as! Engine
        #expect(engine.pages.isConsistent() && engine.pages.referencedPageCount <= 1)
    }

    /// With several sequences, each still holds `--max-seq-len` positions (the RoPE table's
    /// length): a run that fills its context ends with `length`, not a context error.
    @Test func eachParallelSequenceReachesTheFullContext() throws {
        let path = Self.models[0]
        let files = try ModelFiles(path: path)
        let tokenizer = try Generator.loadTokenizer(files)
        let generator = try Generator(model: try Self.engine(path, length: 40, parallel: 2, pageTokens: 16),
                                      tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer))
        var options = GenerationOptions(maxTokens: 100, sampling: .greedy)
        options.stopAtModelEndTokens = false
        let reasons = Locked<[FinishReason]>([])
        let counts = (0..<2).map { _ in LockedTokens() }
        let handles = try (0..<2).map { i in
            try generator.submit(prompt: generator.encode(i == 0 ? "The history of" : "Once upon a time"), options: options) { event in
                if case .token(let t) = event { counts[i].append(t.id) }
                if case .finished(let reason, _) = event { reasons.withLock { $0.append(reason) } }
            }
        }
        for handle in handles { try handle.wait() }
        #expect(reasons.withLock { $0 } == [.length, .length])
        for i in 0..<2 { #expect(generator.encode(i == 0 ? "The history of" : "Once upon a time").count + counts[i].tokens.count == 41) }
    }
}

final class LockedTokens: @unchecked Sendable {
    private var values: [Int32] = []
    private let lock = NSLock()
    func append(_ id: Int32) { lock.withLock { values.append(id) } }
    var tokens: [Int32] { lock.withLock { values } }
}

final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { lock.lock(); defer { lock.unlock() }; return body(&value) }
}

/// Whether two sets of logit rows are equal bit for bit (no tolerance: a row must not depend on
/// the others in its pass).
private func sameBits(_ a: [[Float]], _ b: [[Float]]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.map(\.bitPattern) == $1.map(\.bitPattern) }
}

private func argmax(_ values: [Float]) -> Int { values.indices.max { values[$0] < values[$1] }! }

/// The README's batching example: the block in README.md is the compiled one, and running it
/// gives each prompt the text it gets alone.
@Suite struct BatchingReadmeTests {
    @Test func readmeBlockMatchesTheCompiledExample() throws {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let source = try String(contentsOf: here.appendingPathComponent("ReadmeExample.swift"), encoding: .utf8)
        let readme = try String(contentsOf: here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        let begin = source.range(of: "// README-BATCH-EXAMPLE-BEGIN\n")!, end = source.range(of: "// README-BATCH-EXAMPLE-END")!
        #expect(readme.contains("```swift\n" + String(source[begin.upperBound..<end.lowerBound]) + "```"),
                "README.md's batching example differs from Tests/LoomGenerateTests/ReadmeExample.swift")
    }

    @Test func readmeExampleRunsAndMatchesEachPromptAlone() async throws {
        let prompts = ["The history of", "Once upon a time", "大家好", "The cat"]
        let together = try await continueTogether(prompts, modelPath: BatchingTests.models[0])
        for (i, prompt) in prompts.enumerated() {
            let alone = try await continueTogether([prompt], modelPath: BatchingTests.models[0])
            #expect(together[i] == alone[0])
        }
        #expect(together.allSatisfy { !$0.isEmpty })
    }
}

/// The plan counts the page pool: with 1 to 16 sequences running at once, each device's measured
/// peak equals its planned bytes (within the arena's per-buffer alignment slack).
@Suite struct PagePoolPlanTests {
    @Test(arguments: [1, 4, 16])
    func measuredPeakEqualsThePlan(parallel: Int) throws {
        let path = BatchingTests.models[1]
        let engine = try BatchingTests.engine(path, length: 96, parallel: parallel, pageTokens: 16)
        #expect(engine.plan.cachePages == parallel * 6)
        let files = try ModelFiles(path: path)
        let tokenizer = try Generator.loadTokenizer(files)
        let generator = try Generator(model: engine, tokenizer: tokenizer, endTokens: [])
        var options = GenerationOptions(maxTokens: 40, sampling: .greedy)
        options.stopAtModelEndTokens = false
        let handles = try (0..<parallel).map { i in
            try generator.submit(prompt: generator.encode("Prompt number \(i) and some more words"), options: options) { _ in }
        }
        for handle in handles { try handle.wait() }
        for device in engine.usage where device.plannedBytes > 0 {
            // Up to 64 bytes of alignment per buffer; a model of 7 layers holds fewer than 64 buffers.
            #expect(device.peakBytes <= device.plannedBytes + 64 * 64 && device.peakBytes >= device.plannedBytes - 64 * 64,
                    "\(device.name): planned \(device.plannedBytes), peak \(device.peakBytes) \(device.byLabel)")
        }
    }
}

/// A conversation's next prompt starts with exactly the tokens the model held after the last
/// reply, and its text is the template's rendering of the whole conversation.
@Suite struct ChatConversationTests {
    @Test func nextPromptExtendsTheHeldTokens() throws {
        let path = BatchingTests.models[0]
        let files = try ModelFiles(path: path)
        let tokenizer = try Generator.loadTokenizer(files)
        let conversation = try ChatConversation(chat: try ModelChatTemplate.load(model: path), tokenizer: tokenizer, system: "Be brief.")
        let first = try conversation.prompt(user: "Hello there")
        // A reply whose tokens are not what encoding its text gives: the held tokens win.
        let reply = "Hi! How can I help?"
        var replyTokens = tokenizer.encode(reply, addBOS: false)
        if replyTokens.count > 1 { replyTokens = Array(replyTokens.prefix(1)) + tokenizer.encode(String(reply.dropFirst()), addBOS: false) }
        conversation.record(reply: reply, tokens: replyTokens)
        let second = try conversation.prompt(user: "Tell me more")
        #expect(Array(second.prefix(first.count + replyTokens.count)) == first + replyTokens)
        // The text is the whole conversation as the template renders it.
        let whole = tokenizer.decode(second)
        #expect(whole.contains("Be brief.") && whole.contains("Hello there") && whole.contains(reply) && whole.contains("Tell me more"))
        #expect(conversation.messages.map { $0["role"]! } == ["system", "user", "assistant", "user"])
        conversation.reset()
        #expect(try conversation.prompt(user: "Hello there") == first)
    }
}
