import Foundation
import Logging
import LoomChatTemplate
import LoomGenerate
import LoomRuntime
import LoomServer
import LoomTokenizer
import Synchronization
import Testing

/// A model that writes a script: whatever the prompt, its logits make the script's next token
/// the only choice, then the end token. It batches like an engine (a page pool, sequences), so
/// the server runs it through the real scheduler.
final class ScriptedModel: TokenEvaluator, BatchEvaluator, @unchecked Sendable {
    let script: [Int32]
    let endToken: Int32
    let vocabularySize: Int
    let capacity = 4096
    let chunkTokens = 512
    let pages = PagePool(pageTokens: 16, pageCount: 1024, maxSequenceLength: 4096)
    private var defaultSequence: SequenceID

    init(script: [Int32], endToken: Int32, vocabularySize: Int) {
        self.script = script
        self.endToken = endToken
        self.vocabularySize = vocabularySize
        defaultSequence = pages.create()
    }

    /// The script's next token after `tokens`: the longest tail of `tokens` that begins the script says how far it got.
    private func next(after tokens: [Int32]) -> Int32 {
        for k in stride(from: min(script.count, tokens.count), through: 1, by: -1) where Array(tokens.suffix(k)) == Array(script.prefix(k)) {
            return k < script.count ? script[k] : endToken
        }
        return script.first ?? endToken
    }

    private func oneHot(_ id: Int32) -> [Float] {
        var row = [Float](repeating: -30, count: vocabularySize)
        row[Int(id)] = 30
        return row
    }

    func createSequence(cacheSalt: String?) -> SequenceID { pages.create(cacheSalt: cacheSalt) }
    func mapCachedPrefix(_ id: SequenceID, prompt: [Int]) throws -> Int { try pages.mapCachedPrefix(id, prompt: prompt.map(Int32.init)) }
    func truncate(_ id: SequenceID, to length: Int) throws { try pages.truncate(id, to: length) }
    func free(_ id: SequenceID) { pages.free(id) }
    func length(_ id: SequenceID) throws -> Int { try pages.length(id) }

    func forward(_ chunks: [SequenceChunk]) throws -> [[[Float]]] {
        try chunks.map { chunk in
            let tokens = chunk.tokens.map(Int32.init)
            _ = try pages.reserve(chunk.sequence, appending: tokens.count)
            try pages.commit(chunk.sequence, tokens: tokens)
            let all = try pages.tokens(chunk.sequence)
            switch chunk.logits {
            case .none: return []
            case .last: return [oneHot(next(after: all))]
            case .all: return (1...tokens.count).map { oneHot(next(after: Array(all.prefix(all.count - tokens.count + $0)))) }
            }
        }
    }

    var position: Int { (try? pages.length(defaultSequence)) ?? 0 }
    func evaluate(_ tokens: [Int], allPositions: Bool) throws -> [[Float]] {
        try forward([SequenceChunk(sequence: defaultSequence, tokens: tokens, logits: allPositions ? .all : .last)])[0]
    }
    func rewind(to position: Int) { try? pages.truncate(defaultSequence, to: position) }
}

/// Tool calls through the whole server: a scripted model writes each format's calls, the real
/// server parses them, and the official `openai` client reads the response and the stream.
@Suite(.serialized)
struct ToolCallServerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = root.appendingPathComponent(".fixtures/venv-openai/bin/python").path
    static let checks = root.appendingPathComponent("Tests/ServerChecks/openai_checks.py").path

    /// The replies are what each model family writes (the formats its chat template documents).
    static let cases: [(template: String, reply: String)] = [
        ("Qwen-Qwen2.5-7B-Instruct.jinja",
         "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"Europe/Paris\"}}\n</tool_call>"),
        ("meta-llama-Llama-3.1-8B-Instruct.jinja",
         "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}"),
        ("mistralai-Mistral-Nemo-Instruct-2407.jinja",
         "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}, {\"name\": \"get_time\", \"arguments\": {\"zone\": \"Europe/Paris\"}}]"),
    ]

    @Test(arguments: 0..<3)
    func toolCallsReachTheOpenAIClient(_ index: Int) async throws {
        try await Self.serve(template: Self.cases[index].template, reply: Self.cases[index].reply, group: "tools", format: index)
    }

    /// A model that would answer in text still calls a tool when `tool_choice` is "required" or
    /// names a function: the call's grammar (the format's markers around a JSON Schema of the
    /// tools' parameters) constrains sampling.
    @Test(arguments: 0..<3)
    func requiredToolChoiceMakesATextModelCall(_ index: Int) async throws {
        try await Self.serve(template: Self.cases[index].template, reply: "The weather is fine, I think.", group: "required", format: index)
    }

    static func serve(template templateFile: String, reply: String, group: String, format index: Int) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python), "run tools/fixtures/fetch (it makes the openai client's environment)")
        let templatePath = Self.root.appendingPathComponent(".fixtures/templates/\(templateFile)")
        let source = try #require(try? String(contentsOf: templatePath, encoding: .utf8), "run tools/fixtures/fetch-templates for \(templateFile)")
        let tokenizer = try Tokenizer.load(modelDirectory: Self.root.appendingPathComponent("Models/loom-demo/hf").path)
        let end = try #require(tokenizer.encode("<|im_end|>", parseSpecial: true).last)
        let model = ScriptedModel(script: tokenizer.encode(reply, parseSpecial: false, addBOS: false), endToken: end,
                                  vocabularySize: tokenizer.vocabularySize)
        let generator = try Generator(model: model, tokenizer: tokenizer, endTokens: [end], parallel: 4)
        let chat = ModelChatTemplate(templates: ["default": source], bosToken: "<s>", eosToken: "</s>", path: templatePath.path)
        let served = try ServedModel(name: "scripted", generator: generator, engine: nil, chat: chat)
        #expect(served.toolCallFormat != nil, "no tool-call format detected for \(templateFile)")

        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.sampling = .greedy
        configuration.shutdownDeadline = .seconds(1)
        var logger = Logger(label: "loom.serve.test")
        // Cancelling the server's task at the end of the test makes Hummingbird log errors about the cancellation.
        logger.logLevel = .critical
        let server = LoomServer(configuration: configuration, logger: logger)
        let port = Mutex<Int?>(nil)
        // The server runs on threads of its own: tests running beside this one block the cooperative
        // pool's threads (two on a 2-core machine), and a server on that pool would starve.
        let task = Task(executorPreference: Self.serverThreads) {
            try await server.run(load: { served }, onListening: { p in port.withLock { $0 = p } })
        }
        var bound: Int?
        for _ in 0..<400 where bound == nil {
            try await Task.sleep(for: .milliseconds(25))
            bound = port.withLock { $0 }
        }
        guard let listening = bound else {
            await server.stop()
            Issue.record("the server did not start")
            return
        }

        let result = try await Self.onThread {
            try Self.runChecks(["--base-url", "http://127.0.0.1:\(listening)", "--group", group, "--expect-format", String(index)])
        }
        let reports = result.stdout.split(separator: "\n").compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(!reports.isEmpty, "no checks ran:\n\(result.stdout)\n\(result.stderr)")
        for report in reports {
            #expect(report["ok"] as? Bool == true, "\(templateFile): \(report["check"] ?? "?"): \(report["detail"] ?? "")")
        }
        #expect(result.status == 0, "\(result.stderr.suffix(2000))")
        // A graceful stop, not task.cancel(): see LoomServer.stop.
        await server.stop()
        _ = try? await task.value
    }

    static let serverThreads = ThreadPoolTaskExecutor(threads: 2)

    /// Runs blocking work on a thread of its own, not on the cooperative pool.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    static func runChecks(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-tool-checks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("out"), err = folder.appendingPathComponent("err")
        try Data().write(to: out)
        try Data().write(to: err)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [checks] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}

/// A task executor with threads of its own.
final class ThreadPoolTaskExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(threads: Int) {
        for i in 0..<threads {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "server-test-\(i)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
