import Foundation
import Testing
import LoomFormats

/// The operating system's count of the process's memory against the plan: `loom generate` and
/// `loom bench` report the peak resident set (`VmHWM`) with `--json`, and it never exceeds the
/// plan's total plus `runtime_allowance_bytes`.
/// Whether this run is tools/sanitize's, whose binaries carry AddressSanitizer or ThreadSanitizer.
let sanitizedRun = ProcessInfo.processInfo.environment["ASAN_OPTIONS"] != nil
    || ProcessInfo.processInfo.environment["TSAN_OPTIONS"] != nil

@Suite(.enabled(if: !sanitizedRun, "a sanitizer's shadow memory and quarantine are not the runtime's (tools/sanitize)"))
struct ProcessMemoryTests {

    /// The figures of one `--json` run.
    struct Figures {
        let planned: Int
        let peak: Int
        let allowance: Int
    }

    static func figures(_ arguments: [String]) throws -> Figures? {
        let result = try LoomProcess.run(arguments)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last)
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let planned = try #require(object["planned_total_bytes"] as? Int), allowance = try #require(object["runtime_allowance_bytes"] as? Int)
        #if os(Linux)
        let peak = try #require(object["process_peak_rss_bytes"] as? Int, "Linux reports VmHWM")
        #expect(object["process_rss_anon_bytes"] is Int && object["process_rss_file_bytes"] is Int)
        #else
        guard let peak = object["process_peak_rss_bytes"] as? Int else { return nil }
        #endif
        return Figures(planned: planned, peak: peak, allowance: allowance)
    }

    @Test(arguments: ["Models/loom-demo/gguf/loom-demo-Q8_0.gguf", "Models/loom-demo/gguf/loom-demo-F16.gguf", "Models/loom-demo/hf"])
    func theDemoModelStaysWithinThePlan(_ model: String) throws {
        for arguments in [["generate", "--model", model, "--tokens", "1,2,3", "--max-tokens", "8", "--json", "-t", "2"],
                          ["bench", "--model", model, "-p", "16", "-n", "4", "-r", "1", "--bandwidth", "10", "--json", "-t", "2"]] {
            guard let f = try Self.figures(arguments) else { continue }
            print("\(arguments[0]) \(model): peak \(f.peak) bytes, plan \(f.planned), over plan \(f.peak - f.planned)")
            #expect(f.peak <= f.planned + f.allowance, "\(arguments[0]) \(model): peak \(f.peak) > plan \(f.planned) + \(f.allowance)")
        }
    }

    /// With a draft model beside the target, the draft's plan (weights, cache pages, scratch)
    /// counts: the total is the target's alone plus the draft's, the draft's covers at least its
    /// file, its devices are listed, and the peak stays within the total.
    @Test func aDraftModelCountsInThePlan() throws {
        let target = "Models/loom-demo/gguf/loom-demo-F16.gguf", draft = "Models/loom-demo/gguf/loom-demo-Q8_0.gguf"
        let arguments = ["generate", "--model", target, "--prompt", "The city", "--max-tokens", "8", "--json", "-t", "2"]
        guard let alone = try Self.figures(arguments), let both = try Self.figures(arguments + ["--draft", draft]) else { return }
        let result = try LoomProcess.run(arguments + ["--draft", draft])
        let object = try JSONSerialization.jsonObject(with: Data(try #require(result.stdout.split(separator: "\n").last).utf8)) as! [String: Any]
        let draftBytes = try #require(object["draft_planned_bytes"] as? Int)
        let draftFile = try #require(try FileManager.default.attributesOfItem(atPath: LoomProcess.root.appendingPathComponent(draft).path)[.size] as? Int)
        let devices = try #require(object["devices"] as? [[String: Any]])
        #expect(devices.contains { ($0["name"] as? String)?.hasPrefix("draft/") == true }, "\(devices)")
        #expect(draftBytes >= draftFile, "the draft's plan \(draftBytes) is below its file \(draftFile)")
        #expect(both.planned == alone.planned + draftBytes, "with the draft \(both.planned), alone \(alone.planned), draft \(draftBytes)")
        #expect(both.peak <= both.planned + both.allowance, "peak \(both.peak) > plan \(both.planned) + \(both.allowance)")
        print("draft beside the target: plan \(both.planned) (draft \(draftBytes)), peak \(both.peak)")
    }

    /// A model whose weights are most of the process: a Llama of 200 MB of Q8_0, every matrix
    /// repacked into the arena at load. The file's pages leave the resident set as each part of a
    /// matrix is copied, so the peak is the plan, not the plan plus the largest matrix (72 MB).
    @Test func repackingDoesNotHoldTheFileAndItsCopyAtOnce() throws {
        let path = try Self.writeLlama(hidden: 1024, layers: 4, ffn: 4096, vocab: 65536)
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let f = try Self.figures(["generate", "--model", path, "--tokens", "1,2,3,4", "--max-tokens", "4", "--json", "-t", "2"]) else { return }
        print("200 MB Q8_0 Llama: peak \(f.peak) bytes, plan \(f.planned), over plan \(f.peak - f.planned)")
        #expect(f.planned > 200_000_000, "the plan counts the weights")
        #expect(f.peak <= f.planned + f.allowance, "peak \(f.peak) > plan \(f.planned) + \(f.allowance)")
    }

    /// A Llama GGUF with Q8_0 matrices of random quants (scales 1/64) and unit norms.
    static func writeLlama(hidden: Int, layers: Int, ffn: Int, vocab: Int) throws -> String {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        for (key, value) in [("context_length", 256), ("embedding_length", hidden), ("block_count", layers), ("feed_forward_length", ffn),
                             ("attention.head_count", hidden / 64), ("attention.head_count_kv", hidden / 256)] {
            writer.set("llama.\(key)", .uint32(UInt32(value)))
        }
        writer.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func q8(_ rows: Int, _ cols: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: rows * cols / 32 * 34)
            let scale = Float16(1.0 / 64).bitPattern
            for block in 0..<(rows * cols / 32) {
                bytes[block * 34] = UInt8(scale & 0xFF)
                bytes[block * 34 + 1] = UInt8(scale >> 8)
                for i in 0..<32 {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    bytes[block * 34 + 2 + i] = UInt8(truncatingIfNeeded: state >> 56)
                }
            }
            return bytes
        }
        func ones(_ count: Int) -> [UInt8] { (0..<count).flatMap { _ in withUnsafeBytes(of: Float(1).bitPattern.littleEndian, Array.init) } }
        let kv = hidden / 4
        try writer.addTensor(name: "token_embd.weight", dimensions: [hidden, vocab], type: .q8_0, data: q8(vocab, hidden))
        for i in 0..<layers {
            try writer.addTensor(name: "blk.\(i).attn_norm.weight", dimensions: [hidden], type: .f32, data: ones(hidden))
            for (name, rows, cols) in [("attn_q", hidden, hidden), ("attn_k", kv, hidden), ("attn_v", kv, hidden), ("attn_output", hidden, hidden),
                                       ("ffn_gate", ffn, hidden), ("ffn_up", ffn, hidden), ("ffn_down", hidden, ffn)] {
                try writer.addTensor(name: "blk.\(i).\(name).weight", dimensions: [cols, rows], type: .q8_0, data: q8(rows, cols))
            }
            try writer.addTensor(name: "blk.\(i).ffn_norm.weight", dimensions: [hidden], type: .f32, data: ones(hidden))
        }
        try writer.addTensor(name: "output_norm.weight", dimensions: [hidden], type: .f32, data: ones(hidden))
        try writer.addTensor(name: "output.weight", dimensions: [hidden, vocab], type: .q8_0, data: q8(vocab, hidden))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loom-memory-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        return path
    }
}
