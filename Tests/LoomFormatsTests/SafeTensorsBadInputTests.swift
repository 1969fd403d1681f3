import Foundation
import Testing
import LoomFormats

/// Writes small safetensors files by hand, with headers that may lie.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "loom-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let file = path + "/" + name
        #expect(FileManager.default.createFile(atPath: file, contents: Data(bytes)), "cannot write \(file)")
        return file
    }

    func write(_ name: String, text: String) -> String { write(name, Array(text.utf8)) }

    /// A safetensors file: 8-byte little-endian header length, the JSON header, then `data`.
    func safetensors(_ name: String, header: String, data: [UInt8], claimedHeaderLength: UInt64? = nil) -> String {
        let json = Array(header.utf8)
        let length = claimedHeaderLength ?? UInt64(json.count)
        var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) }
        bytes += json + data
        return write(name, bytes)
    }
}

@Suite struct SafeTensorsBadInputTests {
    let dir: ScratchDirectory
    init() throws { dir = try ScratchDirectory() }

    let goodHeader = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2,2],"data_offsets":[8,16]}}"#

    @Test func validFileReadsInPlace() throws {
        let data: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64] + [0x80, 0x3F, 0, 0x40, 0, 0, 0, 0]
        let file = try SafeTensorsFile(path: dir.safetensors("ok.safetensors", header: goodHeader, data: data))
        let a = try file.tensor("a")
        #expect(a.shape == [2] && a.dtype == .f32)
        #expect(a.bytes.loadUnaligned(fromByteOffset: 4, as: Float.self) == 2)
        #expect(try file.tensor("b").shape == [2, 2])
    }

    @Test func truncatedBeforeHeaderLength() throws {
        let path = dir.write("short.safetensors", [1, 2, 3])
        #expect(throws: SafeTensorsError.truncated(file: path, needed: 8, size: 3)) { try SafeTensorsFile(path: path) }
    }

    @Test func truncatedData() throws {
        let path = dir.safetensors("cut.safetensors", header: goodHeader, data: [0, 0, 128, 63])
        #expect(throws: SafeTensorsError.offsetsOutOfRange(file: path, tensor: "a", end: 8, dataSize: 4)) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func headerLengthPastEndOfFile() throws {
        let path = dir.safetensors("past.safetensors", header: "{}", data: [], claimedHeaderLength: 5000)
        #expect(throws: SafeTensorsError.headerPastEnd(file: path, headerBytes: 5000, fileSize: 10)) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func hugeHeaderLengthIsRejectedBeforeReading() throws {
        let path = dir.safetensors("huge.safetensors", header: "{}", data: [], claimedHeaderLength: 1 << 62)
        #expect(throws: SafeTensorsError.headerTooLarge(file: path, headerBytes: 1 << 62, limit: SafeTensorsFile.headerLimit)) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func overlappingOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let path = dir.safetensors("overlap.safetensors", header: header, data: Array(repeating: 0, count: 12))
        #expect(throws: SafeTensorsError.overlappingOffsets(file: path, tensor: "b", other: "a")) { try SafeTensorsFile(path: path) }
    }

    @Test func shapeThatDoesNotMatchDType() throws {
        let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        let path = dir.safetensors("shape.safetensors", header: header, data: Array(repeating: 0, count: 8))
        #expect(throws: SafeTensorsError.shapeMismatch(file: path, tensor: "a", shape: [3], dtype: .f32, byteLength: 8)) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func overflowingShapeIsAMismatchNotACrash() throws {
        let header = #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#
        let path = dir.safetensors("overflow.safetensors", header: header, data: Array(repeating: 0, count: 8))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(path: path) }
    }

    @Test func unknownDTypeAndBadJSON() throws {
        let unknown = dir.safetensors("dtype.safetensors", header: #"{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, data: [0])
        #expect(throws: SafeTensorsError.unknownDType(file: unknown, tensor: "a", dtype: "F8")) { try SafeTensorsFile(path: unknown) }
        let bad = dir.safetensors("json.safetensors", header: #"{"a":"#, data: [])
        #expect { try SafeTensorsFile(path: bad) } throws: { error in
            if case .invalidHeaderJSON(let file, _) = error as? SafeTensorsError { return file == bad }
            return false
        }
    }

    @Test func missingTensorNamesTheFile() throws {
        let path = dir.safetensors("model.safetensors", header: goodHeader, data: Array(repeating: 0, count: 16))
        let archive = try SafeTensorsArchive(directory: dir.path)
        #expect(throws: SafeTensorsError.missingTensor(name: "lm_head.weight", searched: dir.path)) { try archive.tensor("lm_head.weight") }
        #expect(throws: SafeTensorsError.missingTensor(name: "zzz", searched: path)) { try SafeTensorsFile(path: path).tensor("zzz") }
    }

    @Test func indexPointingAtMissingShard() throws {
        _ = dir.safetensors("model-00001-of-00002.safetensors", header: goodHeader, data: Array(repeating: 0, count: 16))
        let index = dir.write("model.safetensors.index.json", text: #"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}"#)
        #expect(throws: SafeTensorsError.missingShard(index: index, shard: "model-00002-of-00002.safetensors", tensor: "c")) {
            try SafeTensorsArchive(directory: dir.path)
        }
    }
}

@Suite struct ConfigBadInputTests {
    let dir: ScratchDirectory
    init() throws { dir = try ScratchDirectory() }

    let complete = #"{"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":128,"vocab_size":256}"#

    @Test func missingRequiredField() throws {
        for field in ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size", "architectures"] {
            var json = try JSONSerialization.jsonObject(with: Data(complete.utf8)) as! [String: Any]
            json[field] = nil
            let path = dir.write("config.json", Array(try JSONSerialization.data(withJSONObject: json)))
            #expect(throws: ConfigError.missingField(file: path, field: field)) { try ModelConfig.load(directory: dir.path) }
        }
    }

    @Test func wrongTypesAndBadJSON() throws {
        let path = dir.write("config.json", text: complete.replacingOccurrences(of: #""hidden_size":64"#, with: #""hidden_size":"64""#))
        #expect(throws: ConfigError.invalidField(file: path, field: "hidden_size", reason: "expected a number")) {
            try ModelConfig.load(directory: dir.path)
        }
        _ = dir.write("config.json", text: "{not json")
        #expect(throws: ConfigError.self) { try ModelConfig.load(directory: dir.path) }
    }

    @Test func ropeThetaAtTopLevelOrUnderRopeParameters() throws {
        _ = dir.write("config.json", text: complete.replacingOccurrences(of: "}", with: #","rope_theta":500000.0}"#))
        #expect(try ModelConfig.load(directory: dir.path).ropeTheta == 500000)
        _ = dir.write("config.json", text: complete.replacingOccurrences(of: "}", with: #","rope_parameters":{"rope_theta":1000000.0,"rope_type":"default"}}"#))
        #expect(try ModelConfig.load(directory: dir.path).ropeTheta == 1_000_000)
        _ = dir.write("config.json", text: complete.replacingOccurrences(of: "}", with: #","rope_parameters":{"rope_theta":1.0,"rope_type":"dynamic-ntk"}}"#))
        #expect(throws: ConfigError.self) { try ModelConfig.load(directory: dir.path) }
    }
}
