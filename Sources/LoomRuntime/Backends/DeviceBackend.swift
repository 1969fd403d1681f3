import LoomCore
import LoomKernels
import LoomModel

/// What the engine needs of one planned device: the seam a GPU backend implements.
///
/// The engine only plans and hands work out; a backend owns its memory and its kernels. It
/// allocates every buffer from its `MemoryArena` (the ledger every backend keeps, so planned
/// bytes equal measured bytes), builds its KV cache, runs its range of layers on a batch, and
/// hands the hidden state to the next device at the boundary.
public protocol DeviceBackend: AnyObject, Sendable {
    /// The plan line this device follows.
    var planned: PlannedDevice { get }
    /// The ledger of everything the device holds.
    var arena: MemoryArena { get }

    /// Allocates the working buffers the plan names (RoPE tables, scratch, logits) and the KV
    /// cache of `layers`, `pageCount` pages each.
    func prepare(model: DecoderModel, plan: MemoryPlan, layers: [Int], ropeLayout: RopeLayout) throws

    /// Copies pages within this device's cache layers (a sequence writing into a shared page
    /// gets its own copy first): in the sliding-window layers' pages when `window` is true, else
    /// in the others'.
    func copyPages(_ copies: [(source: Int32, destination: Int32, positions: Int)], window: Bool) throws

    /// Looks the batch's tokens up into this device's hidden state.
    func embed(_ batch: ForwardBatch) throws

    /// Runs `layers` (placed here) over the batch, in order.
    func run(layers: ClosedRange<Int>, batch: ForwardBatch) throws

    /// Copies the first `rows` rows of this device's hidden state into `next`'s.
    func handHidden(rows: Int, to next: any DeviceBackend) throws

    /// Receives `rows` hidden rows from a device of the same kind.
    func receiveHidden(_ rows: UnsafePointer<Float>, count: Int) throws

    /// Final norm and LM head for the hidden rows `wanted` (in increasing order), as host
    /// arrays ([wanted.count][vocab]).
    func logits(rows wanted: [Int]) throws -> [[Float]]

    /// The most likely token of each row `wanted` (the lowest id among equals).
    func greedy(rows wanted: [Int]) throws -> [Int]
}

extension DeviceBackend {
    /// The argmax of each row's logits, for backends that compute them where they are read.
    func greedy(rows wanted: [Int]) throws -> [Int] {
        try logits(rows: wanted).map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
    }
}
