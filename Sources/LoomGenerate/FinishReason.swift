/// Why a generation ended, as reported to callers and in JSON output.
public enum FinishReason: String, Sendable, Codable {
    /// An end-of-sequence token or a stop string.
    case stop
    /// The `max_tokens` limit.
    case length
    /// The consumer cancelled the stream.
    case cancelled
}
