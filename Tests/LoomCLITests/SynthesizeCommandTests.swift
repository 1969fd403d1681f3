import Foundation
import Testing

/// `loom synthesize` writes a GGUF that Loom loads with the catalog model's widths, and refuses
/// what it cannot write by name.
@Suite struct SynthesizeCommandTests {
    /// One layer of Qwen2.5-0.5B's widths (its attention biases too), a 512-token vocabulary:
    /// 15M weights, so the three files stay small.
    @Test(arguments: ["q4_0", "q8_0", "f16"])
    func aSmallerQwenShapeLoadsAndRuns(type: String) throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("loom-synth-\(type)-\(getpid()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let made = try LoomProcess.run(["synthesize", "qwen2.5-0.5b", "--type", type, "--out", out, "--layers", "1", "--vocab", "512"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + ".partial"))
        let inspect = try LoomProcess.run(["inspect", out])
        #expect(inspect.stdout.contains("shape          1 layers, hidden 896, 14 heads, 2 KV heads, head_dim 64, FFN 4864, vocab 512"),
                "\(inspect.stdout)")
        #expect(inspect.stdout.contains("\(type.uppercased()): "), "\(inspect.stdout)")
        let bench = try LoomProcess.run(["bench", "--model", out, "-p", "8", "-n", "2", "-r", "1", "-t", "1", "--bandwidth", "10", "--json"])
        #expect(bench.status == 0, "\(bench.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any]
        #expect((result?["tg_tokens_per_s"] as? Double ?? 0) > 0)
    }

    /// With the demo model's tokenizer copied in, the synthetic file tokenizes as the demo does
    /// and generates under a grammar (its JSON reports what the grammar cost); a vocabulary
    /// smaller than the tokenizer's is refused by name.
    @Test func aCopiedTokenizerMakesTheFileGenerate() throws {
        let demo = "Models/loom-demo/gguf/loom-demo-Q8_0.gguf"
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("loom-synth-vocab-\(getpid()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let made = try LoomProcess.run(["synthesize", "qwen2.5-0.5b", "--type", "q8_0", "--out", out, "--layers", "1",
                                        "--vocab", "8192", "--tokenizer-from", demo])
        #expect(made.status == 0, "\(made.stderr)")
        let text = "In the beginning God created the heaven and the earth. 起初神创造天地。"
        let ours = try LoomProcess.run(["tokenize", "--model", out, text]), theirs = try LoomProcess.run(["tokenize", "--model", demo, text])
        #expect(ours.status == 0 && ours.stdout == theirs.stdout && !ours.stdout.isEmpty, "\(ours.stdout) \(ours.stderr)")
        let generated = try LoomProcess.run(["generate", "--model", out, "--prompt", "JSON:", "--max-tokens", "12", "--temp", "1", "--seed", "1",
                                             "--regex", "[0-9]+(,[0-9]+)*", "--json", "-t", "1"])
        #expect(generated.status == 0, "\(generated.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(generated.stdout.utf8)) as? [String: Any]
        let timings = result?["timings"] as? [String: Any]
        #expect((timings?["grammar_seconds"] as? Double ?? 0) > 0, "\(generated.stdout)")
        #expect(timings?["grammar_masks"] is Int, "\(generated.stdout)")
        let small = try LoomProcess.run(["synthesize", "qwen2.5-0.5b", "--out", out, "--layers", "1", "--vocab", "512", "--tokenizer-from", demo])
        #expect(small.status != 0 && small.stderr.contains("--tokenizer-from: 8192 tokens"), "\(small.stderr)")
    }

    @Test func unwritableRequestsAreRefusedByName() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("loom-synth-refused-\(getpid()).gguf").path
        let moe = try LoomProcess.run(["synthesize", "mixtral-8x7b", "--out", out])
        #expect(moe.status != 0 && moe.stderr.contains("dense Llama or Qwen2"), "\(moe.stderr)")
        let type = try LoomProcess.run(["synthesize", "llama-3-8b", "--type", "q3_k", "--out", out])
        #expect(type.status != 0 && type.stderr.contains("--type q3_k"), "\(type.stderr)")
        let unknown = try LoomProcess.run(["synthesize", "llama-9", "--out", out])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown model 'llama-9'"), "\(unknown.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
