import LoomCore

/// A weight matrix of f32, f16 or bf16 values, [rows, cols] row-major, read in place.
public struct DenseMatrix<Element: DenseElement>: WeightMatrix, @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    /// [rows, cols] of `Element`
    public let data: UnsafeRawPointer
    /// Keeps the memory (a map or an arena buffer) alive.
    public let owner: AnyObject?

    public init(rows: Int, cols: Int, data: UnsafeRawPointer, owner: AnyObject?) {
        self.rows = rows
        self.cols = cols
        self.data = data
        self.owner = owner
    }

    public var byteCount: Int { rows * cols * Element.byteWidth }
    public var formatName: String { Element.formatName }
    public func scratchBytes(batch: Int) -> Int { 0 }

    public func row(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        let base = data + index * cols * Element.byteWidth
        var c = 0
        while c + 16 <= cols {
            UnsafeMutableRawPointer(out + c).storeBytes(of: Element.load16(base, c), as: SIMD16<Float>.self)
            c += 16
        }
        while c < cols { out[c] = Element.load1(base, c); c += 1 }
    }

    public func multiply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
        let rowBlock = 4
        let blocks = (rows + rowBlock - 1) / rowBlock
        pool.parallelFor(blocks, grain: max(1, 64 / max(1, batch))) { range in
            for block in range {
                let first = block * rowBlock
                let count = min(rowBlock, rows - first)
                var b = 0
                // Four input vectors at a time share each loaded weight vector.
                while b + 4 <= batch {
                    multiplyTile(rowStart: first, rowCount: count, x: x + b * cols, batchCount: 4, y: y + b * rows)
                    b += 4
                }
                while b < batch {
                    multiplyTile(rowStart: first, rowCount: count, x: x + b * cols, batchCount: 1, y: y + b * rows)
                    b += 1
                }
            }
        }
    }

    /// y[b, r] for r in rowStart..<rowStart+rowCount (≤ 4), b < batchCount (1 or 4).
    @inline(__always)
    private func multiplyTile(rowStart: Int, rowCount: Int, x: UnsafePointer<Float>, batchCount: Int,
                              y: UnsafeMutablePointer<Float>) {
        for r in rowStart..<(rowStart + rowCount) {
            let w = data + r * cols * Element.byteWidth
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            let x0 = UnsafeRawPointer(x)
            var c = 0
            if batchCount == 4 {
                let x1 = UnsafeRawPointer(x + cols), x2 = UnsafeRawPointer(x + 2 * cols), x3 = UnsafeRawPointer(x + 3 * cols)
                while c + 16 <= cols {
                    let wv = Element.load16(w, c)
                    a0 += wv * x0.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
                    a1 += wv * x1.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
                    a2 += wv * x2.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
                    a3 += wv * x3.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
                    c += 16
                }
                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                while c < cols {
                    let wv = Element.load1(w, c)
                    s0 += wv * x[c]; s1 += wv * x[cols + c]; s2 += wv * x[2 * cols + c]; s3 += wv * x[3 * cols + c]
                    c += 1
                }
                y[r] = s0; y[rows + r] = s1; y[2 * rows + r] = s2; y[3 * rows + r] = s3
            } else {
                while c + 64 <= cols {
                    a0 += Element.load16(w, c) * x0.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
                    a1 += Element.load16(w, c + 16) * x0.loadUnaligned(fromByteOffset: (c + 16) * 4, as: SIMD16<Float>.self)
                    a2 += Element.load16(w, c + 32) * x0.loadUnaligned(fromByteOffset: (c + 32) * 4, as: SIMD16<Float>.self)
                    a3 += Element.load16(w, c + 48) * x0.loadUnaligned(fromByteOffset: (c + 48) * 4, as: SIMD16<Float>.self)
                    c += 64
                }
                while c + 16 <= cols {
                    a0 += Element.load16(w, c) * x0.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
                    c += 16
                }
                var s = ((a0 + a1) + (a2 + a3)).sum()
                while c < cols { s += Element.load1(w, c) * x[c]; c += 1 }
                y[r] = s
            }
        }
    }
}
