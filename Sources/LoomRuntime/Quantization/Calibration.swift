import Foundation
import LoomCore

extension Engine {
    /// Runs the model over the first whole chunks of `tokens` (each of `context` tokens from an
    /// empty cache, the first replaced by `bos` when given, as llama-imatrix does) and returns the
    /// importance matrix of every dense linear layer: Σ x² per input column over all positions.
    /// At most `maxChunks` chunks when given. `progress` gets (chunks done, chunks).
    public func collectImportance(tokens: [Int], context: Int, bos: Int?, maxChunks: Int? = nil,
                                  progress: (Int, Int) -> Void = { _, _ in }) throws -> ImportanceMatrix {
        let matrix = Locked(ImportanceMatrix())
        model.inputObserver = { names, rows, count, width in
            // The layers' weights only, as llama-imatrix collects by default (not the head).
            guard names[0].hasPrefix("blk.") else { return }
            matrix.withLock { m in
                m.accumulate(names[0], rows, rows: count, columns: width)
            }
        }
        defer { model.inputObserver = nil }
        let chunks = try runCalibration(tokens: tokens, context: context, bos: bos, maxChunks: maxChunks, progress: progress)
        var result = matrix.withLock { $0 }
        // Weights that share an input share its statistics.
        for (name, entry) in result.entries {
            for sibling in Self.inputSiblings(of: name) { result.entries[sibling] = entry }
        }
        result.chunkCount = chunks
        result.chunkSize = context
        return result
    }

    /// Runs the model over the first whole chunks of `tokens`, each of `context` tokens from an
    /// empty cache with the first replaced by `bos` when given, at most `maxChunks`, for
    /// `model.inputObserver` to see its inputs; logits at every position when `allPositions`.
    /// Returns the number of chunks run.
    func runCalibration(tokens: [Int], context: Int, bos: Int?, maxChunks: Int?, allPositions: Bool = false,
                        progress: (Int, Int) -> Void) throws -> Int {
        guard context <= capacity else {
            throw EngineError.invalidOption(name: "context", reason: "\(context) is larger than the cache of \(capacity) positions")
        }
        let chunks = min(tokens.count / context, maxChunks ?? Int.max)
        guard chunks >= 1 else {
            throw EngineError.invalidOption(name: "tokens", reason: "the calibration text has \(tokens.count) tokens, fewer than one chunk of \(context)")
        }
        for chunk in 0..<chunks {
            reset()
            var input = Array(tokens[(chunk * context)..<((chunk + 1) * context)])
            if let bos { input[0] = bos }
            _ = try evaluate(input, allPositions: allPositions)
            progress(chunk + 1, chunks)
        }
        reset()
        return chunks
    }

    /// Weights (by GGUF suffix) that read the input the model reports under another's name:
    /// k and v the attention input of q, up the MLP input of gate.
    static let sharedInputs: [(reader: String, reported: String)] = [
        (".attn_k.weight", ".attn_q.weight"), (".attn_v.weight", ".attn_q.weight"), (".ffn_up.weight", ".ffn_gate.weight"),
    ]

    /// The other weights that read the same input as `name` (its q/k/v or gate/up partners).
    static func inputSiblings(of name: String) -> [String] {
        sharedInputs.filter { name.hasSuffix($0.reported) }.map { String(name.dropLast($0.reported.count)) + $0.reader }
    }
}
