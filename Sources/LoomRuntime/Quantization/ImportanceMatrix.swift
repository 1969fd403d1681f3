import Foundation
import LoomFormats

/// Per-column statistics of each linear layer's input, llama.cpp's "importance matrix": for a
/// weight named as in GGUF (`blk.3.ffn_down.weight`), the sum over calibration tokens of each
/// input column's square, and the number of tokens. Their ratio, the mean squared activation, is
/// how much a rounding error in that column costs in the layer's output.
///
/// Files are read in llama.cpp's two formats and written in the current one:
/// - GGUF (llama-imatrix since 2025): `general.type` = `imatrix`, `imatrix.datasets` (strings),
///   `imatrix.chunk_count` and `imatrix.chunk_size` (u32); per weight, F32 tensors
///   `<name>.in_sum2` [columns, matrices] and `<name>.counts` [1, matrices] (1-D when there is one matrix).
/// - legacy `.dat`: i32 entry count; per entry i32 name length, the name, i32 call count, i32 value
///   count, f32 values (the mean square times the call count); then optionally i32 last chunk and
///   an i32-length dataset name.
public struct ImportanceMatrix: Sendable {
    public struct Entry: Sendable, Equatable {
        /// Σ x² per column ([matrices][columns]).
        public var sums: [Float]
        /// Tokens seen per matrix ([matrices]).
        public var counts: [Float]

        public init(sums: [Float], counts: [Float]) {
            self.sums = sums
            self.counts = counts
        }
    }

    public var entries: [String: Entry] = [:]
    public var datasets: [String] = []
    public var chunkCount = 0
    public var chunkSize = 0

    public init() {}

    /// The mean square of each input column of weight `name` ([columns]), or nil when the matrix
    /// has no entry. Columns of a matrix that saw no tokens get 1, as llama-quantize does.
    public func importance(for name: String) -> [Float]? {
        guard let entry = entries[name], entry.counts.count == 1 else { return nil }
        let count = entry.counts[0]
        return count > 0 ? entry.sums.map { $0 / count } : [Float](repeating: 1, count: entry.sums.count)
    }

    /// Adds `rows` input rows ([rows, columns] at `x`) to weight `name`'s statistics.
    public mutating func accumulate(_ name: String, _ x: UnsafePointer<Float>, rows: Int, columns: Int) {
        var entry = entries[name] ?? Entry(sums: [Float](repeating: 0, count: columns), counts: [0])
        entry.sums.withUnsafeMutableBufferPointer { sums in
            for r in 0..<rows {
                let row = x + r * columns
                for j in 0..<columns { sums[j] += row[j] * row[j] }
            }
        }
        entry.counts[0] += Float(rows)
        entries[name] = entry
    }

    // MARK: files

    /// Reads a llama.cpp imatrix file, GGUF or legacy `.dat`.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw ImportanceMatrixError(path: path, item: nil, reason: "cannot read the file") }
        if data.count >= 4, data.prefix(4) == Data("GGUF".utf8) {
            try self.init(gguf: GGUFFile(path: path))
        } else {
            try self.init(legacy: data, path: path)
        }
    }

    private init(gguf file: GGUFFile) throws {
        func fail(_ item: String?, _ reason: String) -> ImportanceMatrixError { ImportanceMatrixError(path: file.path, item: item, reason: reason) }
        datasets = (try? file.strings("imatrix.datasets")) ?? []
        chunkCount = (try? file.integer("imatrix.chunk_count")) ?? 0
        chunkSize = (try? file.integer("imatrix.chunk_size")) ?? 0
        var sums: [String: [Float]] = [:], counts: [String: [Float]] = [:]
        for tensor in file.tensors {
            let isSums = tensor.name.hasSuffix(".in_sum2"), isCounts = tensor.name.hasSuffix(".counts")
            guard isSums || isCounts else { continue }
            guard tensor.type == .f32 else { throw fail(tensor.name, "is \(tensor.type), not F32") }
            let values = Array(file.data(for: tensor).bindMemory(to: Float.self))
            let weight = String(tensor.name.dropLast(isSums ? 8 : 7))
            if isSums { sums[weight] = values } else { counts[weight] = values }
        }
        for (name, s) in sums {
            guard let c = counts[name] else { throw fail(name, "has .in_sum2 but no .counts") }
            guard !c.isEmpty, s.count % c.count == 0 else { throw fail(name, "\(s.count) sums do not split into \(c.count) matrices") }
            entries[name] = Entry(sums: s, counts: c)
        }
        if let orphan = counts.keys.first(where: { sums[$0] == nil }) { throw fail(orphan, "has .counts but no .in_sum2") }
    }

    private init(legacy data: Data, path: String) throws {
        var offset = 0
        func fail(_ reason: String) -> ImportanceMatrixError { ImportanceMatrixError(path: path, item: "offset \(offset)", reason: reason) }
        func int32() throws -> Int {
            guard offset + 4 <= data.count else { throw fail("truncated") }
            defer { offset += 4 }
            return Int(Int32(littleEndian: data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }))
        }
        func bytes(_ n: Int) throws -> Data {
            guard n >= 0, offset + n <= data.count else { throw fail("truncated (needs \(n) bytes)") }
            defer { offset += n }
            return data.subdata(in: offset..<(offset + n))
        }
        let n = try int32()
        guard n >= 0, n <= data.count / 16 else { throw fail("bad entry count \(n)") }
        for _ in 0..<n {
            let nameLength = try int32()
            guard nameLength > 0, nameLength < 4096 else { throw fail("bad name length \(nameLength)") }
            let name = String(decoding: try bytes(nameLength), as: UTF8.self)
            let calls = try int32(), count = try int32()
            guard count > 0, calls >= 0 else { throw fail("bad counts for \(name): \(calls) calls, \(count) values") }
            let raw = try bytes(4 * count)
            let values = raw.withUnsafeBytes { p in (0..<count).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
            // The legacy file stores mean × calls; as sums over `calls` "tokens" the ratio is the mean.
            entries[name] = Entry(sums: values, counts: [Float(calls)])
        }
        if offset < data.count {
            chunkCount = try int32()
            let length = try int32()
            datasets = [String(decoding: try bytes(length), as: UTF8.self)]
        }
    }

    /// Writes the GGUF format (what llama-imatrix writes and llama-quantize --imatrix reads),
    /// entries sorted by name.
    public func write(to path: String) throws {
        var writer = GGUFWriter()
        writer.set("general.type", .string("imatrix"))
        writer.set("imatrix.datasets", .array(GGUFArray(strings: datasets)))
        writer.set("imatrix.chunk_count", .uint32(UInt32(clamping: chunkCount)))
        writer.set("imatrix.chunk_size", .uint32(UInt32(clamping: chunkSize)))
        for name in entries.keys.sorted() {
            let entry = entries[name]!
            let matrices = entry.counts.count
            // ggml drops trailing dimensions of 1 when it writes a tensor, so one matrix is 1-D.
            let trailing = matrices > 1 ? [matrices] : []
            try writer.addTensor(name: name + ".in_sum2", dimensions: [entry.sums.count / matrices] + trailing, type: .f32,
                                 data: entry.sums.withUnsafeBytes { Array($0) })
            try writer.addTensor(name: name + ".counts", dimensions: [1] + trailing, type: .f32,
                                 data: entry.counts.withUnsafeBytes { Array($0) })
        }
        try writer.write(to: path)
    }
}

/// An importance-matrix file that cannot be used: the file, the entry or offset, and why.
public struct ImportanceMatrixError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let item: String?
    public let reason: String
    public var description: String { "\(path)\(item.map { " (\($0))" } ?? ""): \(reason)" }
}
