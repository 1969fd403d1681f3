import Foundation

/// Builds a GGUF version 3 file: metadata in insertion order, then tensor infos, then tensor data,
/// each tensor padded to the alignment, laid out exactly as gguf-py's `GGUFWriter` does.
///
/// The alignment is `general.alignment` when that key is set (as an unsigned integer), else 32.
public struct GGUFWriter {
    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var tensors: [(name: String, dimensions: [Int], type: GGMLType, data: [UInt8])] = []

    public init() {}

    /// Sets metadata `key`; a key set twice keeps its first position and takes the new value.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
    }

    /// The value set for `key`, if any.
    public func value(_ key: String) -> GGUFValue? { values[key] }

    /// Adds a tensor. `dimensions` are in ggml order (innermost first); `data` must be exactly the
    /// tensor's byte size for `type`.
    public mutating func addTensor(name: String, dimensions: [Int], type: GGMLType, data: [UInt8]) throws {
        func fail(_ reason: GGUFError.Reason) -> GGUFError {
            GGUFError(path: "<writer>", offset: 0, item: name, reason: reason)
        }
        guard !tensors.contains(where: { $0.name == name }) else { throw fail(.duplicateTensor) }
        guard (1...4).contains(dimensions.count) else { throw fail(.badDimensionCount(UInt32(dimensions.count))) }
        guard dimensions.allSatisfy({ $0 >= 0 }) else { throw fail(.badDimensions(dimensions.map { UInt64(bitPattern: Int64($0)) })) }
        guard let bytes = type.byteCount(elements: dimensions.reduce(1, *)) else {
            throw fail(.partialBlock(columns: dimensions[0], blockSize: type.blockSize ?? 0))
        }
        guard bytes == data.count else { throw fail(.truncated(needed: bytes, available: data.count)) }
        tensors.append((name, dimensions, type, data))
    }

    /// The alignment the file will use.
    public func alignment() throws -> Int {
        guard let value = values["general.alignment"] else { return GGUFFile.defaultAlignment }
        guard let raw = value.integerValue, raw > 0, raw & (raw - 1) == 0 else {
            throw GGUFError(path: "<writer>", offset: 0, item: "general.alignment",
                            reason: .badAlignment(UInt64(clamping: value.integerValue ?? 0)))
        }
        return raw
    }

    /// The whole file.
    public func serialized() throws -> [UInt8] {
        let alignment = try alignment()
        var out = try header(tensors: tensors.map { ($0.name, $0.dimensions, $0.type) })
        for tensor in tensors {
            out += tensor.data
            out += [UInt8](repeating: 0, count: padded(tensor.data.count, alignment) - tensor.data.count)
        }
        return out
    }

    /// Everything before the tensor data, for a file whose tensors are `tensors` (in that order),
    /// padded to the alignment: metadata, then the infos with each tensor's offset. A streaming
    /// writer follows it with each tensor's bytes, each padded to the alignment.
    public func header(tensors: [(name: String, dimensions: [Int], type: GGMLType)]) throws -> [UInt8] {
        let alignment = try alignment()
        var out: [UInt8] = []
        append(UInt32(GGUFFile.magic), to: &out)
        append(UInt32(3), to: &out)
        append(UInt64(tensors.count), to: &out)
        append(UInt64(keys.count), to: &out)
        for key in keys {
            appendString(Array(key.utf8), to: &out)
            let value = values[key]!
            append(value.type.rawValue, to: &out)
            try appendValue(value, to: &out)
        }
        var offset = 0
        for tensor in tensors {
            guard let bytes = tensor.type.byteCount(elements: tensor.dimensions.reduce(1, *)) else {
                throw GGUFError(path: "<writer>", offset: 0, item: tensor.name,
                                reason: .partialBlock(columns: tensor.dimensions.first ?? 0, blockSize: tensor.type.blockSize ?? 0))
            }
            appendString(Array(tensor.name.utf8), to: &out)
            append(UInt32(tensor.dimensions.count), to: &out)
            for dimension in tensor.dimensions { append(UInt64(dimension), to: &out) }
            append(tensor.type.id, to: &out)
            append(UInt64(offset), to: &out)
            offset += padded(bytes, alignment)
        }
        out += [UInt8](repeating: 0, count: padded(out.count, alignment) - out.count)
        return out
    }

    /// Writes the file to `path` atomically: a failed write leaves no partial file.
    public func write(to path: String) throws {
        try Data(serialized()).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// `count` rounded up to a multiple of `alignment`.
    public func padded(_ count: Int, _ alignment: Int) -> Int {
        (count + alignment - 1) / alignment * alignment
    }

    private func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    private func appendString(_ bytes: [UInt8], to out: inout [UInt8]) {
        append(UInt64(bytes.count), to: &out)
        out += bytes
    }

    private func appendValue(_ value: GGUFValue, to out: inout [UInt8]) throws {
        switch value {
        case let .uint8(v): append(v, to: &out)
        case let .int8(v): append(v, to: &out)
        case let .uint16(v): append(v, to: &out)
        case let .int16(v): append(v, to: &out)
        case let .uint32(v): append(v, to: &out)
        case let .int32(v): append(v, to: &out)
        case let .uint64(v): append(v, to: &out)
        case let .int64(v): append(v, to: &out)
        case let .float32(v): append(v.bitPattern, to: &out)
        case let .float64(v): append(v.bitPattern, to: &out)
        case let .bool(v): append(UInt8(v ? 1 : 0), to: &out)
        case let .string(text): appendString(Array(text.utf8), to: &out)
        case let .array(array):
            append(array.elementType.rawValue, to: &out)
            append(UInt64(array.count), to: &out)
            switch array.storage {
            case let .mapped(file, offset, byteCount):
                // Copied as stored, so string bytes survive exactly even when not valid UTF-8.
                out += UnsafeRawBufferPointer(rebasing: file.bytes[offset..<(offset + byteCount)])
            case let .elements(elements):
                for element in elements { try appendValue(element, to: &out) }
            }
        }
    }
}
