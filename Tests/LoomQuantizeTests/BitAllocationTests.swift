import Foundation
import LoomFormats
import LoomTokenizer
@testable import LoomKernels
@testable import LoomModel
@testable import LoomRuntime
import Testing

/// The allocator against exhaustive search, and the measurements it is fed on the demo model.
@Suite struct BitAllocationTests {
    typealias Candidate = BitAllocation.Candidate
    static let types: [QuantType] = [.q2_K, .q3_K, .iq4_xs, .q4_K, .q5_K, .q6_K, .q8_0]

    /// A deterministic generator (SplitMix64), so that every instance can be rerun.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The cheapest assignment within the budget, by trying every one.
    static func exhaustive(_ tensors: [[Candidate]], budget: Int) -> Double? {
        var best: Double?
        func walk(_ t: Int, bytes: Int, cost: Double) {
            if bytes > budget { return }
            if t == tensors.count {
                if best == nil || cost < best! { best = cost }
                return
            }
            for c in tensors[t] { walk(t + 1, bytes: bytes + c.bytes, cost: cost + c.cost) }
        }
        walk(0, bytes: 0, cost: 0)
        return best
    }

    static func cost(_ tensors: [[Candidate]], _ chosen: [Int]) -> (bytes: Int, cost: Double) {
        zip(tensors, chosen).reduce((0, 0.0)) { ($0.0 + $1.0[$1.1].bytes, $0.1 + $1.0[$1.1].cost) }
    }

    /// Tensors of equal size with convex, falling costs: greedy steps are all the same size, so
    /// the greedy choice is the optimum; the allocator must find it at every budget.
    @Test func equalStepsWithConvexCostsGiveTheOptimum() {
        var random = Generator(state: 1)
        for _ in 0..<40 {
            let tensors: [[Candidate]] = (0..<5).map { _ in
                var cost = Double.random(in: 1...10, using: &random), drop = cost * Double.random(in: 0.3...0.7, using: &random)
                return (0..<5).map { level in
                    defer { cost -= drop; drop *= Double.random(in: 0.2...0.9, using: &random) }
                    return Candidate(type: Self.types[level], bytes: 100 * (level + 1), cost: cost)
                }
            }
            for budget in stride(from: 500, through: 2500, by: 100) {
                let chosen = try! #require(BitAllocation.choose(tensors, budgetBytes: budget))
                let got = Self.cost(tensors, chosen)
                let optimum = Self.exhaustive(tensors, budget: budget)!
                #expect(got.bytes <= budget)
                #expect(abs(got.cost - optimum) <= 1e-9 * (1 + abs(optimum)), "budget \(budget): \(got.cost) against \(optimum)")
            }
        }
    }

    /// Arbitrary sizes and costs (not convex, not monotone): never over budget, never an
    /// affordable single upgrade left, and close to the optimum.
    @Test func arbitraryCandidatesStayWithinBudgetAndNearTheOptimum() {
        var random = Generator(state: 2)
        var worst = 0.0
        for _ in 0..<60 {
            let tensors: [[Candidate]] = (0..<4).map { _ in
                (0..<Int.random(in: 1...5, using: &random)).map { i in
                    Candidate(type: Self.types[i], bytes: Int.random(in: 10...400, using: &random), cost: Double.random(in: 0...10, using: &random))
                }
            }
            let smallest = tensors.reduce(0) { $0 + $1.map(\.bytes).min()! }
            let budget = smallest + Int.random(in: 0...800, using: &random)
            let chosen = try! #require(BitAllocation.choose(tensors, budgetBytes: budget))
            let got = Self.cost(tensors, chosen)
            #expect(got.bytes <= budget)
            for (t, options) in tensors.enumerated() {
                for c in options where c.cost < options[chosen[t]].cost {
                    #expect(got.bytes - options[chosen[t]].bytes + c.bytes > budget, "an affordable upgrade of tensor \(t) was left")
                }
            }
            let optimum = Self.exhaustive(tensors, budget: budget)!
            worst = max(worst, (got.cost - optimum) / max(optimum, 1e-9))
        }
        // Greedy knapsack can miss the optimum by about one step; the final fill closes most of it.
        #expect(worst < 0.05, "worst excess over the optimum \(worst)")
        print("allocator on arbitrary candidates: worst cost over the optimum \(String(format: "%.1f", 100 * worst))%")
    }

    @Test func budgetBelowTheSmallestIsRefused() {
        let tensors = [[Candidate(type: .q2_K, bytes: 10, cost: 1), Candidate(type: .q4_K, bytes: 20, cost: 0.5)]]
        #expect(BitAllocation.choose(tensors, budgetBytes: 9) == nil)
        #expect(BitAllocation.choose(tensors, budgetBytes: 10) == [0])
        #expect(BitAllocation.choose(tensors, budgetBytes: 25) == [1])
        #expect(BitAllocation.choose([[]], budgetBytes: 100) == nil)
    }

    /// The measurements on the demo model: a tensor replaced by its own bytes changes nothing
    /// (KL divergence exactly 0), every tensor at q3_K changes the logits, more bits along the K
    /// ladder never add output error, and the allocation at the size of llama.cpp's q4_k_m mix (same tensors,
    /// same importance matrix) is predicted to cost less than that mix's types.
    @Test func demoModelMeasurementsAndAllocation() throws {
        let f16 = QuantizerTests.f16
        let source = try GGUFFile(path: f16)
        let text = try String(contentsOf: QuantizerTests.root.appendingPathComponent("Models/loom-demo/eval.txt"), encoding: .utf8)
        let tokenizer = try Tokenizer(ggufFile: f16)
        let ids = tokenizer.encode(String(text.prefix(4000)), parseSpecial: false).map(Int.init)
        let names = try GGUFQuantizer.quantizable(source)
        #expect(names.count == 7 * 7 + 1, "49 layer matrices and the tied embeddings")

        // The reference against the unchanged model, and the same tensor served from memory.
        let config = try ModelConfig.load(gguf: source)
        let family = ModelArchitectures.of(config)
        let info = try #require(source.tensor(named: "blk.3.ffn_down.weight"))
        let own = ReplacementTensor(type: try #require(QuantType(ggmlTypeID: info.type.id)), bytes: Array(source.data(for: info)))
        let weights = GGUFWeightSource(file: source, naming: { family.ggufTensorName($0) }, replacements: [info.name: own])
        let options = EngineOptions(maxSequenceLength: 128, chunkTokens: 128, threads: 2, logitsRows: 64)
        let plan = try Engine.singleDevicePlan(try ModelFootprint(name: f16, config: config, source: weights), options)
        let same = try Engine(config: config, source: weights, ropeLayout: family.ggufRopeLayout, plan: plan)
        let reference = try LogitReference(engine: try Engine(path: f16, options: options), tokens: ids, context: 128, chunks: 2, bos: nil)
        #expect(try reference.meanKLD(of: same) == 0)

        let measured = try TensorSensitivity.measure(source, tensors: names, importance: nil, tokens: ids, context: 128, chunks: 2,
                                                     bos: nil, threads: 2)
        for tensor in measured {
            #expect(tensor.probeKLD > 0, "\(tensor.name)")
            #expect(tensor.candidates.map(\.type) == Self.types, "\(tensor.name)")
            for (a, b) in zip(tensor.candidates, tensor.candidates.dropFirst()) {
                #expect(b.bytes > a.bytes, "\(tensor.name): \(b.type) against \(a.type)")
            }
            // Along the K ladder more bits never add output error; iq4_xs (4.25 bits, a
            // non-linear grid) sits between q3_K and q5_K, either side of q4_K.
            let cost = Dictionary(uniqueKeysWithValues: tensor.candidates.map { ($0.type, $0.cost) })
            let ladder: [QuantType] = [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_0]
            for (a, b) in zip(ladder, ladder.dropFirst()) {
                #expect(cost[b]! <= cost[a]! * 1.0001, "\(tensor.name): \(b) \(cost[b]!) against \(a) \(cost[a]!)")
            }
            #expect(cost[.iq4_xs]! <= cost[.q3_K]! && cost[.q5_K]! <= cost[.iq4_xs]!, "\(tensor.name): iq4_xs \(cost[.iq4_xs]!)")
        }
        let recipe = try GGUFQuantizer.plan(source, scheme: .q4_k_m, importance: nil)
        let typeOf = Dictionary(uniqueKeysWithValues: recipe.tensors.map { ($0.name, QuantType(ggmlTypeID: $0.type.id)!) })
        let recipeIndices = measured.map { tensor in tensor.candidates.firstIndex { $0.type == typeOf[tensor.name] }! }
        let recipeCost = Self.cost(measured.map(\.candidates), recipeIndices)
        let chosen = try #require(BitAllocation.choose(measured.map(\.candidates), budgetBytes: recipeCost.bytes))
        let allocated = Self.cost(measured.map(\.candidates), chosen)
        #expect(allocated.bytes <= recipeCost.bytes)
        #expect(allocated.cost < recipeCost.cost, "allocated \(allocated.cost), q4_k_m's types \(recipeCost.cost)")
        print("demo model at q4_k_m's size: predicted KLD \(allocated.cost) allocated, \(recipeCost.cost) with q4_k_m's types")
    }
}
