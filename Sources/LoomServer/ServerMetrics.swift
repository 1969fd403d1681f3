import Foundation
import LoomGenerate
import Prometheus
import LoomCore

/// The server's Prometheus metrics (`GET /metrics`): requests, tokens, latencies, and the
/// scheduler's and page pool's state at the moment of the scrape.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let promptTokens: Counter
    private let cachedPromptTokens: Counter
    private let generatedTokens: Counter
    private let disconnects: Counter
    private let ttft: DurationHistogram
    private let itl: DurationHistogram
    private let running: Gauge
    private let waiting: Gauge
    private let pagesTotal: Gauge
    private let pagesReferenced: Gauge
    private let pagesCached: Gauge
    private let draftPagesTotal: Gauge
    private let draftPagesReferenced: Gauge

    init() {
        promptTokens = registry.makeCounter(descriptor: Self.metric("prompt_tokens_total", help: "Prompt tokens of finished requests."))
        cachedPromptTokens = registry.makeCounter(descriptor: Self.metric("prompt_tokens_cached_total",
                                                                                 help: "Prompt tokens found in the prefix cache (not evaluated)."))
        generatedTokens = registry.makeCounter(descriptor: Self.metric("generated_tokens_total", help: "Tokens generated."))
        disconnects = registry.makeCounter(descriptor: Self.metric("client_disconnects_total", help: "Streams whose client went away; their generation was cancelled."))
        let latencyBuckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                          .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30)]
        ttft = registry.makeDurationHistogram(descriptor: Self.metric("time_to_first_token_seconds", help: "From the request's arrival to its first generated token."), buckets: latencyBuckets)
        itl = registry.makeDurationHistogram(descriptor: Self.metric("inter_token_latency_seconds", help: "Between consecutive tokens of a request."), buckets: latencyBuckets)
        running = registry.makeGauge(descriptor: Self.metric("requests_running", help: "Requests in the batch."))
        waiting = registry.makeGauge(descriptor: Self.metric("requests_waiting", help: "Requests waiting to be admitted."))
        pagesTotal = registry.makeGauge(descriptor: Self.metric("kv_pages", help: "KV cache pages in the pool."))
        pagesReferenced = registry.makeGauge(descriptor: Self.metric("kv_pages_referenced", help: "KV cache pages held by sequences."))
        pagesCached = registry.makeGauge(descriptor: Self.metric("kv_pages_cached", help: "KV cache pages holding a reusable prefix, held by no sequence."))
        draftPagesTotal = registry.makeGauge(descriptor: Self.metric("draft_kv_pages", help: "The draft model's KV cache pages (0 without a draft)."))
        draftPagesReferenced = registry.makeGauge(descriptor: Self.metric("draft_kv_pages_referenced", help: "The draft model's KV cache pages held by sequences."))
    }

    /// `loom_NAME_UNIT`: the unit is the name's last word (total, seconds, ...), or none.
    private static func metric(_ name: String, help: String) -> MetricNameDescriptor {
        let units = ["total", "seconds"]
        if let last = name.split(separator: "_").last, units.contains(String(last)) {
            return MetricNameDescriptor(namespace: "loom", metricName: String(name.dropLast(last.count + 1)), unitName: String(last), helpText: help)
        }
        return MetricNameDescriptor(namespace: "loom", metricName: name, unitName: "", helpText: help)
    }

    private let requestCounters = Locked<[String: Counter]>([:])

    /// Counts an answered request by endpoint and status.
    func request(path: String, status: Int) {
        let key = "\(path) \(status)"
        let counter = requestCounters.withLock { counters -> Counter in
            if let c = counters[key] { return c }
            let c = registry.makeCounter(descriptor: Self.metric("requests_total", help: "HTTP requests answered."), labels: [("endpoint", path), ("status", String(status))])
            counters[key] = c
            return c
        }
        counter.increment()
    }

    func finished(timings: GenerationTimings) {
        promptTokens.increment(by: Int64(timings.promptTokens + timings.reusedPromptTokens))
        cachedPromptTokens.increment(by: Int64(timings.reusedPromptTokens))
        generatedTokens.increment(by: Int64(timings.generatedTokens))
    }

    func disconnected() { disconnects.increment() }
    func timeToFirstToken(_ d: Duration) { ttft.record(d) }
    func interTokenLatency(_ d: Duration) { itl.record(d) }

    /// The exposition text, with the gauges read now.
    func scrape(model: ServedModel?) -> String {
        if let model, let scheduler = model.generator.scheduler {
            let slots = scheduler.slots()
            running.set(Int64(slots.filter(\.isRunning).count))
            waiting.set(Int64(slots.filter { !$0.isRunning }.count))
            let pool = scheduler.model.pages
            pagesTotal.set(Int64(pool.pageCount))
            pagesReferenced.set(Int64(pool.referencedPageCount))
            pagesCached.set(Int64(pool.cachedPageCount))
            if let draft = model.draftPages {
                draftPagesTotal.set(Int64(draft.pageCount))
                draftPagesReferenced.set(Int64(draft.referencedPageCount))
            }
        }
        return registry.emitToString()
    }
}

