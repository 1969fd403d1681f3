import LoomCore

/// The type tag of a GGUF metadata value, as stored in the file.
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes of a scalar of this type; nil for strings and arrays, whose size is in the data.
    public var scalarSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The fewest bytes one value of this type can take: a string is at least its 8-byte length,
    /// an array its 4-byte element type and 8-byte count. Bounds every count before allocating.
    var minimumSize: Int { scalarSize ?? (self == .string ? 8 : 12) }

    public var description: String { Self.names[Int(rawValue)] }

    private static let names = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool",
                                "string", "array", "uint64", "int64", "float64"]
}

/// One metadata value. Arrays are views of the file, decoded when asked for, so a 150k-entry
/// vocabulary costs nothing until the tokenizer reads it.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double), bool(Bool)
    case string(String)
    case array(GGUFArray)

    /// The type tag this value is stored with.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    /// The value as an integer when it is one of the integer types and fits in `Int`.
    public var integerValue: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// The value as a double when it is a float type.
    public var floatValue: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return nil
        }
    }

    /// A short description of the type for error messages: `array[string]` for arrays.
    var typeName: String {
        if case let .array(array) = self { return "array[\(array.elementType)]" }
        return type.description
    }
}

/// A metadata array: its element type and count, and its elements either in the mapped file
/// (as read) or in memory (as built for the writer).
public struct GGUFArray: Sendable, Equatable {
    public let elementType: GGUFValueType
    public let count: Int
    let storage: Storage

    enum Storage: Sendable {
        /// Elements are `byteCount` bytes at `offset` in `file`, already validated by the reader.
        case mapped(file: MappedFile, offset: Int, byteCount: Int)
        case elements([GGUFValue])
    }

    /// An in-memory array; every element must have type `elementType`.
    public init(elementType: GGUFValueType, elements: [GGUFValue]) throws {
        for (index, element) in elements.enumerated() where element.type != elementType {
            throw GGUFError(path: "<writer>", offset: 0, item: "element \(index)",
                            reason: .typeMismatch(expected: elementType.description, actual: element.typeName))
        }
        self.elementType = elementType
        self.count = elements.count
        self.storage = .elements(elements)
    }

    init(elementType: GGUFValueType, count: Int, file: MappedFile, offset: Int, byteCount: Int) {
        self.elementType = elementType
        self.count = count
        self.storage = .mapped(file: file, offset: offset, byteCount: byteCount)
    }

    /// Builds an array of strings.
    public init(strings: [String]) {
        self.elementType = .string
        self.count = strings.count
        self.storage = .elements(strings.map(GGUFValue.string))
    }

    /// Every element, decoded.
    public func elements() throws -> [GGUFValue] {
        switch storage {
        case let .elements(values):
            return values
        case let .mapped(file, offset, byteCount):
            var cursor = GGUFCursor(file: file, offset: offset, end: offset + byteCount)
            var values: [GGUFValue] = []
            values.reserveCapacity(count)  // bounded: the reader checked count against the bytes
            for _ in 0..<count {
                values.append(try cursor.readValue(type: elementType, item: nil, depth: 1))
            }
            return values
        }
    }

    public static func == (lhs: GGUFArray, rhs: GGUFArray) -> Bool {
        guard lhs.elementType == rhs.elementType, lhs.count == rhs.count else { return false }
        return (try? lhs.elements() == rhs.elements()) ?? false
    }
}
