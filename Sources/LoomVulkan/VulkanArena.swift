import CVulkan
import LoomCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A region of a device arena that kernels read or write.
public struct VulkanBuffer: @unchecked Sendable, Equatable {
    /// The device address kernels are given.
    public let address: UInt64
    public let bytes: Int
    public let label: String
    let buffer: VkBuffer
    /// Where the region starts in `buffer`.
    let offset: Int

    /// The part of this region from `offset` on, `bytes` long (all of the rest by default).
    public func slice(from offset: Int, bytes: Int? = nil) -> VulkanBuffer {
        let length = bytes ?? (self.bytes - offset)
        precondition(offset >= 0 && length >= 0 && offset + length <= self.bytes, "\(label): slice \(offset)+\(length) of \(self.bytes) bytes")
        return VulkanBuffer(address: address + UInt64(offset), bytes: length, label: label, buffer: buffer, offset: self.offset + offset)
    }
}

/// Device-local memory sized by the plan and handed out in aligned regions, so the bytes the
/// plan names are the bytes the device holds. `ledger` keeps the labels and peak, as a CPU
/// device's arena does.
///
/// It is one allocation where the driver allows one of `capacity` bytes; past the driver's
/// `maxMemoryAllocationSize` it takes as few allocations as that limit allows, each made when
/// the previous one cannot take the next region (a region never straddles two), so a large plan
/// line still fits a driver with a small limit. `allocatedBytes` says what the device holds.
public final class VulkanArena: @unchecked Sendable {
    public let name: String
    public let device: VulkanDevice
    /// Bytes the regions may take in all, alignment included.
    public let capacity: Int
    public let ledger: MemoryArena
    /// The largest allocation made for this arena.
    let maxAllocation: Int
    private let state: Locked<State>

    struct Chunk {
        let buffer: VkBuffer
        let memory: VkDeviceMemory
        let address: UInt64
        let bytes: Int
        var used: Int
    }

    struct State {
        var chunks: [Chunk] = []
        /// Bytes of regions (alignment included) in the chunks before the last.
        var closedBytes = 0
    }

    /// Regions start at multiples of this by default (coalesced loads).
    public static let alignment = 256

    /// - Parameter maxAllocation: the largest single allocation; the driver's limit by default.
    public init(device: VulkanDevice, name: String, capacity: Int, maxAllocation: Int? = nil) throws {
        guard capacity > 0 else { throw VulkanError.invalidArgument(kernel: name, reason: "an arena of \(capacity) bytes") }
        self.name = name
        self.device = device
        self.capacity = capacity
        let limit = device.info.maxMemoryAllocationBytes > 0 ? device.info.maxMemoryAllocationBytes : Int.max
        self.maxAllocation = min(maxAllocation ?? limit, limit)
        ledger = MemoryArena(name: name, budget: capacity)
        state = Locked(State())
        try state.withLock { try open(&$0, atLeast: 0) }
    }

    deinit {
        for chunk in state.withLock({ $0.chunks }) { device.release(buffer: chunk.buffer, memory: chunk.memory) }
    }

    /// A new allocation for what is left of the capacity (at most `maxAllocation`), and at
    /// least `bytes`.
    private func open(_ state: inout State, atLeast bytes: Int) throws {
        let used = state.closedBytes + (state.chunks.last?.used ?? 0)
        let size = min(maxAllocation, max(bytes, capacity - used, 1))
        guard bytes <= size else {
            throw VulkanError.arenaFull(arena: name, label: "one allocation of \(bytes) bytes", requested: bytes, left: maxAllocation)
        }
        let (buffer, memory, address) = try device.allocateBuffer(bytes: size, memoryType: device.deviceLocalType, label: name)
        if let last = state.chunks.last { state.closedBytes += last.used }
        state.chunks.append(Chunk(buffer: buffer, memory: memory, address: address, bytes: size, used: 0))
    }

    /// Bytes handed out, alignment included.
    public var usedBytes: Int { state.withLock { $0.closedBytes + ($0.chunks.last?.used ?? 0) } }

    /// Bytes of device memory the arena holds: its allocations.
    public var allocatedBytes: Int { state.withLock { $0.chunks.reduce(0) { $0 + $1.bytes } } }

    /// Allocations the arena holds (one unless the driver's limit is below its capacity).
    public var allocationCount: Int { state.withLock { $0.chunks.count } }

    /// A region of `bytes`, starting at a multiple of `alignment`, charged to `label` in the
    /// ledger unless `charge` is false (bytes the loader charged already).
    public func allocate(bytes: Int, label: String, alignment: Int = VulkanArena.alignment, charge: Bool = true) throws -> VulkanBuffer {
        precondition(bytes >= 0 && alignment > 0 && alignment & (alignment - 1) == 0)
        let region = try state.withLock { state -> VulkanBuffer in
            var chunk = state.chunks[state.chunks.count - 1]
            var offset = (chunk.used + alignment - 1) & ~(alignment - 1)
            if offset + bytes > chunk.bytes {
                let used = state.closedBytes + chunk.used
                guard used + bytes <= capacity, chunk.bytes == maxAllocation else {
                    throw VulkanError.arenaFull(arena: name, label: label, requested: bytes, left: max(0, capacity - used))
                }
                try open(&state, atLeast: bytes)
                chunk = state.chunks[state.chunks.count - 1]
                offset = 0
            }
            guard state.closedBytes + offset + bytes <= capacity else {
                throw VulkanError.arenaFull(arena: name, label: label, requested: bytes, left: max(0, capacity - state.closedBytes - offset))
            }
            state.chunks[state.chunks.count - 1].used = offset + bytes
            return VulkanBuffer(address: chunk.address + UInt64(offset), bytes: bytes, label: label, buffer: chunk.buffer, offset: offset)
        }
        if charge { try ledger.charge(bytes, label: label) }
        return region
    }
}

/// Host-visible memory through which data moves to and from device-local arenas, a chunk at a
/// time: the one buffer a device needs beyond its plan lines.
final class VulkanStaging: @unchecked Sendable {
    /// The size a device's staging buffer has unless a plan asks for more (`reserveStaging`).
    static let defaultBytes = 16 << 20
    let bytes: Int
    let buffer: VkBuffer
    let memory: VkDeviceMemory
    let mapped: UnsafeMutableRawPointer
    // The raw handles, not the VulkanDevice: its deinit releases this first.
    let device: VkDevice
    let functions: DeviceFunctions

    init(device: VulkanDevice, bytes: Int) throws {
        self.device = device.device
        self.bytes = bytes
        functions = device.functions
        (buffer, memory, _) = try device.allocateBuffer(bytes: bytes, memoryType: device.hostVisibleType, label: "staging")
        var pointer: UnsafeMutableRawPointer?
        let result = device.functions.mapMemory(device.device, memory, 0, VkDeviceSize(bytes), 0, &pointer)
        if result != VK_SUCCESS { device.release(buffer: buffer, memory: memory) }
        try check(result, "vkMapMemory")
        mapped = pointer!
    }

    deinit {
        functions.unmapMemory(device, memory)
        functions.destroyBuffer(device, buffer, nil)
        functions.freeMemory(device, memory, nil)
    }
}

extension VulkanDevice {
    /// The staging buffer, made on first use; held with `transfers` taken.
    func staging() throws -> VulkanStaging {
        if let staging = stagingBuffer { return staging }
        let staging = try VulkanStaging(device: self, bytes: VulkanStaging.defaultBytes)
        stagingBuffer = staging
        return staging
    }

    /// Grows the staging buffer to at least `bytes` (what one pass of a plan stages); it never shrinks.
    public func reserveStaging(bytes: Int) throws {
        transfers.lock()
        defer { transfers.unlock() }
        if let staging = stagingBuffer, staging.bytes >= bytes { return }
        stagingBuffer = nil
        stagingBuffer = try VulkanStaging(device: self, bytes: max(bytes, VulkanStaging.defaultBytes))
    }

    /// Bytes of the staging buffer (the default until something is staged or reserved).
    public var stagingBytes: Int { transfers.withLock { _ in stagingBuffer?.bytes ?? VulkanStaging.defaultBytes } }

    /// Copies `source` into `destination` (at `offset` bytes in), through the staging buffer.
    public func upload(_ source: UnsafeRawBufferPointer, to destination: VulkanBuffer, at offset: Int = 0) throws {
        guard offset >= 0, offset + source.count <= destination.bytes else {
            throw VulkanError.invalidArgument(kernel: "upload", reason: "\(source.count) bytes at \(offset) into \(destination.label) of \(destination.bytes)")
        }
        guard source.count > 0 else { return }
        transfers.lock()
        defer { transfers.unlock() }
        let staging = try staging()
        var done = 0
        while done < source.count {
            let count = min(staging.bytes, source.count - done)
            staging.mapped.copyMemory(from: source.baseAddress! + done, byteCount: count)
            try submit { r in
                r.copy(from: staging.buffer, at: 0, to: destination.buffer, at: destination.offset + offset + done, bytes: count)
            }
            done += count
        }
    }

    /// Copies `source` (from `offset` bytes in) into `destination`, through the staging buffer.
    public func download(_ source: VulkanBuffer, at offset: Int = 0, into destination: UnsafeMutableRawBufferPointer) throws {
        guard offset >= 0, offset + destination.count <= source.bytes else {
            throw VulkanError.invalidArgument(kernel: "download", reason: "\(destination.count) bytes at \(offset) from \(source.label) of \(source.bytes)")
        }
        guard destination.count > 0 else { return }
        transfers.lock()
        defer { transfers.unlock() }
        let staging = try staging()
        var done = 0
        while done < destination.count {
            let count = min(staging.bytes, destination.count - done)
            try submit { r in
                r.copy(from: source.buffer, at: source.offset + offset + done, to: staging.buffer, at: 0, bytes: count)
            }
            (destination.baseAddress! + done).copyMemory(from: staging.mapped, byteCount: count)
            done += count
        }
    }

    /// Uploads an array of values.
    public func upload<T>(_ values: [T], to destination: VulkanBuffer, at offset: Int = 0) throws {
        try values.withUnsafeBytes { try upload($0, to: destination, at: offset) }
    }

    /// Downloads `count` values.
    public func download<T>(_ source: VulkanBuffer, as _: T.Type, count: Int, at offset: Int = 0) throws -> [T] {
        try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try download(source, at: offset, into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }
}
