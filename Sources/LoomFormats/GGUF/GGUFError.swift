/// A GGUF file that cannot be read, or metadata that is not what the caller asked for.
///
/// Every error names the file, the byte offset where reading failed and, when known, the
/// metadata key or tensor involved, so a broken download can be diagnosed from the message.
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Why reading failed.
    public enum Reason: Equatable, Sendable {
        case badMagic(UInt32)
        case unsupportedVersion(UInt32)
        /// A big-endian GGUF; tensors would need byte-swapping, so they cannot be mapped in place.
        case bigEndian
        /// The file ends before a field of `needed` bytes.
        case truncated(needed: Int, available: Int)
        /// A count that cannot fit in the bytes left, checked before anything is allocated.
        case countTooLarge(what: String, count: UInt64, limit: Int)
        case stringTooLong(length: UInt64, available: Int)
        case invalidUTF8
        case unknownValueType(UInt32)
        case arrayNestedTooDeep(limit: Int)
        case duplicateKey
        case duplicateTensor
        case badAlignment(UInt64)
        case missingKey
        case typeMismatch(expected: String, actual: String)
        case valueOutOfRange(String)
        case unknownTensorType(UInt32)
        case badDimensionCount(UInt32)
        case badDimensions([UInt64])
        /// The innermost dimension is not a whole number of quantization blocks.
        case partialBlock(columns: Int, blockSize: Int)
        case misalignedTensor(offset: UInt64, alignment: Int)
        case tensorOutOfRange(offset: UInt64, byteCount: Int, dataBytes: Int)
    }

    /// The file read, or a label such as `<writer>` for data built in memory.
    public let path: String
    /// Byte offset in the file of the field that failed.
    public let offset: Int
    /// The metadata key or tensor name being read, when there is one.
    public let item: String?
    public let reason: Reason

    public init(path: String, offset: Int, item: String? = nil, reason: Reason) {
        self.path = path
        self.offset = offset
        self.item = item
        self.reason = reason
    }

    public var description: String {
        let at = item.map { "\(path): \($0) at byte \(offset)" } ?? "\(path): at byte \(offset)"
        return "\(at): \(reasonText)"
    }

    private var reasonText: String {
        switch reason {
        case let .badMagic(magic): return "not a GGUF file (magic 0x\(String(magic, radix: 16)))"
        case let .unsupportedVersion(version): return "unsupported GGUF version \(version) (2 and 3 are supported)"
        case .bigEndian: return "big-endian GGUF files are not supported"
        case let .truncated(needed, available): return "truncated: needs \(needed) bytes, \(available) left"
        case let .countTooLarge(what, count, limit): return "\(what) count \(count) exceeds the \(limit) that the remaining bytes could hold"
        case let .stringTooLong(length, available): return "string length \(length) exceeds the \(available) bytes left"
        case .invalidUTF8: return "key is not valid UTF-8"
        case let .unknownValueType(type): return "unknown metadata value type \(type)"
        case let .arrayNestedTooDeep(limit): return "arrays nested deeper than \(limit)"
        case .duplicateKey: return "duplicate metadata key"
        case .duplicateTensor: return "duplicate tensor name"
        case let .badAlignment(value): return "alignment \(value) is not a power of two"
        case .missingKey: return "metadata key missing"
        case let .typeMismatch(expected, actual): return "expected \(expected), found \(actual)"
        case let .valueOutOfRange(value): return "value \(value) out of range"
        case let .unknownTensorType(type): return "unknown ggml tensor type \(type)"
        case let .badDimensionCount(count): return "\(count) dimensions (1 to 4 allowed)"
        case let .badDimensions(dims): return "dimensions \(dims) overflow a 64-bit element count"
        case let .partialBlock(columns, blockSize): return "row of \(columns) elements is not a multiple of the block size \(blockSize)"
        case let .misalignedTensor(offset, alignment): return "tensor data offset \(offset) is not a multiple of \(alignment)"
        case let .tensorOutOfRange(offset, byteCount, dataBytes): return "tensor data \(offset)+\(byteCount) runs past the \(dataBytes)-byte data section"
        }
    }
}
