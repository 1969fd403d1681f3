import Foundation
import LoomCore
import LoomFormats
@testable import LoomKernels
@testable import LoomRuntime
import LoomTokenizer
import Testing

/// GPTQ-style error feedback (`ErrorFeedback`) and the input covariances it runs on, on the
/// demo model's trained weights and real activations: calibration on `Fixtures/calibration-32k.txt`
/// (the start of the default calibration text, by tools/quant/make-llamacpp-fixtures.sh; the
/// 3 kB excerpt where llama-imatrix's matrix is the oracle), held-out activations from
/// Models/loom-demo/eval.txt. The row-by-row rounding it is measured against is Loom's own,
/// which QuantizerTests holds better than llama-quantize's.
@Suite struct ErrorFeedbackTests {
    static let f16 = ImportanceMatrixTests.f16
    static let context = 128

    static func tokens(_ path: String) throws -> [Int] {
        let text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        return try Tokenizer(ggufFile: f16).encode(text).map(Int.init)
    }

    static var calibrationPath: String { ImportanceMatrixTests.fixtures.appendingPathComponent("calibration-excerpt.txt").path }
    static var longCalibrationPath: String { ImportanceMatrixTests.fixtures.appendingPathComponent("calibration-32k.txt").path }
    static var heldOutPath: String { ImportanceMatrixTests.root.appendingPathComponent("Models/loom-demo/eval.txt").path }

    static func engine() throws -> Engine {
        try Engine(path: f16, options: EngineOptions(maxSequenceLength: context, chunkTokens: context, threads: 2, logitsRows: 64))
    }

    static let inputs: Set<String> = ["blk.1.attn_q.weight", "blk.1.ffn_down.weight", "blk.1.attn_output.weight", "blk.1.ffn_gate.weight"]

    static func hessians(_ path: String, chunks: Int) throws -> [String: InputHessian] {
        try engine().collectHessians(tokens: tokens(path), context: context, bos: nil, maxChunks: chunks, inputs: inputs)
    }

    /// The diagonal of Σ x·xᵀ is the importance matrix: Loom's own, and llama-imatrix's.
    @Test func hessianDiagonalIsTheImportanceMatrix() throws {
        let hessians = try Self.hessians(Self.calibrationPath, chunks: 4)
        let ours = try ImportanceMatrixTests.collected(), theirs = try ImportanceMatrixTests.llamaCpp("gguf")
        #expect(Set(hessians.keys) == Self.inputs)
        for (name, hessian) in hessians {
            let n = hessian.columns
            let diagonal = (0..<n).map { hessian.sums[$0 * n + $0] }
            let entry = try #require(ours.entries[name])
            #expect(Float(hessian.tokens) == entry.counts[0], "\(name)")
            let own = zip(diagonal, entry.sums).map { abs($0 - $1) / max(abs($1), 1e-20) }.max()!
            #expect(own < 1e-4, "\(name): \(own)")
            let llama = try #require(theirs.entries[name])
            let relative = zip(diagonal, llama.sums).map { Double(abs($0 - $1) / max(abs($1), 1e-20)) }.sorted()
            #expect(relative[relative.count / 2] < 1e-3 && relative.last! < 2e-2, "\(name): median \(relative[relative.count / 2])")
            // Symmetric once mirrored, and positive semi-definite on its diagonal.
            let full = hessian.symmetrized()
            #expect(full.sums[1 * n + 5] == full.sums[5 * n + 1] && diagonal.allSatisfy { $0 >= 0 })
        }
    }

    /// UᵀU is the inverse of the damped Hessian, and U is upper triangular with a positive diagonal.
    @Test func inverseFactorInvertsTheDampedHessian() throws {
        let hessian = try #require(try Self.hessians(Self.calibrationPath, chunks: 4)["blk.1.attn_q.weight"]).symmetrized()
        let n = hessian.columns
        let u = try ErrorFeedback.inverseFactor(hessian, pool: ThreadPool(threads: 2))
        var mean: Double = 0
        for j in 0..<n { mean += Double(hessian.sums[j * n + j]) }
        let lambda = mean / Double(n) * Double(ErrorFeedback.damping)
        var worst = 0.0
        for i in 0..<n {
            #expect(u[i * n + i] > 0)
            for j in 0..<i { #expect(u[i * n + j] == 0) }
        }
        // (UᵀU)(H + λI) = I, column by column.
        for c in stride(from: 0, to: n, by: 7) {
            var hc = (0..<n).map { Double(hessian.sums[$0 * n + c]) }  // column c of H + λI
            hc[c] += lambda
            var uh = [Double](repeating: 0, count: n)  // U·hc
            for i in 0..<n { for k in i..<n { uh[i] += Double(u[i * n + k]) * hc[k] } }
            for j in 0..<n {
                var v = 0.0  // (Uᵀ·U·hc)_j
                for i in 0...j { v += Double(u[i * n + j]) * uh[i] }
                worst = max(worst, abs(v - (j == c ? 1 : 0)))
            }
        }
        #expect(worst < 2e-3, "max |(UᵀU)(H + λI) − I| = \(worst)")
    }

    /// Re-choosing every integer of a quantized block as the nearest on the grid its scales leave
    /// gives back the block's own integers (the quantizers round to the nearest at their stored
    /// scales), and the grid decodes as the dequantizer does.
    @Test(arguments: BlockGrid.supported)
    func gridRoundTripsEveryType(_ type: QuantType) throws {
        var random = SplitMix64(seed: 0x6772_6964)
        let n = type.blockSize, blocks = 64
        let x = (0..<(n * blocks)).map { _ in Float.random(in: -1...1, using: &random) * Float.random(in: 0.1...2, using: &random) }
        var original = [UInt8](repeating: 0, count: type.rowBytes(x.count))
        x.withUnsafeBufferPointer {
            if !WeightedQuantize.row(type, $0.baseAddress!, count: x.count, importance: nil, into: &original) {
                Quantize.run(type, $0.baseAddress!, count: x.count, into: &original)
            }
        }
        var decoded = [Float](repeating: 0, count: x.count)
        Dequantize.run(type, original, count: x.count, into: &decoded)
        var same = 0
        var step = [Float](repeating: 0, count: n), offset = [Float](repeating: 0, count: n)
        var scratch = [Int32](repeating: 0, count: n), chosen = [Int32](repeating: 0, count: n)
        for b in 0..<blocks {
            var block = Array(original[(b * type.blockBytes)..<((b + 1) * type.blockBytes)])
            BlockGrid.steps(type, block: &block, step: &step, offset: &offset, scratch: &scratch)
            for j in 0..<n {
                let v = x[b * n + j]
                chosen[j] = BlockGrid.nearest(type, v, step: step[j], offset: offset[j])
                let restored = step[j] * BlockGrid.value(type, chosen[j]) + offset[j]
                // Nearest: no worse than what the quantizer chose, up to the grid's float rounding.
                #expect(abs(v - restored) <= abs(v - decoded[b * n + j]) + 1e-5 * max(1, abs(step[j]) * 128), "\(type) block \(b) weight \(j)")
            }
            BlockGrid.pack(type, chosen, into: &block)
            var again = [Float](repeating: 0, count: n)
            Dequantize.run(type, block, count: n, into: &again)
            for j in 0..<n {
                let restored = step[j] * BlockGrid.value(type, chosen[j]) + offset[j]
                #expect(abs(again[j] - restored) <= 1e-5 * max(abs(again[j]), abs(step[j]) * 128), "\(type) block \(b) weight \(j)")
            }
            if block == Array(original[(b * type.blockBytes)..<((b + 1) * type.blockBytes)]) { same += 1 }
        }
        // The reference quantizers (q8_0, q4_1, q5_1) round against the scale before it is
        // stored as f16: not always the nearest at the stored one.
        if ![.q8_0, .q4_1, .q5_1].contains(type) { #expect(same >= blocks * 95 / 100, "\(type): \(same) of \(blocks) blocks repacked identically") }
    }

    /// Σ over rows of (w − ŵ)·H·(w − ŵ)ᵀ / tokens: the mean squared change of the layer's output
    /// per token on the activations H was collected from.
    static func outputError(_ w: [Float], _ bytes: [UInt8], type: QuantType, _ hessian: InputHessian, lambda: Float = 0) -> Double {
        let n = hessian.columns, rows = w.count / n
        var decoded = [Float](repeating: 0, count: w.count)
        Dequantize.run(type, bytes, count: w.count, into: &decoded)
        var total = 0.0
        var delta = [Double](repeating: 0, count: n)
        for r in 0..<rows {
            for j in 0..<n { delta[j] = Double(w[r * n + j] - decoded[r * n + j]) }
            for i in 0..<n {
                var s = 0.0
                for j in 0..<n { s += Double(hessian.sums[i * n + j]) * delta[j] }
                s += Double(lambda) * delta[i]
                total += delta[i] * s
            }
        }
        return total / Double(hessian.tokens)
    }

    /// With feedback, each layer's output moves less than with the best row-by-row rounding,
    /// on the calibration activations and on held-out ones; and the error the feedback reports
    /// is what its bytes decode to.
    @Test(arguments: [QuantType.q4_K, .q3_K, .q6_K, .q4_0, .iq4_xs, .q2_K, .q5_1])
    func feedbackLowersOutputError(_ type: QuantType) throws {
        let source = try GGUFFile(path: Self.f16)
        let calibration = try Self.hessians(Self.longCalibrationPath, chunks: 64), heldOut = try Self.hessians(Self.heldOutPath, chunks: 8)
        let importance = try ImportanceMatrixTests.collected()
        for name in ["blk.1.ffn_down.weight", "blk.1.attn_q.weight"] {
            let info = try #require(source.tensor(named: name))
            let columns = info.dimensions[0]
            let weights = try GGUFQuantizer.widened(source.data(for: info), info, source: source.path)
            let h = try #require(calibration[name]).symmetrized(), held = try #require(heldOut[name]).symmetrized()
            let fed = ErrorFeedback.quantize(weights, columns: columns, as: type, input: try ErrorFeedback.Factor(h, threads: 2), threads: 2)
            let plain = try GGUFQuantizer.quantize(source.data(for: info), info, as: type, importance: importance, source: source.path, threads: 2)
            #expect(fed.bytes.count == plain.count)
            let (fedCal, plainCal) = (Self.outputError(weights, fed.bytes, type: type, h), Self.outputError(weights, plain, type: type, h))
            let (fedHeld, plainHeld) = (Self.outputError(weights, fed.bytes, type: type, held), Self.outputError(weights, plain, type: type, held))
            #expect(fedCal < 0.9 * plainCal, "\(name) \(type) calibration: \(fedCal) vs \(plainCal)")
            #expect(fedHeld < 0.85 * plainHeld, "\(name) \(type) held out: \(fedHeld) vs \(plainHeld)")
            var mean: Float = 0
            for j in 0..<columns { mean += h.sums[j * columns + j] }
            let damped = Self.outputError(weights, fed.bytes, type: type, h, lambda: mean / Float(columns) * ErrorFeedback.damping)
            #expect(abs(fed.error - damped) <= 1e-3 * damped, "\(name) \(type): reported \(fed.error), decoded \(damped)")
        }
    }

    /// A budget smaller than a layer's covariances takes a calibration pass per layer and hands
    /// out the same matrices as one pass over every input; a budget of two layers, one pass.
    @Test func windowsCollectWhatOnePassDoes() throws {
        let source = try GGUFFile(path: Self.f16)
        let names = try GGUFQuantizer.quantizable(source).filter { $0.hasPrefix("blk.0.") || $0.hasPrefix("blk.1.") }
        let weights = names.map { (name: $0, columns: source.tensor(named: $0)!.dimensions[0]) }
        let engine = try Self.engine(), ids = try Self.tokens(Self.calibrationPath)
        var asked: [Set<String>] = []
        // A Hessian and its factor per input, and the factorization's two working matrices of the widest.
        let layerBytes = 3 * HessianWindows.bytes(columns: 256) + HessianWindows.bytes(columns: 768), working = 2 * InputHessian.bytes(columns: 768)
        let wide = HessianWindows(weights: weights, budgetBytes: 2 * layerBytes) { _ in [:] }
        #expect(wide.plan.passes == 1 && wide.plan.peakBytes == 2 * layerBytes + working)
        let windows = HessianWindows(weights: weights, budgetBytes: 2 * HessianWindows.bytes(columns: 256)) { inputs in
            asked.append(inputs)
            return try engine.collectHessians(tokens: ids, context: Self.context, bos: nil, maxChunks: 2, inputs: inputs)
        }
        // Per layer: the attention input, its output's, the MLP's input and its down projection's.
        #expect(windows.inputs.count == 8)
        let whole = try engine.collectHessians(tokens: ids, context: Self.context, bos: nil, maxChunks: 2,
                                               inputs: Set(windows.inputs.map(\.key)))
        for name in names {
            let got = try #require(try windows.hessian(for: name))
            #expect(got.sums == whole[HessianWindows.inputKey(of: name)]!.symmetrized().sums, "\(name)")
            #expect(try windows.factor(for: name, threads: 2)?.u == ErrorFeedback.Factor(got, threads: 1).u, "\(name)")
        }
        #expect(windows.passes == windows.plan.passes && windows.passes == asked.count && windows.passes == 2,
                "\(windows.passes) passes, planned \(windows.plan.passes), asked \(asked.count): \(windows.inputs.map(\.key))")
        #expect(asked.map(\.count) == [4, 4] && windows.plan.peakBytes == layerBytes + working)
        #expect(try windows.hessian(for: "token_embd.weight") == nil)
    }

    /// A run with feedback stopped part-way resumes to the same file; with Hessians from other
    /// calibration tokens (another `identity`), or without feedback, it starts afresh.
    @Test func anInterruptedRunWithFeedbackResumes() throws {
        struct Stop: Error {}
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-resume-gptq-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = directory.appendingPathComponent("whole.gguf").path, stopped = directory.appendingPathComponent("stopped.gguf").path
        let source = try GGUFFile(path: Self.f16)
        let plan = try GGUFQuantizer.plan(source, scheme: .q4_k_m, importance: nil)
        let engine = try Self.engine(), ids = try Self.tokens(Self.longCalibrationPath)
        let weights = try GGUFQuantizer.quantizable(source).map { (name: $0, columns: source.tensor(named: $0)!.dimensions[0]) }
        func windows(_ identity: UInt64) -> HessianWindows {
            HessianWindows(weights: weights, budgetBytes: 1 << 30, identity: identity) { inputs in
                try engine.collectHessians(tokens: ids, context: Self.context, bos: nil, maxChunks: 8, inputs: inputs)
            }
        }
        let hessians = windows(7)
        try GGUFQuantizer.run(source, plan: plan, importance: nil, hessians: hessians, to: whole, threads: 2)
        #expect(throws: Stop.self) {
            try GGUFQuantizer.run(source, plan: plan, importance: nil, hessians: hessians, to: stopped, threads: 2,
                                  progress: { index, _ in if index == 20 { throw Stop() } })
        }
        var resumedAt = -1
        try GGUFQuantizer.run(source, plan: plan, importance: nil, hessians: hessians, to: stopped, threads: 2, resumed: { resumedAt = $0 })
        #expect(resumedAt == 21)
        #expect(FileManager.default.contents(atPath: stopped) == FileManager.default.contents(atPath: whole))
        for other in [windows(8), nil] {
            #expect(throws: Stop.self) {
                try GGUFQuantizer.run(source, plan: plan, importance: nil, hessians: hessians, to: stopped, threads: 2,
                                      progress: { index, _ in if index == 20 { throw Stop() } })
            }
            try GGUFQuantizer.run(source, plan: plan, importance: nil, hessians: other, to: stopped, threads: 2, resumed: { resumedAt = $0 })
            #expect(resumedAt == 0)
        }
        // Feedback changed the integers of the tensors it reached, and nothing else.
        let fed = try GGUFFile(path: whole), plain = try GGUFFile(path: stopped)
        var changed = 0
        for info in fed.tensors {
            let same = Array(fed.data(for: info)) == Array(plain.data(for: plain.tensor(named: info.name)!))
            if !same { changed += 1 }
            #expect(same || HessianWindows.feedsBack(info.name) && info.name.hasPrefix("blk."), "\(info.name)")
        }
        #expect(changed == 49)
    }
}
