import Foundation
import LoomFormats

/// How far a quantization run has written its `.partial` file, kept beside it (`.partial.json`)
/// so that the same run started again continues after the last whole tensor instead of from
/// the start.
///
/// The fingerprint ties the checkpoint to one run: the output header (the metadata and every
/// tensor's name, type and offset), the source file's size and modification time, and the
/// importance vectors, and whether errors are fed back and along what (`HessianWindows.identity`).
/// A different plan, source, matrix, method or calibration starts afresh.
struct QuantizationCheckpoint: Codable, Equatable {
    var fingerprint: UInt64
    /// Tensors of the plan whose bytes are in the file, in plan order.
    var tensorsDone: Int
    /// Bytes of the file that hold them (header included); anything after is discarded.
    var bytes: Int

    static func path(output: String) -> String { output + ".partial.json" }

    /// The checkpoint of a run writing `output`, when one was saved and reads back.
    static func load(output: String) -> QuantizationCheckpoint? {
        guard let data = FileManager.default.contents(atPath: path(output: output)) else { return nil }
        return try? JSONDecoder().decode(QuantizationCheckpoint.self, from: data)
    }

    /// Saves it beside `output`, replacing the last one whole (written aside, then renamed).
    func save(output: String) throws {
        let target = Self.path(output: output), aside = target + ".tmp"
        try JSONEncoder().encode(self).write(to: URL(fileURLWithPath: aside))
        guard rename(aside, target) == 0 else {
            throw QuantizationError(path: target, tensor: nil, reason: "cannot rename \(aside) to it: errno \(errno)")
        }
    }

    static func remove(output: String) {
        try? FileManager.default.removeItem(atPath: path(output: output))
    }

    static func fingerprint(header: [UInt8], source: GGUFFile, importance: ImportanceMatrix?, errorFeedback: UInt64? = nil) -> UInt64 {
        var hash = FNV1a()
        hash.mix(header)
        hash.mix(errorFeedback ?? 0)
        let attributes = try? FileManager.default.attributesOfItem(atPath: source.path)
        hash.mix(UInt64((attributes?[.size] as? Int) ?? 0))
        hash.mix(UInt64(bitPattern: Int64(((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0) * 1e6)))
        for name in (importance?.entries.keys.sorted() ?? []) {
            hash.mix(Array(name.utf8))
            for v in importance!.entries[name]!.sums { hash.mix(UInt64(v.bitPattern)) }
            for c in importance!.entries[name]!.counts { hash.mix(UInt64(c.bitPattern)) }
        }
        return hash.value
    }
}

/// The 64-bit FNV-1a hash, for fingerprints that must be the same from run to run (Swift's
/// `Hasher` is seeded per process).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes { value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    }

    /// Mixes the value's eight little-endian bytes.
    mutating func mix(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { mix($0) } }
}
