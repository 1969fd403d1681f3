import LoomCore

/// Where one tensor's data lies in a GGUF file, validated against the file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions in ggml order: `dimensions[0]` is the contiguous (innermost) one, so a
    /// [rows, cols] weight is stored as `[cols, rows]`.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset from the start of the data section; a multiple of the file's alignment.
    public let offset: Int
    /// Bytes of data, from the element count and the type's block size.
    public let byteCount: Int

    public var elementCount: Int { dimensions.reduce(1, *) }
}

/// A GGUF file (version 2 or 3), memory-mapped and read without copying tensor data.
///
/// Opening reads and validates the header, all metadata and all tensor infos; tensor data stays in
/// the map and is viewed by `data(for:)`. Any inconsistency throws a `GGUFError`.
public final class GGUFFile: @unchecked Sendable {
    public let file: MappedFile
    public let version: UInt32
    /// Metadata keys in file order.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// Alignment of tensor data, from `general.alignment` (32 by default).
    public let alignment: Int
    /// File offset where the data section begins.
    public let dataOffset: Int

    private let tensorIndex: [String: Int]
    /// File offset of each metadata value, for error messages.
    private let valueOffsets: [String: Int]

    /// The alignment GGUF uses when `general.alignment` is absent.
    public static let defaultAlignment = 32
    static let magic: UInt32 = 0x4655_4747  // "GGUF" read little-endian

    public var path: String { file.path }

    /// Maps and reads the file at `path`.
    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        var cursor = GGUFCursor(file: file)
        let magic = try cursor.read(UInt32.self, item: "magic")
        guard magic == Self.magic else { throw cursor.error(.badMagic(magic), item: "magic", at: 0) }
        version = try cursor.read(UInt32.self, item: "version")
        if version & 0xFFFF == 0 && version.byteSwapped <= 3 { throw cursor.error(.bigEndian, item: "version", at: 4) }
        guard version == 2 || version == 3 else { throw cursor.error(.unsupportedVersion(version), item: "version", at: 4) }
        // A tensor info is at least a name length, one dim count, a type and an offset.
        let tensorCount = try cursor.readCount("tensor", minimumSize: 8 + 4 + 4 + 8, item: "tensor count")
        // A key-value pair is at least a key length, a type and a one-byte value.
        let keyCount = try cursor.readCount("metadata key", minimumSize: 8 + 4 + 1, item: "metadata count")

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        var valueOffsets: [String: Int] = [:]
        for _ in 0..<keyCount {
            let keyOffset = cursor.offset
            let keyBytes = try cursor.readStringBytes(item: "metadata key")
            guard let key = String(validating: keyBytes, as: UTF8.self) else {
                throw cursor.error(.invalidUTF8, item: "metadata key", at: keyOffset)
            }
            guard metadata[key] == nil else { throw cursor.error(.duplicateKey, item: key, at: keyOffset) }
            valueOffsets[key] = cursor.offset
            let type = try cursor.readValueType(item: key)
            metadata[key] = try cursor.readValue(type: type, item: key)
            keys.append(key)
        }
        self.keys = keys
        self.metadata = metadata
        self.valueOffsets = valueOffsets
        alignment = try Self.alignment(from: metadata, offsets: valueOffsets, path: file.path)

        var infos: [(info: GGUFTensorInfo, position: Int, rawOffset: UInt64)] = []
        var tensorIndex: [String: Int] = [:]
        for index in 0..<tensorCount {
            let position = cursor.offset
            let name = try cursor.readString(item: "tensor \(index) name")
            guard tensorIndex[name] == nil else { throw cursor.error(.duplicateTensor, item: name, at: position) }
            let (dimensions, type) = try Self.readShape(&cursor, tensor: name)
            let offsetPosition = cursor.offset
            let rawOffset = try cursor.read(UInt64.self, item: name)
            guard rawOffset % UInt64(alignment) == 0 else {
                throw cursor.error(.misalignedTensor(offset: rawOffset, alignment: alignment), item: name, at: offsetPosition)
            }
            let elements = dimensions.reduce(1, *)
            guard let byteCount = type.byteCount(elements: elements) else {
                throw cursor.error(.partialBlock(columns: dimensions[0], blockSize: type.blockSize ?? 1), item: name, at: position)
            }
            tensorIndex[name] = index
            infos.append((GGUFTensorInfo(name: name, dimensions: dimensions, type: type,
                                         offset: Int(clamping: rawOffset), byteCount: byteCount), offsetPosition, rawOffset))
        }
        cursor.align(to: alignment)
        dataOffset = cursor.offset
        let dataBytes = max(0, file.count - dataOffset)
        for (info, position, rawOffset) in infos {
            guard rawOffset <= UInt64(dataBytes), info.byteCount <= dataBytes - Int(rawOffset) else {
                throw cursor.error(.tensorOutOfRange(offset: rawOffset, byteCount: info.byteCount, dataBytes: dataBytes),
                                   item: info.name, at: position)
            }
        }
        tensors = infos.map(\.info)
        self.tensorIndex = tensorIndex
    }

    /// Reads a tensor's dimension count, dimensions and type, rejecting overflowing shapes and
    /// types whose size is unknown.
    private static func readShape(_ cursor: inout GGUFCursor, tensor name: String) throws -> ([Int], GGMLType) {
        let countPosition = cursor.offset
        let dimensionCount = try cursor.read(UInt32.self, item: name)
        guard (1...4).contains(dimensionCount) else {
            throw cursor.error(.badDimensionCount(dimensionCount), item: name, at: countPosition)
        }
        var raw: [UInt64] = []
        for _ in 0..<dimensionCount { raw.append(try cursor.read(UInt64.self, item: name)) }
        var product: UInt64 = 1
        var overflow = false
        for dimension in raw where !overflow {
            (product, overflow) = product.multipliedReportingOverflow(by: dimension)
            overflow = overflow || product > UInt64(Int64.max)
        }
        guard !overflow else { throw cursor.error(.badDimensions(raw), item: name, at: countPosition + 4) }
        let typePosition = cursor.offset
        let type = GGMLType(id: try cursor.read(UInt32.self, item: name))
        guard type.blockSize != nil else { throw cursor.error(.unknownTensorType(type.id), item: name, at: typePosition) }
        return (raw.map { Int($0) }, type)
    }

    /// `general.alignment` when present: an unsigned integer that is a power of two.
    private static func alignment(from metadata: [String: GGUFValue], offsets: [String: Int], path: String) throws -> Int {
        let key = "general.alignment"
        guard let value = metadata[key] else { return defaultAlignment }
        let offset = offsets[key] ?? 0
        switch value {
        case .uint8, .uint16, .uint32, .uint64:
            let raw = UInt64(value.integerValue ?? 0)
            guard raw > 0, raw <= 1 << 30, raw & (raw - 1) == 0 else {
                throw GGUFError(path: path, offset: offset, item: key, reason: .badAlignment(raw))
            }
            return Int(raw)
        default:
            throw GGUFError(path: path, offset: offset, item: key,
                            reason: .typeMismatch(expected: "unsigned integer", actual: value.typeName))
        }
    }

    /// An error about metadata `key`, pointing at its value in the file.
    public func metadataError(_ key: String, _ reason: GGUFError.Reason) -> GGUFError {
        GGUFError(path: path, offset: valueOffsets[key] ?? 0, item: key, reason: reason)
    }

    /// The tensor named `name`, if the file has one.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The tensor's bytes, viewed in the map (valid while this file is alive).
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + tensor.offset
        return UnsafeRawBufferPointer(rebasing: file.bytes[start..<(start + tensor.byteCount)])
    }
}
