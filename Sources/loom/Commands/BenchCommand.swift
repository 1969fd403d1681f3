import ArgumentParser
import Foundation
import LoomCore
import LoomKernels
import LoomRuntime
import LoomVulkan

/// Prompt and generation throughput, measured the way llama-bench does: pp = one batch of N
/// prompt tokens; tg = N single-token steps; each from a cache holding `-d` tokens (llama-bench's
/// `-d`, untimed), empty by default.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt (pp) and generation (tg) throughput in tokens/s.",
        discussion: """
        With --parallel W1,W2,... it measures batched decoding as llama-batched-bench does: for each
        width W, W sequences each get a -p token prompt (packed into passes of up to --chunk rows),
        then -n decode steps run all W sequences in one pass each; it reports the aggregate prompt
        (S_PP) and decode (S_TG) tokens/s.
        """)

    @OptionGroup var options: RunOptions

    @Option(name: .short, parsing: .unconditional, help: "Prompt tokens (pp test); 0 skips it.")
    var p = 512

    @Option(name: .short, parsing: .unconditional, help: "Generated tokens (tg test); 0 skips it.")
    var n = 128

    @Option(name: .short, parsing: .unconditional, help: "Context depth: tokens in the cache before each test (untimed), as llama-bench's -d.")
    var d = 0

    @Option(name: .short, parsing: .unconditional, help: "Repetitions.")
    var r = 3

    @Option(help: "Measure time to first token for a prompt whose first N tokens are cached, against the same prompt cold.")
    var prefix: Int?

    @Option(help: "Kernel path: avx512, avx2 or portable (default: LOOM_ISA, else the fastest this CPU runs).")
    var isa: String?

    @Option(help: "Read bandwidth in GB/s that tg is compared with (default: measured after the tests, as bench-memory does).")
    var bandwidth: Double?

    @Flag(help: "JSON output.")
    var json = false

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try requireAtLeast(0, p, "-p")
        try requireAtLeast(0, n, "-n")
        try requireAtLeast(0, d, "-d")
        try requireAtLeast(1, r, "-r")
        if let isa, case let .failure(problem) = KernelPath.resolve(isa) { throw ValidationError("--isa: \(problem.message)") }
        if let bandwidth, !(bandwidth > 0) { throw ValidationError("--bandwidth must be positive, got \(bandwidth)") }
    }

    func run() throws {
        if let isa, case let .success(path) = KernelPath.resolve(isa) { KernelPath.active = path }
        if let prefix {
            try reportingErrors { try runCachedPrefix(prefix) }
            return
        }
        let widths = options.planning.parallel.widths
        if widths.count > 1 || widths[0] > 1 {
            try reportingErrors { try runBatched(widths) }
            return
        }
        try reportingErrors {
            // The depth fill runs in chunks of up to 512 tokens, so a tg-only run still fills fast.
            let engine = try options.makeEngine(defaultLength: d + max(p, n) + 8, chunk: max(1, p, min(d, 512)))
            let vocab = engine.config.vocabSize
            var generator = SystemRandomNumberGenerator()
            let prompt = (0..<p).map { _ in Int.random(in: 0..<vocab, using: &generator) }
            let context = (0..<d).map { _ in Int.random(in: 0..<vocab, using: &generator) }
            _ = try engine.evaluate(Array(prompt.prefix(8)))  // warm caches and pages
            // An empty cache, then the untimed depth.
            func startTest() throws {
                engine.reset()
                if d > 0 { _ = try engine.evaluate(context) }
            }
            var pp: [Double] = [], tg: [Double] = []
            var expertBytesPerToken = 0
            for _ in 0..<r {
                if p > 0 {
                    try startTest()
                    let start = DispatchTime.now()
                    _ = try engine.evaluate(prompt)
                    pp.append(Double(p) / seconds(since: start))
                }
                if n > 0 {
                    try startTest()
                    var token = prompt.first ?? 0
                    engine.resetExpertReadBytes()
                    let start = DispatchTime.now()
                    // The argmax is taken where the LM head runs (a GPU sends back a token id).
                    for _ in 0..<n { token = try engine.greedyNext(after: [token]) }
                    tg.append(Double(n) / seconds(since: start))
                    expertBytesPerToken = engine.expertReadBytes / n
                }
            }
            let (ppMean, ppSD) = meanAndSD(pp), (tgMean, tgSD) = meanAndSD(tg)
            // A tg step reads the weights and the cache so far: on average d + n/2 tokens of it.
            let stepBytes = engine.decodeReadBytes(context: d + n / 2)
            // Before the bandwidth probe, whose 512 MiB are not the model's.
            let memory = memoryJSON(engine)
            // A plan run on one Vulkan device is bound by that device's memory: measure it there.
            let used = engine.plan.devices.filter(\.isUsed)
            let gpu = used.count == 1 ? used[0].spec.vulkanIndex : nil
            let bound = gpu.map { "vulkan:\($0)" } ?? "\(KernelPath.active.rawValue) kernels"
            let readBandwidth = n > 0 ? try bandwidth ?? gpu.map { try DeviceBandwidth.measure(device: try VulkanDevice.shared(index: $0), mib: 256, passes: 3) }
                ?? ReadBandwidth.measure(threads: options.planning.threads, mib: 512, passes: 3) : 0
            let fraction = n > 0 ? Double(stepBytes) * tgMean / (readBandwidth * 1e9) : 0
            if json {
                var object: [String: Any] = ["model": options.model, "threads": options.planning.threads, "repetitions": r,
                                             "cache": options.planning.cache, "depth": d,
                                             "isa": KernelPath.active.rawValue, "cpu": "\(CPUFeatures.current)"]
                if let gpu { object["bandwidth_device"] = "vulkan:\(gpu)" }
                object.merge(memory) { _, new in new }
                if p > 0 { object["pp_tokens"] = p; object["pp_tokens_per_s"] = ppMean; object["pp_sd"] = ppSD }
                if n > 0 {
                    object["tg_tokens"] = n; object["tg_tokens_per_s"] = tgMean; object["tg_sd"] = tgSD
                    object["tg_step_read_bytes"] = stepBytes; object["read_bandwidth_gb_per_s"] = readBandwidth
                    object["bandwidth_fraction"] = fraction
                    if engine.config.moe != nil {
                        object["tg_expert_read_bytes_per_token"] = expertBytesPerToken
                        object["tg_dense_equivalent_read_bytes"] = engine.denseEquivalentReadBytes(context: d + n / 2)
                    }
                }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("| model | threads | test | t/s |")
                print("|---|---|---|---|")
                let depth = d > 0 ? " @ d\(d)" : ""
                if p > 0 { print(String(format: "| %@ | %d | pp%d%@ | %.2f ± %.2f |", options.model, options.planning.threads, p, depth, ppMean, ppSD)) }
                if n > 0 { print(String(format: "| %@ | %d | tg%d%@ | %.2f ± %.2f |", options.model, options.planning.threads, n, depth, tgMean, tgSD)) }
                if n > 0 {
                    print(String(format: "tg reads %.1f MB a step: %.0f%% of the %.1f GB/s read bandwidth (%@)",
                                 Double(stepBytes) / 1e6, 100 * fraction, readBandwidth, bound))
                    if engine.config.moe != nil {
                        let dense = engine.denseEquivalentReadBytes(context: d + n / 2)
                        print(String(format: "experts: %.1f MB of router and expert weights read per token (measured), "
                                     + "a step %.1f MB against %.1f MB if every expert were read (%.2f×)",
                                     Double(expertBytesPerToken) / 1e6, Double(stepBytes) / 1e6, Double(dense) / 1e6,
                                     Double(dense) / Double(max(1, stepBytes))))
                    }
                }
            }
        }
    }

    /// S_PP and S_TG at each width, as llama-batched-bench measures them (no sampling: each
    /// decode step feeds the same token to every sequence; the LM head runs for each one).
    private func runBatched(_ widths: [Int]) throws {
        guard p > 0, n > 0 else { throw ValidationError("--parallel measures both phases: -p and -n must be positive") }
        let widest = widths.max()!
        let chunk = options.planning.chunk == 512 ? max(512, min(2048, widest * p)) : options.planning.chunk
        let engine = try options.makeEngine(defaultLength: d + p + n + 8, chunk: chunk)
        let vocab = engine.config.vocabSize
        var random = SystemRandomNumberGenerator()
        var rows: [[String: Any]] = []
        if !json {
            print("| model | threads | parallel | pp | tg | S_PP t/s | S_TG t/s |")
            print("|---|---|---|---|---|---|---|")
        }
        for width in widths {
            var pp: [Double] = [], tg: [Double] = []
            for _ in 0..<max(1, r) {
                let ids = (0..<width).map { _ in engine.createSequence() }
                defer { for id in ids { engine.free(id) } }
                let prompts = ids.map { _ in (0..<(d + p)).map { _ in Int.random(in: 0..<vocab, using: &random) } }
                // The untimed depth, then the timed prompts, packed into passes of `chunk` rows.
                func prefill(_ range: (Int) -> Range<Int>) throws {
                    var pending = ids.indices.map { (i: $0, next: range($0).lowerBound) }
                    while !pending.isEmpty {
                        var budget = engine.chunkTokens
                        var chunks: [SequenceChunk] = []
                        for k in pending.indices where budget > 0 {
                            let (i, next) = pending[k]
                            let end = min(range(i).upperBound, next + budget)
                            chunks.append(SequenceChunk(sequence: ids[i], tokens: Array(prompts[i][next..<end]),
                                                        logits: end == range(i).upperBound ? .last : .none))
                            pending[k].next = end
                            budget -= end - next
                        }
                        _ = try engine.forward(chunks)
                        pending.removeAll { $0.next == range($0.i).upperBound }
                    }
                }
                if d > 0 { try prefill { _ in 0..<d } }
                var start = DispatchTime.now()
                try prefill { _ in self.d..<(self.d + self.p) }
                pp.append(Double(width * p) / seconds(since: start))
                start = DispatchTime.now()
                for _ in 0..<n { _ = try engine.forward(ids.map { SequenceChunk(sequence: $0, tokens: [1]) }) }
                tg.append(Double(width * n) / seconds(since: start))
            }
            let (ppMean, ppSD) = meanAndSD(pp), (tgMean, tgSD) = meanAndSD(tg)
            rows.append(["parallel": width, "pp_tokens_per_s": ppMean, "pp_sd": ppSD, "tg_tokens_per_s": tgMean, "tg_sd": tgSD])
            if !json {
                print(String(format: "| %@ | %d | %d | %d | %d | %.2f ± %.2f | %.2f ± %.2f |", options.model, options.planning.threads,
                             width, p, n, ppMean, ppSD, tgMean, tgSD))
            }
        }
        if json {
            let object: [String: Any] = ["model": options.model, "threads": options.planning.threads, "repetitions": r, "depth": d,
                                         "pp_tokens": p, "tg_tokens": n, "cache": options.planning.cache, "parallel": rows]
                .merging(memoryJSON(engine)) { _, new in new }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        }
    }

    /// Time to the first token's logits for `prefix` shared tokens plus 16 new ones: cold, then
    /// with the prefix's pages cached by an earlier request (median of -r repetitions each).
    private func runCachedPrefix(_ prefix: Int) throws {
        guard prefix > 0 else { throw ValidationError("--prefix must be at least 1, got \(prefix)") }
        let engine = try options.makeEngine(defaultLength: prefix + 32, chunk: min(512, prefix + 16))
        let vocab = engine.config.vocabSize
        var random = SystemRandomNumberGenerator()
        var cold: [Double] = [], warm: [Double] = [], reused = 0
        func firstToken(_ prompt: [Int]) throws -> (Double, Int) {
            let id = engine.createSequence()
            defer { engine.free(id) }
            let start = DispatchTime.now()
            let mapped = try engine.mapCachedPrefix(id, prompt: prompt)
            var offset = mapped
            while offset < prompt.count {
                let end = min(prompt.count, offset + engine.chunkTokens)
                _ = try engine.forward([SequenceChunk(sequence: id, tokens: Array(prompt[offset..<end]), logits: end == prompt.count ? .last : .none)])
                offset = end
            }
            return (seconds(since: start), mapped)
        }
        for _ in 0..<max(1, r) {
            let shared = (0..<prefix).map { _ in Int.random(in: 0..<vocab, using: &random) }
            let tail = { (0..<16).map { _ in Int.random(in: 0..<vocab, using: &random) } }
            cold.append(try firstToken(shared + tail()).0)
            let (seconds, mapped) = try firstToken(shared + tail())
            warm.append(seconds)
            reused = mapped
        }
        let coldMedian = cold.sorted()[cold.count / 2], warmMedian = warm.sorted()[warm.count / 2]
        if json {
            let object: [String: Any] = ["model": options.model, "threads": options.planning.threads, "prefix_tokens": prefix,
                                         "new_tokens": 16, "reused_tokens": reused, "cold_seconds": coldMedian,
                                         "cached_seconds": warmMedian, "speedup": coldMedian / warmMedian]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "first token after %d + 16 tokens: cold %.1f ms, with %d cached %.2f ms (%.1fx sooner)",
                         prefix, coldMedian * 1000, reused, warmMedian * 1000, coldMedian / warmMedian))
        }
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    private func meanAndSD(_ values: [Double]) -> (Double, Double) {
        guard !values.isEmpty else { return (0, 0) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.count > 1 ? values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1) : 0
        return (mean, variance.squareRoot())
    }
}
