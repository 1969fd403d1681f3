import Foundation
import LoomCore
import LoomFormats
import LoomKernels
import LoomModel

/// How much each tensor's quantization costs the model, measured, so that `BitAllocation` can
/// spend a bit budget where it buys the most.
///
/// Two measurements per tensor:
/// - its output error under every candidate type: Σ over rows and columns of impⱼ·(w − ŵ)², impⱼ
///   the column's mean squared activation (the importance matrix; 1 without one), which is the
///   expected squared error the rounding adds to the layer's output;
/// - the end-to-end cost at one probe type: the mean KL divergence of the logits from the source
///   model's, on calibration chunks, with only that tensor quantized.
///
/// A tensor's predicted cost at type τ is its probe KL divergence scaled by error(τ)/error(probe):
/// for small perturbations the KL divergence is quadratic in the logits' change, so proportional
/// to the squared output error, and independent errors of different tensors add. The probe type
/// is q3_K, near the middle of the range a bit budget chooses among.
public struct TensorSensitivity: Sendable {
    public let name: String
    public let candidates: [BitAllocation.Candidate]
    /// KL divergence with only this tensor at the probe type.
    public let probeKLD: Double

    /// The types tried, smallest first (before the fallback for rows that are not whole blocks).
    public static let candidateTypes: [QuantType] = [.q2_K, .q3_K, .iq4_xs, .q4_K, .q5_K, .q6_K, .q8_0]
    static let probeType: QuantType = .q3_K

    /// The candidate types for rows of `columns`: those whose blocks divide the rows, with
    /// llama-quantize's fallbacks for the others, each once.
    public static func types(columns: Int) -> [QuantType] {
        var seen: [QuantType] = []
        for type in candidateTypes {
            let t = QuantizationScheme.fallback(type, columns: columns)
            if t != .f16, !seen.contains(t) { seen.append(t) }
        }
        return seen
    }

    /// Measures every tensor that `eligible` names (GGUF names) of `source`. `tokens` is
    /// calibration text; the KL divergences are over at most `chunks` chunks of `context`.
    /// With `hessians`, the tensors whose input they hold are quantized with error feedback, as
    /// they will be written, and their output error is the feedback's own (the full input
    /// covariance, not its diagonal). `progress` gets (tensors done, tensors, the tensor just measured).
    public static func measure(_ source: GGUFFile, tensors eligible: [String], importance: ImportanceMatrix?,
                               hessians: HessianWindows? = nil, tokens: [Int], context: Int, chunks: Int, bos: Int?, threads: Int,
                               progress: (Int, Int, TensorSensitivity) -> Void = { _, _, _ in }) throws -> [TensorSensitivity] {
        let config = try ModelConfig.load(gguf: source)
        let family = ModelArchitectures.of(config)
        let pool = ThreadPool(threads: threads)
        let options = EngineOptions(maxSequenceLength: context, chunkTokens: context, threads: threads, logitsRows: min(context, 64))
        func engine(_ replacements: [String: ReplacementTensor]) throws -> Engine {
            let weights = GGUFWeightSource(file: source, naming: { family.ggufTensorName($0) }, replacements: replacements)
            let plan = try Engine.singleDevicePlan(try ModelFootprint(name: source.path, config: config, source: weights), options)
            return try Engine(config: config, source: weights, ropeLayout: family.ggufRopeLayout, plan: plan, pool: pool)
        }
        let reference = try LogitReference(engine: try engine([:]), tokens: tokens, context: context, chunks: chunks, bos: bos)
        var results: [TensorSensitivity] = []
        for (index, name) in eligible.enumerated() {
            guard let info = source.tensor(named: name) else {
                throw QuantizationError(path: source.path, tensor: name, reason: "not in the file")
            }
            let columns = info.dimensions[0]
            let input = source.data(for: info)
            let original = try GGUFQuantizer.widened(input, info, source: source.path)  // [rows, columns]
            let weights = importance?.importance(for: name)
            var errors: [(QuantType, Int, Double)] = []
            var probe: (bytes: [UInt8], error: Double, type: QuantType)?
            let probeType = QuantizationScheme.fallback(probeType, columns: columns)
            let feedback = try hessians?.factor(for: name, threads: threads)
            for type in types(columns: columns) {
                let bytes: [UInt8], error: Double
                if let feedback, ErrorFeedback.supports(type) {
                    (bytes, error) = ErrorFeedback.quantize(original, columns: columns, as: type, input: feedback, threads: threads)
                } else {
                    bytes = try GGUFQuantizer.quantize(input, info, as: type, importance: importance, source: source.path, threads: threads)
                    error = outputError(original, bytes, type: type, columns: columns, importance: weights)
                }
                errors.append((type, bytes.count, error))
                if type == probeType { probe = (bytes, error, type) }
            }
            guard let probe else { throw QuantizationError(path: source.path, tensor: name, reason: "no probe type fits rows of \(columns)") }
            let trial = try engine([name: ReplacementTensor(type: probe.type, bytes: probe.bytes)])
            let kld = try reference.meanKLD(of: trial)
            // A tensor whose probe changes nothing measurable still ranks its types by error.
            let scale = probe.error > 0 ? max(kld, 0) / probe.error : 0
            let candidates = errors.map { BitAllocation.Candidate(type: $0.0, bytes: $0.1, cost: $0.2 * scale) }
            let result = TensorSensitivity(name: name, candidates: candidates, probeKLD: kld)
            results.append(result)
            progress(index + 1, eligible.count, result)
        }
        return results
    }

    /// Σ imp_j (w − ŵ)² over a [rows, columns] matrix and its quantized rows.
    static func outputError(_ original: [Float], _ bytes: [UInt8], type: QuantType, columns: Int, importance: [Float]?) -> Double {
        let rows = original.count / columns, rowBytes = type.rowBytes(columns)
        var restored = [Float](repeating: 0, count: columns)  // [columns] one row, dequantized
        var total = 0.0
        bytes.withUnsafeBytes { raw in
            for r in 0..<rows {
                restored.withUnsafeMutableBufferPointer { Dequantize.run(type, raw.baseAddress! + r * rowBytes, count: columns, into: $0.baseAddress!) }
                var sum = 0.0
                for j in 0..<columns {
                    let d = Double(original[r * columns + j] - restored[j])
                    sum += (importance.map { Double($0[j]) } ?? 1) * d * d
                }
                total += sum
            }
        }
        return total
    }
}

/// The source model's log-probabilities on calibration chunks, held in memory, to measure other
/// versions of the model against (in full precision: one tensor's effect is far below what
/// llama.cpp's 16-bit base files resolve).
struct LogitReference {
    let tokens: [Int]
    let context: Int
    let chunks: Int
    let bos: Int?
    /// Scored positions of each chunk: the second half, as llama.cpp's --kl-divergence scores.
    let positions: Range<Int>
    /// [chunks][positions][vocab] log-probabilities.
    let logProbabilities: [[Float]]

    init(engine: Engine, tokens: [Int], context: Int, chunks maxChunks: Int, bos: Int?) throws {
        let chunks = min(tokens.count / context, maxChunks)
        guard chunks >= 1 else {
            throw EngineError.invalidOption(name: "tokens", reason: "the calibration text has \(tokens.count) tokens, fewer than one chunk of \(context)")
        }
        self.tokens = tokens
        self.context = context
        self.chunks = chunks
        self.bos = bos
        positions = (context / 2)..<(context - 1)
        var all: [[Float]] = []
        for chunk in 0..<chunks {
            let logits = try Self.evaluate(engine, tokens, chunk: chunk, context: context, bos: bos)
            var rows: [Float] = []
            rows.reserveCapacity(positions.count * engine.config.vocabSize)
            for p in positions { rows += Self.logSoftmax(logits[p]) }
            all.append(rows)
        }
        logProbabilities = all
    }

    /// Mean KL(source ‖ model) over the scored positions.
    func meanKLD(of engine: Engine) throws -> Double {
        var total = 0.0
        let vocab = engine.config.vocabSize
        for chunk in 0..<chunks {
            let logits = try Self.evaluate(engine, tokens, chunk: chunk, context: context, bos: bos)
            logProbabilities[chunk].withUnsafeBufferPointer { base in
                for (k, p) in positions.enumerated() {
                    let q = Self.logSoftmax(logits[p])
                    var sum = 0.0
                    for v in 0..<vocab {
                        let lp = base[k * vocab + v]
                        sum += Double(exp(lp)) * Double(lp - q[v])
                    }
                    total += sum
                }
            }
        }
        return total / Double(chunks * positions.count)
    }

    static func evaluate(_ engine: Engine, _ tokens: [Int], chunk: Int, context: Int, bos: Int?) throws -> [[Float]] {
        engine.reset()
        defer { engine.reset() }
        var input = Array(tokens[(chunk * context)..<((chunk + 1) * context)])
        if let bos { input[0] = bos }
        return try engine.evaluate(input, allPositions: true)
    }

    static func logSoftmax(_ logits: [Float]) -> [Float] {
        let top = logits.max() ?? 0
        var sum = 0.0
        for l in logits { sum += Double(exp(l - top)) }
        let shift = top + Float(log(sum))
        return logits.map { $0 - shift }
    }
}
