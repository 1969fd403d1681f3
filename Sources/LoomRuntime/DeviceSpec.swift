/// A device the planner can place layers on: a name and the bytes it may hold.
public struct DeviceSpec: Sendable, Equatable, Codable {
    public var name: String
    public var budgetBytes: Int

    public init(name: String, budgetBytes: Int) {
        self.name = name
        self.budgetBytes = budgetBytes
    }
}
