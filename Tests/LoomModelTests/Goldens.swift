import Foundation

/// A transformers-made reference model from Tests/Fixtures/goldens (see tools/goldens/).
struct Golden: CustomStringConvertible {
    let name: String
    let directory: String
    let tokens: [Int]
    let vocab: Int
    /// [tokens.count][vocab] float32 logits computed by transformers over the stored weights.
    let logits: [[Float]]
    let greedy: [Int]

    var description: String { name }

    static let root: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/goldens").path
    }()

    static let all: [Golden] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.sorted().compactMap { name in
            let dir = root + "/" + name
            guard FileManager.default.fileExists(atPath: dir + "/inputs.json") else { return nil }
            return try! Golden(name: name, directory: dir)
        }
    }()

    init(name: String, directory: String) throws {
        self.name = name
        self.directory = directory
        let inputs = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/inputs.json"))) as! [String: Any]
        tokens = (inputs["tokens"] as! [NSNumber]).map(\.intValue)
        let shape = ((inputs["logits"] as! [String: Any])["shape"] as! [NSNumber]).map(\.intValue)
        vocab = shape[1]
        let raw = try Data(contentsOf: URL(fileURLWithPath: directory + "/logits.f32"))
        precondition(raw.count == shape[0] * shape[1] * 4, "\(name): logits.f32 size does not match its shape")
        logits = float32Rows(raw, columns: shape[1])
        let greedyJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/greedy.json"))) as! [String: Any]
        greedy = (greedyJSON["tokens"] as! [NSNumber]).map(\.intValue)
    }
}

/// Rows of `columns` little-endian float32 values, as the fixture scripts write logits.
func float32Rows(_ raw: Data, columns: Int) -> [[Float]] {
    let floats: [Float] = raw.withUnsafeBytes { bytes in
        (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
    }
    return stride(from: 0, to: floats.count, by: columns).map { Array(floats[$0..<($0 + columns)]) }
}

/// max|a − b| over max|reference|, the bound for logits.
func relativeMaxError(_ actual: [[Float]], _ reference: [[Float]]) -> Float {
    var worst: Float = 0, scale: Float = 0
    for (a, r) in zip(actual, reference) {
        for (x, y) in zip(a, r) { worst = max(worst, abs(x - y)); scale = max(scale, abs(y)) }
    }
    return worst / scale
}

func argmax(_ values: [Float]) -> Int {
    var best = 0
    for i in values.indices where values[i] > values[best] { best = i }
    return best
}
