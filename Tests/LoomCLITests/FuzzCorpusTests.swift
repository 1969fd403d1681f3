import Foundation
import Testing

/// Every input the fuzzers kept (Fuzz/corpus), every finding once fixed (Fuzz/regressions) and
/// every seed (Fuzz/seeds, from tools/fuzz-seeds), replayed through the fuzz targets of this
/// build: each must be read, or refused with a typed error, without a crash.
@Suite struct FuzzCorpusTests {
    static let targets = ["FuzzSafeTensors", "FuzzGGUF", "FuzzTokenizer", "FuzzConfig", "FuzzTemplate", "FuzzRequest"]

    @Test(arguments: targets)
    func everyKeptInputStillPasses(_ target: String) throws {
        let loom = try LoomProcess.requireBinary()
        let binary = URL(fileURLWithPath: loom).deletingLastPathComponent().appendingPathComponent(target).path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "\(binary) is built with the package")
        let folders = ["Fuzz/corpus/\(target)", "Fuzz/regressions/\(target)", "Fuzz/seeds/\(target)"].map { LoomProcess.root.appendingPathComponent($0).path }
            .filter { FileManager.default.fileExists(atPath: $0) }
        try #require(!folders.isEmpty, "no corpus for \(target): run tools/fuzz-seeds")
        let result = try LoomProcess.launch(binary, folders, environment: [:])
        #expect(result.status == 0, "\(target): \(result.stderr.suffix(2000))")
        let replayed = Int(result.stdout.split(separator: " ").first ?? "") ?? 0
        #expect(replayed > 0, "\(target) replayed nothing: \(result.stdout)")
    }
}
