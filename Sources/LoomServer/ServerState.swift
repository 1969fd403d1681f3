import Foundation
import LoomGenerate
import LoomCore

/// What the server is doing, and the generations in flight: read by `/health`, bounded by the
/// queue limit, drained at shutdown.
final class ServerState: Sendable {
    enum Phase: Sendable {
        case loading
        case ready(ServedModel)
        case failed(String)
        /// Shutting down: new generations are refused, running ones finish or are cancelled.
        case draining(ServedModel)
    }

    private struct Inner {
        var phase = Phase.loading
        /// Admitted generations; the handle is nil until the generation has been submitted.
        var inFlight: [Int: GenerationHandle?] = [:]
        var nextTicket = 0
    }

    private let inner = Locked(Inner())
    /// Generations in flight at most (running and queued); more get a 503.
    let maxInFlight: Int

    init(maxInFlight: Int) { self.maxInFlight = max(1, maxInFlight) }

    var phase: Phase { inner.withLock { $0.phase } }

    func setReady(_ model: ServedModel) { inner.withLock { $0.phase = .ready(model) } }
    func setFailed(_ message: String) { inner.withLock { $0.phase = .failed(message) } }

    /// The model, for endpoints that need one loaded (tokenize, templates) but start nothing.
    func model() throws(APIError) -> ServedModel {
        switch phase {
        case .ready(let model), .draining(let model): return model
        case .loading: throw Self.loading
        case .failed(let message): throw Self.failed(message)
        }
    }

    private static let loading = APIError.unavailable("the model is still loading", code: "model_loading", retryAfter: 1)
    private static func failed(_ message: String) -> APIError { .server("the model failed to load: \(message)") }

    /// A slot for a new generation: the model, or a 503 when loading, draining or full.
    func admit() throws(APIError) -> (ServedModel, Int) {
        let result: Result<(ServedModel, Int), APIError> = inner.withLock { inner in
            switch inner.phase {
            case .loading: return .failure(Self.loading)
            case .failed(let message): return .failure(Self.failed(message))
            case .draining: return .failure(.unavailable("the server is shutting down", code: "shutting_down"))
            case .ready(let model):
                guard inner.inFlight.count < maxInFlight else {
                    return .failure(.unavailable("the server is at its limit of \(maxInFlight) requests in flight (--max-queue); retry later",
                                                 code: "queue_full", retryAfter: 1))
                }
                let ticket = inner.nextTicket
                inner.nextTicket += 1
                inner.inFlight[ticket] = .some(nil)
                return .success((model, ticket))
            }
        }
        return try result.get()
    }

    /// Records the handle of an admitted generation, so shutdown can cancel it.
    func started(_ ticket: Int, _ handle: GenerationHandle) {
        inner.withLock { $0.inFlight[ticket] = .some(handle) }
    }

    /// A generation admitted by `admit` has ended (or never started).
    func ended(_ ticket: Int) { _ = inner.withLock { $0.inFlight.removeValue(forKey: ticket) } }

    var inFlightCount: Int { inner.withLock { $0.inFlight.count } }

    /// Refuses new generations from now on.
    func beginDraining() {
        inner.withLock { inner in
            if case .ready(let model) = inner.phase { inner.phase = .draining(model) }
        }
    }

    /// Cancels every generation still in flight; each ends its stream at the next step.
    func cancelAll() {
        let handles = inner.withLock { $0.inFlight.values.compactMap { $0 } }
        for handle in handles { handle.cancel() }
    }
}
