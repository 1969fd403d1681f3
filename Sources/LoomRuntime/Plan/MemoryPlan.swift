import LoomModel

/// What one device holds under a plan, line by line.
public struct PlannedDevice: Sendable, Equatable {
    public var spec: DeviceSpec
    /// Layers placed here, if any.
    public var layers: ClosedRange<Int>?
    public var holdsEmbedding = false
    public var holdsHead = false
    /// All weights here: layers, plus the embedding and head when they are here.
    public var weightsBytes = 0
    public var embeddingBytes = 0
    public var headBytes = 0
    public var cacheBytes = 0
    public var ropeBytes = 0
    public var scratchBytes = 0
    public var logitsBytes = 0
    public var reserveBytes = 0

    public var name: String { spec.name }
    public var budgetBytes: Int { spec.budgetBytes }
    /// Everything the arena will hold, without the reserve.
    public var arenaBytes: Int { weightsBytes + cacheBytes + ropeBytes + scratchBytes + logitsBytes }
    public var totalBytes: Int { arenaBytes + reserveBytes }
    public var isUsed: Bool { layers != nil || holdsEmbedding || holdsHead }
    /// Bytes over budget, or 0.
    public var overflowBytes: Int { max(0, totalBytes - budgetBytes) }
}

/// A complete placement of a model on devices at one context length: the object the loader
/// follows and the numbers `loom plan` prints.
public struct MemoryPlan: Sendable {
    public var model: String
    public var config: LoomFormats.ModelConfig
    public var request: PlanRequest
    public var maxSequenceLength: Int
    public var devices: [PlannedDevice]
    /// Layer index → device index.
    public var layerDevice: [Int]
    public var embeddingDevice: Int?
    public var headDevice: Int
    /// Bytes kept on the host, outside every device budget: the embedding (GPU device lists) and
    /// each Vulkan device's row and staging buffers (`vulkanHostBytes`).
    public var hostBytes: Int
    /// The Vulkan devices' part of `hostBytes`.
    public var vulkanHostBytes = 0
    /// Pages in the KV-cache pool (every layer holds this many).
    public var cachePages: Int
    public var suggestions: [String] = []
    /// Weight bytes of each layer, exact when planned from a file.
    public var layerWeightBytes: [Int] = []
    /// Of the weights, the bytes of every expert (0 for dense models); a token reads k of each layer's.
    public var expertBytes = 0
    /// [layers] cache bytes of each layer.
    public var layerCacheBytes: [Int] = []
    /// The sliding-window layers' own pages, when they keep less than whole sequences.
    public var window: WindowPaging?

    /// Whether layer `layer` keeps its cache in the window pages (see `WindowPaging`).
    public func keepsWindow(layer: Int) -> Bool { window != nil && config.window(layer: layer) != nil }

    public var fits: Bool { devices.allSatisfy { $0.overflowBytes == 0 } }

    /// Cache bytes per token over all layers at the planned cache type.
    public var kvCacheBytesPerToken: Int {
        request.cacheType.bytesPerTokenPerLayer(kvWidth: config.kvWidth) * config.layerCount
    }

    /// Cache bytes a row at `context` tokens attends over, all layers together: sliding-window
    /// layers read at most their window.
    public func kvCacheBytes(context: Int) -> Int {
        let perLayer = request.cacheType.bytesPerTokenPerLayer(kvWidth: config.kvWidth)
        return (0..<config.layerCount).reduce(0) { total, layer in
            total + perLayer * min(context, config.window(layer: layer) ?? context)
        }
    }

    /// Positions per page.
    public var pageTokens: Int { request.pageTokens }
    /// Tokens the pool holds over all sequences.
    public var cacheTokens: Int { cachePages * pageTokens }

    /// Tokens per forward chunk (the scratch is sized for this).
    public var chunkTokens: Int { min(request.chunkTokens, maxSequenceLength) }
}

import LoomFormats
