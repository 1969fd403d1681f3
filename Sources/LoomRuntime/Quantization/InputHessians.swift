import Foundation
import LoomCore

/// Σ x·xᵀ over the calibration tokens of one linear layer's input x: the Hessian of the layer's
/// squared output error with respect to each row of its weights (up to a factor of 2), which
/// error feedback needs whole, where the importance matrix keeps only its diagonal.
public struct InputHessian: Sendable {
    public let columns: Int
    /// [columns, columns] row-major; while accumulating only the upper triangle (j ≥ i) is kept,
    /// `symmetrized` fills the lower one.
    public private(set) var sums: [Float]
    public private(set) var tokens: Int

    public init(columns: Int) {
        self.columns = columns
        sums = [Float](repeating: 0, count: columns * columns)
        tokens = 0
    }

    /// Bytes one Hessian of rows of `columns` holds.
    public static func bytes(columns: Int) -> Int { 4 * columns * columns }

    /// Adds `rows` input rows ([rows, columns] at `x`) to the upper triangle, columns split over `pool`.
    ///
    /// Eight rows of H at a time, four tokens at a time: each load of sixteen input values
    /// serves eight rows' updates, so the tokens are streamed n/8 times rather than n. (Entries
    /// just left of the diagonal inside a tile are summed too; `symmetrized` overwrites them.)
    public mutating func accumulate(_ x: UnsafePointer<Float>, rows: Int, pool: ThreadPool) {
        let n = columns, tile = 8
        sums.withUnsafeMutableBufferPointer { h in
            let base = h.baseAddress!
            // Tile t costs n − 8t: small grains keep the threads even.
            pool.parallelFor((n + tile - 1) / tile, grain: 1) { tiles in
                var a = [Float](repeating: 0, count: 4 * tile)  // [4 tokens, 8 rows of H] the tokens' values in the tile's columns
                for t in tiles {
                    let i0 = t * tile, height = min(tile, n - i0)
                    var r = 0
                    while r < rows {
                        let take = min(4, rows - r)
                        for u in 0..<4 {
                            for k in 0..<tile { a[u * tile + k] = u < take && k < height ? x[(r + u) * n + i0 + k] : 0 }
                        }
                        let x0 = x + r * n, x1 = x0 + (take > 1 ? n : 0), x2 = x0 + (take > 2 ? 2 * n : 0), x3 = x0 + (take > 3 ? 3 * n : 0)
                        var j = i0
                        while j + 16 <= n {
                            let v0 = UnsafeRawPointer(x0 + j).loadUnaligned(as: SIMD16<Float>.self)
                            let v1 = UnsafeRawPointer(x1 + j).loadUnaligned(as: SIMD16<Float>.self)
                            let v2 = UnsafeRawPointer(x2 + j).loadUnaligned(as: SIMD16<Float>.self)
                            let v3 = UnsafeRawPointer(x3 + j).loadUnaligned(as: SIMD16<Float>.self)
                            for k in 0..<height {
                                let target = UnsafeMutableRawPointer(base + (i0 + k) * n + j)
                                var acc = target.loadUnaligned(as: SIMD16<Float>.self)
                                acc += a[k] * v0 + a[tile + k] * v1 + a[2 * tile + k] * v2 + a[3 * tile + k] * v3
                                target.storeBytes(of: acc, as: SIMD16<Float>.self)
                            }
                            j += 16
                        }
                        while j < n {
                            for k in 0..<height {
                                base[(i0 + k) * n + j] += a[k] * x0[j] + a[tile + k] * x1[j] + a[2 * tile + k] * x2[j] + a[3 * tile + k] * x3[j]
                            }
                            j += 1
                        }
                        r += take
                    }
                }
            }
        }
        tokens += rows
    }

    /// Fills the lower triangle from the upper one: the full symmetric matrix.
    public mutating func symmetrize() {
        let n = columns
        sums.withUnsafeMutableBufferPointer { h in
            for i in 0..<n { for j in 0..<i { h[i * n + j] = h[j * n + i] } }
        }
    }

    /// The full symmetric matrix, as a copy.
    public func symmetrized() -> InputHessian {
        var copy = self
        copy.symmetrize()
        return copy
    }
}

/// Hands out each weight's input Hessian in the order the weights are quantized, collecting
/// them by calibration passes over windows of whole layers whose Hessians fit `budgetBytes`
/// together (a 7B model's are ~0.7 GB per layer, too many to hold at once on a small machine),
/// each window collected when a weight of its first layer is asked for and dropped when a weight
/// outside it is. A layer's weights may come in any order (q, k and v share one input, gate and
/// up another, and files interleave them with the others).
public final class HessianWindows {
    /// The weights that share an input ask for one Hessian, under this name.
    public static func inputKey(of name: String) -> String {
        for shared in Engine.sharedInputs where name.hasSuffix(shared.reader) {
            return String(name.dropLast(shared.reader.count)) + shared.reported
        }
        return name
    }

    /// An `identity` for Hessians collected from `tokens` in chunks of `context` (at most
    /// `chunks`, each starting with `bos` when given).
    public static func identity(tokens: [Int], context: Int, chunks: Int?, bos: Int?) -> UInt64 {
        var hash = FNV1a()
        for value in tokens + [context, chunks ?? -1, bos ?? -1] { hash.mix(UInt64(bitPattern: Int64(value))) }
        return hash.value
    }

    /// Whether `name` is rounded with feedback when its input is known. Not the token embedding:
    /// its rows are looked up, and when it is tied to the head, feedback along the head's input
    /// made the demo model worse (q4_k_m KLD 0.00357 against 0.00346 without).
    public static func feedsBack(_ name: String) -> Bool { name != "token_embd.weight" }

    /// The layer a weight belongs to (`blk.N.`), or the weight itself outside the layers.
    static func layer(of name: String) -> String {
        guard name.hasPrefix("blk."), let dot = name.dropFirst(4).firstIndex(of: ".") else { return name }
        return String(name[..<name.index(after: dot)])
    }

    /// Input keys in the order they are first needed, with their column counts.
    public let inputs: [(key: String, columns: Int)]
    public let budgetBytes: Int
    /// Names what the Hessians are collected from (the calibration tokens and chunks), so that a
    /// resumed run can tell whether its partial file was made from the same.
    public let identity: UInt64
    /// Indices into `inputs` of each layer, in order.
    let layers: [[Int]]
    let layerOfKey: [String: Int]
    /// Runs the model on the calibration text, collecting the Hessians of the inputs named.
    let collect: (Set<String>) throws -> [String: InputHessian]
    private var window: [String: InputHessian] = [:]
    private var factors: [String: ErrorFeedback.Factor] = [:]
    private var windowLayers: Range<Int> = 0..<0
    public private(set) var passes = 0

    /// `weights` are (GGUF name, row length) in quantization order.
    public init(weights: [(name: String, columns: Int)], budgetBytes: Int, identity: UInt64 = 0,
                collect: @escaping (Set<String>) throws -> [String: InputHessian]) {
        var inputs: [(String, Int)] = [], layers: [[Int]] = [], layerIndex: [String: Int] = [:], layerOfKey: [String: Int] = [:]
        for weight in weights where Self.feedsBack(weight.name) {
            let key = Self.inputKey(of: weight.name)
            guard layerOfKey[key] == nil else { continue }
            let layer = Self.layer(of: weight.name)
            let index = layerIndex[layer] ?? layers.count
            if index == layers.count { layers.append([]); layerIndex[layer] = index }
            layers[index].append(inputs.count)
            layerOfKey[key] = index
            inputs.append((key, weight.columns))
        }
        self.inputs = inputs
        self.layers = layers
        self.layerOfKey = layerOfKey
        self.budgetBytes = budgetBytes
        self.identity = identity
        self.collect = collect
    }

    /// Bytes one input of rows of `columns` holds in a window: its Hessian and, once a weight
    /// has asked, the factor of its inverse.
    public static func bytes(columns: Int) -> Int { 2 * InputHessian.bytes(columns: columns) }

    private func bytes(ofLayer index: Int) -> Int {
        layers[index].reduce(0) { $0 + Self.bytes(columns: inputs[$1].columns) }
    }

    /// The layers of the window that starts at `first`: as many as fit the budget, at least one.
    private func window(from first: Int) -> Range<Int> {
        var end = first, bytes = 0
        while end < layers.count, end == first || bytes + self.bytes(ofLayer: end) <= budgetBytes {
            bytes += self.bytes(ofLayer: end)
            end += 1
        }
        return first..<end
    }

    /// The bytes the largest window holds (with the factorization's two working matrices of
    /// the widest input), and how many calibration passes the windows take when the weights are
    /// asked for in order.
    public var plan: (peakBytes: Int, passes: Int) {
        var peak = 0, passes = 0, first = 0
        while first < layers.count {
            let range = window(from: first)
            peak = max(peak, range.reduce(0) { $0 + bytes(ofLayer: $1) })
            passes += 1
            first = range.upperBound
        }
        let widest = inputs.map(\.columns).max() ?? 0
        return (peak + (peak > 0 ? 2 * InputHessian.bytes(columns: widest) : 0), passes)
    }

    /// The symmetric Hessian of `name`'s input, or nil when the model never showed that input
    /// (experts) or `name` is not rounded with feedback.
    public func hessian(for name: String) throws -> InputHessian? {
        guard Self.feedsBack(name) else { return nil }
        let key = Self.inputKey(of: name)
        guard let layer = layerOfKey[key] else { return nil }
        if !windowLayers.contains(layer) {
            let range = window(from: layer)
            // The old window goes before the next is collected, so the two are never held at once.
            window = [:]
            factors = [:]
            window = try collect(Set(range.flatMap { layers[$0].map { inputs[$0].key } }))
            for key in window.keys { window[key]!.symmetrize() }
            windowLayers = range
            passes += 1
        }
        return window[key]
    }

    /// The feedback factor of `name`'s input (computed on `threads` the first time a weight
    /// reading it asks), or nil where `hessian(for:)` is.
    public func factor(for name: String, threads: Int) throws -> ErrorFeedback.Factor? {
        // `factors` holds the current window's only.
        if let known = factors[Self.inputKey(of: name)] { return known }
        guard let hessian = try hessian(for: name) else { return nil }
        let factor: ErrorFeedback.Factor
        do {
            factor = try ErrorFeedback.Factor(hessian, threads: threads)
        } catch let error as QuantizationError {
            throw QuantizationError(path: error.path, tensor: name, reason: error.reason)
        }
        factors[Self.inputKey(of: name)] = factor
        return factor
    }
}

extension Engine {
    /// Runs the model over the first whole chunks of `tokens` as `collectImportance` does and
    /// returns Σ x·xᵀ of each input named in `inputs` (by its first weight: `attn_q` for the
    /// attention input, `ffn_gate` for the MLP's; the head's over every position). `progress`
    /// gets (chunks done, chunks).
    public func collectHessians(tokens: [Int], context: Int, bos: Int?, maxChunks: Int? = nil, inputs: Set<String>,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> [String: InputHessian] {
        // Each observed input is visited by the forward pass alone, between its kernels, so the
        // accumulation may use the engine's pool.
        nonisolated(unsafe) var hessians: [String: InputHessian] = [:]
        let pool = self.pool
        model.inputObserver = { names, rows, count, width in
            let key = HessianWindows.inputKey(of: names[0])
            guard inputs.contains(key) else { return }
            var entry = hessians.removeValue(forKey: key) ?? InputHessian(columns: width)
            entry.accumulate(rows, rows: count, pool: pool)
            hessians[key] = entry
        }
        defer { model.inputObserver = nil }
        // The head sees its input only where logits are computed.
        _ = try runCalibration(tokens: tokens, context: context, bos: bos, maxChunks: maxChunks,
                               allPositions: inputs.contains(model.weights.lmHeadName), progress: progress)
        return hessians
    }
}
