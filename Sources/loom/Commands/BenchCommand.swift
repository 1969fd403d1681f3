import ArgumentParser
import Foundation
import LoomRuntime

/// Prompt and generation throughput, measured the way llama-bench does: pp = one batch of N
/// prompt tokens; tg = N single-token steps; each from a cache holding `-d` tokens (llama-bench's
/// `-d`, untimed), empty by default.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt (pp) and generation (tg) throughput in tokens/s.")

    @OptionGroup var options: RunOptions

    @Option(name: .short, parsing: .unconditional, help: "Prompt tokens (pp test); 0 skips it.")
    var p = 512

    @Option(name: .short, parsing: .unconditional, help: "Generated tokens (tg test); 0 skips it.")
    var n = 128

    @Option(name: .short, parsing: .unconditional, help: "Context depth: tokens in the cache before each test (untimed), as llama-bench's -d.")
    var d = 0

    @Option(name: .short, parsing: .unconditional, help: "Repetitions.")
    var r = 3

    @Flag(help: "JSON output.")
    var json = false

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try requireAtLeast(0, p, "-p")
        try requireAtLeast(0, n, "-n")
        try requireAtLeast(0, d, "-d")
        try requireAtLeast(1, r, "-r")
    }

    func run() throws {
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
                    let start = DispatchTime.now()
                    for _ in 0..<n {
                        let logits = try engine.evaluate([token])[0]
                        token = logits.indices.max { logits[$0] < logits[$1] }!
                    }
                    tg.append(Double(n) / seconds(since: start))
                }
            }
            let (ppMean, ppSD) = meanAndSD(pp), (tgMean, tgSD) = meanAndSD(tg)
            if json {
                var object: [String: Any] = ["model": options.model, "threads": options.planning.threads, "repetitions": r,
                                             "cache": options.planning.cache, "depth": d, "devices": usageJSON(engine)]
                if p > 0 { object["pp_tokens"] = p; object["pp_tokens_per_s"] = ppMean; object["pp_sd"] = ppSD }
                if n > 0 { object["tg_tokens"] = n; object["tg_tokens_per_s"] = tgMean; object["tg_sd"] = tgSD }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print("| model | threads | test | t/s |")
                print("|---|---|---|---|")
                let depth = d > 0 ? " @ d\(d)" : ""
                if p > 0 { print(String(format: "| %@ | %d | pp%d%@ | %.2f ± %.2f |", options.model, options.planning.threads, p, depth, ppMean, ppSD)) }
                if n > 0 { print(String(format: "| %@ | %d | tg%d%@ | %.2f ± %.2f |", options.model, options.planning.threads, n, depth, tgMean, tgSD)) }
            }
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
