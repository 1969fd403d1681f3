/// Why a safetensors file or shard index was rejected. Every case names the file, and the tensor
/// or field where there is one.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
    case truncated(file: String, needed: Int, size: Int)
    case headerTooLarge(file: String, headerBytes: UInt64, limit: Int)
    case headerPastEnd(file: String, headerBytes: UInt64, fileSize: Int)
    case invalidHeaderJSON(file: String, reason: String)
    case invalidEntry(file: String, tensor: String, reason: String)
    case unknownDType(file: String, tensor: String, dtype: String)
    case shapeMismatch(file: String, tensor: String, shape: [Int], dtype: DType, byteLength: Int)
    case offsetsOutOfRange(file: String, tensor: String, end: Int, dataSize: Int)
    case overlappingOffsets(file: String, tensor: String, other: String)
    case missingTensor(name: String, searched: String)
    case invalidIndex(file: String, reason: String)
    case missingShard(index: String, shard: String, tensor: String)

    public var description: String {
        switch self {
        case let .truncated(file, needed, size):
            return "\(file): truncated: needs at least \(needed) bytes, has \(size)"
        case let .headerTooLarge(file, bytes, limit):
            return "\(file): header length \(bytes) exceeds the \(limit)-byte limit"
        case let .headerPastEnd(file, bytes, size):
            return "\(file): header length \(bytes) runs past the end of the \(size)-byte file"
        case let .invalidHeaderJSON(file, reason):
            return "\(file): header is not valid JSON: \(reason)"
        case let .invalidEntry(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case let .unknownDType(file, tensor, dtype):
            return "\(file): tensor '\(tensor)': unknown dtype '\(dtype)'"
        case let .shapeMismatch(file, tensor, shape, dtype, length):
            let needed = shape.reduce(Double(dtype.size)) { $0 * Double($1) }
            return "\(file): tensor '\(tensor)': shape \(shape) of \(dtype.rawValue) needs \(needed) bytes but data_offsets span \(length)"
        case let .offsetsOutOfRange(file, tensor, end, dataSize):
            return "\(file): tensor '\(tensor)': data ends at \(end), past the \(dataSize)-byte data section"
        case let .overlappingOffsets(file, tensor, other):
            return "\(file): tensor '\(tensor)' overlaps tensor '\(other)'"
        case let .missingTensor(name, searched):
            return "tensor '\(name)' not found in \(searched)"
        case let .invalidIndex(file, reason):
            return "\(file): \(reason)"
        case let .missingShard(index, shard, tensor):
            return "\(index): shard '\(shard)' (holding '\(tensor)') does not exist"
        }
    }
}
