import Foundation
import Testing

/// `loom quantize --gptq` as a user runs it: what it refuses, the plan it prints, and a file
/// that keeps the source's tensors where feedback does not reach.
@Suite struct QuantizeCommandTests {
    static let f16 = "Models/loom-demo/gguf/loom-demo-F16.gguf"
    static let calibration = "Tests/LoomQuantizeTests/Fixtures/calibration-32k.txt"

    @Test func gptqNeedsCalibrationText() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("loom-gptq-refused-\(getpid()).gguf").path
        let result = try LoomProcess.run(["quantize", Self.f16, "--type", "q4_0", "--gptq", "--out", out])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--gptq needs --calibration"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let zero = try LoomProcess.run(["quantize", Self.f16, "--type", "q4_0", "--gptq", "--calibration", Self.calibration,
                                        "--gptq-memory", "0", "--out", out])
        #expect(zero.status != 0 && zero.stderr.contains("--gptq-memory"), "\(zero.stderr)")
    }

    /// A budget of 1 MB holds one demo layer's covariances at most (each layer needs 6.3 MB with
    /// its factors, so every layer gets its own window): seven calibration passes, as the plan says.
    @Test func gptqPlansItsCalibrationPassesAndWritesAFile() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("loom-gptq-\(getpid()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let result = try LoomProcess.run(["quantize", Self.f16, "--type", "q4_0", "--gptq", "--calibration", Self.calibration,
                                          "--ctx", "128", "--chunks", "4", "--gptq-memory", "1", "--out", out, "-t", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("gptq: 28 layer inputs"), "\(result.stderr)")
        #expect(result.stderr.contains("collected in 7 calibration passes"), "\(result.stderr)")
        #expect(result.stdout.contains("wrote \(out)"))
        let written = try #require(FileManager.default.contents(atPath: out))
        #expect(written.prefix(4) == Data("GGUF".utf8))
    }
}
