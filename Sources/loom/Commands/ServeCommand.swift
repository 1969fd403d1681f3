import ArgumentParser
import Foundation
import Logging
import LoomCore
import LoomChatTemplate
import LoomGenerate
import LoomRuntime
import LoomServer
import LoomTokenizer

/// `loom serve`: the OpenAI-compatible HTTP server.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API.",
        discussion: """
        Plans memory first (the weights and a KV-cache page pool for --parallel sequences of --max-seq-len
        tokens each), prints the plan, and exits with status 2 if it does not fit. Then it listens, loads
        the model (GET /health answers 503 until it is ready) and serves POST /v1/chat/completions,
        /v1/completions, /tokenize, /detokenize, /apply-template and GET /v1/models, /health, /metrics, /slots;
        with --embedding-model, also POST /v1/embeddings.
        SIGTERM or SIGINT stops it: new requests get 503, running ones have --shutdown-timeout seconds to
        finish, then they are cancelled and their streams end.
        """)

    @OptionGroup var options: RunOptions
    @OptionGroup var sampling: SamplingFlags
    @OptionGroup var speculation: SpeculationFlags

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Port to listen on; 0 picks a free one (printed once listening).")
    var port = 8080

    @Option(name: .customLong("api-key-file"), help: "A file of API keys, one per line; clients then send one as a bearer token or in x-api-key.")
    var apiKeyFile: String?

    @Option(name: .customLong("metrics-key"), help: "A key that GET /metrics then requires (default: /metrics is open).")
    var metricsKey: String?

    @Option(name: .customLong("alias"), help: "The model id reported to clients (default: the model's file or folder name).")
    var alias: String?

    @Option(name: .customLong("max-queue"), parsing: .unconditional, help: "Requests running or queued at most; more get 503 and Retry-After.")
    var maxQueue = 256

    @Option(name: .customLong("max-body-bytes"), parsing: .unconditional, help: "Largest request body accepted; larger ones get 413.")
    var maxBodyBytes = 8 << 20

    @Option(name: .customLong("shutdown-timeout"), parsing: .unconditional, help: "Seconds running requests may go on after SIGTERM before they are cancelled.")
    var shutdownTimeout = 10.0

    @Option(name: .customLong("template-name"), help: "Which of several named chat templates to use.")
    var templateName: String?

    @Option(name: .customLong("prompt-tokens-per-step"), parsing: .unconditional,
            help: "Prompt tokens one pass takes at most while other requests are generating (0: up to --chunk); smaller keeps their token gaps short.")
    var promptTokensPerStep = Scheduler.defaultPromptTokensPerStep

    @Option(name: .customLong("embedding-model"),
            help: "A sentence encoder (BERT / sentence-transformers directory) that POST /v1/embeddings answers with.")
    var embeddingModel: String?

    @Option(name: .customLong("embedding-alias"), help: "The id the sentence encoder is reported under (default: its folder name).")
    var embeddingAlias: String?

    @Option(name: .customLong("tool-call-format"),
            help: "How the model writes tool calls: \(ToolCallFormat.allCases.map(\.rawValue).joined(separator: ", ")) (default: detected from the chat template).")
    var toolCallFormat: String?

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be within 0...65535, got \(port)") }
        try requireAtLeast(1, maxQueue, "--max-queue")
        try requireAtLeast(0, promptTokensPerStep, "--prompt-tokens-per-step")
        if let toolCallFormat, ToolCallFormat(name: toolCallFormat) == nil {
            throw ValidationError("--tool-call-format must be one of \(ToolCallFormat.allCases.map(\.rawValue).joined(separator: ", ")), got \(toolCallFormat)")
        }
        try requireAtLeast(1024, maxBodyBytes, "--max-body-bytes")
        guard shutdownTimeout >= 0 && shutdownTimeout.isFinite else {
            throw ValidationError("--shutdown-timeout must be at least 0 seconds, got \(shutdownTimeout)")
        }
    }

    func run() throws {
        // The CLI's other commands are synchronous; the server runs on Swift's concurrency pool
        // while this thread waits for it to stop.
        let finished = DispatchSemaphore(value: 0)
        let outcome = Locked<Result<Void, Error>>(.success(()))
        Task {
            do { try await serve() } catch { outcome.withLock { $0 = .failure(error) } }
            finished.signal()
        }
        finished.wait()
        try outcome.withLock { $0 }.get()
    }

    private func serve() async throws {
        let (configuration, files, plan, embedder) = try reportingErrors { () throws -> (ServerConfiguration, ModelFiles, MemoryPlan, Embedder?) in
            var configuration = ServerConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.apiKeys = try apiKeyFile.map(readKeys) ?? []
            configuration.metricsKeys = metricsKey.map { [$0] } ?? []
            configuration.maxInFlight = maxQueue
            configuration.maxBodyBytes = maxBodyBytes
            configuration.shutdownDeadline = .milliseconds(Int64(shutdownTimeout * 1000))
            configuration.sampling = try sampling.parameters()
            configuration.speculation = try speculation.speculation()
            if Embedder.isEncoder(path: options.model) {
                throw ValidationError("\(options.model) is a sentence encoder, not a text generation model; serve it with "
                                      + "--embedding-model \(options.model) (beside --model, the demo model by default)")
            }
            let files = try ModelFiles(path: options.model)
            let plan = try options.makePlan(files, logitsRows: options.planning.parallel.widths.max() ?? 1)
            // The encoder's weights are mapped, not read, so it loads here and a bad directory stops the start.
            let embedder = try embeddingModel.map { try Embedder(path: $0, options: EmbedderOptions(threads: options.planning.threads)) }
            return (configuration, files, plan, embedder)
        }
        printError(PlanReport.table(plan, weightsOnly: nil))
        if let embedder { printError("sentence encoder \(embedder.path): " + embedder.plan.report.joined(separator: "; ")) }
        guard plan.fits else {
            printError("error: the plan does not fit; see the suggestions above")
            throw ExitCode(2)
        }
        let name = alias ?? Self.modelName(options.model, isDemo: options.modelPath == nil)
        let modelPath = options.model
        let templateName = templateName
        let toolCallFormat = toolCallFormat
        let promptTokensPerStep = promptTokensPerStep
        let embeddingAlias = embeddingAlias
        let speculationFlags = speculation
        var logger = Logger(label: "loom.serve")
        logger.logLevel = .warning
        let server = LoomServer(configuration: configuration, logger: logger)
        let address = host
        try await server.run(load: {
            let tokenizer = try Generator.loadTokenizer(files)
            let engine = try Engine(config: files.config, source: files.source, ropeLayout: files.ropeLayout, plan: plan)
            let generator = try Generator(model: engine, tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer),
                                          promptTokensPerStep: promptTokensPerStep)
            // A draft model loads beside the target, on its threads, with a plan of its own.
            let drafting = speculationFlags.draft == nil ? nil : try speculationFlags.speculation(target: engine)
            // With speculation configured, what its passes cost here is measured before serving.
            if let speculating = drafting ?? configuration.speculation {
                try generator.measureSpeculationCosts(maxProposals: speculating.maxDraft)
            }
            if let draft = drafting?.draftModel {
                printError("loom serve: draft \(speculationFlags.draft!): " + draft.planSummary)
            }
            var chat: ModelChatTemplate?
            var problem: String?
            do { chat = try ModelChatTemplate.load(model: modelPath) } catch { problem = "\(error)" }
            let model = try ServedModel(name: name, generator: generator, engine: engine, chat: chat, chatTemplateProblem: problem,
                                        templateName: templateName, toolCallFormatName: toolCallFormat,
                                        embedder: embedder, embeddingName: embeddingAlias, speculation: drafting)
            printError("loom serve: \(name) is ready (context \(engine.capacity) tokens per sequence, \(plan.request.parallel) in parallel)")
            return model
        }, onListening: { port in
            printError("loom serve: listening on http://\(address):\(port)")
        })
        printError("loom serve: stopped")
    }

    /// The id a model is served under: its file name without `.gguf`, or its folder's name.
    static func modelName(_ path: String, isDemo: Bool) -> String {
        if isDemo { return "loom-demo" }
        let last = URL(fileURLWithPath: path).standardizedFileURL.lastPathComponent
        return last.hasSuffix(".gguf") ? String(last.dropLast(5)) : last
    }

    private func readKeys(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--api-key-file \(path): no such file or it cannot be read")
        }
        let keys = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !keys.isEmpty else { throw ValidationError("--api-key-file \(path): holds no keys (one per line)") }
        return keys
    }
}
