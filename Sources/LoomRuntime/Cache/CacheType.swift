/// The precision of the KV cache.
public enum CacheType: String, Sendable, CaseIterable, Codable {
    /// Exact f32, for reference runs and tests.
    case f32
    case fp16
    /// 8-bit groups of 32 with an fp16 scale.
    case q8
    /// 8-bit keys and 4-bit values.
    case q6
    /// 4-bit groups of 32 with an fp16 scale.
    case q4

    /// Bytes for one token's K and V in one layer, for `kvWidth = kvHeads · headDim` elements each.
    /// Quantized types hold one fp16 scale per 32-element group (ExLlamaV2's layout).
    public func bytesPerTokenPerLayer(kvWidth: Int) -> Int {
        switch self {
        case .f32: return 8 * kvWidth
        case .fp16: return 4 * kvWidth
        case .q8: return 2 * (kvWidth + kvWidth / 32 * 2)
        case .q6: return (kvWidth + kvWidth / 32 * 2) + (kvWidth / 2 + kvWidth / 32 * 2)
        case .q4: return 2 * (kvWidth / 2 + kvWidth / 32 * 2)
        }
    }
}
