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
    /// llama.cpp's `general.file_type` for the file.
    public let fileType: UInt32
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
        let architecture = try source.string("general.architecture") ?? "llama"
        let layers = try source.integer("\(architecture).block_count") ?? 0
        // Per-layer head counts (arrays) leave the ratio at 1: only the iq4 mixes read it.
        let heads = (try? source.integer("\(architecture).attention.head_count")) ?? 1
        let keyHeads = (try? source.integer("\(architecture).attention.head_count_kv")) ?? heads
        let tied = source.tensor(named: "output.weight") == nil
        return try plan(source, fileType: scheme.fileType, importance: importance) { info in
            scheme.type(for: info.name, dimensions: info.dimensions, layers: layers, tiedEmbeddings: tied, hasImportance: importance != nil,
                        queriesPerKeyHead: keyHeads > 0 ? heads / keyHeads : 1)
        }
    }

    /// The tensors any scheme quantizes (GGUF names); the others are copied.
    public static func quantizable(_ source: GGUFFile) throws -> [String] {
        try plan(source, scheme: .q4_k, importance: nil).tensors.filter { !$0.isCopied }.map(\.name)
    }

    /// Sizes a plan whose types were chosen per tensor (`types`, by GGUF name; the others are
    /// copied), labelled with the file type of the type that holds most of the weights.
    public static func plan(_ source: GGUFFile, types: [String: QuantType], importance: ImportanceMatrix?) throws -> QuantizationPlan {
        var elements: [QuantType: Int] = [:]
        for info in source.tensors { if let type = types[info.name] { elements[type, default: 0] += info.elementCount } }
        let dominant = elements.max { $0.value < $1.value }?.key ?? .q8_0
        let fileType = QuantizationScheme.allCases.first { $0.baseType == dominant }?.fileType ?? QuantizationScheme.q8_0.fileType
        return try plan(source, fileType: fileType, importance: importance) { types[$0.name] }
    }

    private static func plan(_ source: GGUFFile, fileType: UInt32, importance: ImportanceMatrix?,
                             choose: (GGUFTensorInfo) -> QuantType?) throws -> QuantizationPlan {
        var tensors: [QuantizedTensorPlan] = []
        var largest = 0
        for info in source.tensors {
            var type = info.type
            if let chosen = choose(info) {
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
        let header = try outputWriter(source, fileType: fileType, importance: nil, importancePath: nil).header(tensors: tensors.map { ($0.name, $0.dimensions, $0.type) }).count
        let alignment = source.alignment
        let data = tensors.reduce(0) { $0 + ($1.bytes + alignment - 1) / alignment * alignment }
        let importanceBytes = importance?.entries.values.reduce(0) { $0 + 4 * $1.sums.count } ?? 0
        return QuantizationPlan(fileType: fileType, tensors: tensors, fileBytes: header + data,
                                peakBytes: largest + header + importanceBytes)
    }

    /// The writer with the source's metadata in its order, the file type set to the scheme's.
    static func outputWriter(_ source: GGUFFile, fileType: UInt32, importance: ImportanceMatrix?, importancePath: String?) -> GGUFWriter {
        var writer = GGUFWriter()
        for key in source.keys { writer.set(key, source.metadata[key]!) }
        writer.set("general.file_type", .uint32(fileType))
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
    ///
    /// The file is written as `PATH.partial`, each tensor flushed to disk and recorded in
    /// `PATH.partial.json` as it completes; a run of the same plan on the same source and matrix
    /// that finds them continues after the last whole tensor (`resumed` gets how many there were),
    /// and an interrupted or failed run keeps them for that. Only the finished file is renamed
    /// to `PATH`.
    ///
    /// With `hessians`, the tensors whose input they hold are rounded with error feedback
    /// (`ErrorFeedback`); the others, and types it does not round, as without.
    public static func run(_ source: GGUFFile, plan: QuantizationPlan, importance: ImportanceMatrix?, importancePath: String? = nil,
                           hessians: HessianWindows? = nil, to path: String, threads: Int, resumed: (Int) -> Void = { _ in },
                           progress: (Int, QuantizedTensorPlan) throws -> Void = { _, _ in }) throws {
        let writer = outputWriter(source, fileType: plan.fileType, importance: importance, importancePath: importancePath)
        let header = try writer.header(tensors: plan.tensors.map { ($0.name, $0.dimensions, $0.type) })
        let partial = path + ".partial"
        let fingerprint = QuantizationCheckpoint.fingerprint(header: header, source: source, importance: importance,
                                                             errorFeedback: hessians.map { $0.identity | 1 << 63 })
        var checkpoint = QuantizationCheckpoint(fingerprint: fingerprint, tensorsDone: 0, bytes: header.count)
        let out: FileHandle
        if let saved = QuantizationCheckpoint.load(output: path), saved.fingerprint == fingerprint,
           let size = (try? FileManager.default.attributesOfItem(atPath: partial))?[.size] as? Int, size >= saved.bytes,
           let handle = FileHandle(forUpdatingAtPath: partial) {
            try handle.truncate(atOffset: UInt64(saved.bytes))
            try handle.seekToEnd()
            out = handle
            checkpoint = saved
        } else {
            guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
                throw QuantizationError(path: path, tensor: nil, reason: "cannot create \(partial)")
            }
            out = handle
            try out.write(contentsOf: Data(header))
        }
        resumed(checkpoint.tensorsDone)
        var closed = false
        defer {
            if !closed { try? out.close() }
            // Nothing worth resuming: leave no partial file behind.
            if checkpoint.tensorsDone == 0 && !closed {
                try? FileManager.default.removeItem(atPath: partial)
                QuantizationCheckpoint.remove(output: path)
            }
        }
        let alignment = source.alignment
        for (index, tensor) in plan.tensors.enumerated() where index >= checkpoint.tensorsDone {
            let info = source.tensor(named: tensor.name)!
            let input = source.data(for: info)
            var bytes: [UInt8]
            if tensor.isCopied {
                bytes = Array(input)
            } else {
                let type = QuantType(ggmlTypeID: tensor.type.id)!
                let feedback: ErrorFeedback.Factor?
                do {
                    feedback = ErrorFeedback.supports(type) ? try hessians?.factor(for: tensor.name, threads: threads) : nil
                } catch let error as QuantizationError {
                    throw QuantizationError(path: source.path, tensor: error.tensor ?? tensor.name, reason: error.reason)
                }
                bytes = try quantize(input, info, as: type, importance: importance, feedback: feedback, source: source.path, threads: threads)
            }
            bytes += [UInt8](repeating: 0, count: writer.padded(bytes.count, alignment) - bytes.count)
            try out.write(contentsOf: Data(bytes))
            try out.synchronize()
            checkpoint.tensorsDone = index + 1
            checkpoint.bytes += bytes.count
            try checkpoint.save(output: path)
            try progress(index, tensor)
        }
        try out.close()
        closed = true
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        QuantizationCheckpoint.remove(output: path)
    }

    /// A tensor's weights in f32, [rows, columns].
    static func widened(_ input: UnsafeRawBufferPointer, _ info: GGUFTensorInfo, source: String) throws -> [Float] {
        guard let sourceType = QuantType(ggmlTypeID: info.type.id) else {
            throw QuantizationError(path: source, tensor: info.name, reason: "source type \(info.type) cannot be read for quantization")
        }
        var weights = [Float](repeating: 0, count: info.elementCount)
        weights.withUnsafeMutableBufferPointer { Dequantize.run(sourceType, input.baseAddress!, count: info.elementCount, into: $0.baseAddress!) }
        return weights
    }

    /// One tensor: widened to f32 ([rows, columns]), then each row quantized with its columns'
    /// importances, rows split over `threads`; with its input's `feedback` factor, rounded with
    /// error feedback instead.
    static func quantize(_ input: UnsafeRawBufferPointer, _ info: GGUFTensorInfo, as type: QuantType, importance: ImportanceMatrix?,
                         feedback: ErrorFeedback.Factor? = nil, source: String, threads: Int) throws -> [UInt8] {
        let columns = info.dimensions[0], rows = info.elementCount / columns
        let weights = try widened(input, info, source: source)  // [rows, columns]
        if let feedback, ErrorFeedback.supports(type) {
            guard feedback.columns == columns else {
                throw QuantizationError(path: source, tensor: info.name, reason: "its input's Hessian has \(feedback.columns) columns, the tensor \(columns)")
            }
            return ErrorFeedback.quantize(weights, columns: columns, as: type, input: feedback, threads: threads).bytes
        }
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
