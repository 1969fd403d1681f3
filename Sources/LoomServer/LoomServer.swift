import Foundation
import Hummingbird
import Logging
import LoomCore
import NIOCore
import ServiceLifecycle

/// The request context: Hummingbird's, plus the connection, so a hang-up can cancel work.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// An OpenAI-compatible HTTP server over one model's continuous-batching scheduler.
///
/// It listens first and loads the model after, so `/health` can answer 503 while it loads.
/// SIGTERM or SIGINT drains it: new generations get a 503, running ones may finish within
/// `shutdownDeadline`, the rest are cancelled (their streams end cleanly), and `run` returns.
public final class LoomServer: Sendable {
    public let configuration: ServerConfiguration
    let state: ServerState
    let metrics = ServerMetrics()
    let hangUps = HangUps()
    let logger: Logger
    /// The services while `run` runs, for `stop`.
    private let running = Locked<ServiceGroup?>(nil)

    public init(configuration: ServerConfiguration, logger: Logger = Logger(label: "loom.serve")) {
        self.configuration = configuration
        state = ServerState(maxInFlight: configuration.maxInFlight)
        self.logger = logger
    }

    /// Serves until a shutdown signal.
    /// - Parameters:
    ///   - load: loads the model (on a thread of its own); a throw leaves the server answering
    ///     500s that say why, until it is stopped.
    ///   - onListening: told the port once the socket is bound (the real one when `port` is 0).
    public func run(load: @escaping @Sendable () throws -> ServedModel, onListening: @escaping @Sendable (Int) -> Void) async throws {
        let responder = CallbackResponder<ServerContext> { [self] request, context in await self.respond(request, context: context) }
        let state = self.state
        let logger = self.logger
        let hangUps = self.hangUps
        let app = Application(
            responder: responder,
            server: .http1(configuration: .init(additionalChannelHandlers: [HangUpHandler(hangUps: hangUps)])),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "loom"),
            onServerRunning: { channel in
                onListening(channel.localAddress?.port ?? 0)
                let thread = Thread {
                    do {
                        state.setReady(try load())
                    } catch {
                        logger.error("the model failed to load: \(error)")
                        state.setFailed("\(error)")
                    }
                }
                thread.name = "loom-load"
                thread.stackSize = 8 << 20
                thread.start()
            },
            logger: logger)
        let drain = DrainService(state: state, deadline: configuration.shutdownDeadline, logger: logger)
        // Shutdown runs in reverse order: the drain first, while the server still answers, then the server.
        let group = ServiceGroup(configuration: .init(services: [app, drain], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        running.withLock { $0 = group }
        defer { running.withLock { $0 = nil } }
        try await group.run()
    }

    /// Shuts down as SIGTERM does: new requests get a 503, running ones have the shutdown deadline
    /// to finish, then `run` returns. For apps and tests that host the server: cancelling the task
    /// that runs it instead can deadlock swift-async-algorithms' merge inside Hummingbird
    /// (its cancellation handler takes a lock another thread holds while it waits on the task).
    public func stop() async {
        guard let group = running.withLock({ $0 }) else { return }
        await group.triggerGracefulShutdown()
    }

    /// Routes a request, checks its key, and answers every failure in OpenAI's error shape.
    private func respond(_ request: Request, context: ServerContext) async -> Response {
        let path = request.uri.path
        let response: Response
        do {
            response = try await route(request, path: path, context: context)
        } catch let error as APIError {
            response = error.response()
        } catch is NIOTooManyBytesError {
            response = APIError.bodyTooLarge(limit: configuration.maxBodyBytes).response()
        } catch {
            response = APIError.server("\(error)").response()
        }
        metrics.request(path: Self.knownPaths.contains(path) ? path : "other", status: Int(response.status.code))
        return response
    }

    static let knownPaths: Set<String> = ["/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings",
                                          "/tokenize", "/detokenize", "/apply-template", "/slots"]

    private func route(_ request: Request, path: String, context: ServerContext) async throws -> Response {
        let utility = UtilityEndpoints(state: state, metrics: metrics)
        let completions = CompletionEndpoints(state: state, metrics: metrics, configuration: configuration, hangUps: hangUps)
        func only(_ method: HTTPRequest.Method) throws {
            guard request.method == method else { throw APIError.methodNotAllowed(request.method, path) }
        }
        func body() async throws -> RequestFields {
            var request = request
            let buffer = try await request.collectBody(upTo: configuration.maxBodyBytes)
            return try RequestFields(body: Array(buffer.readableBytesView))
        }
        func authorize(_ keys: KeyRing) throws {
            guard keys.admits(request) else { throw APIError.unauthorized }
        }
        let apiKeys = KeyRing(configuration.apiKeys)
        switch path {
        case "/health":
            try only(.get)
            return utility.health()
        case "/metrics":
            try only(.get)
            try authorize(KeyRing(configuration.metricsKeys))
            return utility.metricsText()
        default:
            break
        }
        try authorize(apiKeys)
        switch path {
        case "/v1/models", "/models":
            try only(.get)
            return try utility.models()
        case "/slots":
            try only(.get)
            return try utility.slots()
        case "/v1/chat/completions", "/chat/completions":
            try only(.post)
            return try await completions.chat(try await body(), context: context)
        case "/v1/completions", "/completions":
            try only(.post)
            return try await completions.completion(try await body(), context: context)
        case "/v1/embeddings", "/embeddings":
            try only(.post)
            return try await EmbeddingEndpoint(state: state).embeddings(try await body())
        case "/tokenize":
            try only(.post)
            return try utility.tokenize(try await body())
        case "/detokenize":
            try only(.post)
            return try utility.detokenize(try await body())
        case "/apply-template":
            try only(.post)
            return try utility.applyTemplate(try await body())
        default:
            throw APIError.notFound(path)
        }
    }
}

/// At shutdown: refuse new generations, let running ones finish within the deadline, cancel
/// the rest, and wait for their streams to end.
struct DrainService: Service {
    let state: ServerState
    let deadline: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        state.beginDraining()
        let inFlight = state.inFlightCount
        if inFlight > 0 { logger.info("shutting down: waiting up to \(deadline) for \(inFlight) generations") }
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while state.inFlightCount > 0 && clock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
        if state.inFlightCount > 0 {
            logger.info("shutting down: cancelling \(state.inFlightCount) generations")
            state.cancelAll()
            let cancelEnd = clock.now + .seconds(5)
            while state.inFlightCount > 0 && clock.now < cancelEnd { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }
}
