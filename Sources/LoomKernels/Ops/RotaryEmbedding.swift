/// Which elements of a head rotate together.
public enum RopeLayout: Sendable {
    /// Element i pairs with i + d/2: Hugging Face checkpoints, and GGUF Qwen ("NEOX" mode).
    case halves
    /// Element 2i pairs with 2i + 1: GGUF Llama, whose q/k rows llama.cpp's converter permuted.
    case adjacentPairs
}

/// Precomputed cos/sin for rotary position embedding.
public struct RotaryTable: @unchecked Sendable {
    public let headDim: Int
    public let layout: RopeLayout
    public let positions: Int
    /// [positions, headDim / 2]
    public let cosines: UnsafeMutablePointer<Float>
    /// [positions, headDim / 2]
    public let sines: UnsafeMutablePointer<Float>

    /// Bytes a table for `positions` positions takes.
    public static func byteCount(headDim: Int, positions: Int) -> Int { 2 * positions * (headDim / 2) * 4 }

    /// Fills the table from inverse frequencies ([headDim/2]) into `storage`
    /// ([2, positions, headDim/2] floats) in f64, scaled by `attentionFactor`.
    public init(inverseFrequencies: [Double], attentionFactor: Double, positions: Int, layout: RopeLayout = .halves,
                storage: UnsafeMutablePointer<Float>) {
        let half = inverseFrequencies.count
        headDim = half * 2
        self.layout = layout
        self.positions = positions
        cosines = storage
        sines = storage + positions * half
        for p in 0..<positions {
            for i in 0..<half {
                // transformers computes the angle in f32; do the same so long contexts match.
                let angle = Double(Float(inverseFrequencies[i]) * Float(p))
                cosines[p * half + i] = Float(cos(angle) * attentionFactor)
                sines[p * half + i] = Float(sin(angle) * attentionFactor)
            }
        }
    }

    /// Rotates `heads` heads of one token at `position` in place. `vectors` is [heads, headDim].
    @inlinable
    public func apply(_ vectors: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let half = headDim / 2
        let c = cosines + position * half
        let s = sines + position * half
        let partner = layout == .halves ? half : 1
        let step = layout == .halves ? 1 : 2
        for h in 0..<heads {
            let v = vectors + h * headDim
            for i in 0..<half {
                let j = i * step
                let a = v[j], b = v[j + partner]
                v[j] = a * c[i] - b * s[i]
                v[j + partner] = b * c[i] + a * s[i]
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
