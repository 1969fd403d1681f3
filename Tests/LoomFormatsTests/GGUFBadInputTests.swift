import Foundation
import Testing
import LoomCore
@testable import LoomFormats

/// Hostile and broken GGUF headers: each must give a typed `GGUFError`, never a crash or a large
/// allocation.
@Suite struct GGUFBadInputTests {
    /// A small valid file: two keys (a string and an array) and one Q8_0 tensor.
    /// Layout: magic 0, version 4, tensor count 8, key count 16, first key length 24.
    func sample() throws -> [UInt8] {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("tokenizer.ggml.tokens", .array(GGUFArray(strings: ["a", "b"])))
        try writer.addTensor(name: "w", dimensions: [32, 2], type: .q8_0, data: [UInt8](repeating: 1, count: 68))
        return try writer.serialized()
    }

    func reason(_ bytes: [UInt8]) -> GGUFError.Reason? {
        do {
            _ = try Fixtures.open(bytes)
            return nil
        } catch let error as GGUFError {
            return error.reason
        } catch {
            Issue.record("untyped error \(error)")
            return nil
        }
    }

    func patch<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, _ value: T) -> [UInt8] {
        var out = bytes
        withUnsafeBytes(of: value.littleEndian) { raw in for (i, b) in raw.enumerated() { out[offset + i] = b } }
        return out
    }

    func offset(of text: String, in bytes: [UInt8]) -> Int {
        let needle = Array(text.utf8)
        return (0...(bytes.count - needle.count)).first { Array(bytes[$0..<$0 + needle.count]) == needle }!
    }

    @Test func everyTruncationIsATypedError() throws {
        let whole = try sample()
        #expect(reason(whole) == nil)
        let fixture = try Fixtures.bytes("sample-align64.gguf")
        for bytes in [whole, fixture] {
            // The tensor data ends at the last aligned tensor's end, so only cut before it.
            let file = try Fixtures.open(bytes)
            let lastByte = file.dataOffset + file.tensors.map { $0.offset + $0.byteCount }.max()!
            for length in 0..<lastByte {
                #expect(reason(Array(bytes[0..<length])) != nil, "prefix of \(length) bytes")
            }
        }
    }

    @Test func absurdCountsAreRefusedBeforeAllocating() throws {
        let bytes = try sample()
        #expect(reason(patch(bytes, at: 8, UInt64(1) << 62)) == .countTooLarge(what: "tensor", count: 1 << 62, limit: (bytes.count - 24) / 24))
        #expect(reason(patch(bytes, at: 16, UInt64.max)) == .countTooLarge(what: "metadata key", count: .max, limit: (bytes.count - 24) / 13))
        // The tokens array: type tag, then its count.
        let arrayCount = offset(of: "tokenizer.ggml.tokens", in: bytes) + "tokenizer.ggml.tokens".utf8.count + 4 + 4
        guard case .countTooLarge(what: "array element", count: 1 << 40, _)? = reason(patch(bytes, at: arrayCount, UInt64(1) << 40)) else {
            Issue.record("array count not refused")
            return
        }
    }

    @Test func stringLengthsOf2To60AreRefused() throws {
        let bytes = try sample()
        #expect(reason(patch(bytes, at: 24, UInt64(1) << 60)) == .stringTooLong(length: 1 << 60, available: bytes.count - 32))
        // The value string "llama" and the tensor name.
        let valueLength = offset(of: "llama", in: bytes) - 8
        guard case .stringTooLong(length: 1 << 60, _)? = reason(patch(bytes, at: valueLength, UInt64(1) << 60)) else {
            Issue.record("value string length not refused")
            return
        }
        let tokenLength = offset(of: "tokenizer.ggml.tokens", in: bytes) + 21 + 4 + 4 + 8
        guard case .stringTooLong? = reason(patch(bytes, at: tokenLength, UInt64(1) << 60)) else {
            Issue.record("array element string length not refused")
            return
        }
    }

    @Test func tensorInfoProblems() throws {
        let bytes = try sample()
        // Tensor info: name length 8, "w", dim count 4, two dims 16, type 4, offset 8.
        let info = offset(of: "w\u{2}\0\0\0", in: bytes) - 8
        let dims = info + 8 + 1 + 4, type = dims + 16, dataOffset = type + 4
        #expect(reason(patch(bytes, at: dataOffset, UInt64(8))) == .misalignedTensor(offset: 8, alignment: 32))
        guard case .tensorOutOfRange? = reason(patch(bytes, at: dataOffset, UInt64(1) << 40)) else {
            Issue.record("offset out of range not refused")
            return
        }
        #expect(reason(patch(bytes, at: type, UInt32(99))) == .unknownTensorType(99))
        #expect(reason(patch(bytes, at: info + 9, UInt32(5))) == .badDimensionCount(5))
        #expect(reason(patch(bytes, at: info + 9, UInt32(0))) == .badDimensionCount(0))
        #expect(reason(patch(bytes, at: dims, UInt64(31))) == .partialBlock(columns: 31, blockSize: 32))
        #expect(reason(patch(patch(bytes, at: dims, UInt64(1) << 40), at: dims + 8, UInt64(1) << 40))
                == .badDimensions([1 << 40, 1 << 40]))
        // More data than the file holds.
        guard case .tensorOutOfRange? = reason(patch(bytes, at: dims + 8, UInt64(4))) else {
            Issue.record("oversized tensor not refused")
            return
        }
    }

    @Test func headerProblems() throws {
        let bytes = try sample()
        #expect(reason(patch(bytes, at: 0, UInt32(0x1234))) == .badMagic(0x1234))
        #expect(reason(patch(bytes, at: 4, UInt32(1))) == .unsupportedVersion(1))
        #expect(reason(patch(bytes, at: 4, UInt32(4))) == .unsupportedVersion(4))
        #expect(reason(patch(bytes, at: 4, UInt32(3).byteSwapped)) == .bigEndian)
        let valueType = offset(of: "llama", in: bytes) - 12
        #expect(reason(patch(bytes, at: valueType, UInt32(13))) == .unknownValueType(13))
        // The same key twice.
        var writer = GGUFWriter()
        writer.set("k1", .uint8(1))
        writer.set("k2", .uint8(2))
        let twoKeys = try writer.serialized()
        #expect(reason(patch(twoKeys, at: offset(of: "k2", in: twoKeys) + 1, UInt8(ascii: "1"))) == .duplicateKey)
        // Bad alignments, patched into a valid file.
        var aligned = GGUFWriter()
        aligned.set("general.alignment", .uint32(64))
        let alignedBytes = try aligned.serialized()
        let alignmentValue = offset(of: "general.alignment", in: alignedBytes) + 17 + 4
        for bad: UInt32 in [0, 48, 1 << 31] {
            #expect(reason(patch(alignedBytes, at: alignmentValue, bad)) == .badAlignment(UInt64(bad)))
        }
        var stringAlignment = GGUFWriter()
        stringAlignment.set("general.alignmenu", .string("32"))
        let stringBytes = try stringAlignment.serialized()
        let lastLetter = offset(of: "general.alignmenu", in: stringBytes) + 16
        #expect(reason(patch(stringBytes, at: lastLetter, UInt8(ascii: "t"))) == .typeMismatch(expected: "unsigned integer", actual: "string"))
    }

    @Test func deeplyNestedArraysAreRefused() throws {
        var value = GGUFValue.uint8(1)
        for _ in 0..<20 { value = .array(try GGUFArray(elementType: value.type, elements: [value])) }
        var writer = GGUFWriter()
        writer.set("deep", value)
        #expect(reason(try writer.serialized()) == .arrayNestedTooDeep(limit: 8))
    }

    /// Random byte mutations of a real gguf-py file: every outcome is a parse or a typed error.
    /// An allocation driven by a corrupted count would trap (counts up to 2^64) or be bounded by the
    /// file size (the reader checks every count against the bytes left first); resident-memory
    /// checks are not used because other suites run in the same process.
    @Test func randomMutationsGiveTypedErrors() throws {
        let original = try Fixtures.bytes("sample-align64.gguf")
        var generator = SplitMix64(seed: 42)
        var typedErrors = 0
        for _ in 0..<1500 {
            var bytes = original
            let edits = 1 + Int(generator.next() % 4)
            for _ in 0..<edits {
                let at = Int(generator.next() % UInt64(original.count))
                // Mostly 0xFF runs (huge counts and lengths) and random bytes.
                let run = generator.next() % 2 == 0 ? 8 : 1
                for i in at..<min(bytes.count, at + run) { bytes[i] = run == 8 ? 0xFF : UInt8(truncatingIfNeeded: generator.next()) }
            }
            if reason(bytes) != nil { typedErrors += 1 }
        }
        #expect(typedErrors > 500)
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
