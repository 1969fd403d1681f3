import LoomCore

/// Independent pieces of one matrix-vector product: `run(range)` computes the outputs of units
/// `range` (groups of rows), in any order, on any thread.
struct DecodeWork {
    let units: Int
    let run: (Range<Int>) -> Void
}

/// `y_i = W_i · x` for several matrices that read the same input `x` ([batch, cols]), such as a
/// layer's query, key and value projections, or its gate and up projections.
///
/// For one token (decode) these are memory-bound and small (Qwen2.5-0.5B's key and value
/// projections are 64 KB each in Q4_0): run one after another, every product pays a pool
/// dispatch, a barrier and a restart of the prefetch streams. When the matrices can share
/// their prepared input (all float, or all quantized alike: the same columns, kernel path and
/// activation rounding), the input is prepared once and all rows run as one parallel loop.
/// Otherwise, and for batches, each product runs on its own as `multiply` does.
/// - Parameters:
///   - products: the matrices, each with its output [batch, rows]
///   - scratch: at least the largest `scratchBytes(batch:)` of the matrices
public func multiply(_ x: UnsafePointer<Float>, batch: Int, by products: [(matrix: any WeightMatrix, y: UnsafeMutablePointer<Float>)],
                     scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
    guard batch == 1, products.count > 1, let works = sharedDecodeWork(x, products, scratch: scratch, pool: pool) else {
        for (matrix, y) in products { matrix.multiply(x, batch: batch, into: y, scratch: scratch, pool: pool) }
        return
    }
    run(works, pool: pool)
}

/// Runs the units of several works as one parallel loop.
private func run(_ works: [DecodeWork], pool: ThreadPool) {
    let total = works.reduce(0) { $0 + $1.units }
    pool.split(total) { range in
        // The range may span several matrices: run each one's share of it.
        var first = 0
        for work in works {
            let lower = max(range.lowerBound, first), upper = min(range.upperBound, first + work.units)
            if lower < upper { work.run((lower - first)..<(upper - first)) }
            first += work.units
        }
    }
}

/// One decode work list for `products`, with the shared input prepared, or nil when their
/// inputs differ.
func sharedDecodeWork(_ x: UnsafePointer<Float>, _ products: [(matrix: any WeightMatrix, y: UnsafeMutablePointer<Float>)],
                      scratch: UnsafeMutableRawPointer?, pool: ThreadPool) -> [DecodeWork]? {
    let floats = products.compactMap { $0.matrix as? FloatMatrix }
    if floats.count == products.count {
        return zip(floats, products).map { $0.decodeWork(x, into: $1.y) }
    }
    let quantized = products.compactMap { $0.matrix as? QuantizedMatrix }
    guard let scratch, quantized.count == products.count,
          quantized.allSatisfy({ quantized[0].sharesActivations(with: $0) }) else { return nil }
    let activations = quantized[0].quantizeForDecode(x, scratch: scratch, pool: pool)
    return zip(quantized, products).map { $0.decodeWork(activations, into: $1.y) }
}

/// Bytes of scratch `multiply(separately:)` needs for `matrices`: each input's prepared copy in a
/// stretch of its own, on its own cache line.
public func separateInputsScratchBytes(_ matrices: [any WeightMatrix]) -> Int {
    matrices.reduce(0) { $0 + (($1.scratchBytes(batch: 1) + 63) & ~63) }
}

/// `y_i = W_i · x_i` for one input row per matrix, such as the down projections of the experts
/// one token chose: as `multiply(_:batch:by:)`, one parallel loop over every matrix's rows instead
/// of a dispatch per product, when all the matrices are float or all quantized alike. Each row's
/// arithmetic is what `W_i.multiply(x_i, batch: 1, …)` does.
/// - Parameters:
///   - products: the matrices, each with its input [cols] and output [rows]
///   - scratch: at least `separateInputsScratchBytes` of the matrices, 64-byte aligned
public func multiply(separately products: [(matrix: any WeightMatrix, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)],
                     scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
    var works: [DecodeWork] = []
    if products.allSatisfy({ $0.matrix is FloatMatrix }) {
        works = products.map { ($0.matrix as! FloatMatrix).decodeWork($0.x, into: $0.y) }
    } else if let scratch, let first = products.first?.matrix as? QuantizedMatrix,
              products.allSatisfy({ ($0.matrix as? QuantizedMatrix)?.sharesActivations(with: first) == true }) {
        var offset = 0
        for (matrix, x, y) in products {
            let quantized = matrix as! QuantizedMatrix
            works.append(quantized.decodeWork(quantized.quantizeForDecode(x, scratch: scratch + offset, pool: pool), into: y))
            offset += (quantized.scratchBytes(batch: 1) + 63) & ~63
        }
    } else {
        for (matrix, x, y) in products { matrix.multiply(x, batch: 1, into: y, scratch: scratch, pool: pool) }
        return
    }
    run(works, pool: pool)
}
