import Foundation
import LoomCore
@testable import LoomFormats

/// Locates committed fixtures next to this file, and writes scratch files for mutated inputs.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: directory.appendingPathComponent(name))) }

    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name))) as! [String: Any]
    }

    /// Writes `bytes` to a fresh temporary file and returns its path.
    static func temporaryFile(_ bytes: [UInt8], name: String = "t.gguf") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-gguf-tests-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("\(UUID().uuidString)-\(name)")
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Opens `bytes` as a GGUF file through a temporary file, which is removed afterwards.
    static func open(_ bytes: [UInt8]) throws -> GGUFFile {
        let path = try temporaryFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }
}

/// Converts the fixture JSON's typed values (integers as decimal strings) to `GGUFValue`.
func gguf(fromJSON object: [String: Any]) throws -> GGUFValue {
    let type = object["type"] as! String
    if type == "array" {
        let elementType = GGUFValueType.allCases.first { $0.description == object["element_type"] as! String }!
        let items = try (object["items"] as! [[String: Any]]).map(gguf(fromJSON:))
        return .array(try GGUFArray(elementType: elementType, elements: items))
    }
    let value = object["value"]!
    let text = value as? String ?? ""
    switch type {
    case "uint8": return .uint8(UInt8(text)!)
    case "int8": return .int8(Int8(text)!)
    case "uint16": return .uint16(UInt16(text)!)
    case "int16": return .int16(Int16(text)!)
    case "uint32": return .uint32(UInt32(text)!)
    case "int32": return .int32(Int32(text)!)
    case "uint64": return .uint64(UInt64(text)!)
    case "int64": return .int64(Int64(text)!)
    case "float32": return .float32(Float((value as! NSNumber).doubleValue))
    case "float64": return .float64((value as! NSNumber).doubleValue)
    case "bool": return .bool((value as! NSNumber).boolValue)
    case "string": return .string(text)
    default: fatalError("unknown type \(type) in fixture JSON")
    }
}

extension Array where Element == UInt8 {
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self = bytes
    }
}
