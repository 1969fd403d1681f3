import Foundation
import LoomCore
import LoomFormats
import LoomKernels

/// One tensor of a quantization plan: what it is in the source and what it becomes.
public struct QuantizedTensorPlan: Sendable {
    public let name: String
    /// ggml order, innermost (the row) first.
    public let dimensions: [Int]
    public let sourceType: GGMLType
    /// The type written; equal to `sourceType` when the tensor is copied.
    public let type: GGMLType
    public let bytes: Int
    public var elements: Int { dimensions.reduce(1, *) }
    public var isCopied: Bool { type == sourceType }
}

/// What `GGUFQuantizer.plan` decides before any weight is read: every tensor's type and size,
/// and the memory the run will need at most.
public struct QuantizationPlan: Sendable {
    public let scheme: QuantizationScheme
    public let tensors: [QuantizedTensorPlan]
    /// Bytes of the output file.
    public let fileBytes: Int
    /// The most memory the run holds at once besides the mapped source: the largest tensor in
    /// f32, its output bytes, the header and the importance vectors.
    public let peakBytes: Int
    /// Bits per weight over every tensor's elements (what llama.cpp's "bpw" counts).
    public var bitsPerWeight: Double {
        let elements = tensors.reduce(0) { $0 + $1.elements }
        return Double(tensors.reduce(0) { $0 + $1.bytes }) * 8 / Double(max(1, elements))
    }
}

/// A source that cannot be quantized as asked, naming the file and the tensor.
public struct QuantizationError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let tensor: String?
    public let reason: String
    public var description: String { "\(path)\(tensor.map { " (\($0))" } ?? ""): \(reason)" }

    public init(path: String, tensor: String?, reason: String) {
        self.path = path
        self.tensor = tensor
        self.reason = reason
    }
}

/// Quantizes a GGUF model tensor by tensor into a new GGUF file that keeps the source's metadata
/// and tokenizer, so llama.cpp loads it unmodified.
///
/// One tensor is in memory at a time (in f32, with its output); the source stays mapped. The
/// file is written to `PATH.partial` and renamed at the end, so an interrupted run leaves no
/// file that looks complete.
public enum GGUFQuantizer {
    /// Decides each tensor's type with `scheme`'s recipe and sizes everything.
    public static func plan(_ source: GGUFFile, scheme: QuantizationScheme, importance: ImportanceMatrix?) throws -> QuantizationPlan {
        let layers = try source.integer("\(try source.string("general.architecture") ?? "llama").block_count") ?? 0
        let tied = source.tensor(named: "output.weight") == nil
        var tensors: [QuantizedTensorPlan] = []
        var largest = 0
        for info in source.tensors {
            var type = info.type
            if let chosen = scheme.type(for: info.name, dimensions: info.dimensions, layers: layers, tiedEmbeddings: tied,
                                        hasImportance: importance != nil) {
                guard QuantType(ggmlTypeID: info.type.id) != nil else {
                    throw QuantizationError(path: source.path, tensor: info.name, reason: "source type \(info.type) cannot be read for quantization")
                }
                type = GGMLType(id: chosen.ggmlTypeID)
                largest = max(largest, info.elementCount * 4 + (type.byteCount(elements: info.elementCount) ?? 0))
            }
            guard let bytes = type.byteCount(elements: info.elementCount) else {
                throw QuantizationError(path: source.path, tensor: info.name, reason: "\(info.dimensions) does not fit \(type) blocks")
            }
            tensors.append(QuantizedTensorPlan(name: info.name, dimensions: info.dimensions, sourceType: info.type, type: type, bytes: bytes))
        }
        let header = try outputWriter(source, scheme: scheme, importance: nil, importancePath: nil).header(tensors: tensors.map { ($0.name, $0.dimensions, $0.type) }).count
        let alignment = source.alignment
        let data = tensors.reduce(0) { $0 + ($1.bytes + alignment - 1) / alignment * alignment }
        let importanceBytes = importance?.entries.values.reduce(0) { $0 + 4 * $1.sums.count } ?? 0
        return QuantizationPlan(scheme: scheme, tensors: tensors, fileBytes: header + data,
                                peakBytes: largest + header + importanceBytes)
    }

    /// The writer with the source's metadata in its order, the file type set to the scheme's.
    static func outputWriter(_ source: GGUFFile, scheme: QuantizationScheme, importance: ImportanceMatrix?, importancePath: String?) -> GGUFWriter {
        var writer = GGUFWriter()
        for key in source.keys { writer.set(key, source.metadata[key]!) }
        writer.set("general.file_type", .uint32(scheme.fileType))
        writer.set("general.quantization_version", .uint32(2))
        if let importance {
            writer.set("quantize.imatrix.file", .string(importancePath ?? ""))
            writer.set("quantize.imatrix.dataset", .string(importance.datasets.first ?? ""))
            writer.set("quantize.imatrix.entries_count", .int32(Int32(importance.entries.count)))
            writer.set("quantize.imatrix.chunks_count", .int32(Int32(importance.chunkCount)))
        }
        return writer
    }

    /// Runs `plan` on `source` and writes the result to `path`. `progress` is called after each
    /// tensor with its index and plan entry.
    public static func run(_ source: GGUFFile, plan: QuantizationPlan, importance: ImportanceMatrix?, importancePath: String? = nil,
                           to path: String, threads: Int, progress: (Int, QuantizedTensorPlan) -> Void = { _, _ in }) throws {
        let writer = outputWriter(source, scheme: plan.scheme, importance: importance, importancePath: importancePath)
        let header = try writer.header(tensors: plan.tensors.map { ($0.name, $0.dimensions, $0.type) })
        let partial = path + ".partial"
        guard FileManager.default.createFile(atPath: partial, contents: nil), let out = FileHandle(forWritingAtPath: partial) else {
            throw QuantizationError(path: path, tensor: nil, reason: "cannot create \(partial)")
        }
        var done = false
        defer {
            try? out.close()
            if !done { try? FileManager.default.removeItem(atPath: partial) }
        }
        try out.write(contentsOf: Data(header))
        let alignment = source.alignment
        for (index, tensor) in plan.tensors.enumerated() {
            let info = source.tensor(named: tensor.name)!
            let input = source.data(for: info)
            var bytes: [UInt8]
            if tensor.isCopied {
                bytes = Array(input)
            } else {
                bytes = try quantize(input, info, as: QuantType(ggmlTypeID: tensor.type.id)!, importance: importance,
                                     source: source.path, threads: threads)
            }
            bytes += [UInt8](repeating: 0, count: writer.padded(bytes.count, alignment) - bytes.count)
            try out.write(contentsOf: Data(bytes))
            progress(index, tensor)
        }
        try out.close()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        done = true
    }

    /// One tensor: widened to f32 ([rows, columns]), then each row quantized with its columns'
    /// importances, rows split over `threads`.
    static func quantize(_ input: UnsafeRawBufferPointer, _ info: GGUFTensorInfo, as type: QuantType, importance: ImportanceMatrix?,
                         source: String, threads: Int) throws -> [UInt8] {
        let columns = info.dimensions[0], rows = info.elementCount / columns
        let sourceType = QuantType(ggmlTypeID: info.type.id)!
        var weights = [Float](repeating: 0, count: info.elementCount)  // [rows, columns]
        weights.withUnsafeMutableBufferPointer { Dequantize.run(sourceType, input.baseAddress!, count: info.elementCount, into: $0.baseAddress!) }
        let columnImportance = importance?.importance(for: info.name)
        if let columnImportance, columnImportance.count != columns {
            throw QuantizationError(path: source, tensor: info.name,
                                    reason: "the importance matrix has \(columnImportance.count) columns for it, the tensor \(columns)")
        }
        let rowBytes = type.rowBytes(columns)
        var out = [UInt8](repeating: 0, count: rowBytes * rows)  // [rows][rowBytes]
        let pool = ThreadPool(threads: max(1, min(threads, rows)))
        weights.withUnsafeBufferPointer { w in
            out.withUnsafeMutableBytes { o in
                let wBase = w.baseAddress!, oBase = o.baseAddress!
                pool.parallelFor(rows, grain: max(1, rows / (4 * threads))) { range in
                    for row in range {
                        let x = wBase + row * columns, y = oBase + row * rowBytes
                        if WeightedQuantize.supported.contains(type) {
                            if let columnImportance {
                                columnImportance.withUnsafeBufferPointer { WeightedQuantize.row(type, x, count: columns, importance: $0.baseAddress!, into: y) }
                            } else {
                                WeightedQuantize.row(type, x, count: columns, importance: nil, into: y)
                            }
                        } else {
                            Quantize.run(type, x, count: columns, into: y)
                        }
                    }
                }
            }
        }
        return out
    }
}
