import Foundation
import Testing

/// `LOOM_ISA` and `bench --isa` choose the kernel path, so any path can be measured on a machine
/// that runs it; a path the CPU cannot run is refused before anything loads.
@Suite struct KernelPathTests {
    static let demo = "Models/loom-demo/gguf/loom-demo-Q8_0.gguf"

    func features(isa: String) throws -> LoomProcess.Result {
        try LoomProcess.launch(try LoomProcess.requireBinary(), ["features"], environment: ["LOOM_ISA": isa])
    }

    /// The paths `loom features` says this CPU runs.
    func supportedPaths() throws -> [String] {
        let line = try #require(try LoomProcess.run(["features"]).stdout.split(separator: "\n").first { $0.hasPrefix("kernels: ") })
        let list = try #require(line.components(separatedBy: "this CPU runs ").last)
        return list.components(separatedBy: ", ")
    }

    @Test func theEnvironmentChoosesThePath() throws {
        let result = try features(isa: "portable")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("kernels: portable (LOOM_ISA); this CPU runs "), "\(result.stdout)")
        for path in try supportedPaths() {
            let chosen = try features(isa: path)
            #expect(chosen.stdout.contains("kernels: \(path) (LOOM_ISA)"), "\(chosen.stdout)")
        }
    }

    @Test func anUnknownOrUnsupportedPathIsRefused() throws {
        let unknown = try features(isa: "sse9")
        #expect(unknown.status == 2)
        #expect(unknown.stderr == "error: LOOM_ISA: unknown kernel path 'sse9'; choose avx512, avx2 or portable\n", "\(unknown.stderr)")
        let supported = try supportedPaths()
        for path in ["avx512-vnni", "avx2"] where !supported.contains(path) {
            let refused = try features(isa: path)
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("cannot run the \(path) path; it runs "), "\(refused.stderr)")
            let bench = try LoomProcess.run(["bench", "--model", Self.demo, "--isa", path, "-p", "0", "-n", "1", "-r", "1"])
            #expect(bench.status != 0)
            #expect(bench.stderr.contains("--isa: this CPU"), "\(bench.stderr)")
        }
    }

    @Test func benchReportsThePathAndTheFractionOfTheBandwidth() throws {
        for path in try supportedPaths() {
            let result = try LoomProcess.run(["bench", "--model", Self.demo, "--isa", path, "-p", "8", "-n", "8", "-r", "1", "-t", "1",
                                              "--bandwidth", "20", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(object["isa"] as? String == path)
            let bytes = try #require(object["tg_step_read_bytes"] as? Int)
            let tokensPerSecond = try #require(object["tg_tokens_per_s"] as? Double)
            let fraction = try #require(object["bandwidth_fraction"] as? Double)
            #expect(object["read_bandwidth_gb_per_s"] as? Double == 20)
            #expect(abs(fraction - Double(bytes) * tokensPerSecond / 20e9) <= 1e-9 * fraction)
        }
    }
}
