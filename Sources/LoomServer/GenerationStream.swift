import Foundation
import LoomGenerate

/// A submitted generation as an async sequence of its events, ending with `.finished` or
/// throwing the error it failed with. The scheduler's thread is never blocked by a slow reader:
/// events wait in the stream's buffer.
struct GenerationStream {
    let handle: GenerationHandle
    let events: AsyncThrowingStream<GenerationEvent, Error>

    static func start(_ model: ServedModel, prompt: [Int32], options: GenerationOptions) throws(APIError) -> GenerationStream {
        let (events, continuation) = AsyncThrowingStream.makeStream(of: GenerationEvent.self)
        let handle: GenerationHandle
        do {
            handle = try model.generator.submit(prompt: prompt, options: options) { continuation.yield($0) }
        } catch {
            continuation.finish()
            throw APIError(generation: error)
        }
        handle.whenEnded { error in continuation.finish(throwing: error) }
        return GenerationStream(handle: handle, events: events)
    }
}

extension APIError {
    /// The 400 a request gets for what the generator refuses (it names the option), or a 500
    /// for a failure inside the engine.
    init(generation error: Error) {
        switch error {
        case let error as APIError:
            self = error
        case GenerationError.promptTooLong(let tokens, let context):
            self = .badRequest("the prompt has \(tokens) tokens and the context holds \(context) per sequence", code: "context_length_exceeded")
            param = "messages"
        case GenerationError.emptyPrompt:
            self = .badRequest("the prompt has no tokens", code: "empty_prompt")
        case GenerationError.invalidOption(let name, let reason):
            self = .invalid(name, reason)
        case SamplingError.invalidParameter(let name, let reason):
            self = .invalid(name, reason)
        case let error as SamplingError:
            self = .badRequest("\(error)", code: "invalid_sampling_parameter")
        default:
            self = .server("generation failed: \(error)")
        }
    }
}
