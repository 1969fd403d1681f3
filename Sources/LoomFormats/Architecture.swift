/// A model family, named as Hugging Face config.json names it (`architectures[0]`, such as
/// `LlamaForCausalLM`). Which families Loom runs, and what each one means, is decided by the
/// architecture types in LoomModel (one file each); here it is only a name.
public struct Architecture: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}
