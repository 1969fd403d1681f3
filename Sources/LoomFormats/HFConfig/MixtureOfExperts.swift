/// A sparse mixture-of-experts feed-forward: a router scores `expertCount` experts per token and
/// the token goes through the `expertsPerToken` best, each a gated MLP of `expertIntermediateSize`,
/// their outputs weighted by the router's softmax probabilities.
public struct MixtureOfExperts: Sendable, Equatable {
    public var expertCount: Int
    public var expertsPerToken: Int
    /// Width of each expert's gate and up projections.
    public var expertIntermediateSize: Int
    /// Whether the chosen experts' probabilities are rescaled to sum to 1 (Mixtral always; Qwen3-MoE's
    /// `norm_topk_prob`). Without it they keep their share of the softmax over all experts.
    public var normalizeTopK: Bool
    /// Layers that keep a dense gated MLP of the config's `intermediateSize` instead (Qwen3-MoE's
    /// `mlp_only_layers` and `decoder_sparse_step`), sorted.
    public var denseLayers: [Int]
    /// The router and every expert projection have biases (gpt-oss).
    public var biases = false

    public init(expertCount: Int, expertsPerToken: Int, expertIntermediateSize: Int, normalizeTopK: Bool,
                denseLayers: [Int] = []) {
        self.expertCount = expertCount
        self.expertsPerToken = expertsPerToken
        self.expertIntermediateSize = expertIntermediateSize
        self.normalizeTopK = normalizeTopK
        self.denseLayers = denseLayers.sorted()
    }

    /// The most experts a layer may have.
    public static let maximumExperts = 4096

    /// Whether layer `index` routes its tokens through experts.
    public func isSparse(layer index: Int) -> Bool { !denseLayers.contains(index) }

    /// How many of `layerCount` layers route through experts.
    public func sparseLayerCount(of layerCount: Int) -> Int { (0..<layerCount).filter(isSparse).count }

    /// Checks the counts: at least one expert per token, no more than there are.
    /// - Parameters: file, field: named in the error.
    public func validate(file: String, field: String) throws {
        // The widest released models route over 512 experts; a count far beyond is a lying header,
        // and the inventory would hold three matrices per expert per layer.
        guard expertCount <= Self.maximumExperts else {
            throw ConfigError.invalidField(file: file, field: field,
                                           reason: "\(expertCount) experts is more than the \(Self.maximumExperts) Loom accepts")
        }
        guard expertCount > 0, expertsPerToken > 0, expertsPerToken <= expertCount else {
            throw ConfigError.invalidField(file: file, field: field,
                                           reason: "\(expertsPerToken) experts per token of \(expertCount) is not a valid choice")
        }
        guard expertIntermediateSize > 0, expertIntermediateSize <= ModelConfig.Bounds.intermediateSize else {
            throw ConfigError.invalidField(file: file, field: field,
                                           reason: "the expert width \(expertIntermediateSize) must be positive and at most \(ModelConfig.Bounds.intermediateSize)")
        }
    }
}
