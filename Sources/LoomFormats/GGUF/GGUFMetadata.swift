/// Typed access to GGUF metadata.
///
/// Each accessor returns nil when the key is absent and throws a `GGUFError` naming the key and
/// its offset when the key is present with another type, so callers tell "optional" from "broken".
extension GGUFFile {
    /// The value of a string key.
    public func string(_ key: String) throws -> String? {
        guard let value = metadata[key] else { return nil }
        guard case let .string(text) = value else { throw mismatch(key, expected: "string", value) }
        return text
    }

    /// The value of a key of any integer type, when it fits in `Int`.
    public func integer(_ key: String) throws -> Int? {
        guard let value = metadata[key] else { return nil }
        guard let integer = value.integerValue else {
            if case let .uint64(big) = value { throw metadataError(key, .valueOutOfRange(String(big))) }
            throw mismatch(key, expected: "integer", value)
        }
        return integer
    }

    /// The value of a float32 or float64 key.
    public func float(_ key: String) throws -> Double? {
        guard let value = metadata[key] else { return nil }
        guard let float = value.floatValue else { throw mismatch(key, expected: "float", value) }
        return float
    }

    /// The value of a bool key.
    public func bool(_ key: String) throws -> Bool? {
        guard let value = metadata[key] else { return nil }
        guard case let .bool(flag) = value else { throw mismatch(key, expected: "bool", value) }
        return flag
    }

    /// The elements of an array of strings, such as `tokenizer.ggml.tokens` or `tokenizer.ggml.merges`.
    /// Invalid UTF-8 is replaced by U+FFFD; `byteStrings` gives the exact bytes.
    public func strings(_ key: String) throws -> [String]? {
        try byteStrings(key)?.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The elements of an array of strings, as their stored bytes.
    public func byteStrings(_ key: String) throws -> [[UInt8]]? {
        guard let array = try array(key, of: [.string], expected: "array of strings") else { return nil }
        switch array.storage {
        case let .mapped(file, offset, byteCount):
            var cursor = GGUFCursor(file: file, offset: offset, end: offset + byteCount)
            return try (0..<array.count).map { _ in Array(try cursor.readStringBytes(item: key)) }
        case let .elements(values):
            return values.map { value in
                if case let .string(text) = value { return Array(text.utf8) }
                return []
            }
        }
    }

    /// The elements of an array of any integer type, such as `tokenizer.ggml.token_type`.
    public func integers(_ key: String) throws -> [Int]? {
        let integerTypes: Set<GGUFValueType> = [.uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64]
        guard let array = try array(key, of: integerTypes, expected: "array of integers") else { return nil }
        return try array.elements().map { element in
            guard let integer = element.integerValue else { throw metadataError(key, .valueOutOfRange("\(element)")) }
            return integer
        }
    }

    /// The elements of a float32 or float64 array, such as `tokenizer.ggml.scores`.
    public func floats(_ key: String) throws -> [Float]? {
        guard let array = try array(key, of: [.float32, .float64], expected: "array of floats") else { return nil }
        if case let .mapped(file, offset, _) = array.storage, array.elementType == .float32 {
            // The common case (150k scores): one pass over the map, no per-element enum.
            return (0..<array.count).map { i in
                Float(bitPattern: UInt32(littleEndian: file.bytes.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self)))
            }
        }
        return try array.elements().map { Float($0.floatValue ?? .nan) }
    }

    /// The array under `key` when its element type is one of `types`.
    public func array(_ key: String, of types: Set<GGUFValueType>, expected: String) throws -> GGUFArray? {
        guard let value = metadata[key] else { return nil }
        guard case let .array(array) = value, types.contains(array.elementType) else {
            throw mismatch(key, expected: expected, value)
        }
        return array
    }

    private func mismatch(_ key: String, expected: String, _ value: GGUFValue) -> GGUFError {
        metadataError(key, .typeMismatch(expected: expected, actual: value.typeName))
    }
}
