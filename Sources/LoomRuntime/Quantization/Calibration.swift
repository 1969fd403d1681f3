import Foundation
import LoomCore

extension Engine {
    /// Runs the model over the first whole chunks of `tokens` (each of `context` tokens from an
    /// empty cache, the first replaced by `bos` when given, as llama-imatrix does) and returns the
    /// importance matrix of every dense linear layer: Σ x² per input column over all positions.
    /// At most `maxChunks` chunks when given. `progress` gets (chunks done, chunks).
    public func collectImportance(tokens: [Int], context: Int, bos: Int?, maxChunks: Int? = nil,
                                  progress: (Int, Int) -> Void = { _, _ in }) throws -> ImportanceMatrix {
        guard context <= capacity else {
            throw EngineError.invalidOption(name: "context", reason: "\(context) is larger than the cache of \(capacity) positions")
        }
        let chunks = min(tokens.count / context, maxChunks ?? Int.max)
        guard chunks >= 1 else {
            throw EngineError.invalidOption(name: "tokens", reason: "the calibration text has \(tokens.count) tokens, fewer than one chunk of \(context)")
        }
        let matrix = Locked(ImportanceMatrix())
        model.inputObserver = { names, rows, count, width in
            matrix.withLock { m in
                m.accumulate(names[0], rows, rows: count, columns: width)
            }
        }
        defer { model.inputObserver = nil }
        for chunk in 0..<chunks {
            reset()
            var input = Array(tokens[(chunk * context)..<((chunk + 1) * context)])
            if let bos { input[0] = bos }
            _ = try evaluate(input)
            progress(chunk + 1, chunks)
        }
        reset()
        var result = matrix.withLock { $0 }
        // Weights that share an input share its statistics.
        for (name, entry) in result.entries {
            for sibling in Self.inputSiblings(of: name) { result.entries[sibling] = entry }
        }
        result.chunkCount = chunks
        result.chunkSize = context
        return result
    }

    /// The other weights that read the same input as `name` (its q/k/v or gate/up partners).
    static func inputSiblings(of name: String) -> [String] {
        if name.hasSuffix(".attn_q.weight") {
            let stem = name.dropLast("attn_q.weight".count)
            return ["\(stem)attn_k.weight", "\(stem)attn_v.weight"]
        }
        if name.hasSuffix(".ffn_gate.weight") { return [name.replacingOccurrences(of: ".ffn_gate.", with: ".ffn_up.")] }
        return []
    }
}
