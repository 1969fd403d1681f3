/// One linear layer's weights in exllamav2's EXL2 format, read from its safetensors tensors, and
/// decoded exactly as exllamav2 rebuilds them.
///
/// The layer's input rows (`rows`, its in_features) are quantized in groups of consecutive rows,
/// each group with its own bit width (2, 3, 4, 5, 6 or 8) and, per output column, a 4-bit scale
/// code on a per-group fp16 maximum. Widths mix within one matrix. Tensors, for layer NAME:
/// - `NAME.q_weight` int32 [packed rows, padded columns]: each run of 32 rows of a b-bit group
///   fills b words per column, value i at bit i·b of the run's words taken low word first;
/// - `NAME.q_groups` int16 [groups × 2]: each group's bits and its first packed row;
/// - `NAME.q_scale` int32 [groups, padded columns / 8]: codes 1…16 stored as code − 1, 8 per word;
/// - `NAME.q_scale_max` fp16 [groups];
/// - `NAME.q_invperm` int32 [rows]: input row i was quantized as row `q_invperm[i]` (act order).
/// Columns are padded to a multiple of 32 (the padding quantizes to zero).
///
/// A weight is w = (q − 2^(b−1)) · s with s = code² · (max / 256), every step in fp16 arithmetic
/// (each product rounded to fp16), as exllamav2's `dq_scale` and reconstruction kernel compute it.
public struct EXL2Tensor: Sendable {
    public struct Group: Sendable, Equatable {
        public let bits: Int
        /// First row, in quantized (act-order) order, and how many.
        public let firstRow: Int
        public let rows: Int
        /// First row of `q_weight` that holds it.
        public let firstPackedRow: Int
    }

    public let name: String
    /// Input features (the matrix's rows in EXL2's [in, out] layout).
    public let rows: Int
    /// Output features, unpadded.
    public let columns: Int
    public let groups: [Group]
    /// [packed rows, paddedColumns]
    let packed: [UInt32]
    /// [groups, paddedColumns] scale codes 1…16
    let scaleCodes: [UInt8]
    /// [groups] the group's fp16 maximum, divided by 256 in fp16 as exllamav2 does at load
    let scaleMaxima: [Float16]
    /// [rows] quantized row of each input row
    public let inversePermutation: [Int]
    public let paddedColumns: Int

    public static let widths: Set<Int> = [2, 3, 4, 5, 6, 8]

    /// Reads layer `name`'s tensors from `tensor` (a lookup by full name, such as an archive's),
    /// for a layer of `columns` output features. Every shape, width and offset is checked; a bad
    /// one names the tensor and the field.
    public init(name: String, columns: Int, tensor: (String) throws -> TensorView) throws {
        self.name = name
        self.columns = columns
        func fail(_ field: String, _ reason: String) -> EXL2Error { EXL2Error(tensor: "\(name).\(field)", reason: reason) }
        let qWeight = try tensor("\(name).q_weight"), qGroups = try tensor("\(name).q_groups")
        let qScale = try tensor("\(name).q_scale"), qScaleMax = try tensor("\(name).q_scale_max")
        let qInvperm = try tensor("\(name).q_invperm")
        guard columns > 0 else { throw fail("q_weight", "the layer has \(columns) output features") }
        paddedColumns = columns + (-columns % 32 + 32) % 32
        guard qWeight.dtype == .i32, qWeight.shape.count == 2, qWeight.shape[1] == paddedColumns else {
            throw fail("q_weight", "expected int32 [packed rows, \(paddedColumns)], found \(qWeight.dtype.rawValue) \(qWeight.shape)")
        }
        let packedRows = qWeight.shape[0]
        let groups = try Self.groups(name: name, qGroups: qGroups, packedRows: packedRows)
        let count = groups.count
        rows = groups.last.map { $0.firstRow + $0.rows } ?? 0
        self.groups = groups
        guard qScale.dtype == .i32, qScale.shape == [count, paddedColumns / 8] else {
            throw fail("q_scale", "expected int32 [\(count), \(paddedColumns / 8)], found \(qScale.dtype.rawValue) \(qScale.shape)")
        }
        guard qScaleMax.dtype == .f16, qScaleMax.shape == [count] else {
            throw fail("q_scale_max", "expected fp16 [\(count)], found \(qScaleMax.dtype.rawValue) \(qScaleMax.shape)")
        }
        guard qInvperm.dtype == .i32 || qInvperm.dtype == .i16 || qInvperm.dtype == .i64, qInvperm.shape == [rows] else {
            throw fail("q_invperm", "expected an integer [\(rows)] (the rows q_groups describe), found \(qInvperm.dtype.rawValue) \(qInvperm.shape)")
        }
        let inverse: [Int]
        switch qInvperm.dtype {
        case .i16: inverse = qInvperm.bytes.bindMemory(to: Int16.self).map { Int(Int16(littleEndian: $0)) }
        case .i64: inverse = qInvperm.bytes.bindMemory(to: Int64.self).map { Int(Int64(littleEndian: $0)) }
        default: inverse = qInvperm.bytes.bindMemory(to: Int32.self).map { Int(Int32(littleEndian: $0)) }
        }
        var seen = [Bool](repeating: false, count: rows)
        for (i, r) in inverse.enumerated() {
            guard r >= 0, r < rows, !seen[r] else { throw fail("q_invperm", "entry \(i) is \(r): not a permutation of 0..<\(rows)") }
            seen[r] = true
        }
        inversePermutation = inverse
        packed = qWeight.bytes.bindMemory(to: UInt32.self).map { UInt32(littleEndian: $0) }
        var codes = [UInt8](repeating: 0, count: count * paddedColumns)
        let words = qScale.bytes.bindMemory(to: UInt32.self)
        for g in 0..<count {
            for w in 0..<(paddedColumns / 8) {
                let word = UInt32(littleEndian: words[g * paddedColumns / 8 + w])
                for i in 0..<8 { codes[g * paddedColumns + w * 8 + i] = UInt8((word >> (4 * UInt32(i))) & 15) + 1 }
            }
        }
        scaleCodes = codes
        let oneOver256 = Float16(1.0 / 256.0)
        scaleMaxima = qScaleMax.bytes.bindMemory(to: UInt16.self).map { Float16(bitPattern: UInt16(littleEndian: $0)) * oneOver256 }
    }

    /// The groups `q_groups` describes for a `q_weight` of `packedRows` rows, checked.
    public static func groups(name: String, qGroups: TensorView, packedRows: Int) throws -> [Group] {
        func fail(_ reason: String) -> EXL2Error { EXL2Error(tensor: "\(name).q_groups", reason: reason) }
        guard qGroups.dtype == .i16, qGroups.shape.count == 1, qGroups.shape[0] >= 2, qGroups.shape[0] % 2 == 0 else {
            throw fail("expected int16 [groups × 2], found \(qGroups.dtype.rawValue) \(qGroups.shape)")
        }
        let entries = qGroups.bytes.bindMemory(to: Int16.self).map { Int(Int16(littleEndian: $0)) }
        let count = entries.count / 2
        var groups: [Group] = []
        var row = 0
        for g in 0..<count {
            let bits = entries[2 * g], first = entries[2 * g + 1]
            let end = g + 1 < count ? entries[2 * g + 3] : packedRows
            guard widths.contains(bits) else { throw fail("group \(g) has \(bits) bits; EXL2 has 2, 3, 4, 5, 6 and 8") }
            guard first >= 0, end <= packedRows, end > first, (end - first) % bits == 0 else {
                throw fail("group \(g) spans packed rows \(first)..<\(end) of \(packedRows), not whole runs of \(bits) words")
            }
            if g == 0, first != 0 { throw fail("the first group starts at packed row \(first), not 0") }
            let groupRows = (end - first) / bits * 32
            groups.append(Group(bits: bits, firstRow: row, rows: groupRows, firstPackedRow: first))
            row += groupRows
        }
        return groups
    }

    /// Bytes the tensors take in the file (what a planner charges for the layer's weights).
    public var storedBytes: Int { packed.count * 4 + scaleCodes.count / 2 + scaleMaxima.count * 2 + groups.count * 4 + rows * 4 }

    /// Bits per weight over the unpadded matrix, scales included.
    public var bitsPerWeight: Double { Double(storedBytes * 8) / Double(rows * columns) }

    /// The fp16 scale of group `group` in column `column`: code² · (max / 256), as exllamav2's
    /// `dq_scale` rounds it.
    public func scale(group: Int, column: Int) -> Float16 {
        let code = Int(scaleCodes[group * paddedColumns + column])
        return Float16(Float(code * code)) * scaleMaxima[group]
    }

    /// The stored integer (0 … 2^bits − 1) of quantized row `row` of `group` in column `column`.
    @inline(__always)
    public func code(_ group: Group, row: Int, column: Int) -> Int {
        let local = row - group.firstRow, bits = group.bits
        let run = local / 32, index = local % 32
        let bit = index * bits, word = bit / 32, shift = bit % 32
        let base = (group.firstPackedRow + run * bits + word) * paddedColumns + column
        var value = UInt64(packed[base]) >> UInt64(shift)
        if shift + bits > 32 { value |= UInt64(packed[base + paddedColumns]) << UInt64(32 - shift) }
        return Int(value & ((1 << UInt64(bits)) - 1))
    }

    /// The weight as exllamav2 rebuilds it, in nn.Linear's layout: [columns, rows] (output
    /// feature by input feature), each value an fp16 widened to f32.
    public func dequantize(into out: UnsafeMutablePointer<Float>) {
        // [rows] the input row each quantized row lands in
        var landing = [Int](repeating: 0, count: rows)
        for (input, quantized) in inversePermutation.enumerated() { landing[quantized] = input }
        for (g, group) in groups.enumerated() {
            let zero = 1 << (group.bits - 1)
            for column in 0..<columns {
                let scale = self.scale(group: g, column: column)
                for row in group.firstRow..<(group.firstRow + group.rows) {
                    let q = Float16(Float(self.code(group, row: row, column: column) - zero))
                    out[column * rows + landing[row]] = Float(q * scale)
                }
            }
        }
    }
}

/// A malformed EXL2 tensor, named with the field at fault.
public struct EXL2Error: Error, CustomStringConvertible, Equatable {
    public let tensor: String
    public let reason: String
    public var description: String { "\(tensor): \(reason)" }

    public init(tensor: String, reason: String) {
        self.tensor = tensor
        self.reason = reason
    }
}
