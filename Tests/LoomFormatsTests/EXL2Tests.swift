import Foundation
@testable import LoomFormats
import Testing

/// EXL2 tensors against the generator's own reconstruction (tools/exl2/make-fixtures: numpy,
/// written from exllamav2 0.3.2's packer and reconstruction kernel): every weight to the bit.
@Suite struct EXL2Tests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/exl2/exl2-tensors.safetensors").path
    static let cases = ["mixed", "four_bit", "short_last_group"]

    /// A stand-in tensor with the given bytes, for the malformed cases.
    final class Buffer {
        let bytes: UnsafeMutableRawBufferPointer
        init(_ data: [UInt8]) {
            bytes = .allocate(byteCount: max(1, data.count), alignment: 16)
            data.withUnsafeBytes { bytes.copyMemory(from: $0) }
        }
        deinit { bytes.deallocate() }
    }

    static func expected(_ file: SafeTensorsFile, _ name: String) throws -> (columns: Int, rows: Int, bits: [UInt16]) {
        let view = try file.tensor("\(name).expected")
        return (view.shape[0], view.shape[1], view.bytes.bindMemory(to: UInt16.self).map { $0 })
    }

    @Test(arguments: cases) func dequantizedWeightsMatchTheGeneratorToTheBit(_ name: String) throws {
        let file = try SafeTensorsFile(path: Self.path)
        let (columns, rows, expected) = try Self.expected(file, name)
        let tensor = try EXL2Tensor(name: name, columns: columns, tensor: file.tensor)
        #expect(tensor.rows == rows)
        var out = [Float](repeating: .nan, count: columns * rows)
        tensor.dequantize(into: &out)
        var wrong = 0
        for i in out.indices where Float16(out[i]).bitPattern != expected[i] || Float(Float16(out[i])) != out[i] { wrong += 1 }
        #expect(wrong == 0, "\(name): \(wrong) of \(out.count) weights differ")
        // The generator chose these layouts; the reader must see the same groups.
        let widths = tensor.groups.map(\.bits)
        switch name {
        case "mixed": #expect(widths == [8, 8, 6, 6, 5, 4, 3, 2])
        case "four_bit": #expect(widths == [4, 4] && tensor.inversePermutation == Array(0..<256))
        default: #expect(widths == [5, 3, 3] && tensor.groups.last?.rows == 32)
        }
        print("\(name): \(rows)×\(columns), groups \(widths), \(String(format: "%.2f", tensor.bitsPerWeight)) bpw")
    }

    /// Malformed tensors: each names the tensor and field, none crashes.
    @Test func malformedTensorsNameTheField() throws {
        let file = try SafeTensorsFile(path: Self.path)
        let (columns, _, _) = try Self.expected(file, "mixed")
        var keep: [Buffer] = []
        func replacing(_ field: String, dtype: DType? = nil, shape: [Int]? = nil, _ edit: @escaping (inout [UInt8]) -> Void = { _ in }) -> (String) throws -> TensorView {
            { name in
                let view = try file.tensor(name)
                guard name == "mixed.\(field)" else { return view }
                var bytes = Array(view.bytes)
                edit(&bytes)
                let buffer = Buffer(bytes)
                keep.append(buffer)
                return TensorView(name: name, dtype: dtype ?? view.dtype, shape: shape ?? view.shape,
                                  bytes: UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<bytes.count]), owner: buffer)
            }
        }
        let bad: [(String, (String) throws -> TensorView, String)] = [
            ("q_groups", replacing("q_groups") { $0[0] = 7 }, "group 0 has 7 bits"),
            ("q_groups", replacing("q_groups") { $0[6] = 0xFF; $0[7] = 0x7F }, "group 0 spans packed rows 0..<32767"),
            ("q_invperm", replacing("q_invperm") { $0[0] = $0[4]; $0[1] = $0[5]; $0[2] = $0[6]; $0[3] = $0[7] }, "not a permutation"),
            ("q_weight", replacing("q_weight", shape: [72, 96]), "expected int32 [packed rows, 128]"),
            ("q_scale_max", replacing("q_scale_max", dtype: .bf16), "expected fp16 [8]"),
        ]
        for (field, lookup, message) in bad {
            #expect {
                _ = try EXL2Tensor(name: "mixed", columns: columns, tensor: lookup)
            } throws: { error in
                guard let e = error as? EXL2Error else { return false }
                return e.tensor == "mixed.\(field)" && e.reason.contains(message)
            }
        }
        #expect(throws: EXL2Error.self) { _ = try EXL2Tensor(name: "mixed", columns: 150, tensor: file.tensor) }
    }
}
