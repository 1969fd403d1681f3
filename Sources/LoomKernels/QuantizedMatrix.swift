import LoomCore
#if arch(x86_64)
import LoomKernelsAVX2
import LoomKernelsAVX512
#endif

/// Errors for weight data that does not match the shape it is used with.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    case partialBlock(format: String, cols: Int, blockSize: Int)
    case dataTooSmall(format: String, needed: Int, available: Int)

    public var description: String {
        switch self {
        case let .partialBlock(format, cols, blockSize): return "\(format): \(cols) columns is not a multiple of the block size \(blockSize)"
        case let .dataTooSmall(format, needed, available): return "\(format): weights need \(needed) bytes, \(available) given"
        }
    }
}

/// A block-quantized weight matrix (GGUF layout: rows of blocks), used where it lies.
///
/// `multiply` quantizes the activations to Q8 blocks of 32 in the scratch, then takes integer
/// dot products per block on the chosen `KernelPath`. Rows are spread over the pool; for a batch,
/// each thread keeps a tile of rows in L1 and sweeps the batch over it.
public final class QuantizedMatrix: WeightMatrix, @unchecked Sendable {
    public let type: QuantType
    public let rows: Int
    public let cols: Int
    public let path: KernelPath
    let data: UnsafeRawPointer  // [rows, cols / blockSize] blocks
    let rowBytes: Int
    /// Keeps the memory `data` points into (a mapped file) alive.
    private let owner: AnyObject?
    private let rowsKernel: RowsKernel

    /// y[start..<end] = W[start..<end, :]·x for one quantized activation row.
    typealias RowsKernel = (_ w: UnsafeRawPointer, _ rowBytes: Int, _ start: Int, _ end: Int, _ blocks: Int,
                            _ x: Q8Row, _ y: UnsafeMutablePointer<Float>) -> Void

    public var byteCount: Int { rows * rowBytes }
    public var formatName: String { type.name }

    /// Wraps `byteCount` bytes at `data` as a [rows, cols] matrix of `type` blocks.
    public init(type: QuantType, data: UnsafeRawPointer, byteCount: Int, rows: Int, cols: Int,
                owner: AnyObject?, path: KernelPath = .best) throws {
        precondition(type.blockSize > 1, "use FloatMatrix for \(type.name)")
        guard cols % type.blockSize == 0, cols % 32 == 0 else {
            throw KernelError.partialBlock(format: type.name, cols: cols, blockSize: type.blockSize)
        }
        let needed = rows * type.rowBytes(cols)
        guard byteCount >= needed else { throw KernelError.dataTooSmall(format: type.name, needed: needed, available: byteCount) }
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.rowBytes = type.rowBytes(cols)
        self.owner = owner
        self.path = path.isSupported ? path : .portable
        self.rowsKernel = Self.kernel(type, self.path)
    }

    public func scratchBytes(batch: Int) -> Int { Q8Activations.scratchBytes(batch: batch, cols: cols) }

    public func multiply(_ x: UnsafePointer<Float>, batch: Int, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, pool: ThreadPool) {
        guard let scratch, batch > 0 else { return }
        let activations = Q8Activations(scratch: scratch, batch: batch, cols: cols)
        activations.quantize(x, pool: pool)
        let blocks = cols / type.blockSize
        let (data, rowBytes, rows, kernel) = (data, rowBytes, rows, rowsKernel)
        if batch == 1 {
            let row = activations.row(0)
            pool.parallelFor(rows, grain: 16) { range in kernel(data, rowBytes, range.lowerBound, range.upperBound, blocks, row, y) }
            return
        }
        // A tile of rows stays in L1 while the whole batch streams past it.
        let tile = max(4, (16 * 1024) / max(1, rowBytes))
        let tiles = (rows + tile - 1) / tile
        pool.run(chunks: tiles) { t in
            let start = t * tile, end = min(rows, start + tile)
            for b in 0..<batch {
                kernel(data, rowBytes, start, end, blocks, activations.row(b), y + b * rows)
            }
        }
    }

    public func row(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        Dequantize.run(type, data + index * rowBytes, count: cols, into: out)
    }

    static func kernel(_ type: QuantType, _ path: KernelPath) -> RowsKernel {
        #if arch(x86_64)
        typealias Raw = (UnsafeRawPointer, Int, Int, Int, Int, UnsafePointer<Int8>, UnsafePointer<Float>, UnsafePointer<Int32>, UnsafeMutablePointer<Float>) -> Void
        func wrap(_ f: @escaping Raw) -> RowsKernel {
            { w, rowBytes, start, end, blocks, x, y in f(w, rowBytes, start, end, blocks, x.q, x.d, x.sums, y) }
        }
        let simd: Raw?
        switch (path, type) {
        case (.avx512, .q8_0): simd = LoomKernelsAVX512.q8_0Rows
        case (.avx512, .q4_0): simd = LoomKernelsAVX512.q4_0Rows
        case (.avx512, .q4_1): simd = LoomKernelsAVX512.q4_1Rows
        case (.avx512, .q5_0): simd = LoomKernelsAVX512.q5_0Rows
        case (.avx512, .q5_1): simd = LoomKernelsAVX512.q5_1Rows
        case (.avx512, .iq4_nl): simd = LoomKernelsAVX512.iq4_nlRows
        case (.avx2, .q8_0): simd = LoomKernelsAVX2.q8_0Rows
        case (.avx2, .q4_0): simd = LoomKernelsAVX2.q4_0Rows
        case (.avx2, .q4_1): simd = LoomKernelsAVX2.q4_1Rows
        case (.avx2, .q5_0): simd = LoomKernelsAVX2.q5_0Rows
        case (.avx2, .q5_1): simd = LoomKernelsAVX2.q5_1Rows
        case (.avx2, .iq4_nl): simd = LoomKernelsAVX2.iq4_nlRows
        default: simd = nil
        }
        if let simd { return wrap(simd) }
        #endif
        let unpack = BlockUnpack.unpacker(type)
        return { w, rowBytes, start, end, blocks, x, y in
            for r in start..<end { y[r] = PortableDot.row(type, unpack, w + r * rowBytes, blocks: blocks, x: x) }
        }
    }
}
