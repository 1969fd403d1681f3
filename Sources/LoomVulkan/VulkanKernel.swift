import CVulkan
import Foundation

/// The compute kernels, one per SPIR-V module (Shaders/*.comp, compiled by
/// tools/vulkan/compile-shaders into ShaderBinaries.swift).
public enum VulkanKernel: String, CaseIterable, Sendable {
    case matmulF32, matmulF16, matmulBF16, matmulQ8_0, matmulQ4_0, matmulMXFP4, matmulQ4_K, matmulQ5_K, matmulQ6_K
    case rmsNorm, swiGLU, geluTanhGLU, clampedSwiGLU, softcap, add, argmax
    case rope, kvStore, kvQuant, attention, addRows, copy, expertSum

    /// Every kernel's push constants fit the 128 bytes Vulkan guarantees.
    static let pushConstantBytes = 128

    /// Threads per workgroup, as the shader declares (local_size_x).
    var workgroupSize: Int {
        switch self {
        case .matmulF32, .matmulF16, .matmulBF16, .matmulQ8_0, .matmulQ4_0, .matmulMXFP4, .matmulQ4_K, .matmulQ5_K, .matmulQ6_K, .rmsNorm, .attention, .kvQuant: 64
        case .swiGLU, .geluTanhGLU, .clampedSwiGLU, .softcap, .add, .argmax, .rope, .kvStore, .addRows, .copy, .expertSum: 256
        }
    }

    /// The SPIR-V words.
    var spirv: [UInt32] {
        let bytes = Data(base64Encoded: spirvBase64)!
        return bytes.withUnsafeBytes { raw in Array(raw.bindMemory(to: UInt32.self)) }
    }
}

/// A kernel's push constants, laid out as GLSL's std430 lays out its push-constant block:
/// buffer addresses 8-byte aligned, 32-bit scalars 4-byte aligned, in declaration order.
public struct KernelArguments {
    private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func buffer(_ buffer: VulkanBuffer) { append(buffer.address) }

    public mutating func uint(_ value: Int) {
        precondition(value >= 0 && value <= Int(UInt32.max), "push constant \(value) does not fit 32 bits")
        append(UInt32(value))
    }

    public mutating func float(_ value: Float) { append(value.bitPattern) }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        while bytes.count % size != 0 { bytes.append(0) }
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        precondition(bytes.count <= VulkanKernel.pushConstantBytes, "push constants over \(VulkanKernel.pushConstantBytes) bytes")
    }
}

/// Records work into the device's command buffer during `VulkanDevice.submit`.
public final class VulkanRecorder {
    let device: VulkanDevice
    /// Workgroups a dispatch may have along x; more spill into y (the kernels flatten the grid).
    static let maxGroupsX = 65535
    private let staging: VulkanStaging?
    /// Bytes of the staging buffer this submission has used.
    private var stagedBytes = 0

    init(device: VulkanDevice, staging: VulkanStaging?) {
        self.device = device
        self.staging = staging
    }

    /// Where fetched bytes wait in the staging buffer until the submission has run.
    public struct Fetched: Sendable {
        let offset: Int
        public let bytes: Int
    }

    private func reserveStaging(_ bytes: Int, for label: String) throws -> (VulkanStaging, Int) {
        guard let staging else { preconditionFailure("stage/fetch need submit(staged: true)") }
        let offset = (stagedBytes + 15) & ~15
        guard offset + bytes <= staging.bytes else {
            throw VulkanError.arenaFull(arena: "staging", label: label, requested: bytes, left: staging.bytes - offset)
        }
        stagedBytes = offset + bytes
        return (staging, offset)
    }

    /// Copies `source` into the staging buffer now and records its copy to `destination` (at
    /// `offset`); a `barrier()` before the kernels that read it.
    public func stage(_ source: UnsafeRawBufferPointer, to destination: VulkanBuffer, at offset: Int = 0) throws {
        guard source.count > 0 else { return }
        guard offset >= 0, offset + source.count <= destination.bytes else {
            throw VulkanError.invalidArgument(kernel: "stage", reason: "\(source.count) bytes at \(offset) into \(destination.label) of \(destination.bytes)")
        }
        let (staging, at) = try reserveStaging(source.count, for: destination.label)
        (staging.mapped + at).copyMemory(from: source.baseAddress!, byteCount: source.count)
        copy(from: staging.buffer, at: at, to: destination.buffer, at: destination.offset + offset, bytes: source.count)
    }

    /// Stages an array of values.
    public func stage<T>(_ values: [T], to destination: VulkanBuffer, at offset: Int = 0) throws {
        try values.withUnsafeBytes { try stage($0, to: destination, at: offset) }
    }

    /// Records a copy of `bytes` of `source` (from `offset`) into the staging buffer, to be read
    /// with `fetched` once the submission has run; a `barrier()` after the kernels that write it.
    public func fetch(_ source: VulkanBuffer, bytes: Int, at offset: Int = 0) throws -> Fetched {
        guard offset >= 0, offset + bytes <= source.bytes else {
            throw VulkanError.invalidArgument(kernel: "fetch", reason: "\(bytes) bytes at \(offset) from \(source.label) of \(source.bytes)")
        }
        let (staging, at) = try reserveStaging(bytes, for: source.label)
        copy(from: source.buffer, at: source.offset + offset, to: staging.buffer, at: at, bytes: bytes)
        return Fetched(offset: at, bytes: bytes)
    }

    /// What a `fetch` of this submission brought back (valid in `submit`'s completion).
    public func fetched(_ f: Fetched) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: staging!.mapped + f.offset, count: f.bytes)
    }

    /// Runs `kernel` over `groups` workgroups with `arguments`.
    public func dispatch(_ kernel: VulkanKernel, groups: Int, _ arguments: KernelArguments) throws {
        guard groups > 0 else { return }
        let d = device.functions, command = device.commandBuffer
        d.cmdBindPipeline(command, VK_PIPELINE_BIND_POINT_COMPUTE, try device.pipeline(kernel))
        arguments.bytes.withUnsafeBytes { raw in
            d.cmdPushConstants(command, device.pipelineLayout, VK_SHADER_STAGE_COMPUTE_BIT.rawValue, 0, UInt32(raw.count), raw.baseAddress)
        }
        let x = min(groups, Self.maxGroupsX)
        let y = (groups + x - 1) / x
        d.cmdDispatch(command, UInt32(x), UInt32(y), 1)
    }

    /// Runs a kernel with one thread per element over `threads` elements (workgroups of the
    /// shader's own size).
    public func dispatch(_ kernel: VulkanKernel, threads: Int, _ arguments: KernelArguments) throws {
        try dispatch(kernel, groups: (threads + kernel.workgroupSize - 1) / kernel.workgroupSize, arguments)
    }

    /// Makes every write recorded so far visible to everything recorded after (kernels and copies).
    public func barrier() {
        var memoryBarrier = VkMemoryBarrier()
        memoryBarrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        memoryBarrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        memoryBarrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
            | VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
        let stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue
        device.functions.cmdPipelineBarrier(device.commandBuffer, stages, stages, 0, 1, &memoryBarrier, 0, nil, 0, nil)
    }

    func copy(from source: VkBuffer, at sourceOffset: Int, to destination: VkBuffer, at destinationOffset: Int, bytes: Int) {
        var region = VkBufferCopy(srcOffset: VkDeviceSize(sourceOffset), dstOffset: VkDeviceSize(destinationOffset), size: VkDeviceSize(bytes))
        device.functions.cmdCopyBuffer(device.commandBuffer, source, destination, 1, &region)
    }

    /// Copies `bytes` from one region to another on the device.
    public func copy(_ source: VulkanBuffer, to destination: VulkanBuffer, bytes: Int) throws {
        guard bytes <= source.bytes, bytes <= destination.bytes else {
            throw VulkanError.invalidArgument(kernel: "copy", reason: "\(bytes) bytes from \(source.label) (\(source.bytes)) to \(destination.label) (\(destination.bytes))")
        }
        copy(from: source.buffer, at: source.offset, to: destination.buffer, at: destination.offset, bytes: bytes)
    }
}
