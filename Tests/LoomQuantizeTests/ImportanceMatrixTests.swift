import Foundation
import LoomFormats
@testable import LoomRuntime
import LoomTokenizer
import Testing

/// Importance matrices against llama-imatrix. The oracle files (`Fixtures/llamacpp-imatrix.gguf`
/// and `.dat`) are tools/quant/make-llamacpp-fixtures.sh: llama-imatrix (llama.cpp of the
/// llama-cpp-python 0.3.36 sdist) on the F16 demo model and `Fixtures/calibration-excerpt.txt`
/// (the start of tools/quant/make-calibration's text), -c 128, 4 chunks.
@Suite struct ImportanceMatrixTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/LoomQuantizeTests/Fixtures")
    static let f16 = root.appendingPathComponent("Models/loom-demo/gguf/loom-demo-F16.gguf").path

    static func llamaCpp(_ format: String) throws -> ImportanceMatrix {
        try ImportanceMatrix(path: fixtures.appendingPathComponent("llamacpp-imatrix.\(format)").path)
    }

    static func collected() throws -> ImportanceMatrix {
        let text = try String(contentsOf: fixtures.appendingPathComponent("calibration-excerpt.txt"), encoding: .utf8)
        let ids = try Tokenizer(ggufFile: f16).encode(text).map(Int.init)
        let engine = try Engine(path: f16, options: EngineOptions(maxSequenceLength: 128, chunkTokens: 128, threads: 2, logitsRows: 1))
        return try engine.collectImportance(tokens: ids, context: 128, bos: nil, maxChunks: 4)
    }

    @Test func legacyAndGGUFFormatsAgree() throws {
        let gguf = try Self.llamaCpp("gguf"), dat = try Self.llamaCpp("dat")
        #expect(gguf.entries.count == 49)
        #expect(Set(gguf.entries.keys) == Set(dat.entries.keys))
        #expect(gguf.chunkCount == 4 && gguf.chunkSize == 128)
        for name in gguf.entries.keys {
            let a = try #require(gguf.importance(for: name)), b = try #require(dat.importance(for: name))
            #expect(a.count == b.count)
            let worst = zip(a, b).map { abs($0 - $1) / max(abs($0), 1e-30) }.max() ?? 0
            #expect(worst < 1e-5, "\(name): \(worst)")
        }
    }

    /// The same activations through two engines: Loom's statistics equal llama-imatrix's up to
    /// the engines' rounding (both run the F16 weights with f32 activations).
    @Test func collectionMatchesLlamaImatrix() throws {
        let theirs = try Self.llamaCpp("gguf"), ours = try Self.collected()
        #expect(Set(ours.entries.keys) == Set(theirs.entries.keys))
        for (name, entry) in theirs.entries {
            let mine = try #require(ours.entries[name])
            #expect(mine.counts == entry.counts, "\(name)")
            let a = try #require(ours.importance(for: name)), b = try #require(theirs.importance(for: name))
            let relative = zip(a, b).map { Double(abs($0 - $1) / max(abs($1), 1e-20)) }.sorted()
            #expect(relative[relative.count / 2] < 1e-3 && relative.last! < 2e-2,
                    "\(name): median \(relative[relative.count / 2]), max \(relative.last!)")
        }
    }

    /// Loom's file has llama-imatrix's layout (keys, tensor names and shapes) and reads back.
    @Test func writtenFileHasLlamaImatrixLayout() throws {
        var ours = try Self.collected()
        ours.datasets = ["Tests/LoomQuantizeTests/Fixtures/calibration-excerpt.txt"]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loom-imatrix-\(getpid()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ours.write(to: path)
        let mine = try GGUFFile(path: path)
        let theirs = try GGUFFile(path: Self.fixtures.appendingPathComponent("llamacpp-imatrix.gguf").path)
        #expect(Set(mine.keys) == Set(theirs.keys))
        for key in theirs.keys { #expect(mine.metadata[key] == theirs.metadata[key], "\(key)") }
        let shapes = { (file: GGUFFile) in Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, "\($0.type) \($0.dimensions)") }) }
        #expect(shapes(mine) == shapes(theirs))
        let back = try ImportanceMatrix(path: path)
        #expect(back.entries == ours.entries)
    }

    @Test func badFilesAreNamed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loom-imatrix-bad-\(getpid()).dat").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let good = try Data(contentsOf: Self.fixtures.appendingPathComponent("llamacpp-imatrix.dat"))
        try good.prefix(1000).write(to: URL(fileURLWithPath: path))
        #expect { try ImportanceMatrix(path: path) } throws: { ($0 as? ImportanceMatrixError)?.path == path }
    }

    /// Quantizing with an importance matrix uses it: the output differs from the unweighted one,
    /// and a matrix whose width does not fit a tensor is an error naming the tensor.
    @Test func quantizeUsesTheMatrix() throws {
        let source = try GGUFFile(path: Self.f16)
        let matrix = try Self.llamaCpp("gguf")
        let info = try #require(source.tensor(named: "blk.1.ffn_down.weight"))
        let weighted = try GGUFQuantizer.quantize(source.data(for: info), info, as: .q4_K, importance: matrix, source: source.path, threads: 2)
        let plain = try GGUFQuantizer.quantize(source.data(for: info), info, as: .q4_K, importance: nil, source: source.path, threads: 2)
        #expect(weighted != plain)
        var wrong = matrix
        wrong.entries["blk.1.ffn_down.weight"] = ImportanceMatrix.Entry(sums: [1, 2, 3], counts: [1])
        #expect { try GGUFQuantizer.quantize(source.data(for: info), info, as: .q4_K, importance: wrong, source: source.path, threads: 2) }
            throws: { ($0 as? QuantizationError)?.tensor == "blk.1.ffn_down.weight" }
    }
}
