import Foundation
import Testing
import LoomFormats
import LoomModel
import LoomRuntime

/// Sliding-window layers on pages of their own, which keep only the window: the same logits as
/// an engine whose window layers keep every position (`fullWindowCache`, llama.cpp's
/// `--swa-full`), bit for bit, over sequences many windows long, batched, rewound and forked
/// behind the window (which recomputes), while each sequence holds a bounded number of pages.
@Suite struct WindowCacheTests {
    static let models = ["gemma3-local-global-bf16", "mixtral-window-bf16", "phi3-window-f32"].map { Golden.root + "/" + $0 }

    static func engine(_ path: String, full: Bool) throws -> Engine {
        try Engine(path: path, options: EngineOptions(maxSequenceLength: 256, chunkTokens: 16, cacheType: .f32, threads: 2, parallel: 3,
                                                      pageTokens: 16, fullWindowCache: full))
    }

    @Test(arguments: models)
    func windowPagesGiveTheLogitsOfAFullCache(_ path: String) throws {
        let windowed = try Self.engine(path, full: false), full = try Self.engine(path, full: true)
        let paging = try #require(windowed.plan.window)
        #expect(full.plan.window == nil)
        let windowLayers = (0..<windowed.config.layerCount).filter { windowed.plan.keepsWindow(layer: $0) }
        #expect(!windowLayers.isEmpty)
        for layer in windowLayers { #expect(windowed.plan.layerCacheBytes[layer] * 2 <= full.plan.layerCacheBytes[layer]) }
        let vocab = windowed.config.vocabSize
        let prompts = (0..<3).map { i in (0..<(5 + 9 * i)).map { (i * 37 + $0 * 11 + 3) % vocab } }
        // Prompts in chunks of the pass, then decode steps of all three together, far past the window.
        func run(_ engine: Engine) throws -> (ids: [SequenceID], rows: [[[Float]]]) {
            let ids = prompts.map { _ in engine.createSequence() }
            var rows: [[[Float]]] = prompts.map { _ in [] }
            var next: [Int] = []
            for (i, prompt) in prompts.enumerated() {
                var logits: [Float] = []
                for start in stride(from: 0, to: prompt.count, by: 16) {
                    let piece = Array(prompt[start..<min(prompt.count, start + 16)])
                    logits = try engine.forward([SequenceChunk(sequence: ids[i], tokens: piece)])[0].last ?? logits
                }
                rows[i].append(logits)
                next.append(argmax(logits))
            }
            for _ in 0..<150 {
                let step = try engine.forward(zip(ids, next).map { SequenceChunk(sequence: $0, tokens: [$1]) })
                for i in ids.indices { rows[i].append(step[i][0]) }
                next = step.map { argmax($0[0]) }
                if engine === windowed {
                    for id in ids {
                        let held = try engine.pages.windowPages(id).filter { $0 >= 0 }.count
                        #expect(held <= paging.pagesPerSequence)
                    }
                }
            }
            return (ids, rows)
        }
        let (ids, windowedRows) = try run(windowed)
        let (fullIDs, fullRows) = try run(full)
        #expect(windowedRows == fullRows, "\(path)")
        #expect(try windowed.pages.windowPages(ids[0]).first == -1, "long sequences dropped their first window pages")

        // Rewinding and forking behind the window recompute; a short rewind does not need to.
        for (engine, id) in [(windowed, ids[1]), (full, fullIDs[1])] { try engine.truncate(id, to: 60) }
        let windowFork = try windowed.fork(ids[2], length: 40), fullFork = try full.fork(fullIDs[2], length: 40)
        let shortRewind = try windowed.length(ids[0]) - 3
        try windowed.truncate(ids[0], to: shortRewind)
        try full.truncate(fullIDs[0], to: shortRewind)
        var tokens = [5, 6, 7]
        for _ in 0..<8 {
            let a = try windowed.forward(zip([ids[0], ids[1], windowFork], tokens).map { SequenceChunk(sequence: $0, tokens: [$1]) })
            let b = try full.forward(zip([fullIDs[0], fullIDs[1], fullFork], tokens).map { SequenceChunk(sequence: $0, tokens: [$1]) })
            #expect(a == b, "\(path) after rewinds")
            tokens = a.map { argmax($0[0]) }
        }
        for engine in [windowed, full] {
            for device in engine.usage { #expect(device.peakBytes == device.plannedBytes, "\(path): \(device.byLabel)") }
            for id in engine.pages.sequenceIDs { engine.free(id) }
            #expect(engine.pages.isConsistent())
            #expect(engine.pages.referencedWindowPageCount == 0)
        }
    }

    /// The planner counts a window layer's pages only: Gemma 3 27B at 128k holds its 52 local
    /// layers' windows (1024 positions, plus a pass's rows, a spare page and tile alignment: 27
    /// pages of 64) and its 10 global layers' whole context, about a sixth of a cache in which
    /// every layer keeps every position (10/62 = 0.161; the windows add 0.011).
    @Test func gemma3CacheIsAboutASixthOfAFullOne() throws {
        let config = try #require(ModelCatalog.entries["gemma-3-27b"])
        let footprint = ModelFootprint(name: "gemma-3-27b", config: config, precision: .ggufMix(.q4_k_m))
        func plan(full: Bool) -> MemoryPlan {
            Planner.plan(footprint, PlanRequest(devices: [DeviceSpec(name: "cpu0", budgetBytes: 1 << 40, kind: .cpu)],
                                                maxSequenceLength: 131_072, fullWindowCache: full))
        }
        let windowed = plan(full: false), everything = plan(full: true)
        let cache = windowed.devices.map(\.cacheBytes).reduce(0, +), fullCache = everything.devices.map(\.cacheBytes).reduce(0, +)
        let global = (0..<config.layerCount).filter { config.window(layer: $0) == nil }.count
        #expect(global * 6 <= config.layerCount + 5)
        let ratio = Double(cache) / Double(fullCache)
        #expect(ratio > Double(global) / Double(config.layerCount) && ratio < Double(global) / Double(config.layerCount) + 0.02,
                "\(ratio)")
        #expect(windowed.kvCacheBytes(context: 131_072) < everything.kvCacheBytesPerToken * 131_072 / 5)
    }
}
