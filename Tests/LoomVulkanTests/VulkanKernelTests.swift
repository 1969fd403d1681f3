import Foundation
import LoomCore
import LoomKernels
import Testing
@testable import LoomVulkan

/// The device the kernel tests run on: vulkan:0 (Mesa's lavapipe in CI). Where there is none
/// the tests skip, unless LOOM_REQUIRE_VULKAN=1 (set by .ci/run), when they fail instead.
enum TestDevice {
    static let opened: Result<VulkanDevice, VulkanError> = Result { try VulkanDevice.shared(index: 0) }.mapError { $0 as! VulkanError }
    static let required = ProcessInfo.processInfo.environment["LOOM_REQUIRE_VULKAN"] == "1"
    static var available: Bool {
        if case .failure(let error) = opened, !required {
            print("skipping the Vulkan tests: \(error)")
            return false
        }
        return true
    }
    static func device() throws -> VulkanDevice { try opened.get() }

    /// An arena of `bytes` on the test device.
    static func arena(_ bytes: Int) throws -> VulkanArena {
        try VulkanArena(device: try device(), name: "test", capacity: bytes + 64 * VulkanArena.alignment)
    }
}

/// Values in [-1, 1) from a fixed seed (SplitMix64), so a failure repeats.
struct SeededValues {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> Float { Float(generator.next() >> 40) / Float(1 << 23) - 1 }
    mutating func values(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
}

@Suite(.enabled(if: TestDevice.available))
struct VulkanKernelTests {
    @Test func theDeviceReportsWhatTheKernelsNeed() throws {
        let info = try TestDevice.device().info
        #expect(info.missingFeatures.isEmpty)
        #expect(info.subgroupSize > 0)
        #expect(info.deviceLocalBytes > 0)
        #expect(info.summary.hasPrefix("vulkan:0 "))
        let listed = try VulkanInstance.shared().devices()
        #expect(listed.first == info)
    }

    /// The kernel's output for `packed` ([rows, cols] of `type`) times `input` ([batch, cols]),
    /// as the worst error against the f64 products of `weights` (the dequantized blocks),
    /// relative to Σ|w·x| of its row.
    func matmulError(_ type: QuantType, packed: [UInt8], weights: [Float], input: [Float], rows: Int, cols: Int, batch: Int) throws -> Double {
        let device = try TestDevice.device()
        let arena = try TestDevice.arena(packed.count + (batch * cols + batch * rows) * 4)
        let w = try arena.allocate(bytes: packed.count, label: "weights")
        let x = try arena.allocate(bytes: batch * cols * 4, label: "input")
        let y = try arena.allocate(bytes: batch * rows * 4, label: "output")
        try device.upload(packed, to: w)
        try device.upload(input, to: x)
        try device.submit { r in try r.matmul(type, weights: w, rows: rows, cols: cols, input: x, batch: batch, output: y) }
        let output = try device.download(y, as: Float.self, count: batch * rows)
        var worst = 0.0
        for b in 0..<batch {
            for r in 0..<rows {
                var sum = 0.0, magnitude = 0.0
                for c in 0..<cols {
                    let p = Double(weights[r * cols + c]) * Double(input[b * cols + c])
                    sum += p
                    magnitude += abs(p)
                }
                worst = max(worst, abs(Double(output[b * rows + r]) - sum) / max(magnitude, 1e-12))
            }
        }
        return worst
    }

    /// Each weight type against the dequantized weights in f64, with odd row counts, batches
    /// that cross the kernel's tile of 8, and a row count past one dispatch's 65,535 groups.
    @Test(arguments: [(QuantType.f32, 37, 77, 1), (.bf16, 41, 65, 9), (.f16, 37, 77, 1), (.f16, 130, 96, 9), (.q8_0, 37, 160, 1), (.q8_0, 133, 96, 11),
                      (.q4_0, 37, 160, 3), (.q4_0, 133, 224, 16), (.q8_0, 70_001, 32, 2)])
    func matmulMatchesTheDequantizedWeights(type: QuantType, rows: Int, cols: Int, batch: Int) throws {
        var random = SeededValues(seed: UInt64(rows * 1000 + cols))
        let source = random.values(rows * cols)
        var packed = [UInt8](repeating: 0, count: rows * type.rowBytes(cols))
        let ok = source.withUnsafeBufferPointer { s in packed.withUnsafeMutableBytes { Quantize.run(type, s.baseAddress!, count: rows * cols, into: $0.baseAddress!) } }
        #expect(ok)
        var weights = [Float](repeating: 0, count: rows * cols)
        packed.withUnsafeBytes { p in weights.withUnsafeMutableBufferPointer { Dequantize.run(type, p.baseAddress!, count: rows * cols, into: $0.baseAddress!) } }
        let input = random.values(batch * cols)

        let worst = try matmulError(type, packed: packed, weights: weights, input: input, rows: rows, cols: cols, batch: batch)
        // f32 sums of `cols` terms: a few ulps of the magnitude.
        #expect(worst < 1e-5, "\(type.name) \(rows)×\(cols) batch \(batch): worst error \(worst) of Σ|w·x|")
    }

    /// The K formats, from random blocks (every bit pattern of quants and packed scales is a
    /// valid block; the f16 scales are set to small finite values), against LoomKernels'
    /// dequantizers.
    /// MXFP4 too (odd 17-byte blocks, so rows start at odd bytes), its exponents near 2^0.
    @Test(arguments: [(QuantType.q4_K, 13, 512, 3), (.q5_K, 13, 768, 1), (.q6_K, 13, 512, 9), (.q6_K, 1, 256, 1),
                      (.mxfp4, 13, 96, 3), (.mxfp4, 7, 32, 1)])
    func kFormatsMatchTheDequantizedBlocks(type: QuantType, rows: Int, cols: Int, batch: Int) throws {
        var random = SeededValues(seed: UInt64(rows * 7 + cols))
        var packed = (0..<(rows * type.rowBytes(cols))).map { _ in UInt8(truncatingIfNeeded: Int((random.next() + 1) * 128)) }
        for block in 0..<(packed.count / type.blockBytes) {
            if type == .mxfp4 {
                packed[block * type.blockBytes] = UInt8(120 + Int((random.next() + 1) * 6))
                continue
            }
            for offset in type == .q6_K ? [208] : [0, 2] {
                let bits = floatToF16(random.next() * 0.01)
                packed[block * type.blockBytes + offset] = UInt8(bits & 0xFF)
                packed[block * type.blockBytes + offset + 1] = UInt8(bits >> 8)
            }
        }
        var weights = [Float](repeating: 0, count: rows * cols)
        packed.withUnsafeBytes { p in weights.withUnsafeMutableBufferPointer { Dequantize.run(type, p.baseAddress!, count: rows * cols, into: $0.baseAddress!) } }
        let input = random.values(batch * cols)
        let worst = try matmulError(type, packed: packed, weights: weights, input: input, rows: rows, cols: cols, batch: batch)
        #expect(worst < 1e-5, "\(type.name) \(rows)×\(cols) batch \(batch): worst error \(worst) of Σ|w·x|")
    }

    @Test func rmsNormMatchesTheCPU() throws {
        let (rows, width, eps): (Int, Int, Float) = (5, 333, 1e-6)
        var random = SeededValues(seed: 7)
        let input = random.values(rows * width).map { $0 * 3 }, weight = random.values(width)
        var expected = [Float](repeating: 0, count: rows * width)
        rmsNorm(input, weight: weight, eps: eps, rows: rows, width: width, into: &expected)
        let device = try TestDevice.device()
        let arena = try TestDevice.arena((2 * rows * width + width) * 4)
        let x = try arena.allocate(bytes: rows * width * 4, label: "x")
        let w = try arena.allocate(bytes: width * 4, label: "weight")
        try device.upload(input, to: x)
        try device.upload(weight, to: w)
        try device.submit { r in try r.rmsNorm(x, weight: w, eps: eps, rows: rows, width: width, output: x) }
        let output = try device.download(x, as: Float.self, count: rows * width)
        let worst = zip(output, expected).map { abs($0 - $1) / max(abs($1), 1e-3) }.max()!
        #expect(worst < 1e-5)
    }

    @Test func swiGLUAndAddMatchTheCPU() throws {
        let count = 1_000
        var random = SeededValues(seed: 11)
        let gate = random.values(count).map { $0 * 8 }, up = random.values(count)
        var expected = gate
        expected.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { swiGLU(gate: g.baseAddress!, up: $0.baseAddress!, count: count, path: .portable) } }
        let sums = zip(expected, up).map { $0 + $1 }
        let device = try TestDevice.device()
        let arena = try TestDevice.arena(2 * count * 4)
        let g = try arena.allocate(bytes: count * 4, label: "gate")
        let u = try arena.allocate(bytes: count * 4, label: "up")
        try device.upload(gate, to: g)
        try device.upload(up, to: u)
        try device.submit { r in
            try r.swiGLU(gate: g, up: u, count: count)
            r.barrier()
        }
        let gated = try device.download(g, as: Float.self, count: count)
        #expect(zip(gated, expected).allSatisfy { abs($0 - $1) <= 2e-6 * max(1, abs($1)) })
        try device.submit { r in try r.add(u, into: g, count: count) }
        let added = try device.download(g, as: Float.self, count: count)
        #expect(zip(added, sums).allSatisfy { abs($0 - $1) <= 4e-6 * max(1, abs($1)) })
    }

    /// The lowest index wins among equal maxima, as the greedy sampler picks.
    @Test func argmaxPicksTheFirstLargest() throws {
        let (rows, width) = (3, 151_936)
        var random = SeededValues(seed: 3)
        var values = random.values(rows * width)
        values[0 * width + 100_000] = 5; values[0 * width + 150_000] = 5
        values[1 * width + 7] = 2
        values[2 * width + width - 1] = 9
        let device = try TestDevice.device()
        let arena = try TestDevice.arena(rows * width * 4 + rows * 4)
        let x = try arena.allocate(bytes: rows * width * 4, label: "logits")
        let out = try arena.allocate(bytes: rows * 4, label: "tokens")
        try device.upload(values, to: x)
        try device.submit { r in try r.argmax(x, rows: rows, width: width, output: out) }
        #expect(try device.download(out, as: Int32.self, count: rows) == [100_000, 7, Int32(width - 1)])
    }

    @Test func shapesThatDoNotFitTheirBuffersAreRefused() throws {
        let device = try TestDevice.device()
        let arena = try TestDevice.arena(4096)
        let small = try arena.allocate(bytes: 64, label: "small")
        #expect(throws: VulkanError.self) {
            try device.submit { r in try r.matmul(.q8_0, weights: small, rows: 4, cols: 32, input: small, batch: 1, output: small) }
        }
        #expect(throws: VulkanError.self) {
            try device.submit { r in try r.matmul(.q3_K, weights: small, rows: 1, cols: 256, input: small, batch: 1, output: small) }
        }
        #expect(throws: VulkanError.self) { _ = try arena.allocate(bytes: 1 << 30, label: "too big") }
        // The device still works after the refusals.
        try device.upload([Float](repeating: 1, count: 16), to: small)
        #expect(try device.download(small, as: Float.self, count: 16) == [Float](repeating: 1, count: 16))
    }

    /// Under a small allocation limit an arena takes several allocations, never splitting a
    /// region: regions in different allocations keep their bytes, and a kernel reads and writes
    /// across them. A region larger than the limit is refused by name.
    @Test func anArenaPastTheAllocationLimitTakesSeveralAllocations() throws {
        let device = try TestDevice.device()
        let arena = try VulkanArena(device: device, name: "chunked", capacity: 6 * 40_960 + 4096, maxAllocation: 65_536)
        let regions = try (0..<6).map { try arena.allocate(bytes: 40_960, label: "region \($0)") }
        #expect(arena.allocationCount == 6)
        #expect(arena.usedBytes == 6 * 40_960 && arena.allocatedBytes >= arena.usedBytes)
        for (i, region) in regions.enumerated() { try device.upload([Float](repeating: Float(i), count: 10_240), to: region) }
        for (i, region) in regions.enumerated() {
            #expect(try device.download(region, as: Float.self, count: 10_240) == [Float](repeating: Float(i), count: 10_240))
        }
        // A 32×32 f32 matrix of 5s in region 5 times a vector of 1s in region 1, into region 3.
        try device.submit { r in
            try r.matmul(.f32, weights: regions[5].slice(from: 0, bytes: 4096), rows: 32, cols: 32, input: regions[1].slice(from: 0, bytes: 128),
                         batch: 1, output: regions[3])
        }
        #expect(try device.download(regions[3], as: Float.self, count: 32) == [Float](repeating: 160, count: 32))
        #expect(throws: VulkanError.self) { _ = try arena.allocate(bytes: 70_000, label: "too large for one allocation") }
    }

    /// A pass that stages more than the default staging buffer is refused by name until the
    /// buffer is grown to what the plan stages (a 70B model's 512 hidden rows are 16 MiB alone).
    @Test func stagingGrowsToWhatAPassStages() throws {
        let device = try VulkanDevice(index: 0)  // its own staging buffer, not the shared device's
        let bytes = 20 << 20
        let arena = try VulkanArena(device: device, name: "staging test", capacity: bytes + VulkanArena.alignment)
        let rows = try arena.allocate(bytes: bytes, label: "rows")
        let values = (0..<(bytes / 4)).map { Float($0 % 1000) }
        #expect(throws: VulkanError.self) { try device.submit(staged: true) { r in try r.stage(values, to: rows) } }
        try device.reserveStaging(bytes: bytes + 4096)
        #expect(device.stagingBytes >= bytes)
        try device.submit(staged: true) { r in try r.stage(values, to: rows) }
        #expect(try device.download(rows, as: Float.self, count: values.count) == values)
    }

    /// Every kernel the compile script builds is a `VulkanKernel` case whose workgroup size is the
    /// one its shader declares (dispatches count workgroups from it).
    @Test func workgroupSizesAreTheShaders() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = try String(contentsOf: root.appendingPathComponent("tools/vulkan/compile-shaders"), encoding: .utf8)
        let entries = script.split(separator: "\n").compactMap { line -> (String, String)? in
            let fields = line.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: " ")
            guard fields.count >= 2, fields[1].hasSuffix(".comp") else { return nil }
            return (String(fields[0]), String(fields[1]))
        }
        #expect(Set(entries.map(\.0)) == Set(VulkanKernel.allCases.map(\.rawValue)))
        for (name, source) in entries {
            let text = try String(contentsOf: root.appendingPathComponent("Sources/LoomVulkan/Shaders/\(source)"), encoding: .utf8)
            let declared = try #require(text.firstMatch(of: /local_size_x = (\d+)/).map { Int($0.1)! })
            #expect(VulkanKernel(rawValue: name)?.workgroupSize == declared, "\(name) (\(source))")
        }
    }

    /// The committed SPIR-V is what tools/vulkan/compile-shaders makes of the committed
    /// sources (where glslc is installed).
    @Test func committedShadersAreCompiledFromTheSources() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/glslc") else {
            print("skipping the shader check: no /usr/bin/glslc")
            return
        }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("loom-shaders-\(getpid()).swift")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = root.appendingPathComponent("tools/vulkan/compile-shaders")
        process.arguments = [out.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let made = try String(contentsOf: out, encoding: .utf8)
        let committed = try String(contentsOf: root.appendingPathComponent("Sources/LoomVulkan/ShaderBinaries.swift"), encoding: .utf8)
        #expect(made == committed, "rerun tools/vulkan/compile-shaders")
    }
}
