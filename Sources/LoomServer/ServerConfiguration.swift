import LoomGenerate

/// How `loom serve` listens and what it accepts.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (printed once listening).
    public var port = 8080
    /// Keys a client must present (`Authorization: Bearer KEY` or `x-api-key: KEY`); empty
    /// leaves the API open.
    public var apiKeys: [String] = []
    /// Keys for `/metrics`; empty leaves it open.
    public var metricsKeys: [String] = []
    /// Request bodies larger than this get a 413.
    public var maxBodyBytes = 8 << 20
    /// Generations running or queued at most; more get a 503 with `Retry-After`.
    public var maxInFlight = 256
    /// At shutdown, how long running generations may go on before they are cancelled.
    public var shutdownDeadline: Duration = .seconds(10)
    /// The sampler when a request does not say (llama.cpp's defaults unless set on the command line).
    public var sampling = SamplingParameters()
    /// Speculative decoding when a request does not say (`lookup`, `draft_max`); nil for none.
    public var speculation: Speculation?

    public init() {}
}
