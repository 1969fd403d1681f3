import Foundation
import LoomCore
import LoomKernels
import LoomRuntime
import Testing
@testable import LoomVulkan

/// RoPE, the paged cache's stores and attention through page tables, against the CPU's RoPE and
/// an f64 attention over the same f16-rounded keys and values.
@Suite(.enabled(if: TestDevice.available))
struct VulkanAttentionTests {
    @Test(arguments: [RopeLayout.halves, .adjacentPairs])
    func ropeMatchesTheCPUTable(layout: RopeLayout) throws {
        let (rows, heads, headDim, positions) = (5, 3, 64, 40)
        let half = headDim / 2
        let inverse = (0..<half).map { 1 / pow(10_000.0, Double(2 * $0) / Double(headDim)) }
        var storage = [Float](repeating: 0, count: 2 * positions * half)
        let table = storage.withUnsafeMutableBufferPointer {
            RotaryTable(inverseFrequencies: inverse, attentionFactor: 1, positions: positions, layout: layout, storage: $0.baseAddress!)
        }
        var random = SeededValues(seed: 5)
        let x = random.values(rows * heads * headDim)
        let rowPositions: [Int32] = [0, 1, 17, 39, 17]
        var expected = x
        expected.withUnsafeMutableBufferPointer { e in
            for r in 0..<rows { table.apply(e.baseAddress! + r * heads * headDim, heads: heads, position: Int(rowPositions[r])) }
        }
        let device = try TestDevice.device()
        let arena = try TestDevice.arena((x.count + storage.count + rows) * 4)
        let gx = try arena.allocate(bytes: x.count * 4, label: "x")
        let gt = try arena.allocate(bytes: storage.count * 4, label: "table")
        let gp = try arena.allocate(bytes: rows * 4, label: "positions")
        try device.upload(x, to: gx)
        try device.upload(storage, to: gt)
        try device.upload(rowPositions, to: gp)
        try device.submit { r in
            try r.rope(gx, rows: rows, heads: heads, headStride: headDim, half: half, pairs: layout == .adjacentPairs,
                       cosines: gt, sines: gt.slice(from: positions * half * 4), positions: gp)
        }
        let output = try device.download(gx, as: Float.self, count: x.count)
        let worst = zip(output, expected).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-6, "\(layout): worst \(worst)")
    }

    /// Three sequences of different lengths in one batch, their pages scattered and one page
    /// shared by two of them, GQA (8 heads over 2), with and without a sliding window: the
    /// kernel's outputs against an f64 softmax over the positions each row may see.
    @Test(arguments: [nil, 5] as [Int?])
    func attentionThroughPageTablesMatchesF64(window: Int?) throws {
        let (heads, kvHeads, headDim, pageTokens, pageCount) = (8, 2, 32, 4, 12)
        // Sequence lengths after this pass, and how many of their last rows the batch holds.
        let lengths = [10, 3, 33], newRows = [2, 3, 1]
        // Page tables: scattered pages; sequences 0 and 2 share page 7 as their first.
        let tables: [[Int32]] = [[7, 2, 9], [4], [7, 0, 11, 5, 1, 3, 8, 10, 6]]
        var random = SeededValues(seed: 9)
        let kvWidth = kvHeads * headDim
        // Cached keys and values per sequence and position, f16-rounded as the cache holds them.
        var keys: [[[Float]]] = [], values: [[[Float]]] = []
        for length in lengths {
            keys.append((0..<length).map { _ in random.values(kvWidth).map { f16ToFloat(floatToF16($0 * 2)) } })
            values.append((0..<length).map { _ in random.values(kvWidth).map { f16ToFloat(floatToF16($0)) } })
        }
        // Sequence 2's first page is sequence 0's (shared), so its positions 0..<4 are those.
        for p in 0..<pageTokens where p < lengths[2] { keys[2][p] = keys[0][p]; values[2][p] = values[0][p] }

        let device = try TestDevice.device()
        let planeBytes = VulkanRecorder.PagedPlanes.planeBytes(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount)
        let rows = newRows.reduce(0, +)
        let arena = try TestDevice.arena(2 * planeBytes + 4 * rows * heads * headDim * 4 + 4096)
        let cache = VulkanRecorder.PagedPlanes(keys: try arena.allocate(bytes: planeBytes, label: "keys"),
                                               values: try arena.allocate(bytes: planeBytes, label: "values"),
                                               kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount)
        // Every cached position goes in through the store kernel (f32 in, f16 out).
        var storeKeys: [Float] = [], storeValues: [Float] = [], slots: [Int32] = []
        for s in 0..<3 {
            for p in 0..<lengths[s] where !(s == 2 && p < pageTokens) {
                storeKeys += keys[s][p]; storeValues += values[s][p]
                slots.append(tables[s][p / pageTokens] * Int32(pageTokens) + Int32(p % pageTokens))
            }
        }
        let sk = try arena.allocate(bytes: storeKeys.count * 4, label: "store keys")
        let sv = try arena.allocate(bytes: storeValues.count * 4, label: "store values")
        let ss = try arena.allocate(bytes: slots.count * 4, label: "slots")
        try device.upload(storeKeys, to: sk); try device.upload(storeValues, to: sv); try device.upload(slots, to: ss)
        try device.submit { r in try r.storeKV(keys: sk, values: sv, slots: ss, rows: slots.count, into: cache) }

        // The batch: each sequence's last newRows[s] positions.
        var queries: [Float] = [], rowPositions: [Int32] = [], rowTables: [Int32] = [], flatTables: [Int32] = []
        var rowSequence: [Int] = []
        for s in 0..<3 {
            let offset = Int32(flatTables.count)
            flatTables += tables[s]
            for p in (lengths[s] - newRows[s])..<lengths[s] {
                queries += random.values(heads * headDim)
                rowPositions.append(Int32(p)); rowTables.append(offset); rowSequence.append(s)
            }
        }
        let gq = try arena.allocate(bytes: queries.count * 4, label: "queries")
        let gout = try arena.allocate(bytes: queries.count * 4, label: "out")
        let gtables = try arena.allocate(bytes: flatTables.count * 4, label: "tables")
        let gpos = try arena.allocate(bytes: rows * 4, label: "positions")
        let grt = try arena.allocate(bytes: rows * 4, label: "row tables")
        try device.upload(queries, to: gq); try device.upload(flatTables, to: gtables)
        try device.upload(rowPositions, to: gpos); try device.upload(rowTables, to: grt)
        let scale = 1 / Float(headDim).squareRoot()
        try device.submit { r in
            try r.attention(queries: gq, rows: rows, heads: heads, cache: cache, pageTables: gtables, rowPositions: gpos,
                            rowTables: grt, scale: scale, window: window, output: gout)
        }
        let output = try device.download(gout, as: Float.self, count: queries.count)

        var worst: Float = 0
        for r in 0..<rows {
            let s = rowSequence[r], p = Int(rowPositions[r])
            let first = window.map { max(0, p - $0 + 1) } ?? 0
            for h in 0..<heads {
                let kv = h / (heads / kvHeads)
                let q = Array(queries[((r * heads + h) * headDim)...].prefix(headDim))
                let scores = (first...p).map { j in
                    Double(scale) * (0..<headDim).reduce(0.0) { $0 + Double(q[$1]) * Double(keys[s][j][kv * headDim + $1]) }
                }
                let top = scores.max()!
                let weights = scores.map { exp($0 - top) }
                let total = weights.reduce(0, +)
                for d in 0..<headDim {
                    var sum = 0.0
                    for (i, j) in (first...p).enumerated() { sum += weights[i] * Double(values[s][j][kv * headDim + d]) }
                    worst = max(worst, abs(output[(r * heads + h) * headDim + d] - Float(sum / total)))
                }
            }
        }
        #expect(worst < 2e-5, "window \(String(describing: window)): worst \(worst)")
    }
}

/// The quantized caches against the CPU's: the same rows stored by each (Hadamard-rotated groups,
/// absmax scales), then attention over them through the same page tables.
@Suite(.enabled(if: TestDevice.available))
struct VulkanQuantizedCacheTests {
    @Test(arguments: [CacheType.q8, .q6, .q4])
    func attentionOverAQuantizedCacheMatchesTheCPU(cacheType: CacheType) throws {
        let (heads, kvHeads, headDim, pageTokens, pageCount) = (4, 2, 64, 8, 6)
        let bits = QuantizedKVCacheLayer.bits(for: cacheType)!
        let length = 21, rows = 3
        let table: [Int32] = [4, 1, 5]
        var random = SeededValues(seed: 17)
        let kvWidth = kvHeads * headDim
        let keys = random.values(length * kvWidth).map { $0 * 3 }, values = random.values(length * kvWidth)
        let slots = (0..<length).map { table[$0 / pageTokens] * Int32(pageTokens) + Int32($0 % pageTokens) }
        let queries = random.values(rows * heads * headDim)
        let positions = (length - rows)..<length
        let scale = 1 / Float(headDim).squareRoot()

        // The CPU: store every row, then attend for the last `rows` as one span.
        let host = MemoryArena(name: "cpu cache")
        let layer = try QuantizedKVCacheLayer(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount,
                                              keyBits: bits.key, valueBits: bits.value, arena: host)
        keys.withUnsafeBufferPointer { k in values.withUnsafeBufferPointer { v in slots.withUnsafeBufferPointer { s in
            layer.store(keys: k.baseAddress!, values: v.baseAddress!, slots: s.baseAddress!, count: length)
        } } }
        let pool = ThreadPool(threads: 1)
        let stride = BlockedAttention.workerScratchFloats(capacity: length, heads: heads, kvHeads: kvHeads, headDim: headDim, maxTokens: rows)
        var scratch = [Float](repeating: 0, count: max(stride, length) + 64)
        var expected = [Float](repeating: 0, count: queries.count)
        queries.withUnsafeBufferPointer { q in table.withUnsafeBufferPointer { t in scratch.withUnsafeMutableBufferPointer { sc in
            expected.withUnsafeMutableBufferPointer { out in
                layer.attend(queries: q.baseAddress!, spans: [AttentionSpan(row: 0, count: rows, start: positions.lowerBound)],
                             pageTables: t.baseAddress!, heads: heads, scale: scale, softcap: nil, window: nil, sinks: nil,
                             into: out.baseAddress!, scores: sc, pool: pool)
            }
        } } }

        // The GPU: the same stores and the same attention.
        let device = try TestDevice.device()
        let keyPlane = VulkanRecorder.PagedPlanes.planeBytes(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount,
                                                             bits: bits.key.rawValue)
        let valuePlane = VulkanRecorder.PagedPlanes.planeBytes(kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens,
                                                               pageCount: pageCount, bits: bits.value.rawValue)
        let arena = try TestDevice.arena(keyPlane + valuePlane + (2 * keys.count + 2 * queries.count + 4 * length) * 4)
        let cache = VulkanRecorder.PagedPlanes(keys: try arena.allocate(bytes: keyPlane, label: "keys"),
                                               values: try arena.allocate(bytes: valuePlane, label: "values"),
                                               kvHeads: kvHeads, headDim: headDim, pageTokens: pageTokens, pageCount: pageCount,
                                               keyBits: bits.key.rawValue, valueBits: bits.value.rawValue)
        let gk = try arena.allocate(bytes: keys.count * 4, label: "k"), gv = try arena.allocate(bytes: values.count * 4, label: "v")
        let gs = try arena.allocate(bytes: length * 4, label: "slots"), gq = try arena.allocate(bytes: queries.count * 4, label: "q")
        let gt = try arena.allocate(bytes: table.count * 4, label: "table"), gpos = try arena.allocate(bytes: rows * 4, label: "positions")
        let grt = try arena.allocate(bytes: rows * 4, label: "row tables"), gout = try arena.allocate(bytes: queries.count * 4, label: "out")
        try device.upload(keys, to: gk); try device.upload(values, to: gv); try device.upload(slots, to: gs)
        try device.upload(queries, to: gq); try device.upload(table, to: gt)
        try device.upload(positions.map { Int32($0) }, to: gpos); try device.upload([Int32](repeating: 0, count: rows), to: grt)
        try device.submit { r in
            try r.storeKV(keys: gk, values: gv, slots: gs, rows: length, into: cache)
            r.barrier()
            try r.attention(queries: gq, rows: rows, heads: heads, cache: cache, pageTables: gt, rowPositions: gpos, rowTables: grt,
                            scale: scale, window: nil, output: gout)
        }
        let output = try device.download(gout, as: Float.self, count: queries.count)
        let worst = zip(output, expected).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "\(cacheType): worst \(worst)")
    }
}
