import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Raised when an allocation would take a device past its byte budget.
public struct OutOfBudget: Error, CustomStringConvertible, Equatable {
    public let device: String
    public let label: String
    public let requested: Int
    public let inUse: Int
    public let budget: Int

    public var description: String {
        "\(device): allocating \(requested) bytes for \(label) would use \(inUse + requested) of a \(budget)-byte budget"
    }
}

/// The single way memory is taken on a device.
///
/// Every buffer (converted weights, KV cache, scratch, logits) is allocated here, and memory-mapped
/// weights are charged here without allocating, so `inUse` and `peak` are the device's real
/// footprint as the planner counts it. An allocation past the budget throws instead of growing.
public final class MemoryArena: @unchecked Sendable {
    /// A device name for messages, such as `cpu0`.
    public let name: String
    /// Bytes this arena may hold at once; `Int.max` for no limit.
    public let budget: Int

    private let lock = Mutex<Ledger>(Ledger())

    private struct Ledger {
        var inUse = 0
        var peak = 0
        var byLabel: [String: Int] = [:]
    }

    public init(name: String, budget: Int = .max) {
        self.name = name
        self.budget = budget
    }

    /// Bytes held now.
    public var inUse: Int { lock.withLock { $0.inUse } }
    /// The most bytes ever held at once.
    public var peak: Int { lock.withLock { $0.peak } }
    /// Bytes held now, by the label given when they were taken.
    public var usageByLabel: [String: Int] { lock.withLock { $0.byLabel } }

    /// Records `bytes` against the budget without allocating (memory-mapped weights).
    public func charge(_ bytes: Int, label: String) throws {
        try lock.withLock { ledger in
            guard bytes >= 0, bytes <= budget - ledger.inUse else {
                throw OutOfBudget(device: name, label: label, requested: bytes, inUse: ledger.inUse, budget: budget)
            }
            ledger.inUse += bytes
            ledger.peak = max(ledger.peak, ledger.inUse)
            ledger.byLabel[label, default: 0] += bytes
        }
    }

    /// Returns bytes taken by `charge` or `allocate`.
    public func release(_ bytes: Int, label: String) {
        lock.withLock { ledger in
            ledger.inUse -= bytes
            ledger.byLabel[label, default: 0] -= bytes
            if ledger.byLabel[label] == 0 { ledger.byLabel[label] = nil }
        }
    }

    /// Allocates `count` zeroed elements of `T`, 64-byte aligned, charged to this arena.
    public func allocate<T>(_: T.Type, count: Int, label: String) throws -> ArenaBuffer<T> {
        let bytes = count * MemoryLayout<T>.stride
        try charge(bytes, label: label)
        guard let raw = calloc(1, bytes + 64) else {
            release(bytes, label: label)
            throw OutOfBudget(device: name, label: label, requested: bytes, inUse: inUse, budget: budget)
        }
        return ArenaBuffer(arena: self, raw: raw, count: count, label: label)
    }
}

/// A typed buffer owned by a `MemoryArena`; freeing it returns its bytes to the arena.
public final class ArenaBuffer<Element>: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Element>
    public let label: String
    private let raw: UnsafeMutableRawPointer
    private let arena: MemoryArena

    fileprivate init(arena: MemoryArena, raw: UnsafeMutableRawPointer, count: Int, label: String) {
        self.arena = arena
        self.raw = raw
        self.count = count
        self.label = label
        let aligned = (Int(bitPattern: raw) + 63) & ~63
        pointer = UnsafeMutableRawPointer(bitPattern: aligned)!.bindMemory(to: Element.self, capacity: count)
    }

    public var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var byteCount: Int { count * MemoryLayout<Element>.stride }

    deinit {
        free(raw)
        arena.release(byteCount, label: label)
    }
}
