import Testing
import LoomFormats
import LoomRuntime

/// The numbers of the ExLlamaV2 report that Loom answers (shared/README.md §1, §5): cache cost
/// per token from the models' configs, and the three-RTX-4090 Smaug-72B case.
@Suite struct PlannerReportTests {
    func catalog(_ name: String) throws -> ModelConfig { try #require(ModelCatalog.entries[name]) }

    func plan(_ name: String, precision: WeightPrecision, devices: String, split: [Double]? = nil,
              length: Int?, cache: CacheType = .fp16) throws -> MemoryPlan {
        var list = try DeviceList.parse(devices)
        if let split { for i in list.indices { list[i].budgetBytes = Int(split[i] * 1e9) } }
        let footprint = ModelFootprint(name: name, config: try catalog(name), precision: precision)
        return Planner.plan(footprint, PlanRequest(devices: list, maxSequenceLength: length, cacheType: cache))
    }

    @Test func llama2_70bCacheCosts320KBPerToken() throws {
        // 2 (K and V) × 80 layers × 8 KV heads × 128 dims × 2 bytes.
        let p = try plan("llama-2-70b", precision: .bitsPerWeight(4), devices: "cpu:200GB", length: 4096)
        #expect(p.kvCacheBytesPerToken == 327_680)
    }

    /// Qwen3-30B-A3B (its config.json: 48 layers of 128 experts, width 768, 8 per token): every
    /// expert is planned, 48 × 128 × 3 matrices of 768 × 2048 at 34 bytes per 32 weights in Q8_0,
    /// and `loom plan` says how much a token reads. Its parameters are the published 30.5 B and
    /// 3.3 B active.
    @Test func mixtureOfExpertsPlansEveryExpert() throws {
        let p = try plan("qwen3-30b-a3b", precision: .ggufMix(.q8_0), devices: "cpu:64GB", length: 4096)
        #expect(p.expertBytes == 48 * 128 * 3 * 768 * 2048 / 32 * 34)
        #expect(p.layerWeightBytes.reduce(0, +) > p.expertBytes)
        let table = PlanReport.table(p)
        #expect(table.contains("experts: 128 of width 768 in 48 of 48 layers"), "\(table)")
        let config = try catalog("qwen3-30b-a3b")
        #expect((30_400_000_000...30_600_000_000).contains(ModelCatalog.parameterCount(config)))
        #expect((3_300_000_000...3_400_000_000).contains(ModelCatalog.activeParameterCount(config)))
    }

    /// gpt-oss-20b: the model card's 20.9 B parameters and 3.6 B active (4 of 32 experts a layer;
    /// the card leaves out the embedding table, a lookup, which Loom's active count keeps as
    /// Qwen's 3.3 B does), and its 128-token windows in every other layer keep only their
    /// window's pages at 128k.
    @Test func gptOss20bCountsItsExpertsAndWindows() throws {
        let config = try catalog("gpt-oss-20b")
        #expect((20_850_000_000...20_950_000_000).contains(ModelCatalog.parameterCount(config)), "\(ModelCatalog.parameterCount(config))")
        let embedding = config.vocabSize * config.hiddenSize
        #expect((3_580_000_000...3_640_000_000).contains(ModelCatalog.activeParameterCount(config) - embedding),
                "\(ModelCatalog.activeParameterCount(config))")
        let p = try plan("gpt-oss-20b", precision: .ggufMix(.q8_0), devices: "cpu:64GB", length: 131_072)
        let window = try #require(p.window)
        #expect(window.window == 128)
        let full = p.layerCacheBytes[1], local = p.layerCacheBytes[0]
        #expect(full == CacheType.fp16.bytesPerTokenPerLayer(kvWidth: 512) * 131_072)
        #expect(local * 100 < full)
    }

    @Test func qwen72bCacheCosts2_5MBPerToken() throws {
        let p = try plan("qwen-72b", precision: .bitsPerWeight(4), devices: "cpu:400GB", length: 4096)
        #expect(p.kvCacheBytesPerToken == 2_621_440)
        #expect(p.kvCacheBytesPerToken * 4096 == 10 << 30)     // 10 GiB at 4k
        #expect(p.kvCacheBytesPerToken * 32768 == 80 << 30)    // 80 GiB at 32k
        #expect(p.devices[0].cacheBytes == 10 << 30)
        #expect(try plan("smaug-72b", precision: .bitsPerWeight(3), devices: "cpu:400GB", length: 1).kvCacheBytesPerToken == 2_621_440)
    }

    @Test func quantizedCacheBytesFollowExLlamaV2() {
        // Bytes per token per layer for H_kv·d = 8192: 4, 2.125, 1.625 and 1.125 per element.
        #expect(CacheType.fp16.bytesPerTokenPerLayer(kvWidth: 8192) == 4 * 8192)
        #expect(CacheType.q8.bytesPerTokenPerLayer(kvWidth: 8192) == 17408)
        #expect(CacheType.q6.bytesPerTokenPerLayer(kvWidth: 8192) == 13312)
        #expect(CacheType.q4.bytesPerTokenPerLayer(kvWidth: 8192) == 9216)
    }

    @Test func smaugWeightsOnlySplitFloodsADevice() throws {
        // ExLlamaV2's gpu_split {10,14,23} places weights only; the cache then follows the layers.
        let footprint = ModelFootprint(name: "smaug-72b", config: try catalog("smaug-72b"), precision: .bitsPerWeight(3))
        let request = PlanRequest(devices: try DeviceList.parse("3x24GB"), maxSequenceLength: 8192)
        let totals = Planner.weightsOnlySplit(footprint, request, length: 8192, splitBytes: [10e9, 14e9, 23e9].map { Int($0) })
        #expect(totals[1] > 24_000_000_000, "GPU 1 holds \(totals[1]) bytes")
        #expect(totals[0] < 24_000_000_000 && totals[2] < 24_000_000_000)
    }

    @Test func smaugAtTheSameSplitIsRefusedWithWaysOut() throws {
        let p = try plan("smaug-72b", precision: .bitsPerWeight(3), devices: "3x24GB", split: [10, 14, 23], length: 8192)
        #expect(!p.fits)
        // Every device is kept to its share; the overflow is named, on the last device.
        #expect(p.devices[0].overflowBytes == 0 && p.devices[1].overflowBytes == 0 && p.devices[2].overflowBytes > 0)
        #expect(p.suggestions.contains { $0.hasPrefix("--max-seq-len") })
        #expect(p.suggestions.contains { $0.hasPrefix("--cache q8") || $0.hasPrefix("--cache q6") || $0.hasPrefix("--cache q4") })
        #expect(p.suggestions.contains { $0.hasPrefix("--bpw") })
        #expect(p.suggestions.contains { $0.hasPrefix("--split") })
        // Each suggestion must itself fit.
        let suggestedLength = Int(try #require(p.suggestions.first { $0.hasPrefix("--max-seq-len") }).split(separator: " ")[1])!
        #expect(try plan("smaug-72b", precision: .bitsPerWeight(3), devices: "3x24GB", split: [10, 14, 23], length: suggestedLength).fits)
        #expect(try !plan("smaug-72b", precision: .bitsPerWeight(3), devices: "3x24GB", split: [10, 14, 23], length: suggestedLength + 1).fits)
    }

    @Test func smaugFitsWhenLoomPlacesTheCacheToo() throws {
        let p = try plan("smaug-72b", precision: .bitsPerWeight(3), devices: "3x24GB", length: 8192)
        #expect(p.fits)
        for device in p.devices { #expect(device.totalBytes <= device.budgetBytes) }
        #expect(p.layerDevice.count == 80)
        // The cache is where its layers are: 256 MiB of fp16 cache per layer at 8192 tokens.
        for device in p.devices where device.layers != nil {
            #expect(device.cacheBytes == device.layers!.count * 2_621_440 / 80 * 8192)
        }
    }

    @Test func smaugContextReachWithQ4Cache() throws {
        let fp16 = try plan("smaug-72b", precision: .bitsPerWeight(3), devices: "3x24GB", length: nil)
        let q4 = try plan("smaug-72b", precision: .bitsPerWeight(3), devices: "3x24GB", length: nil, cache: .q4)
        #expect(fp16.fits && q4.fits)
        // fp16 stops short of the trained context; q4 (1.125 bytes per element) reaches all of it.
        #expect(fp16.maxSequenceLength < 32768 && fp16.maxSequenceLength > 8192)
        #expect(q4.maxSequenceLength == 32768)
        #expect(q4.kvCacheBytesPerToken == 737_280)   // 1.125 · 64 · 128 · 80
    }

    @Test func balancedSplitEvensOutUsage() throws {
        let list = try DeviceList.parse("4090,4090,4090")
        let footprint = ModelFootprint(name: "llama-2-70b", config: try catalog("llama-2-70b"), precision: .ggufMix(.q4_k_m))
        let p = Planner.plan(footprint, PlanRequest(devices: list, balance: true, maxSequenceLength: 4096))
        #expect(p.fits)
        let totals = p.devices.map(\.totalBytes)
        #expect(totals.max()! - totals.min()! < 2_000_000_000, "\(totals)")
    }

    @Test func deviceListsParse() throws {
        #expect(try DeviceList.parse("3x24GB").map(\.budgetBytes) == [24_000_000_000, 24_000_000_000, 24_000_000_000])
        #expect(try DeviceList.parse("4090,3090").map(\.budgetBytes) == [24 << 30, 24 << 30])
        #expect(try DeviceList.parse("cpu:16GB,cpu:8GiB").map(\.budgetBytes) == [16_000_000_000, 8 << 30])
        #expect(throws: PlanError.self) { try DeviceList.parse("banana") }
    }
}
