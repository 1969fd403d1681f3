import Foundation
import Testing
import LoomCore
@testable import LoomFormats

/// The reader and writer against files written by gguf-py (tools/gguf/make_gguf_fixtures.py).
@Suite struct GGUFReaderTests {
    static let fileNames = ["sample-align64.gguf", "sample-default.gguf"]

    func described(_ name: String) throws -> [String: Any] {
        let files = try Fixtures.json("gguf-fixtures.json")["files"] as! [String: Any]
        return files[name] as! [String: Any]
    }

    @Test(arguments: fileNames) func readsWhatGGUFPyWrote(name: String) throws {
        let file = try GGUFFile(path: Fixtures.path(name))
        let expected = try described(name)
        let keys = expected["keys"] as! [[String: Any]]
        #expect(file.version == 3)
        #expect(file.keys == keys.map { $0["key"] as! String })
        for entry in keys {
            let key = entry["key"] as! String
            #expect(file.metadata[key] == (try gguf(fromJSON: entry)), "\(key)")
        }
        #expect(file.alignment == (name.contains("64") ? 64 : 32))
        #expect(file.dataOffset == expected["data_offset"] as! Int)
        let tensors = expected["tensors"] as! [[String: Any]]
        #expect(file.tensors.map(\.name) == tensors.map { $0["name"] as! String })
        for entry in tensors {
            let info = try #require(file.tensor(named: entry["name"] as! String))
            #expect(info.dimensions == entry["dimensions"] as! [Int])
            #expect(info.type.id == UInt32(entry["type"] as! Int))
            #expect(info.offset == entry["offset"] as! Int)
            #expect(info.byteCount == entry["byte_count"] as! Int)
            #expect(Array(file.data(for: info)) == [UInt8](hex: entry["data_hex"] as! String))
        }
    }

    @Test func typedAccessorsForTheTokenizer() throws {
        let file = try GGUFFile(path: Fixtures.path("sample-align64.gguf"))
        #expect(try file.strings("tokenizer.ggml.tokens") == ["<s>", "</s>", "Ġthe", "世界", ""])
        #expect(try file.byteStrings("tokenizer.ggml.tokens")?[3] == Array("世界".utf8))
        #expect(try file.floats("tokenizer.ggml.scores") == [0.0, -1.5, -2.25, Float(3.0e-5), -1e10])
        #expect(try file.integers("tokenizer.ggml.token_type") == [3, 3, 1, 1, 6])
        #expect(try file.string("tokenizer.chat_template")?.hasPrefix("{% for m in messages %}") == true)
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.integer("test.int64") == Int(Int64.min))
        #expect(try file.integer("test.uint16") == 60000)
        #expect(try file.float("test.float32") == Double(Float(0.1)))
        #expect(try file.bool("test.bool") == true)
        #expect(try file.floats("test.float64s") == [0.5, -0.25])
        #expect(try file.string("absent.key") == nil)
        let nested = try #require(try file.array("test.nested_strings", of: [.array], expected: "array"))
        let inner = try nested.elements().map { value -> [GGUFValue] in
            guard case let .array(array) = value else { return [] }
            return try array.elements()
        }
        #expect(inner == [[.string("a"), .string("bc")], [.string("dé")]])
    }

    @Test func accessorTypeMismatchNamesKeyAndOffset() throws {
        let file = try GGUFFile(path: Fixtures.path("sample-align64.gguf"))
        do {
            _ = try file.strings("tokenizer.ggml.scores")
            Issue.record("expected a type mismatch")
        } catch let error as GGUFError {
            #expect(error.item == "tokenizer.ggml.scores")
            #expect(error.reason == .typeMismatch(expected: "array of strings", actual: "array[float32]"))
            // The value's type tag sits right after the key in the file.
            let bytes = try Fixtures.bytes("sample-align64.gguf")
            let key = Array("tokenizer.ggml.scores".utf8)
            let keyStart = (0..<bytes.count - key.count).first { Array(bytes[$0..<$0 + key.count]) == key }!
            #expect(error.offset == keyStart + key.count)
        }
        #expect(throws: GGUFError.self) { try file.integer("test.uint64") }
        #expect(throws: GGUFError.self) { try file.string("test.int8") }
    }

    @Test(arguments: fileNames) func writerReproducesGGUFPyBytes(name: String) throws {
        let original = try Fixtures.bytes(name)
        let file = try GGUFFile(path: Fixtures.path(name))
        // From values read out of the map...
        var copy = GGUFWriter()
        for key in file.keys { copy.set(key, file.metadata[key]!) }
        for info in file.tensors {
            try copy.addTensor(name: info.name, dimensions: info.dimensions, type: info.type, data: Array(file.data(for: info)))
        }
        #expect(try copy.serialized() == original)
        // ...and from values built in memory from the JSON description.
        let expected = try described(name)
        var built = GGUFWriter()
        for entry in expected["keys"] as! [[String: Any]] { built.set(entry["key"] as! String, try gguf(fromJSON: entry)) }
        for entry in expected["tensors"] as! [[String: Any]] {
            try built.addTensor(name: entry["name"] as! String, dimensions: entry["dimensions"] as! [Int],
                                type: GGMLType(id: UInt32(entry["type"] as! Int)), data: [UInt8](hex: entry["data_hex"] as! String))
        }
        #expect(try built.serialized() == original)
    }

    @Test func writerRoundTripsThroughReader() throws {
        var writer = GGUFWriter()
        writer.set("general.alignment", .uint32(128))
        writer.set("a.u64s", .array(try GGUFArray(elementType: .uint64, elements: [.uint64(.max), .uint64(7)])))
        writer.set("a.nested", .array(try GGUFArray(elementType: .array, elements: [
            .array(GGUFArray(strings: ["x", "yz"])), .array(GGUFArray(strings: []))])))
        let q4 = [UInt8](repeating: 0x5A, count: 18 * 4)
        try writer.addTensor(name: "t.q4_0", dimensions: [64, 2], type: .q4_0, data: q4)
        try writer.addTensor(name: "t.f32", dimensions: [3], type: .f32, data: [UInt8](repeating: 1, count: 12))
        let path = try Fixtures.temporaryFile([])
        try writer.write(to: path)
        let file = try GGUFFile(path: path)
        #expect(file.alignment == 128)
        #expect(file.dataOffset % 128 == 0)
        // uint64.max does not fit Int.
        #expect(throws: GGUFError.self) { try file.integers("a.u64s") }
        #expect(file.tensors.map(\.offset) == [0, 128])
        #expect(Array(file.data(for: file.tensors[0])) == q4)
        #expect(file.metadata["a.nested"] == writer.value("a.nested"))
        // The same content written twice gives the same bytes.
        var again = GGUFWriter()
        for key in file.keys { again.set(key, file.metadata[key]!) }
        for info in file.tensors { try again.addTensor(name: info.name, dimensions: info.dimensions, type: info.type, data: Array(file.data(for: info))) }
        #expect(try again.serialized() == (try writer.serialized()))
    }

    @Test func readsVersion2() throws {
        var bytes = try Fixtures.bytes("sample-default.gguf")
        bytes[4] = 2
        let file = try Fixtures.open(bytes)
        #expect(file.version == 2)
        #expect(try file.strings("tokenizer.ggml.tokens")?.count == 5)
    }

    @Test func writerRejectsWrongTensorSizes() throws {
        var writer = GGUFWriter()
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [33], type: .q8_0, data: []) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [32], type: .q8_0, data: [0]) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", dimensions: [1], type: .unknown(99), data: [0]) }
    }
}
