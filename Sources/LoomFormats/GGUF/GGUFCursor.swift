import LoomCore

/// A bounds-checked little-endian reader over a mapped GGUF file.
///
/// Every read checks the bytes left first and every count is checked against what those bytes
/// could hold, so hostile headers fail with a `GGUFError` before anything is allocated.
struct GGUFCursor {
    let file: MappedFile
    private(set) var offset: Int
    /// One past the last byte this cursor may read.
    let end: Int

    /// Arrays inside arrays deeper than this are refused, so a crafted file cannot exhaust the stack.
    static let maximumNesting = 8

    init(file: MappedFile, offset: Int = 0, end: Int? = nil) {
        self.file = file
        self.offset = offset
        self.end = end ?? file.count
    }

    var remaining: Int { end - offset }

    func error(_ reason: GGUFError.Reason, item: String?, at position: Int? = nil) -> GGUFError {
        GGUFError(path: file.path, offset: position ?? offset, item: item, reason: reason)
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, item: String?) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw error(.truncated(needed: size, available: remaining), item: item) }
        let value = T(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    /// Reads a u64 count of items of at least `minimumSize` bytes each, refusing counts the
    /// remaining bytes cannot hold.
    mutating func readCount(_ what: String, minimumSize: Int, item: String?) throws -> Int {
        let position = offset
        let count = try read(UInt64.self, item: item)
        let limit = remaining / max(1, minimumSize)
        guard count <= UInt64(limit) else {
            throw error(.countTooLarge(what: what, count: count, limit: limit), item: item, at: position)
        }
        return Int(count)
    }

    /// The bytes of a length-prefixed string, without copying.
    mutating func readStringBytes(item: String?) throws -> UnsafeRawBufferPointer {
        let position = offset
        let length = try read(UInt64.self, item: item)
        guard length <= UInt64(remaining) else {
            throw error(.stringTooLong(length: length, available: remaining), item: item, at: position)
        }
        let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[offset..<(offset + Int(length))])
        offset += Int(length)
        return bytes
    }

    mutating func readString(item: String?) throws -> String {
        String(decoding: try readStringBytes(item: item), as: UTF8.self)
    }

    mutating func readValueType(item: String?) throws -> GGUFValueType {
        let position = offset
        let raw = try read(UInt32.self, item: item)
        guard let type = GGUFValueType(rawValue: raw) else { throw error(.unknownValueType(raw), item: item, at: position) }
        return type
    }

    /// Reads one value of `type`. Arrays are validated to their end but kept as views of the file.
    mutating func readValue(type: GGUFValueType, item: String?, depth: Int = 0) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, item: item))
        case .int8: return .int8(try read(Int8.self, item: item))
        case .uint16: return .uint16(try read(UInt16.self, item: item))
        case .int16: return .int16(try read(Int16.self, item: item))
        case .uint32: return .uint32(try read(UInt32.self, item: item))
        case .int32: return .int32(try read(Int32.self, item: item))
        case .uint64: return .uint64(try read(UInt64.self, item: item))
        case .int64: return .int64(try read(Int64.self, item: item))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, item: item)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, item: item)))
        case .bool: return .bool(try read(UInt8.self, item: item) != 0)
        case .string: return .string(try readString(item: item))
        case .array: return .array(try readArray(item: item, depth: depth))
        }
    }

    mutating func readArray(item: String?, depth: Int) throws -> GGUFArray {
        guard depth < Self.maximumNesting else {
            throw error(.arrayNestedTooDeep(limit: Self.maximumNesting), item: item)
        }
        let elementType = try readValueType(item: item)
        let count = try readCount("array element", minimumSize: elementType.minimumSize, item: item)
        let start = offset
        if let size = elementType.scalarSize {
            offset += count * size  // in range: readCount bounded count by remaining / size
        } else {
            for _ in 0..<count { try skipValue(type: elementType, item: item, depth: depth + 1) }
        }
        return GGUFArray(elementType: elementType, count: count, file: file, offset: start, byteCount: offset - start)
    }

    /// Steps over a string or array element, validating it without decoding.
    private mutating func skipValue(type: GGUFValueType, item: String?, depth: Int) throws {
        switch type {
        case .string: _ = try readStringBytes(item: item)
        case .array: _ = try readArray(item: item, depth: depth)
        default: _ = try readValue(type: type, item: item, depth: depth)
        }
    }

    /// Advances to the next multiple of `alignment` (a power of two).
    mutating func align(to alignment: Int) {
        offset = (offset + alignment - 1) & ~(alignment - 1)
    }
}
