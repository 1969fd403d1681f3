import Foundation
import Testing

/// Where the fetched fixtures are: `$LOOM_FIXTURES`, or `.fixtures/` at the repository root.
/// Missing fixtures fail the test with the command that fetches them; they never skip.
enum Fixtures {
    static let root: String = {
        if let env = ProcessInfo.processInfo.environment["LOOM_FIXTURES"] { return env }
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".fixtures").path
    }()

    /// Committed expected outputs next to the tests.
    static let committed: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "missing fixture \(path): run tools/fixtures/fetch-tokenizer" }
    }

    /// The path of a fetched fixture, or an error saying how to fetch it.
    static func path(_ relative: String) throws -> String {
        let p = root + "/" + relative
        guard FileManager.default.fileExists(atPath: p) else { throw Missing(path: p) }
        return p
    }

    /// The corpus documents (u32 length + UTF-8 records).
    static func corpus() throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try path("tokenizer/corpus.bin")))
        var docs: [String] = []
        data.withUnsafeBytes { raw in
            var i = 0
            while i + 4 <= raw.count {
                let n = Int(raw.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian)
                docs.append(String(decoding: UnsafeRawBufferPointer(rebasing: raw[(i + 4)..<(i + 4 + n)]), as: UTF8.self))
                i += 4 + n
            }
        }
        return docs
    }

    /// Per-document expected (count, FNV-1a 64) lines of a committed digest file.
    /// With `prefix`, only the lines that start with that word (which is dropped).
    static func digests(_ name: String, prefix: String? = nil) throws -> [(count: Int, hash: UInt64)] {
        let text = try String(contentsOfFile: committed + "/" + name, encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            var parts = line.split(separator: " ")
            if let prefix {
                guard parts.first.map(String.init) == prefix else { return nil }
                parts.removeFirst()
            }
            return (Int(parts[0])!, UInt64(parts[1], radix: 16)!)
        }
    }

    static func fnv1a64(_ ids: [Int32]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for id in ids {
            var v = UInt32(bitPattern: id)
            for _ in 0..<4 {
                h = (h ^ UInt64(v & 0xFF)) &* 0x100_0000_01B3
                v >>= 8
            }
        }
        return h
    }
}
