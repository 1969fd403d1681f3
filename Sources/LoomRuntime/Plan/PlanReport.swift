import Foundation

/// Renders a plan as the table `loom plan` prints and as its JSON.
public enum PlanReport {
    public static func json(_ plan: MemoryPlan, weightsOnly: [Int]? = nil) -> [String: Any] {
        var object: [String: Any] = [
            "model": plan.model,
            "fits": plan.fits,
            "max_seq_len": plan.maxSequenceLength,
            "cache_type": plan.request.cacheType.rawValue,
            "parallel": plan.request.parallel,
            "cache_pages": plan.cachePages,
            "page_tokens": plan.pageTokens,
            "cache_tokens": plan.cacheTokens,
            "kv_cache_bytes_per_token": plan.kvCacheBytesPerToken,
            "expert_bytes": plan.expertBytes,
            "host_bytes": plan.hostBytes,
            "vulkan_host_bytes": plan.vulkanHostBytes,
            "suggestions": plan.suggestions,
            "devices": plan.devices.map { d -> [String: Any] in
                var entry: [String: Any] = [
                    "name": d.name, "budget_bytes": d.budgetBytes, "memory_bytes": d.spec.memoryBytes,
                    "weights_bytes": d.weightsBytes, "cache_bytes": d.cacheBytes, "rope_bytes": d.ropeBytes,
                    "scratch_bytes": d.scratchBytes, "logits_bytes": d.logitsBytes, "reserve_bytes": d.reserveBytes,
                    "total_bytes": d.totalBytes, "overflow_bytes": d.overflowBytes,
                    "holds_embedding": d.holdsEmbedding, "holds_head": d.holdsHead,
                    "embedding_bytes": d.embeddingBytes, "head_bytes": d.headBytes,
                ]
                entry["layers"] = d.layers.map { [$0.lowerBound, $0.upperBound] } ?? NSNull()
                return entry
            },
        ]
        object["layers"] = plan.layerWeightBytes.enumerated().map { i, bytes -> [String: Any] in
            ["index": i, "device": plan.devices[plan.layerDevice[i]].name, "weights_bytes": bytes, "cache_bytes": plan.layerCacheBytes[i],
             "window_cache": plan.keepsWindow(layer: i)]
        }
        if let window = plan.window {
            object["window"] = ["window": window.window, "pages": window.pageCount, "pages_per_sequence": window.pagesPerSequence,
                                "spare_tokens": window.spare,
                                "layers": plan.layerCacheBytes.indices.filter { plan.keepsWindow(layer: $0) }]
        }
        if let weightsOnly {
            object["weights_only_split_bytes"] = weightsOnly
        }
        return object
    }

    public static func table(_ plan: MemoryPlan, weightsOnly: [Int]? = nil) -> String {
        var lines: [String] = []
        let small = plan.devices.map(\.budgetBytes).max()! < 2_000_000_000
        let unit = small ? 1e6 : 1e9
        func gb(_ bytes: Int) -> String { String(format: "%.2f", Double(bytes) / unit) }
        let unitName = small ? "MB" : "GB"
        let c = plan.config
        lines.append("\(plan.model): \(c.layerCount) layers, hidden \(c.hiddenSize), \(c.headCount) heads, \(c.kvHeadCount) KV heads, vocab \(c.vocabSize)")
        lines.append("cache \(plan.request.cacheType.rawValue), max_seq_len \(plan.maxSequenceLength), parallel \(plan.request.parallel): "
                     + "KV cache \(plan.kvCacheBytesPerToken) bytes per token (\(mib(plan.kvCacheBytesPerToken)) MiB), "
                     + "pool \(plan.cacheTokens) tokens in \(plan.cachePages) pages of \(plan.pageTokens)")
        if let window = plan.window {
            let layers = plan.layerCacheBytes.indices.filter { plan.keepsWindow(layer: $0) }
            let held = layers.reduce(0) { $0 + plan.layerCacheBytes[$1] }
            let fullContext = Planner.cacheBytesPerLayer(plan, pages: plan.cachePages) * layers.count
            lines.append("sliding window \(window.window): \(layers.count) of \(c.layerCount) layers keep \(window.pageCount) pages "
                         + "(at most \(window.pagesPerSequence) a sequence), \(gb(held)) \(unitName) instead of \(gb(fullContext)) \(unitName)")
        }
        if let moe = c.moe {
            let sparse = moe.sparseLayerCount(of: c.layerCount)
            let perToken = plan.expertBytes * moe.expertsPerToken / moe.expertCount
            lines.append("experts: \(moe.expertCount) of width \(moe.expertIntermediateSize) in \(sparse) of \(c.layerCount) layers, "
                         + "\(gb(plan.expertBytes)) \(unitName) of the weights, all planned; a token reads \(moe.expertsPerToken) a layer, "
                         + "\(gb(perToken)) \(unitName)")
        }
        if plan.hostBytes > 0 {
            // A Vulkan device's row and staging buffers are on the host with the embedding.
            let vulkan = plan.vulkanHostBytes, embedding = plan.hostBytes - vulkan
            let parts = (embedding > 0 ? ["embedding \(gb(embedding))"] : []) + (vulkan > 0 ? ["Vulkan rows and staging \(gb(vulkan))"] : [])
            lines.append("host: \(parts.joined(separator: ", ")) \(unitName) (outside the device budgets)")
        }
        let header = ["device", "budget", "layers", "weights", "cache", "rope", "scratch", "logits", "reserve", "total", "free"]
        var rows = [header]
        for d in plan.devices {
            var layers = d.layers.map { "\($0.lowerBound)-\($0.upperBound)" } ?? "-"
            if d.holdsEmbedding { layers = "emb " + layers }
            if d.holdsHead { layers += " head" }
            rows.append([d.name, gb(d.budgetBytes), layers, gb(d.weightsBytes), gb(d.cacheBytes), gb(d.ropeBytes),
                         gb(d.scratchBytes), gb(d.logitsBytes), gb(d.reserveBytes), gb(d.totalBytes),
                         d.overflowBytes > 0 ? "OVER " + gb(d.overflowBytes) : gb(d.budgetBytes - d.totalBytes)])
        }
        let widths = header.indices.map { i in rows.map { $0[i].count }.max()! }
        for row in rows {
            lines.append(row.enumerated().map { i, cell in
                i == 0 || i == 2 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                                 : String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  "))
        }
        lines.append("(\(unitName) = 10^\(small ? 6 : 9) bytes)")
        if let weightsOnly {
            lines.append("")
            lines.append("A weights-only split (ExLlamaV2's gpu_split) at these sizes, with each layer's cache following it:")
            for (i, total) in weightsOnly.enumerated() {
                let memory = plan.devices[i].spec.memoryBytes
                let verdict = total > memory ? "exceeds its \(gb(memory)) \(unitName) by \(gb(total - memory)) \(unitName)" : "fits in \(gb(memory)) \(unitName)"
                lines.append("  \(plan.devices[i].name): \(gb(total)) \(unitName), \(verdict)")
            }
        }
        lines.append("")
        lines.append(plan.fits ? "fits" : "DOES NOT FIT")
        for s in plan.suggestions { lines.append("  - " + s) }
        return lines.joined(separator: "\n")
    }

    static func mib(_ bytes: Int) -> String { String(format: "%.2f", Double(bytes) / 1048576) }
}
