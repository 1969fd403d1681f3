import Foundation
import LoomFormats
import LoomModel
@testable import LoomRuntime
import LoomVulkan
import Testing

/// vulkan:0 opens, or the tests are required (LOOM_REQUIRE_VULKAN=1, as .ci/run sets) and fail
/// on it; elsewhere they skip.
enum VulkanAvailability {
    static var available: Bool {
        do {
            _ = try VulkanDevice.shared(index: 0)
            return true
        } catch {
            if ProcessInfo.processInfo.environment["LOOM_REQUIRE_VULKAN"] == "1" { return true }
            print("skipping the Vulkan backend tests: \(error)")
            return false
        }
    }
}

/// The Vulkan backend against the CPU backend: the same plan contract, the same pages, logits
/// within 1e-3 relative and the same greedy tokens, on Mesa's lavapipe in CI.
@Suite(.enabled(if: VulkanAvailability.available))
struct VulkanBackendTests {
    static let bound: Float = 1e-3
    static let demoQ8 = "Models/loom-demo/gguf/loom-demo-Q8_0.gguf"
    static let demoF16 = "Models/loom-demo/gguf/loom-demo-F16.gguf"
    static let prompt = [1, 450, 3_020, 310, 278, 3_303, 29_892, 263, 1_067, 2_000, 17, 5, 900, 44, 7_000, 12]

    static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// An engine on `devices` (a --devices list), with an fp16 cache.
    static func engine(_ path: String, devices: String, length: Int = 256, parallel: Int = 1, chunk: Int = 64,
                       cache: CacheType = .fp16) throws -> Engine {
        let files = try ModelFiles(path: path.hasPrefix("/") ? path : root + "/" + path)
        let request = PlanRequest(devices: try DeviceList.parse(devices), maxSequenceLength: length, cacheType: cache,
                                  parallel: parallel, chunkTokens: chunk, threads: 2, reserveBytes: 0)
        let plan = Planner.plan(try files.footprint(), request)
        return try Engine(config: files.config, source: files.source, ropeLayout: files.ropeLayout, plan: plan)
    }

    static func cpuEngine(_ path: String, length: Int = 256, cache: CacheType = .fp16) throws -> Engine {
        try engine(path, devices: "cpu:8GB", length: length, cache: cache)
    }

    /// The test prompt in `engine`'s vocabulary.
    func promptTokens(for engine: Engine) -> [Int] { Self.prompt.map { $0 % engine.config.vocabSize } }

    /// Greedy continuation of `prompt`, one token per pass.
    func greedy(_ engine: Engine, prompt: [Int], count: Int) throws -> [Int] {
        var logits = try engine.evaluate(prompt).last!
        var out: [Int] = []
        for _ in 0..<count {
            let next = argmax(logits)
            out.append(next)
            logits = try engine.evaluate([next]).last!
        }
        return out
    }

    /// The CPU backend on `path`'s weights dequantized to f32 (exact products, f32 activations).
    static func dequantizedCPUEngine(_ path: String, length: Int = 256, cache: CacheType = .fp16) throws -> Engine {
        let files = try ModelFiles(path: root + "/" + path)
        let source = DequantizedSource(inner: files.source)
        let request = PlanRequest(devices: try DeviceList.parse("cpu:8GB"), maxSequenceLength: length, cacheType: cache,
                                  chunkTokens: 64, threads: 2, reserveBytes: 0)
        let plan = Planner.plan(try ModelFootprint(name: path, config: files.config, source: source), request)
        return try Engine(config: files.config, source: source, ropeLayout: files.ropeLayout, plan: plan)
    }

    /// The demo model in F16 and Q8_0 against the CPU on the same weights in f32 arithmetic
    /// (for Q8_0, the dequantized weights: the CPU's Q8_0 kernels round the activations to
    /// 8 bits, the GPU's do not), and the greedy continuation against the CPU's own Q8_0 kernels.
    @Test(arguments: [demoQ8, demoF16])
    func demoModelMatchesTheCPU(path: String) throws {
        let gpu = try Self.engine(path, devices: "vulkan:0")
        let exact = try Self.dequantizedCPUEngine(path), cpu = try Self.cpuEngine(path)
        let prompt = promptTokens(for: gpu)
        let gpuLogits = try gpu.evaluate(prompt, allPositions: true)
        let exactLogits = try exact.evaluate(prompt, allPositions: true), cpuLogits = try cpu.evaluate(prompt, allPositions: true)
        let error = relativeMaxError(gpuLogits, exactLogits)
        #expect(error <= Self.bound, "\(path): max|Δ|/max|ref| = \(error)")
        // The CPU's own kernels are no closer to the exact products than the GPU's.
        #expect(error <= max(relativeMaxError(cpuLogits, exactLogits), 1e-4), "\(path)")
        gpu.reset(); cpu.reset()
        #expect(try greedy(gpu, prompt: prompt, count: 24) == greedy(cpu, prompt: prompt, count: 24))
        // The device holds what the plan named: planned bytes are the ledger's peak.
        for device in gpu.usage { #expect(device.peakBytes == device.plannedBytes, "\(device.name): \(device.byLabel)") }
    }

    /// The argmax taken on the GPU (a token id comes back) picks what the argmax of the logits
    /// it sends back picks.
    @Test func greedyOnTheDeviceMatchesTheLogits() throws {
        let gpu = try Self.engine(Self.demoQ8, devices: "vulkan:0")
        let prompt = promptTokens(for: gpu)
        let fromLogits = try greedy(gpu, prompt: prompt, count: 24)
        gpu.reset()
        var onDevice = [try gpu.greedyNext(after: prompt)]
        while onDevice.count < 24 { onDevice.append(try gpu.greedyNext(after: [onDevice.last!])) }
        #expect(onDevice == fromLogits)
        // Several rows at once, as a batch of sequences asks.
        let a = gpu.createSequence(), b = gpu.createSequence()
        let chunks = [SequenceChunk(sequence: a, tokens: Array(prompt.prefix(5)), logits: .all),
                      SequenceChunk(sequence: b, tokens: Array(prompt.suffix(3)), logits: .last)]
        let tokens = try gpu.forwardGreedy(chunks)
        gpu.free(a); gpu.free(b)
        let a2 = gpu.createSequence(), b2 = gpu.createSequence()
        let logits = try gpu.forward([SequenceChunk(sequence: a2, tokens: Array(prompt.prefix(5)), logits: .all),
                                      SequenceChunk(sequence: b2, tokens: Array(prompt.suffix(3)), logits: .last)])
        #expect(tokens == logits.map { $0.map(argmax) })
    }

    /// The quantized caches: the demo model's F16 file on the GPU against the CPU with the same
    /// cache, and the same greedy tokens.
    @Test(arguments: [CacheType.q8, .q6, .q4])
    func quantizedCachesMatchTheCPU(cache: CacheType) throws {
        let gpu = try Self.engine(Self.demoF16, devices: "vulkan:0", cache: cache), cpu = try Self.cpuEngine(Self.demoF16, cache: cache)
        let prompt = promptTokens(for: gpu)
        let error = relativeMaxError(try gpu.evaluate(prompt, allPositions: true), try cpu.evaluate(prompt, allPositions: true))
        #expect(error <= Self.bound, "\(cache): max|Δ|/max|ref| = \(error)")
        gpu.reset(); cpu.reset()
        #expect(try greedy(gpu, prompt: prompt, count: 24) == greedy(cpu, prompt: prompt, count: 24), "\(cache)")
        for device in gpu.usage { #expect(device.peakBytes == device.plannedBytes, "\(device.name): \(device.byLabel)") }
    }

    /// gpt-oss with MXFP4 experts (the openai layout, transposed into the arena at load and sent
    /// up in GGUF's blocks): against transformers' float64 logits it is no further than the CPU,
    /// whose MXFP4 kernels round the experts' activations to 8 bits (the GPU's keep them in f32),
    /// and it continues greedily as the CPU does.
    @Test func mxfp4ExpertsAreAsCloseToTransformersAsTheCPU() throws {
        let fixture = try MXFP4CheckpointTests.Fixture()
        let checkpoint = MXFP4CheckpointTests.root + "/gptoss"
        let gpu = try Self.engine(checkpoint, devices: "vulkan:0", length: 64), cpu = try Self.cpuEngine(checkpoint, length: 64)
        let exact = try fixture.rows("logits-f64.f32")
        let gpuError = relativeMaxError(try gpu.evaluate(fixture.tokens, allPositions: true), exact)
        let cpuError = relativeMaxError(try cpu.evaluate(fixture.tokens, allPositions: true), exact)
        print("MXFP4 checkpoint vs transformers' float64 logits: Vulkan \(gpuError), CPU \(cpuError)")
        #expect(gpuError <= cpuError, "Vulkan \(gpuError) against the CPU's \(cpuError)")
        gpu.reset(); cpu.reset()
        #expect(try greedy(gpu, prompt: fixture.tokens, count: 16) == greedy(cpu, prompt: fixture.tokens, count: 16))
        for device in gpu.usage { #expect(device.peakBytes == device.plannedBytes, "\(device.name): \(device.byLabel)") }
    }

    /// Two plan lines on one GPU hand the hidden state over at their boundary (through the
    /// host), and a CPU line before a GPU line does the same: both equal one device's logits
    /// (bit for bit between Vulkan lines; within the bound across backends, on the F16 model,
    /// whose CPU kernels keep f32 activations as the GPU's do).
    @Test func splitsHandTheHiddenStateOver() throws {
        let one = try Self.engine(Self.demoQ8, devices: "vulkan:0")
        let prompt = promptTokens(for: one)
        let reference = try one.evaluate(prompt, allPositions: true)
        let layerBytes = try ModelFiles(path: Self.root + "/" + Self.demoQ8).footprint().layerBytes[0]
        // A budget of a few layers on the first line puts the rest on the second.
        let first = 3 * layerBytes + (4 << 20)
        let twoGPUs = try Self.engine(Self.demoQ8, devices: "vulkan:0:\(first),vulkan:0")
        #expect(twoGPUs.plan.devices.filter(\.isUsed).count == 2, "\(twoGPUs.plan.devices.map(\.layers))")
        #expect(try twoGPUs.evaluate(prompt, allPositions: true) == reference)
        let f16LayerBytes = try ModelFiles(path: Self.root + "/" + Self.demoF16).footprint().layerBytes[0]
        let mixed = try Self.engine(Self.demoF16, devices: "cpu:\(3 * f16LayerBytes + (4 << 20)),vulkan:0")
        #expect(mixed.plan.devices.filter(\.isUsed).count == 2, "\(mixed.plan.devices.map(\.layers))")
        let f16Reference = try Self.engine(Self.demoF16, devices: "vulkan:0").evaluate(prompt, allPositions: true)
        #expect(relativeMaxError(try mixed.evaluate(prompt, allPositions: true), f16Reference) <= Self.bound)
    }

    /// Several sequences in one pass, a prefix shared by fork and written into after the fork
    /// (the page is copied first), each row equal to the same sequence run alone.
    @Test func batchesAndSharedPagesMatchOneSequenceAlone() throws {
        let gpu = try Self.engine(Self.demoQ8, devices: "vulkan:0", parallel: 4, chunk: 128)
        let vocab = gpu.config.vocabSize
        let prompt = (0..<70).map { ($0 * 37 + 11) % vocab }
        let a = gpu.createSequence(), b = gpu.createSequence()
        _ = try gpu.forward([SequenceChunk(sequence: a, tokens: prompt, logits: .none),
                             SequenceChunk(sequence: b, tokens: Array(prompt.prefix(9)), logits: .none)])
        // c shares a's first 66 tokens, so its next token lands inside a shared page.
        let c = try gpu.fork(a, length: 66)
        let batched = try gpu.forward([SequenceChunk(sequence: a, tokens: [5], logits: .last),
                                       SequenceChunk(sequence: b, tokens: [6, 7], logits: .all),
                                       SequenceChunk(sequence: c, tokens: [8], logits: .last)])
        let alone = try Self.engine(Self.demoQ8, devices: "vulkan:0")
        let expectA = try alone.evaluate(prompt + [5]).last!
        alone.reset()
        let expectB = try alone.evaluate(Array(prompt.prefix(9)) + [6, 7], allPositions: true).suffix(2)
        alone.reset()
        let expectC = try alone.evaluate(Array(prompt.prefix(66)) + [8]).last!
        #expect(batched[0] == [expectA])
        #expect(batched[1] == Array(expectB))
        #expect(batched[2] == [expectC])
    }

    @Test func aModelTooLargeForTheDeviceIsRefusedByThePlan() throws {
        #expect(throws: PlanError.self) { try Self.engine(Self.demoQ8, devices: "vulkan:0:2MB") }
        let info = try VulkanDevice.shared(index: 0).info
        #expect(throws: PlanError.self) { try DeviceList.parse("vulkan:0:\(info.deviceLocalBytes + 1)") }
        #expect(throws: PlanError.self) { try DeviceList.parse("vulkan:99") }
    }

    /// The goldens the backend runs: all of them.
    static let runsOnVulkan: Set<String> = ["gptoss-f32", "gptoss-llamacpp-f32", "gptoss-sinks-window-bf16", "gemma2-llamacpp-f32", "gemma2-softcap-bf16", "gemma3-llamacpp-f32", "gemma3-local-global-bf16",
                                            "llama-attn-bias-bf16", "llama-gqa-f32", "llama-mha-tied-f16", "llama-rope-linear-f32",
                                            "llama-rope-yarn-f16", "llama3-rope-bf16", "mistral-gqa-sharded-bf16", "phi3-longrope-bf16",
                                            "phi3-window-f32", "qwen2-bias-tied-bf16", "qwen3-qknorm-bf16",
                                            "mixtral-llamacpp-f32", "mixtral-window-bf16", "qwen3moe-llamacpp-f32",
                                            "qwen3moe-top2of6-unnormalized-f32", "qwen3moe-top3of8-bf16"]

    /// Every golden model the backend runs, against the CPU and against transformers (logits, and
    /// the greedy continuation); every other one is refused by name.
    @Test(arguments: Golden.all)
    func goldenModels(_ golden: Golden) throws {
        let length = golden.tokens.count + 32
        let files = try ModelFiles(path: golden.directory)
        let cpuPlan = Planner.plan(try files.footprint(), PlanRequest(devices: try DeviceList.parse("cpu:8GB"), maxSequenceLength: length,
                                                                          cacheType: .fp16, chunkTokens: 64, reserveBytes: 0))
        let reasons = VulkanBackend.unsupported(files.config, plan: cpuPlan)
        #expect(reasons.isEmpty == Self.runsOnVulkan.contains(golden.name), "\(golden.name): \(reasons)")
        guard reasons.isEmpty else {
            let refused = #expect(throws: EngineError.self) { try Self.engine(golden.directory, devices: "vulkan:0", length: length) }
            #expect(refused.map { "\($0)" }?.contains(reasons[0]) == true, "\(golden.name): \(String(describing: refused))")
            return
        }
        let gpu = try Self.engine(golden.directory, devices: "vulkan:0", length: length)
        let cpu = try Engine(config: files.config, source: files.source, ropeLayout: files.ropeLayout, plan: cpuPlan)
        let gpuLogits = try gpu.evaluate(golden.tokens, allPositions: true)
        let cpuLogits = try cpu.evaluate(golden.tokens, allPositions: true)
        #expect(relativeMaxError(gpuLogits, cpuLogits) <= Self.bound, "\(golden.name) against the CPU")
        let cpuError = relativeMaxError(cpuLogits, golden.logits)
        #expect(relativeMaxError(gpuLogits, golden.logits) <= max(2 * cpuError, 1e-4), "\(golden.name) against transformers (the CPU: \(cpuError))")
        for device in gpu.usage { #expect(device.peakBytes == device.plannedBytes, "\(golden.name) \(device.name): \(device.byLabel)") }
        gpu.reset()
        #expect(try greedy(gpu, prompt: golden.tokens, count: golden.greedy.count) == golden.greedy, "\(golden.name): greedy")
    }
}
