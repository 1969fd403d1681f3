/// A device the planner can place layers on.
public struct DeviceSpec: Sendable, Equatable, Codable {
    /// GPUs stand for the future backend and hold only what the plan places on them (the
    /// embedding stays on the host, as ExLlamaV2 does); CPU devices hold the embedding too.
    public enum Kind: String, Sendable, Codable { case cpu, gpu }

    public var name: String
    /// Bytes the plan may use here: the `--split` share, or all of `memoryBytes`.
    public var budgetBytes: Int
    /// Bytes the device has.
    public var memoryBytes: Int
    public var kind: Kind

    public init(name: String, budgetBytes: Int, memoryBytes: Int? = nil, kind: Kind = .cpu) {
        self.name = name
        self.budgetBytes = budgetBytes
        self.memoryBytes = memoryBytes ?? budgetBytes
        self.kind = kind
    }
}
