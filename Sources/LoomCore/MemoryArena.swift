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

    private let lock = Locked<Ledger>(Ledger())

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
        guard let storage = RawStorage(bytes: bytes) else {
            release(bytes, label: label)
            throw OutOfBudget(device: name, label: label, requested: bytes, inUse: inUse, budget: budget)
        }
        return ArenaBuffer(arena: self, storage: storage, count: count, label: label)
    }
}

/// Zeroed memory for one buffer. Large buffers (repacked weights, caches) get their own anonymous
/// mapping, 2 MiB aligned and advised for transparent huge pages: decode streams every weight
/// once per token, and with 4 KiB pages it pays a TLB miss every 4 KiB and the hardware
/// prefetcher stops at every page boundary.
struct RawStorage {
    static let hugePage = 2 << 20
    /// Buffers at least this large get a mapping of their own.
    static let mappedThreshold = 2 << 20

    let base: UnsafeMutableRawPointer
    let aligned: UnsafeMutableRawPointer
    let mappedBytes: Int  // 0 when from calloc

    init?(bytes: Int) {
        #if os(Linux)
        if bytes >= Self.mappedThreshold {
            let length = bytes + Self.hugePage
            let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let mapped, mapped != MAP_FAILED else { return nil }
            let start = (Int(bitPattern: mapped) + Self.hugePage - 1) & ~(Self.hugePage - 1)
            // Only whole huge pages inside the buffer are advised, so the tail never rounds the
            // resident size up past what the arena charged.
            let whole = bytes & ~(Self.hugePage - 1)
            if whole > 0 { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), whole, MADV_HUGEPAGE) }
            base = mapped
            aligned = UnsafeMutableRawPointer(bitPattern: start)!
            mappedBytes = length
            return
        }
        #endif
        guard let raw = calloc(1, bytes + 64) else { return nil }
        base = raw
        aligned = UnsafeMutableRawPointer(bitPattern: (Int(bitPattern: raw) + 63) & ~63)!
        mappedBytes = 0
    }

    func deallocate() {
        #if os(Linux)
        if mappedBytes > 0 { munmap(base, mappedBytes); return }
        #endif
        free(base)
    }
}

/// A typed buffer owned by a `MemoryArena`; freeing it returns its bytes to the arena.
public final class ArenaBuffer<Element>: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Element>
    public let label: String
    private let storage: RawStorage
    private let arena: MemoryArena

    fileprivate init(arena: MemoryArena, storage: RawStorage, count: Int, label: String) {
        self.arena = arena
        self.storage = storage
        self.count = count
        self.label = label
        pointer = storage.aligned.bindMemory(to: Element.self, capacity: count)
    }

    public var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    public var byteCount: Int { count * MemoryLayout<Element>.stride }

    deinit {
        storage.deallocate()
        arena.release(byteCount, label: label)
    }
}
