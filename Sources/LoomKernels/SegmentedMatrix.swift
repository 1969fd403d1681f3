import LoomCore

/// A matrix stored as column segments of its own formats, over an input whose columns are first
/// gathered into the segments' order: y = Σₛ Wₛ · x[gather[s]].
///
/// For weights quantized along a permuted input with different widths in different runs of it
/// (EXL2's act order and mixed bit widths): each run is a matrix of the format that holds its
/// integers exactly, and the permutation moves to the activations, which costs one gather of
/// `cols` floats per input row instead of changing the weights. The segments' products are added
/// in segment order, so a row's sum does not depend on the batch.
public final class SegmentedMatrix: WeightMatrix, @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    /// [segments], each [rows, its columns]
    public let segments: [any WeightMatrix]
    /// [cols] the input column each gathered column takes, segment after segment
    public let gather: [Int32]

    /// - Parameters:
    ///   - segments: matrices with `rows` rows each; their columns add up to `gather.count`.
    ///   - gather: for each column of the segments in order, the input column it reads.
    public init(rows: Int, segments: [any WeightMatrix], gather: [Int32]) {
        precondition(segments.allSatisfy { $0.rows == rows } && segments.reduce(0) { $0 + $1.cols } == gather.count)
        self.rows = rows
        self.cols = gather.count
        self.segments = segments
        self.gather = gather
    }

    /// The segments' bytes (the gather, 4 bytes per column, is the object's own).
    public var byteCount: Int { segments.reduce(0) { $0 + $1.byteCount } }
    public var formatName: String { "exl2(" + segments.map(\.formatName).joined(separator: "+") + ")" }
    public var isArenaResident: Bool { segments.allSatisfy(\.isArenaResident) }

    public func scratchBytes(batch: Int) -> Int {
        Self.scratchBytes(batch: batch, rows: rows, cols: cols, segmentScratch: segments.map { $0.scratchBytes(batch: batch) }.max() ?? 0)
    }

    /// The gathered input [batch, cols] and one segment's product [batch, rows], on whole cache
    /// lines, then the most scratch a segment needs.
    public static func scratchBytes(batch: Int, rows: Int, cols: Int, segmentScratch: Int) -> Int {
        ((batch * cols + batch * rows) * 4 + 63) / 64 * 64 + segmentScratch
    }

    public func multiply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
        let base = scratch!
        let gathered = base.assumingMemoryBound(to: Float.self)          // [segment][batch, its cols]
        let partial = gathered + batch * cols                             // [batch, rows]
        let rest = base + ((batch * cols + batch * rows) * 4 + 63) / 64 * 64
        var offset = 0
        for segment in segments {
            let n = segment.cols
            let into = gathered + offset * batch
            gather.withUnsafeBufferPointer { g in
                for b in 0..<batch {
                    let source = x + b * cols, row = into + b * n
                    for j in 0..<n { row[j] = source[Int(g[offset + j])] }
                }
            }
            if offset == 0 {
                segment.multiply(into, batch: batch, into: y, scratch: rest, pool: pool)
            } else {
                segment.multiply(into, batch: batch, into: partial, scratch: rest, pool: pool)
                for i in 0..<(batch * rows) { y[i] += partial[i] }
            }
            offset += n
        }
    }

    public func row(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        var offset = 0
        for segment in segments {
            let n = segment.cols
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { values in
                segment.row(index, into: values.baseAddress!)
                for j in 0..<n { out[Int(gather[offset + j])] = values[j] }
            }
            offset += n
        }
    }
}
