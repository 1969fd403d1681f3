import Foundation
import LoomFormats
import LoomKernels
import LoomModel

/// What to plan for.
public struct PlanRequest: Sendable, Equatable {
    public var devices: [DeviceSpec]
    /// Fill devices in order (false) or spread layers so every device ends equally full (true).
    public var balance = false
    /// nil picks the largest context that fits.
    public var maxSequenceLength: Int?
    public var cacheType: CacheType = .fp16
    /// Sequences run at once, each up to `maxSequenceLength` tokens.
    public var parallel = 1
    /// Tokens the page pool holds over all sequences.
    public var cacheTokens: CacheTokens = .perSequence
    /// Positions per KV-cache page.
    public var pageTokens = PlanRequest.defaultPageTokens
    /// Tokens per forward chunk; prompts longer than this are split. Sizes the scratch.
    public var chunkTokens = 512
    /// Threads, which each need an attention-score row.
    public var threads = 2
    /// Logit rows kept per forward (1 for generation, the chunk for perplexity and --all-positions).
    public var logitsRows = 1
    /// Bytes left free on each device for what the arena does not see (stacks, the runtime).
    public var reserveBytes = 64 << 20
    /// Sliding-window layers keep every position, as the other layers do (llama.cpp's
    /// `--swa-full`): more memory, but no rewind or fork ever recomputes.
    public var fullWindowCache = false

    public init(devices: [DeviceSpec], balance: Bool = false, maxSequenceLength: Int? = nil, cacheType: CacheType = .fp16,
                parallel: Int = 1, cacheTokens: CacheTokens = .perSequence, pageTokens: Int = PlanRequest.defaultPageTokens,
                chunkTokens: Int = 512, threads: Int = 2, logitsRows: Int = 1, reserveBytes: Int = 64 << 20,
                fullWindowCache: Bool = false) {
        self.devices = devices
        self.balance = balance
        self.maxSequenceLength = maxSequenceLength
        self.cacheType = cacheType
        self.parallel = parallel
        self.cacheTokens = cacheTokens
        self.pageTokens = pageTokens
        self.chunkTokens = chunkTokens
        self.threads = threads
        self.logitsRows = logitsRows
        self.reserveBytes = reserveBytes
        self.fullWindowCache = fullWindowCache
    }
}

/// How many tokens the KV-cache page pool holds over all sequences.
public enum CacheTokens: Sendable, Equatable {
    /// `parallel × maxSequenceLength`: every sequence can reach the full context at once.
    case perSequence
    /// This many (rounded up to whole pages). Fewer than `parallel × maxSequenceLength` relies
    /// on prompts sharing pages, or on preempting a request when the pool runs out.
    case tokens(Int)
    /// The most that fits beside the weights and working buffers.
    case fill
}

extension PlanRequest {
    /// The attention tile width: a tile never straddles two pages (see BENCHMARKS.md for the
    /// page sizes measured).
    public static let defaultPageTokens = 64

    /// Pages of the pool for sequences of up to `length` tokens, unless it fills the devices.
    func fixedCachePages(length: Int) -> Int? {
        switch cacheTokens {
        // Each sequence rounds up to whole pages of its own.
        case .perSequence: return parallel * ((max(length, 1) + pageTokens - 1) / pageTokens)
        case let .tokens(n): return (max(n, 1) + pageTokens - 1) / pageTokens
        case .fill: return nil
        }
    }
}

/// Places a model's layers, cache, scratch and logits on devices before anything is loaded.
public enum Planner {
    /// Plans `model` for `request`; with no context length given, the largest that fits.
    public static func plan(_ model: ModelFootprint, _ request: PlanRequest) -> MemoryPlan {
        var plan: MemoryPlan
        if let length = request.maxSequenceLength {
            plan = place(model, request, length: length)
        } else {
            let best = largestFittingLength(model, request)
            plan = place(model, request, length: max(best ?? 1, 1))
        }
        plan.suggestions = suggestions(for: plan, model: model)
        return plan
    }

    /// Bytes of every per-device line other than weights and cache, for a device that runs layers.
    static func workingSet(_ model: ModelFootprint, _ request: PlanRequest, length: Int) -> (rope: Int, scratch: Int) {
        let config = model.config
        let chunk = min(request.chunkTokens, length)
        let scratch = ForwardScratch.byteCount(config: config, maxTokens: chunk, threads: request.threads,
                                               sequenceLength: length, matmulScratchBytes: model.matmulScratch(chunk))
        // Layers with a local RoPE θ (Gemma 3) have a table of their own.
        let tables = config.localRopeTheta == nil ? 1 : 2
        return (tables * RotaryTable.byteCount(headDim: config.headDim, positions: length), scratch)
    }

    static func cacheBytesPerLayer(_ model: ModelFootprint, _ request: PlanRequest, pages: Int) -> Int {
        request.cacheType.bytesPerTokenPerLayer(kvWidth: model.config.kvWidth) * pages * request.pageTokens
    }

    /// Cache bytes of one layer holding `pages` pages under `plan`.
    static func cacheBytesPerLayer(_ plan: MemoryPlan, pages: Int) -> Int {
        plan.request.cacheType.bytesPerTokenPerLayer(kvWidth: plan.config.kvWidth) * pages * plan.pageTokens
    }

    /// Cache bytes of each layer: a sliding-window layer holds `window.pageCount` pages, every
    /// other layer the pool's `pages`.
    static func layerCacheBytes(_ model: ModelFootprint, _ request: PlanRequest, pages: Int, window: WindowPaging?) -> [Int] {
        let full = cacheBytesPerLayer(model, request, pages: pages)
        let local = window.map { cacheBytesPerLayer(model, request, pages: $0.pageCount) } ?? full
        return (0..<model.config.layerCount).map { window != nil && model.config.window(layer: $0) != nil ? local : full }
    }

    /// The pages of the sliding-window layers for a pool of `pages` pages and sequences of up to
    /// `length` tokens, or nil when the model has no such layers or their window reaches as far
    /// as a whole sequence (they then keep every position, as the other layers do).
    ///
    /// Each sequence run at once holds at most `pagesPerSequence` window pages; pages the pool
    /// has beyond what its sequences need at full length (room for the prefix cache) are added
    /// to the window pool as well, so that cached prompts keep the window pages of their ends.
    static func windowPaging(_ model: ModelFootprint, _ request: PlanRequest, length: Int, pages: Int) -> WindowPaging? {
        let config = model.config
        guard !request.fullWindowCache, let window = (0..<config.layerCount).compactMap({ config.window(layer: $0) }).max() else { return nil }
        let chunk = min(request.chunkTokens, length), spare = request.pageTokens
        let perSequence = WindowPaging.pagesPerSequence(window: window, spare: spare, chunkTokens: chunk, pageTokens: request.pageTokens)
        let fullPerSequence = (max(length, 1) + request.pageTokens - 1) / request.pageTokens
        guard perSequence < fullPerSequence else { return nil }
        let running = request.parallel * perSequence
        let prefixRoom = max(0, pages - request.parallel * fullPerSequence)
        let windowPages = min(pages, max(perSequence, running + prefixRoom))
        return WindowPaging(window: window, pageCount: windowPages, spare: spare, chunkTokens: chunk, pageTokens: request.pageTokens)
    }

    /// Greedy placement in layer order (or balanced by a common fill fraction), with the page
    /// pool the request asks for, or the largest that fits.
    static func place(_ model: ModelFootprint, _ request: PlanRequest, length: Int) -> MemoryPlan {
        if let pages = request.fixedCachePages(length: length) { return place(model, request, length: length, pages: pages) }
        // Enough pages for one sequence at least; then as many as fit.
        let least = (length + request.pageTokens - 1) / request.pageTokens
        let smallest = place(model, request, length: length, pages: least)
        guard smallest.fits else { return smallest }
        let perPage = max(1, cacheBytesPerLayer(model, request, pages: 1) * model.config.layerCount)
        let memory = request.devices.reduce(0) { $0 + $1.budgetBytes }
        var low = least, high = max(least + 1, memory / perPage + 1)
        while low + 1 < high {
            let mid = low + (high - low) / 2
            if place(model, request, length: length, pages: mid).fits { low = mid } else { high = mid }
        }
        return place(model, request, length: length, pages: low)
    }

    static func place(_ model: ModelFootprint, _ request: PlanRequest, length: Int, pages: Int) -> MemoryPlan {
        if request.balance {
            var low = 0.0, high = 1.0
            var best = placeFilling(model, request, length: length, pages: pages, fraction: 1)
            guard best.fits else { return best }
            // The smallest common fill fraction at which every device stays within it.
            func within(_ plan: MemoryPlan, _ fraction: Double) -> Bool {
                plan.devices.allSatisfy { d in
                    d.totalBytes <= d.reserveBytes + Int(Double(d.budgetBytes - d.reserveBytes) * fraction)
                }
            }
            for _ in 0..<24 {
                let mid = (low + high) / 2
                let candidate = placeFilling(model, request, length: length, pages: pages, fraction: mid)
                if within(candidate, mid) { best = candidate; high = mid } else { low = mid }
            }
            return best
        }
        return placeFilling(model, request, length: length, pages: pages, fraction: 1)
    }

    private static func placeFilling(_ model: ModelFootprint, _ request: PlanRequest, length: Int, pages: Int,
                                     fraction: Double) -> MemoryPlan {
        let config = model.config
        let (rope, scratch) = workingSet(model, request, length: length)
        let window = windowPaging(model, request, length: length, pages: pages)
        let layerCache = layerCacheBytes(model, request, pages: pages, window: window)
        // One LM-head pass serves every sequence of a decode step.
        let logits = config.vocabSize * min(max(request.logitsRows, request.parallel), min(request.chunkTokens, length)) * 4
        var devices = request.devices.map { PlannedDevice(spec: $0, reserveBytes: request.reserveBytes) }
        let embeddingOnHost = request.devices.first?.kind == .gpu
        var hostBytes = 0
        var d = 0
        func limit(_ i: Int) -> Int { Int(Double(devices[i].budgetBytes - devices[i].reserveBytes) * fraction) }
        func open(_ i: Int) {
            guard devices[i].ropeBytes == 0 else { return }
            devices[i].ropeBytes = rope
            devices[i].scratchBytes = devices[i].spec.vulkanIndex == nil ? scratch
                : VulkanBackend.scratchBytes(config: config, chunkTokens: min(request.chunkTokens, length), length: length,
                                             pageTokens: request.pageTokens)
        }
        // A GPU that computes the logits holds the LM head even when it is the embedding, which
        // lives on the host or on another device (CPU devices share the host's memory).
        func headBytes(on device: Int) -> Int {
            let copiesTied = devices[device].spec.kind == .gpu && (embeddingOnHost || device != 0)
            return model.headBytes + (copiesTied ? model.tiedHeadBytes : 0)
        }
        if embeddingOnHost { hostBytes = model.embeddingBytes } else {
            devices[0].weightsBytes += model.embeddingBytes
            devices[0].embeddingBytes = model.embeddingBytes
            devices[0].holdsEmbedding = true
        }
        open(0)
        var layerDevice: [Int] = []
        // Items in order: each layer (weights + its cache), then the head (weights + logits).
        for item in 0...config.layerCount {
            let isHead = item == config.layerCount
            let cost = { (d: Int) in isHead ? headBytes(on: d) + logits : model.layerBytes[item] + layerCache[item] }
            while devices[d].arenaBytes + cost(d) > limit(d), d + 1 < devices.count {
                // Move on only from a device that holds something; an empty first device
                // that cannot take one layer would not take it later either.
                d += 1
                open(d)
            }
            if isHead {
                devices[d].weightsBytes += headBytes(on: d)
                devices[d].headBytes = headBytes(on: d)
                devices[d].logitsBytes = logits
                devices[d].holdsHead = true
            } else {
                devices[d].weightsBytes += model.layerBytes[item]
                devices[d].cacheBytes += layerCache[item]
                devices[d].layers = (devices[d].layers?.lowerBound ?? item)...item
                layerDevice.append(d)
            }
        }
        // Devices past the last used one hold nothing.
        for i in devices.indices where !devices[i].isUsed {
            devices[i].ropeBytes = 0; devices[i].scratchBytes = 0; devices[i].reserveBytes = 0
        }
        // A Vulkan device moves hidden rows through a host buffer and a staging buffer.
        let vulkanDevices = devices.filter { $0.isUsed && $0.spec.vulkanIndex != nil }.count
        let vulkanHostBytes = vulkanDevices * VulkanBackend.hostBytes(config: config, chunkTokens: min(request.chunkTokens, length),
                                                                      length: length, pageTokens: request.pageTokens)
        hostBytes += vulkanHostBytes
        var plan = MemoryPlan(model: model.name, config: config, request: request, maxSequenceLength: length,
                              devices: devices, layerDevice: layerDevice, embeddingDevice: embeddingOnHost ? nil : 0,
                              headDevice: d, hostBytes: hostBytes, cachePages: pages, layerWeightBytes: model.layerBytes,
                              layerCacheBytes: layerCache)
        plan.expertBytes = model.expertBytes
        plan.vulkanHostBytes = vulkanHostBytes
        plan.window = window
        return plan
    }

    /// The largest context (up to the model's trained length) that fits, or nil if none does.
    public static func largestFittingLength(_ model: ModelFootprint, _ request: PlanRequest) -> Int? {
        let maximum = model.config.maxPositionEmbeddings
        guard place(model, request, length: 1).fits else { return nil }
        if place(model, request, length: maximum).fits { return maximum }
        var low = 1, high = maximum
        while low + 1 < high {
            let mid = (low + high) / 2
            if place(model, request, length: mid).fits { low = mid } else { high = mid }
        }
        return low
    }

    /// Concrete ways out of a plan that does not fit, and how far a fitting one could reach.
    static func suggestions(for plan: MemoryPlan, model: ModelFootprint) -> [String] {
        var out: [String] = []
        let request = plan.request
        let length = plan.maxSequenceLength
        if plan.fits {
            if request.maxSequenceLength != nil, let best = largestFittingLength(model, request), best > length {
                out.append("--max-seq-len \(best) also fits (the most at this cache type and split)")
            }
            return out
        }
        for device in plan.devices where device.overflowBytes > 0 {
            out.append("\(device.name) is over its \(gigabytes(device.budgetBytes)) budget by \(gigabytes(device.overflowBytes))")
        }
        if let best = largestFittingLength(model, request) {
            out.append("--max-seq-len \(best) fits with a \(request.cacheType.rawValue) cache")
        } else {
            out += whyNoLengthFits(model, request)
        }
        if request.parallel > 1 {
            var fewer = request
            for n in stride(from: request.parallel - 1, through: 1, by: -1) {
                fewer.parallel = n
                if place(model, fewer, length: length).fits {
                    out.append("--parallel \(n) fits \(length) tokens per sequence")
                    break
                }
            }
        }
        for type in [CacheType.q8, .q6, .q4] where type.bytesPerTokenPerLayer(kvWidth: 128) < request.cacheType.bytesPerTokenPerLayer(kvWidth: 128) {
            var other = request
            other.cacheType = type
            if place(model, other, length: length).fits {
                out.append("--cache \(type.rawValue) fits \(length) tokens")
                break
            }
        }
        if case let .bitsPerWeight(bits, headBits) = model.precision {
            var low = 2.0, high = bits
            let fitsAt: (Double) -> Bool = { b in
                place(ModelFootprint(name: model.name, config: model.config, precision: .bitsPerWeight(b, headBits: headBits)),
                      request, length: length).fits
            }
            if fitsAt(low) {
                for _ in 0..<12 { let mid = (low + high) / 2; if fitsAt(mid) { low = mid } else { high = mid } }
                out.append(String(format: "--bpw %.2f fits %d tokens with a %@ cache", (low * 100).rounded(.down) / 100, length, request.cacheType.rawValue))
            }
        }
        // A split that would fit: the same devices, balanced over all of their memory.
        var balanced = request
        balanced.balance = true
        balanced.devices = request.devices.map { var d = $0; d.budgetBytes = d.memoryBytes; return d }
        let alternative = place(model, balanced, length: length)
        if alternative.fits {
            let sizes = alternative.devices.map { String(format: "%.1f", Double($0.totalBytes) / 1e9) }
            out.append("--split \(sizes.joined(separator: ",")) fits (balanced over the same devices)")
        }
        return out
    }

    /// ExLlamaV2's manual split, for comparison: layers placed by weight bytes alone into
    /// `splitBytes`, then each layer's cache added on the device that holds the layer.
    /// Returns the bytes each device would end up holding.
    public static func weightsOnlySplit(_ model: ModelFootprint, _ request: PlanRequest, length: Int,
                                        splitBytes: [Int]) -> [Int] {
        let layerCache = place(model, request, length: length).layerCacheBytes
        let (rope, scratch) = workingSet(model, request, length: length)
        var weights = [Int](repeating: 0, count: splitBytes.count)
        var totals = [Int](repeating: 0, count: splitBytes.count)
        var d = 0
        for layer in 0..<model.config.layerCount {
            while weights[d] + model.layerBytes[layer] > splitBytes[d], d + 1 < splitBytes.count { d += 1 }
            weights[d] += model.layerBytes[layer]
            totals[d] += model.layerBytes[layer] + layerCache[layer]
        }
        totals[d] += model.headBytes + model.config.vocabSize * 4
        for i in totals.indices where weights[i] > 0 { totals[i] += rope + scratch }
        return totals
    }

    /// Names what does not fit when not even one token does: the reserve, when it is the
    /// cause (a budget smaller than the reserve, or a plan that fits without it), and the weights
    /// with the scratch and logits when they are too large even without it.
    static func whyNoLengthFits(_ model: ModelFootprint, _ request: PlanRequest) -> [String] {
        var out: [String] = []
        var unreserved = request
        unreserved.reserveBytes = 0
        let fitsUnreserved = place(model, unreserved, length: 1).fits
        let reserve = "the \(request.reserveBytes >> 20) MiB reserve (--reserve)"
        let small = request.devices.filter { $0.budgetBytes <= request.reserveBytes }
        if !small.isEmpty && (fitsUnreserved || small.count == request.devices.count) {
            let budgets = small.map { "\($0.name) (\(gigabytes($0.budgetBytes)))" }.joined(separator: ", ")
            out.append("\(reserve) does not fit in the budget of \(budgets)")
        } else if fitsUnreserved {
            out.append("no context length fits with \(reserve) kept free on each device; without it one would")
        }
        if !fitsUnreserved {
            let budgets = request.devices.map(\.budgetBytes).reduce(0, +)
            let weights = request.devices.first?.kind == .gpu ? model.weightBytes - model.embeddingBytes : model.weightBytes
            out.append(weights > budgets
                ? "no context length fits with a \(request.cacheType.rawValue) cache: the weights alone are too large"
                : "no context length fits with a \(request.cacheType.rawValue) cache: the weights, scratch and logits are too large")
        }
        return out
    }

    static func gigabytes(_ bytes: Int) -> String { String(format: "%.2f GB", Double(bytes) / 1e9) }
}
