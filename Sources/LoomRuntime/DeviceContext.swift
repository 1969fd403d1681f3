import LoomCore
import LoomKernels
import LoomModel

/// What one planned device holds at run time: its arena and the buffers the plan named for it.
final class DeviceContext: @unchecked Sendable {
    let planned: PlannedDevice
    let arena: MemoryArena
    var rope: RotaryTable?
    var ropeStorage: ArenaBuffer<Float>?
    var scratch: ForwardScratch?
    var logits: ArenaBuffer<Float>?   // [logitsRows, vocab]

    init(planned: PlannedDevice) {
        self.planned = planned
        // The reserve is for what the arena cannot see; the arena itself may use the rest.
        arena = MemoryArena(name: planned.name, budget: planned.budgetBytes - planned.reserveBytes)
    }
}

/// Planned against measured bytes of one device, for `--json` output and tests.
public struct DeviceUsage: Sendable, Equatable {
    public let name: String
    public let budgetBytes: Int
    /// What the plan said the arena would hold (weights, cache, rope, scratch, logits).
    public let plannedBytes: Int
    /// The most the arena ever held.
    public let peakBytes: Int
    public let byLabel: [String: Int]
}
