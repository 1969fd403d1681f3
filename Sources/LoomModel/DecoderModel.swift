import LoomCore
import LoomFormats
import LoomKernels

/// A decoder: embedding, `layerCount` layers built from shared blocks (its architecture's
/// `layerBlocks`: pre-norm grouped-query attention and a gated MLP for the Llama family), a final
/// RMSNorm and the LM head. Computation is f32 throughout.
///
/// The pass is exposed in three steps (embed, layer, logits) so that the runtime can run a
/// model whose layers sit on different devices, handing the hidden state between them.
public final class DecoderModel: @unchecked Sendable {
    public let config: ModelConfig
    public let weights: DecoderWeights
    /// The blocks of every layer, in order.
    public let blocks: [LayerBlock]

    public init(config: ModelConfig, weights: DecoderWeights) {
        self.config = config
        self.weights = weights
        blocks = ModelArchitectures.of(config).layerBlocks(config)
    }

    /// A cos/sin table for `positions` positions, stored in `arena` (one per device that runs layers).
    /// - Parameter layout: `.halves` for HF checkpoints; GGUF sources pass their architecture's.
    public func makeRotaryTable(positions: Int, layout: RopeLayout, arena: MemoryArena) throws -> (RotaryTable, ArenaBuffer<Float>) {
        let (inverse, attentionFactor) = config.ropeScaling.inverseFrequencies(theta: config.ropeTheta, rotaryDim: config.headDim)
        let storage = try arena.allocate(Float.self, count: 2 * positions * (config.headDim / 2), label: "rope")
        let table = RotaryTable(inverseFrequencies: inverse, attentionFactor: attentionFactor, positions: positions,
                                layout: layout, storage: storage.pointer)
        return (table, storage)
    }

    /// The largest scratch any weight matrix needs for `batch` tokens.
    public func matmulScratchBytes(batch: Int) -> Int {
        var most = max(weights.embedding.scratchBytes(batch: batch), weights.lmHead.scratchBytes(batch: batch))
        for layer in weights.layers { for m in layer.matrices { most = max(most, m.scratchBytes(batch: batch)) } }
        return most
    }

    /// Looks up the batch's tokens into `scratch.hidden` ([rows, hidden]). Ids are checked first,
    /// so a bad id changes nothing.
    public func embed(_ tokens: [Int], scratch: ForwardScratch) throws {
        let hidden = config.hiddenSize
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.tokenOutOfRange(token: bad, vocabSize: config.vocabSize)
        }
        for (i, token) in tokens.enumerated() {
            weights.embedding.row(token, into: scratch.hidden.pointer + i * hidden)
        }
    }

    /// Runs layer `index` over the rows of `batch` in `scratch.hidden`, storing their keys and
    /// values in `cache` at the batch's slots. Every row's arithmetic is its own: the result for a
    /// row does not depend on the other rows of the pass.
    public func runLayer(_ index: Int, batch: ForwardBatch, cache: any KVCacheLayer, rope: RotaryTable,
                         scratch: ForwardScratch, pool: ThreadPool) throws {
        if let last = batch.positions.max(), last >= rope.positions {
            throw ModelError.contextFull(position: last, capacity: rope.positions)
        }
        for block in blocks {
            switch block {
            case .attention: attention(index, batch: batch, cache: cache, rope: rope, scratch: scratch, pool: pool)
            case .gatedMLP: gatedMLP(index, rows: batch.rowCount, scratch: scratch, pool: pool)
            }
        }
    }

    /// Element-wise steps are split over rows for prompts; one row runs inline, since a pool
    /// dispatch costs more than the work.
    private func perRow(_ count: Int, _ pool: ThreadPool, _ body: (Range<Int>) -> Void) {
        if count == 1 { body(0..<1) } else { pool.parallelFor(count, grain: 4, body) }
    }

    /// The attention block: x += O·attend(RoPE(Q·norm(x)), cache ∪ RoPE(K·norm(x)), V·norm(x)).
    private func attention(_ index: Int, batch: ForwardBatch, cache: any KVCacheLayer, rope: RotaryTable,
                           scratch: ForwardScratch, pool: ThreadPool) {
        let count = batch.rowCount
        let layer = weights.layers[index]
        let c = config
        let x = scratch.hidden.pointer          // [count, hidden]
        let xn = scratch.normed.pointer         // [count, hidden]
        let q = scratch.query.pointer           // [count, heads, headDim]
        let k = scratch.key.pointer             // [count, kvHeads, headDim]
        let v = scratch.value.pointer           // [count, kvHeads, headDim]
        let attn = scratch.attention.pointer    // [count, heads, headDim]
        let mm = UnsafeMutableRawPointer(scratch.matmul.pointer)
        let hidden = c.hiddenSize
        perRow(count, pool) { t in
            rmsNorm(x + t.lowerBound * hidden, weight: layer.attentionNorm.pointer, eps: c.rmsNormEps, rows: t.count, width: hidden,
                    into: xn + t.lowerBound * hidden)
        }
        multiply(xn, batch: count, by: [(layer.query, q), (layer.key, k), (layer.value, v)], scratch: mm, pool: pool)
        batch.positions.withUnsafeBufferPointer { positions in
            perRow(count, pool) { t in
                let qt = q + t.lowerBound * c.queryWidth, kt = k + t.lowerBound * c.kvWidth, vt = v + t.lowerBound * c.kvWidth
                addBias(layer.queryBias, to: qt, rows: t.count, width: c.queryWidth)
                addBias(layer.keyBias, to: kt, rows: t.count, width: c.kvWidth)
                addBias(layer.valueBias, to: vt, rows: t.count, width: c.kvWidth)
                if let qn = layer.queryNorm, let kn = layer.keyNorm {
                    rmsNorm(qt, weight: qn.pointer, eps: c.rmsNormEps, rows: t.count * c.headCount, width: c.headDim, into: qt)
                    rmsNorm(kt, weight: kn.pointer, eps: c.rmsNormEps, rows: t.count * c.kvHeadCount, width: c.headDim, into: kt)
                }
                for i in t {
                    rope.apply(q + i * c.queryWidth, heads: c.headCount, position: positions[i])
                    rope.apply(k + i * c.kvWidth, heads: c.kvHeadCount, position: positions[i])
                }
            }
        }
        batch.slots.withUnsafeBufferPointer { cache.store(keys: k, values: v, slots: $0.baseAddress!, count: count) }
        batch.pageTables.withUnsafeBufferPointer { tables in
            cache.attend(queries: q, spans: batch.spans, pageTables: tables.baseAddress!, heads: c.headCount,
                         scale: 1 / Float(c.headDim).squareRoot(), window: c.slidingWindow,
                         into: attn, scores: scratch.scores.buffer, pool: pool)
        }
        // The output projection reuses `normed` as its destination, then joins the residual.
        layer.output.multiply(attn, batch: count, into: xn, scratch: mm, pool: pool)
        perRow(count, pool) { t in
            let xt = x + t.lowerBound * hidden, nt = xn + t.lowerBound * hidden
            addBias(layer.outputBias, to: nt, rows: t.count, width: hidden)
            addInPlace(xt, nt, t.count * hidden)
        }
    }

    /// The gated MLP block: x += down(SwiGLU(gate·norm(x), up·norm(x))).
    private func gatedMLP(_ index: Int, rows count: Int, scratch: ForwardScratch, pool: ThreadPool) {
        let layer = weights.layers[index]
        let c = config, hidden = c.hiddenSize
        let x = scratch.hidden.pointer          // [count, hidden]
        let xn = scratch.normed.pointer         // [count, hidden]
        let g = scratch.gate.pointer            // [count, intermediate]
        let u = scratch.up.pointer              // [count, intermediate]
        let mm = UnsafeMutableRawPointer(scratch.matmul.pointer)
        perRow(count, pool) { t in
            rmsNorm(x + t.lowerBound * hidden, weight: layer.mlpNorm.pointer, eps: c.rmsNormEps, rows: t.count, width: hidden,
                    into: xn + t.lowerBound * hidden)
        }
        multiply(xn, batch: count, by: [(layer.gate, g), (layer.up, u)], scratch: mm, pool: pool)
        let width = c.intermediateSize
        perRow(count, pool) { t in swiGLU(gate: g + t.lowerBound * width, up: u + t.lowerBound * width, count: t.count * width) }
        layer.down.multiply(g, batch: count, into: xn, scratch: mm, pool: pool)
        perRow(count, pool) { t in addInPlace(x + t.lowerBound * hidden, xn + t.lowerBound * hidden, t.count * hidden) }
    }

    /// Final norm and LM head for hidden rows `rows` of `scratch.hidden`, written to `logits`
    /// ([rows.count, vocab]). Uses `scratch.normed` rows of the same indices.
    public func logits(rows: Range<Int>, scratch: ForwardScratch, into logits: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let h = config.hiddenSize
        let xn = scratch.normed.pointer + rows.lowerBound * h
        rmsNorm(scratch.hidden.pointer + rows.lowerBound * h, weight: weights.finalNorm.pointer, eps: config.rmsNormEps,
                rows: rows.count, width: h, into: xn)
        weights.lmHead.multiply(xn, batch: rows.count, into: logits,
                                scratch: UnsafeMutableRawPointer(scratch.matmul.pointer), pool: pool)
    }

    private func addBias(_ bias: ArenaBuffer<Float>?, to rows: UnsafeMutablePointer<Float>, rows count: Int, width: Int) {
        guard let b = bias?.pointer else { return }
        for r in 0..<count { let row = rows + r * width; for i in 0..<width { row[i] += b[i] } }
    }

    private func addInPlace(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { a[i] += b[i] }
    }
}
