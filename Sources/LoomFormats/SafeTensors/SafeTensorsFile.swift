import Foundation
import LoomCore

/// One tensor's place in a weight file: its type, shape and bytes, viewed in place.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let dtype: DType
    /// Outermost dimension first, as torch writes it: a linear weight is [out, in].
    public let shape: [Int]
    public let bytes: UnsafeRawBufferPointer
    /// Keeps the map alive while the view exists.
    public let owner: AnyObject

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped `.safetensors` file whose header has been validated in full before any tensor
/// is handed out: the header size against a limit and the file, every dtype, every shape against
/// its byte length, and every data range against the file and against each other.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Headers are JSON text of a few hundred KB even for large models; the reference
    /// implementation caps them at 100 MB, and so do we, before reading a byte of them.
    public static let headerLimit = 100_000_000

    public let path: String
    public let map: MappedFile
    /// Tensors by name, in data order.
    public let tensors: [String: TensorView]
    public let metadata: [String: String]
    /// Start of the data section (8 + header length).
    public let dataOffset: Int

    public convenience init(path: String) throws {
        try self.init(map: MappedFile(path: path))
    }

    public init(map: MappedFile) throws {
        let path = map.path
        self.path = path
        self.map = map
        guard let headerBytes = map.readLE(UInt64.self, at: 0) else {
            throw SafeTensorsError.truncated(file: path, needed: 8, size: map.count)
        }
        guard headerBytes <= UInt64(Self.headerLimit) else {
            throw SafeTensorsError.headerTooLarge(file: path, headerBytes: headerBytes, limit: Self.headerLimit)
        }
        guard 8 + Int(headerBytes) <= map.count else {
            throw SafeTensorsError.headerPastEnd(file: path, headerBytes: headerBytes, fileSize: map.count)
        }
        let headerLength = Int(headerBytes)
        dataOffset = 8 + headerLength
        let json: Any
        do {
            let data = Data(bytes: map.bytes.baseAddress! + 8, count: headerLength)
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw SafeTensorsError.invalidHeaderJSON(file: path, reason: "\(error.localizedDescription)")
        }
        guard let header = json as? [String: Any] else {
            throw SafeTensorsError.invalidHeaderJSON(file: path, reason: "top level is not an object")
        }
        let dataSize = map.count - dataOffset
        var metadata: [String: String] = [:]
        var ranges: [(start: Int, end: Int, name: String)] = []
        var parsed: [String: (DType, [Int], Int, Int)] = [:]
        for (name, value) in header.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                if let dict = value as? [String: Any] {
                    for (k, v) in dict { metadata[k] = v as? String ?? "\(v)" }
                }
                continue
            }
            guard let entry = value as? [String: Any] else {
                throw SafeTensorsError.invalidEntry(file: path, tensor: name, reason: "entry is not an object")
            }
            guard let dtypeName = entry["dtype"] as? String else {
                throw SafeTensorsError.invalidEntry(file: path, tensor: name, reason: "missing 'dtype'")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw SafeTensorsError.unknownDType(file: path, tensor: name, dtype: dtypeName)
            }
            guard let shapeValues = entry["shape"] as? [Any] else {
                throw SafeTensorsError.invalidEntry(file: path, tensor: name, reason: "missing 'shape'")
            }
            let shape = try shapeValues.map { item -> Int in
                guard let n = Self.nonNegativeInt(item) else {
                    throw SafeTensorsError.invalidEntry(file: path, tensor: name, reason: "shape has a non-integer or negative dimension")
                }
                return n
            }
            guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
                  let start = Self.nonNegativeInt(offsets[0]), let end = Self.nonNegativeInt(offsets[1]), start <= end
            else {
                throw SafeTensorsError.invalidEntry(file: path, tensor: name, reason: "'data_offsets' must be two ordered non-negative integers")
            }
            guard end <= dataSize else {
                throw SafeTensorsError.offsetsOutOfRange(file: path, tensor: name, end: end, dataSize: dataSize)
            }
            // Overflow-checked: a lying shape must not wrap around to a small product.
            var expected = dtype.size
            for dim in shape {
                let (product, overflow) = expected.multipliedReportingOverflow(by: dim)
                guard !overflow else {
                    throw SafeTensorsError.shapeMismatch(file: path, tensor: name, shape: shape, dtype: dtype, byteLength: end - start)
                }
                expected = product
            }
            guard expected == end - start else {
                throw SafeTensorsError.shapeMismatch(file: path, tensor: name, shape: shape, dtype: dtype, byteLength: end - start)
            }
            ranges.append((start, end, name))
            parsed[name] = (dtype, shape, start, end)
        }
        ranges.sort { ($0.start, $0.end) < ($1.start, $1.end) }
        for i in ranges.indices.dropFirst() where ranges[i].start < ranges[i - 1].end {
            throw SafeTensorsError.overlappingOffsets(file: path, tensor: ranges[i].name, other: ranges[i - 1].name)
        }
        let dataStart = 8 + headerLength
        let base = map.bytes.baseAddress.map { $0 + dataStart }
        var tensors: [String: TensorView] = [:]
        for (name, (dtype, shape, start, end)) in parsed {
            let bytes = UnsafeRawBufferPointer(start: base.map { $0 + start }, count: end - start)
            tensors[name] = TensorView(name: name, dtype: dtype, shape: shape, bytes: bytes, owner: map)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor named `name`, or a `missingTensor` error naming this file.
    public func tensor(_ name: String) throws -> TensorView {
        guard let view = tensors[name] else { throw SafeTensorsError.missingTensor(name: name, searched: path) }
        return view
    }

    private static func nonNegativeInt(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        // JSONSerialization turns 1.5 into a Double-backed NSNumber; reject anything not integral.
        let double = number.doubleValue
        guard double >= 0, double == double.rounded(), double < 9.0e18 else { return nil }
        return number.intValue
    }
}
