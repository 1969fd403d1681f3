import LoomFormats
import LoomKernels

/// What distinguishes one Llama-family architecture from another, beyond its config numbers.
/// Each architecture's file defines one of these.
public struct ArchitectureTraits: Sendable {
    public let architecture: Architecture
    /// The `general.architecture` value in GGUF files.
    public let ggufName: String
    /// How GGUF files of this architecture lay out q/k rows for RoPE.
    public let ggufRopeLayout: RopeLayout

    public static func of(_ architecture: Architecture) -> ArchitectureTraits {
        switch architecture {
        case .llama: return llamaTraits
        case .mistral: return mistralTraits
        case .qwen2: return qwen2Traits
        case .qwen3: return qwen3Traits
        }
    }

    public static func of(ggufName: String) -> ArchitectureTraits? {
        Architecture.allCases.map(of).first { $0.ggufName == ggufName }
    }
}
