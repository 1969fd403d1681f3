import Foundation
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
    /// The blocks of each layer, in order.
    public let blocks: [[LayerBlock]]
    /// Bytes of router and expert weights the sparse layers have read (each chosen expert once per pass).
    private var expertBytes = 0
    private let expertBytesLock = NSLock()

    /// Router and expert weight bytes read by sparse layers since the last `resetExpertReadBytes`:
    /// each pass reads each expert its tokens chose once, so over a decode run this over the
    /// tokens is the measured expert traffic per token.
    public var expertReadBytes: Int { expertBytesLock.withLock { expertBytes } }

    public func resetExpertReadBytes() { expertBytesLock.withLock { expertBytes = 0 } }

    /// Called with each dense linear layer's input rows while set, for calibration (collecting
    /// an importance matrix): the GGUF names of the weights that read them (q, k and v share one
    /// input, as gate and up do), the rows ([count, width]), the row count and the width; the LM
    /// head's input too, for the rows whose logits are computed. Set it only while no pass runs.
    public var inputObserver: ((_ weights: [String], _ rows: UnsafePointer<Float>, _ count: Int, _ width: Int) -> Void)?

    public init(config: ModelConfig, weights: DecoderWeights) {
        self.config = config
        self.weights = weights
        let family = ModelArchitectures.of(config)
        blocks = (0..<config.layerCount).map { family.layerBlocks(config, layer: $0) }
    }

    /// A cos/sin table for `positions` positions, stored in `arena` (one per device that runs layers).
    /// - Parameter layout: `.halves` for HF checkpoints; GGUF sources pass their architecture's.
    public func makeRotaryTable(positions: Int, layout: RopeLayout, arena: MemoryArena) throws -> (RotaryTable, ArenaBuffer<Float>) {
        try rotaryTable(config.ropeScaling, theta: config.ropeTheta, positions: positions, layout: layout, arena: arena)
    }

    /// The table of the sliding-window layers when they have a θ of their own (unscaled), else nil.
    public func makeLocalRotaryTable(positions: Int, layout: RopeLayout, arena: MemoryArena) throws -> (RotaryTable, ArenaBuffer<Float>)? {
        guard let theta = config.localRopeTheta else { return nil }
        return try rotaryTable(.none, theta: theta, positions: positions, layout: layout, arena: arena)
    }

    private func rotaryTable(_ scaling: RopeScaling, theta: Double, positions: Int, layout: RopeLayout,
                             arena: MemoryArena) throws -> (RotaryTable, ArenaBuffer<Float>) {
        let (inverse, attentionFactor) = scaling.inverseFrequencies(theta: theta, rotaryDim: config.headDim, positions: positions)
        let storage = try arena.allocate(Float.self, count: 2 * positions * (config.headDim / 2), label: "rope")
        let table = RotaryTable(inverseFrequencies: inverse, attentionFactor: attentionFactor, positions: positions,
                                layout: layout, storage: storage.pointer)
        return (table, storage)
    }

    /// The largest scratch any weight matrix needs for `batch` tokens.
    public func matmulScratchBytes(batch: Int) -> Int {
        var most = max(weights.embedding.scratchBytes(batch: batch), weights.lmHead.scratchBytes(batch: batch))
        for layer in weights.layers {
            for m in layer.matrices { most = max(most, m.scratchBytes(batch: batch)) }
            // A decoded token's chosen experts run their down projections side by side.
            if let sparse = layer.experts, let k = config.moe?.expertsPerToken {
                most = max(most, separateInputsScratchBytes(Array(repeating: sparse.experts[0].down, count: k)))
            }
        }
        return most
    }

    /// Looks up the batch's tokens into `scratch.hidden` ([rows, hidden]). Ids are checked first,
    /// so a bad id changes nothing.
    public func embed(_ tokens: [Int], scratch: ForwardScratch) throws {
        try embed(tokens, into: scratch.hidden.pointer)
    }

    /// The embedding rows of `tokens`, scaled where the model says so, into `rows` ([tokens.count, hidden]).
    public func embed(_ tokens: [Int], into rows: UnsafeMutablePointer<Float>) throws {
        let hidden = config.hiddenSize
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.tokenOutOfRange(token: bad, vocabSize: config.vocabSize)
        }
        for (i, token) in tokens.enumerated() {
            let row = rows + i * hidden
            weights.embedding.row(token, into: row)
            if let scale = config.embeddingScale { for j in 0..<hidden { row[j] *= scale } }
        }
    }

    /// Runs layer `index` over the rows of `batch` in `scratch.hidden`, storing their keys and
    /// values in `cache` at the batch's slots. Every row's arithmetic is its own: the result for a
    /// row does not depend on the other rows of the pass.
    /// - Parameter localRope: the table of the sliding-window layers when they have their own θ
    ///   (`config.localRopeTheta`; see `makeLocalRotaryTable`).
    public func runLayer(_ index: Int, batch: ForwardBatch, cache: any KVCacheLayer, rope: RotaryTable,
                         localRope: RotaryTable? = nil, scratch: ForwardScratch, pool: ThreadPool) throws {
        if let last = batch.positions.max(), last >= rope.positions {
            throw ModelError.contextFull(position: last, capacity: rope.positions)
        }
        let layerRope = config.window(layer: index) != nil ? localRope ?? rope : rope
        for block in blocks[index] {
            switch block {
            case .attention: attention(index, batch: batch, cache: cache, rope: layerRope, scratch: scratch, pool: pool)
            case .gatedMLP: gatedMLP(index, rows: batch.rowCount, scratch: scratch, pool: pool)
            case .sparseMLP: sparseMLP(index, rows: batch.rowCount, scratch: scratch, pool: pool)
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
        inputObserver?(["blk.\(index).attn_q.weight", "blk.\(index).attn_k.weight", "blk.\(index).attn_v.weight"], xn, count, hidden)
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
                         scale: c.attentionScale ?? 1 / Float(c.headDim).squareRoot(), softcap: c.attentionSoftcap,
                         window: c.window(layer: index), sinks: layer.sinks.map { UnsafePointer($0.pointer) },
                         into: attn, scores: scratch.scores.buffer, pool: pool)
        }
        // The output projection reuses `normed` as its destination, then joins the residual.
        inputObserver?(["blk.\(index).attn_output.weight"], attn, count, c.queryWidth)
        layer.output.multiply(attn, batch: count, into: xn, scratch: mm, pool: pool)
        perRow(count, pool) { t in
            let xt = x + t.lowerBound * hidden, nt = xn + t.lowerBound * hidden
            addBias(layer.outputBias, to: nt, rows: t.count, width: hidden)
            if let post = layer.postAttentionNorm {
                rmsNorm(nt, weight: post.pointer, eps: c.rmsNormEps, rows: t.count, width: hidden, into: nt)
            }
            addInPlace(xt, nt, t.count * hidden)
        }
    }

    /// The gate activation times up, in place in `gate`, for `count` values.
    /// The gate activation times up, in place in `gate`, for `count` values (`up` may be overwritten).
    private func activate(gate: UnsafeMutablePointer<Float>, up: UnsafeMutablePointer<Float>, count: Int) {
        switch config.mlpActivation {
        case .silu: swiGLU(gate: gate, up: up, count: count)
        case .geluTanh: geluTanhGLU(gate: gate, up: up, count: count)
        case .clampedSwiGLU: clampedSwiGLU(gate: gate, up: up, count: count, limit: config.swigluLimit, alpha: config.swigluAlpha)
        }
    }

    /// x += MLP output rows (in `normed`), through the post-MLP norm where the layer has one.
    private func addMLPOutput(_ layer: DecoderLayerWeights, rows count: Int, from output: UnsafeMutablePointer<Float>,
                              scratch: ForwardScratch, pool: ThreadPool) {
        let c = config, hidden = c.hiddenSize, x = scratch.hidden.pointer
        perRow(count, pool) { t in
            let ot = output + t.lowerBound * hidden
            if let post = layer.postMLPNorm { rmsNorm(ot, weight: post.pointer, eps: c.rmsNormEps, rows: t.count, width: hidden, into: ot) }
            addInPlace(x + t.lowerBound * hidden, ot, t.count * hidden)
        }
    }

    /// The gated MLP block: x += down(act(gate·norm(x)) · up·norm(x)), act SiLU or tanh GELU, the
    /// output normed again first where the layer has a post-MLP norm.
    private func gatedMLP(_ index: Int, rows count: Int, scratch: ForwardScratch, pool: ThreadPool) {
        let layer = weights.layers[index], mlp = layer.mlp!
        let xn = scratch.normed.pointer         // [count, hidden]
        let g = scratch.gate.pointer            // [count, intermediate]
        let u = scratch.up.pointer              // [count, intermediate]
        let mm = UnsafeMutableRawPointer(scratch.matmul.pointer)
        normForMLP(layer, rows: count, scratch: scratch, pool: pool)
        inputObserver?(["blk.\(index).ffn_gate.weight", "blk.\(index).ffn_up.weight"], xn, count, config.hiddenSize)
        multiply(xn, batch: count, by: [(mlp.gate, g), (mlp.up, u)], scratch: mm, pool: pool)
        let width = config.intermediateSize
        perRow(count, pool) { t in activate(gate: g + t.lowerBound * width, up: u + t.lowerBound * width, count: t.count * width) }
        inputObserver?(["blk.\(index).ffn_down.weight"], g, count, width)
        mlp.down.multiply(g, batch: count, into: xn, scratch: mm, pool: pool)
        addMLPOutput(layer, rows: count, from: xn, scratch: scratch, pool: pool)
    }

    /// `scratch.normed` = RMSNorm(x) with the layer's MLP norm, for the rows of the pass.
    private func normForMLP(_ layer: DecoderLayerWeights, rows count: Int, scratch: ForwardScratch, pool: ThreadPool) {
        let c = config, hidden = c.hiddenSize
        let x = scratch.hidden.pointer, xn = scratch.normed.pointer
        perRow(count, pool) { t in
            rmsNorm(x + t.lowerBound * hidden, weight: layer.mlpNorm.pointer, eps: c.rmsNormEps, rows: t.count, width: hidden,
                    into: xn + t.lowerBound * hidden)
        }
    }

    /// The sparse MLP block: x += Σ over the k experts the router picks for the row of
    /// w_e · down_e(SwiGLU(gate_e·norm(x), up_e·norm(x))).
    ///
    /// Experts' outputs are summed in expert order whatever the batch, so a row's result is the
    /// one it gets alone. One token runs its k experts side by side (one parallel loop for the
    /// gate and up projections, one for the downs); a prompt or a batch of sequences runs each
    /// chosen expert once over all the rows routed to it, so every expert's weights are read once
    /// per pass.
    private func sparseMLP(_ index: Int, rows count: Int, scratch: ForwardScratch, pool: ThreadPool) {
        let layer = weights.layers[index], sparse = layer.experts!, moe = config.moe!
        let hidden = config.hiddenSize, width = moe.expertIntermediateSize, k = moe.expertsPerToken
        let xn = scratch.normed.pointer         // [count, hidden]
        let g = scratch.gate.pointer            // [max(count, k), width]
        let u = scratch.up.pointer              // [max(count, k), width]
        let sum = scratch.expertSum.pointer     // [count, hidden]
        let out = scratch.expertOutput.pointer  // [max(count, k), hidden]
        let mm = UnsafeMutableRawPointer(scratch.matmul.pointer)
        normForMLP(layer, rows: count, scratch: scratch, pool: pool)
        sparse.router.multiply(xn, batch: count, into: scratch.routing.pointer, scratch: mm, pool: pool)
        addBias(sparse.routerBias, to: scratch.routing.pointer, rows: count, width: moe.expertCount)
        let routes = (0..<count).map { route(scratch.routing.pointer + $0 * moe.expertCount, moe) }
        let chosenExperts = Set(routes.flatMap { $0.map(\.expert) })
        let read = chosenExperts.reduce(sparse.router.byteCount) { $0 + sparse.experts[$1].byteCount }
        expertBytesLock.withLock { expertBytes += read }
        sum.initialize(repeating: 0, count: count * hidden)
        if count == 1 {
            let chosen = routes[0]
            multiply(xn, batch: 1, by: chosen.enumerated().flatMap { j, pick in
                [(sparse.experts[pick.expert].gate, g + j * width), (sparse.experts[pick.expert].up, u + j * width)]
            }, scratch: mm, pool: pool)
            for (j, pick) in chosen.enumerated() {
                addBias(sparse.experts[pick.expert].gateBias, to: g + j * width, rows: 1, width: width)
                addBias(sparse.experts[pick.expert].upBias, to: u + j * width, rows: 1, width: width)
            }
            activate(gate: g, up: u, count: k * width)
            multiply(separately: chosen.enumerated().map { j, pick in
                (sparse.experts[pick.expert].down, UnsafePointer(g + j * width), out + j * hidden)
            }, scratch: mm, pool: pool)
            for (j, pick) in chosen.enumerated() {
                addBias(sparse.experts[pick.expert].downBias, to: out + j * hidden, rows: 1, width: hidden)
                addScaled(sum, out + j * hidden, pick.weight, hidden)
            }
        } else {
            // Rows per expert, in row order.
            var assigned = [[ExpertRow]](repeating: [], count: moe.expertCount)
            for (row, chosen) in routes.enumerated() { for pick in chosen { assigned[pick.expert].append(ExpertRow(row: row, weight: pick.weight)) } }
            if !runExpertsInLanes(sparse, assigned, rows: count, scratch: scratch, pool: pool) {
                let buffers = ExpertBuffers(rows: scratch.expertRows.pointer, gate: g, up: u, activations: mm)
                for (e, rows) in assigned.enumerated() where !rows.isEmpty {
                    run(sparse.experts[e], over: rows, of: xn, buffers, into: out, pool: pool)
                    addWeighted(rows, from: out, into: sum)
                }
            }
        }
        addMLPOutput(layer, rows: count, from: sum, scratch: scratch, pool: pool)
    }

    /// A row of the pass routed to an expert, and the router's weight for it.
    private struct ExpertRow {
        let row: Int
        let weight: Float
    }

    /// Where one expert runs: its gathered rows, gate and up, and its matrices' activation scratch.
    private struct ExpertBuffers {
        let rows: UnsafeMutablePointer<Float>        // [n, hidden]
        let gate: UnsafeMutablePointer<Float>        // [n, expertWidth]
        let up: UnsafeMutablePointer<Float>          // [n, expertWidth]
        let activations: UnsafeMutableRawPointer
    }

    /// `expert` over the normed rows `rows`: out[i] = down(act(gate·x) · up·x) for x the i-th of them.
    private func run(_ expert: GatedMLPWeights, over rows: [ExpertRow], of xn: UnsafePointer<Float>, _ buffers: ExpertBuffers,
                     into out: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let hidden = config.hiddenSize, width = config.moe!.expertIntermediateSize, n = rows.count
        let (gathered, g, u) = (buffers.rows, buffers.gate, buffers.up)
        for (i, r) in rows.enumerated() { (gathered + i * hidden).update(from: xn + r.row * hidden, count: hidden) }
        multiply(gathered, batch: n, by: [(expert.gate, g), (expert.up, u)], scratch: buffers.activations, pool: pool)
        perRow(n, pool) { t in
            addBias(expert.gateBias, to: g + t.lowerBound * width, rows: t.count, width: width)
            addBias(expert.upBias, to: u + t.lowerBound * width, rows: t.count, width: width)
            activate(gate: g + t.lowerBound * width, up: u + t.lowerBound * width, count: t.count * width)
        }
        expert.down.multiply(g, batch: n, into: out, scratch: buffers.activations, pool: pool)
        addBias(expert.downBias, to: out, rows: n, width: hidden)
    }

    /// sum[row] += weight · out[i] for the i-th of `rows`.
    private func addWeighted(_ rows: [ExpertRow], from out: UnsafePointer<Float>, into sum: UnsafeMutablePointer<Float>) {
        let hidden = config.hiddenSize
        for (i, r) in rows.enumerated() { addScaled(sum + r.row * hidden, out + i * hidden, r.weight, hidden) }
    }

    /// A small batch's chosen experts, one per thread at a time, each over its rows on that
    /// thread alone (its own inline pool and lane of scratch), then summed into `expertSum` in
    /// expert order: for a few decoding sequences most experts have a row or two, and a pool
    /// dispatch per expert matrix would cost more than its rows. Each row's arithmetic is the
    /// batch path's. Returns false, doing nothing, when the batch or a matrix's scratch is too big
    /// for the lanes.
    private func runExpertsInLanes(_ sparse: SparseMLPWeights, _ assigned: [[ExpertRow]], rows count: Int,
                                   scratch: ForwardScratch, pool: ThreadPool) -> Bool {
        let hidden = config.hiddenSize, threads = pool.threadCount
        guard count <= ForwardScratch.laneRows, threads > 1, scratch.expertLaneCount >= threads else { return false }
        let used = assigned.indices.filter { !assigned[$0].isEmpty }
        let room = scratch.expertLane(0).activationBytes
        guard used.allSatisfy({ e in sparse.experts[e].matrices.allSatisfy { $0.scratchBytes(batch: assigned[e].count) <= room } })
        else { return false }
        // Expert j of `used` writes its rows' outputs from row offsets[j] of expertOutput.
        var offsets: [Int] = [], next = 0
        for e in used { offsets.append(next); next += assigned[e].count }
        let out = scratch.expertOutput.pointer, xn = scratch.normed.pointer
        pool.run(chunks: threads) { index in
            let inline = ThreadPool(threads: 1)
            let lane = scratch.expertLane(index)
            let buffers = ExpertBuffers(rows: lane.rows, gate: lane.gate, up: lane.up, activations: lane.activations)
            for j in stride(from: index, to: used.count, by: threads) {
                run(sparse.experts[used[j]], over: assigned[used[j]], of: xn, buffers, into: out + offsets[j] * hidden, pool: inline)
            }
        }
        for (j, e) in used.enumerated() { addWeighted(assigned[e], from: out + offsets[j] * hidden, into: scratch.expertSum.pointer) }
        return true
    }

    /// The k experts a row's router logits ([experts]) pick, in expert order, with their weights:
    /// the softmax over all experts, kept for the k most probable, rescaled to sum to 1 when the
    /// family normalizes. Ties go to the lower expert.
    private func route(_ logits: UnsafeMutablePointer<Float>, _ moe: MixtureOfExperts) -> [(expert: Int, weight: Float)] {
        Self.route(logits, moe)
    }

    /// The experts a row's router logits ([expertCount], overwritten) choose and their weights,
    /// in expert order: the softmax's `expertsPerToken` best, rescaled to sum to 1 where the
    /// model says so. Devices that route on the host call this, so they choose as the CPU does.
    public static func route(_ logits: UnsafeMutablePointer<Float>, _ moe: MixtureOfExperts) -> [(expert: Int, weight: Float)] {
        let n = moe.expertCount
        var most = -Float.infinity
        for e in 0..<n { most = max(most, logits[e]) }
        var total: Float = 0
        for e in 0..<n { logits[e] = exp(logits[e] - most); total += logits[e] }
        var best: [(expert: Int, weight: Float)] = []
        best.reserveCapacity(moe.expertsPerToken + 1)
        for e in 0..<n {
            let p = logits[e] / total
            guard best.count < moe.expertsPerToken || p > best[best.count - 1].weight else { continue }
            let at = best.firstIndex { p > $0.weight } ?? best.count
            best.insert((e, p), at: at)
            if best.count > moe.expertsPerToken { best.removeLast() }
        }
        if moe.normalizeTopK {
            let kept = best.reduce(Float(0)) { $0 + $1.weight }
            best = best.map { ($0.expert, $0.weight / kept) }
        }
        return best.sorted { $0.expert < $1.expert }
    }

    private func addScaled(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ scale: Float, _ n: Int) {
        for i in 0..<n { a[i] += scale * b[i] }
    }

    /// Final norm and LM head for hidden rows `rows` of `scratch.hidden`, written to `logits`
    /// ([rows.count, vocab]). Uses `scratch.normed` rows of the same indices.
    public func logits(rows: Range<Int>, scratch: ForwardScratch, into logits: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        let h = config.hiddenSize
        let xn = scratch.normed.pointer + rows.lowerBound * h
        rmsNorm(scratch.hidden.pointer + rows.lowerBound * h, weight: weights.finalNorm.pointer, eps: config.rmsNormEps,
                rows: rows.count, width: h, into: xn)
        inputObserver?([weights.lmHeadName], xn, rows.count, h)
        weights.lmHead.multiply(xn, batch: rows.count, into: logits,
                                scratch: UnsafeMutableRawPointer(scratch.matmul.pointer), pool: pool)
        if let cap = config.finalLogitSoftcap { softcap(logits, count: rows.count * config.vocabSize, cap: cap) }
    }

    private func addBias(_ bias: ArenaBuffer<Float>?, to rows: UnsafeMutablePointer<Float>, rows count: Int, width: Int) {
        guard let b = bias?.pointer else { return }
        for r in 0..<count { let row = rows + r * width; for i in 0..<width { row[i] += b[i] } }
    }

    private func addInPlace(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { a[i] += b[i] }
    }
}
