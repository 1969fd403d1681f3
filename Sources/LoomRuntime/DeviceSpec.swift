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
    /// The Vulkan device (`vulkan:N`) that runs this plan line; nil for a GPU that is only
    /// planned for and for CPU devices.
    public var vulkanIndex: Int?

    public init(name: String, budgetBytes: Int, memoryBytes: Int? = nil, kind: Kind = .cpu, vulkanIndex: Int? = nil) {
        self.name = name
        self.budgetBytes = budgetBytes
        self.memoryBytes = memoryBytes ?? budgetBytes
        self.kind = kind
        self.vulkanIndex = vulkanIndex
    }
}
