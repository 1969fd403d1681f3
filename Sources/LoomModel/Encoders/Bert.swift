import LoomCore
import LoomFormats
import LoomKernels

/// The weights of one BERT encoder layer (post-norm: each block's LayerNorm follows its residual add).
public struct BertLayerWeights: @unchecked Sendable {
    public let query: any WeightMatrix             // [hidden, hidden]
    public let key: any WeightMatrix               // [hidden, hidden]
    public let value: any WeightMatrix             // [hidden, hidden]
    public let output: any WeightMatrix            // [hidden, hidden]
    public let queryBias: ArenaBuffer<Float>       // [hidden]
    public let keyBias: ArenaBuffer<Float>         // [hidden]
    public let valueBias: ArenaBuffer<Float>       // [hidden]
    public let outputBias: ArenaBuffer<Float>      // [hidden]
    public let attentionNormWeight: ArenaBuffer<Float>  // [hidden]
    public let attentionNormBias: ArenaBuffer<Float>    // [hidden]
    public let intermediate: any WeightMatrix      // [intermediate, hidden]
    public let intermediateBias: ArenaBuffer<Float> // [intermediate]
    public let down: any WeightMatrix              // [hidden, intermediate]
    public let downBias: ArenaBuffer<Float>        // [hidden]
    public let outputNormWeight: ArenaBuffer<Float> // [hidden]
    public let outputNormBias: ArenaBuffer<Float>   // [hidden]

    var matrices: [any WeightMatrix] { [query, key, value, output, intermediate, down] }
}

/// All weights of a BERT encoder, bound to one arena.
public struct BertWeights: @unchecked Sendable {
    public let wordEmbedding: any WeightMatrix      // [vocab, hidden]
    public let positionEmbedding: any WeightMatrix  // [maxPositions, hidden]
    public let tokenTypeEmbedding: any WeightMatrix // [typeVocab, hidden]
    public let embeddingNormWeight: ArenaBuffer<Float> // [hidden]
    public let embeddingNormBias: ArenaBuffer<Float>   // [hidden]
    public let layers: [BertLayerWeights]

    /// The prefix `source` uses for the encoder's tensors: `BertForMaskedLM` and
    /// `BertForPreTraining` files put `bert.` in front of each HF name.
    public static func namePrefix(in source: any WeightSource) -> String {
        source.contains("bert.embeddings.word_embeddings.weight") ? "bert." : ""
    }

    /// Every tensor of a BERT encoder with `config`, in load order (HF names without the prefix).
    public static func inventory(_ config: EncoderConfig) -> [TensorSpec] {
        let hidden = config.hiddenSize, inner = config.intermediateSize
        var specs: [TensorSpec] = []
        func matrix(_ name: String, _ rows: Int, _ cols: Int, _ placement: WeightPlacement) {
            specs.append(TensorSpec(name: name, placement: placement, kind: .matrix(rows: rows, cols: cols)))
        }
        func vector(_ name: String, _ count: Int, _ placement: WeightPlacement) {
            specs.append(TensorSpec(name: name, placement: placement, kind: .vector(count: count)))
        }
        matrix("embeddings.word_embeddings.weight", config.vocabSize, hidden, .embedding)
        matrix("embeddings.position_embeddings.weight", config.maxPositionEmbeddings, hidden, .embedding)
        matrix("embeddings.token_type_embeddings.weight", config.typeVocabSize, hidden, .embedding)
        vector("embeddings.LayerNorm.weight", hidden, .embedding)
        vector("embeddings.LayerNorm.bias", hidden, .embedding)
        for i in 0..<config.layerCount {
            let p = WeightPlacement.layer(i), l = "encoder.layer.\(i)."
            for part in ["query", "key", "value"] {
                matrix(l + "attention.self.\(part).weight", hidden, hidden, p)
                vector(l + "attention.self.\(part).bias", hidden, p)
            }
            matrix(l + "attention.output.dense.weight", hidden, hidden, p)
            vector(l + "attention.output.dense.bias", hidden, p)
            vector(l + "attention.output.LayerNorm.weight", hidden, p)
            vector(l + "attention.output.LayerNorm.bias", hidden, p)
            matrix(l + "intermediate.dense.weight", inner, hidden, p)
            vector(l + "intermediate.dense.bias", inner, p)
            matrix(l + "output.dense.weight", hidden, inner, p)
            vector(l + "output.dense.bias", hidden, p)
            vector(l + "output.LayerNorm.weight", hidden, p)
            vector(l + "output.LayerNorm.bias", hidden, p)
        }
        return specs
    }

    /// Binds every tensor of `inventory`, charging mapped matrices to `arena` and copying the
    /// vectors into it. Fails on the first missing or mis-shaped tensor.
    public static func load(config: EncoderConfig, source: any WeightSource, arena: MemoryArena) throws -> BertWeights {
        let prefix = namePrefix(in: source)
        var matrices: [String: any WeightMatrix] = [:]
        var vectors: [String: ArenaBuffer<Float>] = [:]
        for spec in inventory(config) {
            switch spec.kind {
            case let .matrix(rows, cols):
                let m = try source.matrix(prefix + spec.name, rows: rows, cols: cols, arena: arena, activations: .standard)
                if !m.isArenaResident { try arena.charge(m.byteCount, label: "weights") }
                matrices[spec.name] = m
            case let .vector(count):
                vectors[spec.name] = try source.vector(prefix + spec.name, count: count, arena: arena)
            }
        }
        let layers = (0..<config.layerCount).map { i -> BertLayerWeights in
            let l = "encoder.layer.\(i)."
            return BertLayerWeights(
                query: matrices[l + "attention.self.query.weight"]!, key: matrices[l + "attention.self.key.weight"]!,
                value: matrices[l + "attention.self.value.weight"]!, output: matrices[l + "attention.output.dense.weight"]!,
                queryBias: vectors[l + "attention.self.query.bias"]!, keyBias: vectors[l + "attention.self.key.bias"]!,
                valueBias: vectors[l + "attention.self.value.bias"]!, outputBias: vectors[l + "attention.output.dense.bias"]!,
                attentionNormWeight: vectors[l + "attention.output.LayerNorm.weight"]!,
                attentionNormBias: vectors[l + "attention.output.LayerNorm.bias"]!,
                intermediate: matrices[l + "intermediate.dense.weight"]!, intermediateBias: vectors[l + "intermediate.dense.bias"]!,
                down: matrices[l + "output.dense.weight"]!, downBias: vectors[l + "output.dense.bias"]!,
                outputNormWeight: vectors[l + "output.LayerNorm.weight"]!, outputNormBias: vectors[l + "output.LayerNorm.bias"]!)
        }
        return BertWeights(wordEmbedding: matrices["embeddings.word_embeddings.weight"]!,
                           positionEmbedding: matrices["embeddings.position_embeddings.weight"]!,
                           tokenTypeEmbedding: matrices["embeddings.token_type_embeddings.weight"]!,
                           embeddingNormWeight: vectors["embeddings.LayerNorm.weight"]!,
                           embeddingNormBias: vectors["embeddings.LayerNorm.bias"]!, layers: layers)
    }
}

/// The activations of one encoder pass of up to `maxTokens` rows (several sequences packed one
/// after another, none longer than `maxSequenceLength`). `byteCount` is the arithmetic the
/// embedder's plan uses, so the plan and the arena agree.
public final class EncoderScratch: @unchecked Sendable {
    public let maxTokens: Int
    public let maxSequenceLength: Int
    public let hidden: ArenaBuffer<Float>      // [maxTokens, hidden]
    public let projected: ArenaBuffer<Float>   // [maxTokens, hidden]
    public let query: ArenaBuffer<Float>       // [maxTokens, hidden]
    public let key: ArenaBuffer<Float>         // [maxTokens, hidden]
    public let value: ArenaBuffer<Float>       // [maxTokens, hidden]
    public let attention: ArenaBuffer<Float>   // [maxTokens, hidden]
    public let inner: ArenaBuffer<Float>       // [maxTokens, intermediate]
    /// Per head: `attendAllPositions`' scratch (its keys transposed, one query's scores).
    public let headScratch: ArenaBuffer<Float> // [heads, maxSequenceLength * (headDim + 1)]
    public let matmul: ArenaBuffer<UInt8>      // the widest matmul's activation scratch

    static func floatCounts(config: EncoderConfig, maxTokens: Int, maxSequenceLength: Int) -> [Int] {
        let rows = maxTokens * config.hiddenSize
        return [rows, rows, rows, rows, rows, rows, maxTokens * config.intermediateSize,
                config.headCount * encoderAttentionScratch(length: maxSequenceLength, headDim: config.headDim)]
    }

    /// Bytes this scratch takes.
    public static func byteCount(config: EncoderConfig, maxTokens: Int, maxSequenceLength: Int, matmulScratchBytes: Int) -> Int {
        floatCounts(config: config, maxTokens: maxTokens, maxSequenceLength: maxSequenceLength).reduce(0) { $0 + $1 * 4 }
            + matmulScratchBytes
    }

    public init(config: EncoderConfig, maxTokens: Int, maxSequenceLength: Int, matmulScratchBytes: Int, arena: MemoryArena) throws {
        self.maxTokens = maxTokens
        self.maxSequenceLength = maxSequenceLength
        let counts = Self.floatCounts(config: config, maxTokens: maxTokens, maxSequenceLength: maxSequenceLength)
        func take(_ i: Int) throws -> ArenaBuffer<Float> { try arena.allocate(Float.self, count: counts[i], label: "scratch") }
        hidden = try take(0); projected = try take(1); query = try take(2); key = try take(3); value = try take(4)
        attention = try take(5); inner = try take(6); headScratch = try take(7)
        matmul = try arena.allocate(UInt8.self, count: matmulScratchBytes, label: "scratch")
    }
}

/// A BERT encoder: word, position and token-type embeddings with a LayerNorm, then `layerCount`
/// post-norm layers of bidirectional multi-head attention and a GELU MLP, then pooling into one
/// vector per sequence. Computation is f32 throughout, and every sequence's arithmetic is its
/// own: a sentence embeds to the same bits alone or packed among others.
public final class BertEncoder: @unchecked Sendable {
    public let config: EncoderConfig
    public let weights: BertWeights

    public init(config: EncoderConfig, weights: BertWeights) {
        self.config = config
        self.weights = weights
    }

    /// The largest scratch any layer matrix needs for `tokens` rows.
    public func matmulScratchBytes(tokens: Int) -> Int {
        weights.layers.flatMap(\.matrices).map { $0.scratchBytes(batch: tokens) }.max() ?? 0
    }

    /// The sentence vectors of `sequences` (token ids, [CLS] and [SEP] included), written to
    /// `out` ([sequences.count, hidden]), pooled and normalised as the config says.
    /// - Precondition: the total of the lengths is at most `scratch.maxTokens` and each is at
    ///   most `scratch.maxSequenceLength` (and the position table).
    public func embed(_ sequences: [[Int32]], scratch: EncoderScratch, into out: UnsafeMutablePointer<Float>, pool: ThreadPool) throws {
        let c = config, hidden = c.hiddenSize
        let total = sequences.reduce(0) { $0 + $1.count }
        precondition(total <= scratch.maxTokens, "encoder pass of \(total) tokens exceeds the scratch's \(scratch.maxTokens)")
        for sequence in sequences {
            precondition(!sequence.isEmpty && sequence.count <= min(scratch.maxSequenceLength, c.maxPositionEmbeddings),
                         "sequence of \(sequence.count) tokens is outside 1...\(scratch.maxSequenceLength)")
            if let bad = sequence.first(where: { $0 < 0 || Int($0) >= c.vocabSize }) {
                throw ModelError.tokenOutOfRange(token: Int(bad), vocabSize: c.vocabSize)
            }
        }
        var starts: [Int] = []
        var at = 0
        for sequence in sequences { starts.append(at); at += sequence.count }

        let x = scratch.hidden.pointer, tmp = scratch.projected.pointer
        // Embeddings: word + position + token type 0, then LayerNorm.
        for (s, sequence) in sequences.enumerated() {
            for (position, token) in sequence.enumerated() {
                let row = x + (starts[s] + position) * hidden, add = tmp + (starts[s] + position) * hidden
                weights.wordEmbedding.row(Int(token), into: row)
                weights.positionEmbedding.row(position, into: add)
                for i in 0..<hidden { row[i] += add[i] }
                weights.tokenTypeEmbedding.row(0, into: add)
                for i in 0..<hidden { row[i] += add[i] }
            }
        }
        perRow(total, pool) { r in
            layerNorm(x + r.lowerBound * hidden, weight: self.weights.embeddingNormWeight.pointer,
                      bias: self.weights.embeddingNormBias.pointer, eps: c.layerNormEps, rows: r.count, width: hidden,
                      into: x + r.lowerBound * hidden)
        }
        for layer in weights.layers {
            attentionBlock(layer, sequences: sequences, starts: starts, total: total, scratch: scratch, pool: pool)
            mlpBlock(layer, total: total, scratch: scratch, pool: pool)
        }
        for (s, sequence) in sequences.enumerated() {
            poolTokens(x + starts[s] * hidden, rows: sequence.count, into: out + s * hidden)
        }
    }

    private func perRow(_ count: Int, _ pool: ThreadPool, _ body: (Range<Int>) -> Void) {
        if count == 1 { body(0..<1) } else { pool.parallelFor(count, grain: 4, body) }
    }

    /// x = LayerNorm(x + O·attend(Q·x, K·x, V·x)), each sequence attending to all of its own tokens.
    private func attentionBlock(_ layer: BertLayerWeights, sequences: [[Int32]], starts: [Int], total: Int,
                                scratch: EncoderScratch, pool: ThreadPool) {
        let c = config, hidden = c.hiddenSize, headDim = c.headDim
        let x = scratch.hidden.pointer, tmp = scratch.projected.pointer
        let q = scratch.query.pointer, k = scratch.key.pointer, v = scratch.value.pointer
        let attn = scratch.attention.pointer
        let mm = UnsafeMutableRawPointer(scratch.matmul.pointer)
        multiply(x, batch: total, by: [(layer.query, q), (layer.key, k), (layer.value, v)], scratch: mm, pool: pool)
        perRow(total, pool) { r in
            for row in r {
                addBias(layer.queryBias.pointer, to: q + row * hidden, hidden)
                addBias(layer.keyBias.pointer, to: k + row * hidden, hidden)
                addBias(layer.valueBias.pointer, to: v + row * hidden, hidden)
            }
        }
        let scale = 1 / Float(headDim).squareRoot()
        let perHead = encoderAttentionScratch(length: scratch.maxSequenceLength, headDim: headDim)
        let lengths = sequences.map(\.count)
        pool.run(chunks: c.headCount) { h in
            let headScratch = scratch.headScratch.pointer + h * perHead
            for (s, length) in lengths.enumerated() {
                let row = starts[s] * hidden + h * headDim
                attendAllPositions(query: q + row, key: k + row, value: v + row, out: attn + row, stride: hidden,
                                   length: length, headDim: headDim, scale: scale, scratch: headScratch)
            }
        }
        layer.output.multiply(attn, batch: total, into: tmp, scratch: mm, pool: pool)
        addAndNormalize(tmp, bias: layer.outputBias, norm: (layer.attentionNormWeight, layer.attentionNormBias),
                        rows: total, scratch: scratch, pool: pool)
    }

    /// x = LayerNorm(x + down·GELU(up·x)).
    private func mlpBlock(_ layer: BertLayerWeights, total: Int, scratch: EncoderScratch, pool: ThreadPool) {
        let inner = config.intermediateSize
        let x = scratch.hidden.pointer, tmp = scratch.projected.pointer, u = scratch.inner.pointer
        let mm = UnsafeMutableRawPointer(scratch.matmul.pointer)
        layer.intermediate.multiply(x, batch: total, into: u, scratch: mm, pool: pool)
        perRow(total, pool) { r in
            for row in r {
                addBias(layer.intermediateBias.pointer, to: u + row * inner, inner)
                gelu(u + row * inner, count: inner)
            }
        }
        layer.down.multiply(u, batch: total, into: tmp, scratch: mm, pool: pool)
        addAndNormalize(tmp, bias: layer.downBias, norm: (layer.outputNormWeight, layer.outputNormBias),
                        rows: total, scratch: scratch, pool: pool)
    }

    /// The post-norm residual step: x = LayerNorm(x + block + bias) for `rows` rows of `scratch.hidden`.
    private func addAndNormalize(_ block: UnsafePointer<Float>, bias: ArenaBuffer<Float>,
                                 norm: (weight: ArenaBuffer<Float>, bias: ArenaBuffer<Float>),
                                 rows: Int, scratch: EncoderScratch, pool: ThreadPool) {
        let hidden = config.hiddenSize, eps = config.layerNormEps
        let x = scratch.hidden.pointer
        perRow(rows, pool) { r in
            for row in r {
                let xr = x + row * hidden, br = block + row * hidden
                for i in 0..<hidden { xr[i] += br[i] + bias.pointer[i] }
            }
            layerNorm(x + r.lowerBound * hidden, weight: norm.weight.pointer, bias: norm.bias.pointer,
                      eps: eps, rows: r.count, width: hidden, into: x + r.lowerBound * hidden)
        }
    }

    /// Pools `rows` token vectors ([rows, hidden]) into `out` ([hidden]), summing in f64.
    private func poolTokens(_ tokens: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        let hidden = config.hiddenSize
        switch config.pooling {
        case .cls:
            for i in 0..<hidden { out[i] = tokens[i] }
        case .mean:
            for i in 0..<hidden {
                var sum: Double = 0
                for r in 0..<rows { sum += Double(tokens[r * hidden + i]) }
                out[i] = Float(sum / Double(rows))
            }
        case .max:
            for i in 0..<hidden {
                var m = -Float.infinity
                for r in 0..<rows { m = max(m, tokens[r * hidden + i]) }
                out[i] = m
            }
        }
        if config.normalize {
            var squares: Double = 0
            for i in 0..<hidden { squares += Double(out[i]) * Double(out[i]) }
            // sentence-transformers divides by max(‖v‖, 1e-12).
            let inverse = Float(1 / max(squares.squareRoot(), 1e-12))
            for i in 0..<hidden { out[i] *= inverse }
        }
    }

    private func addBias(_ bias: UnsafePointer<Float>, to row: UnsafeMutablePointer<Float>, _ width: Int) {
        for i in 0..<width { row[i] += bias[i] }
    }
}
