import Foundation
import Testing
@testable import LoomGenerate

/// Draws follow the distribution the chain leaves: chi-square against the reference
/// probabilities from tools/samplers/make_expected.py, at a fixed seed.
struct SamplingDistributionTests {
    @Test func drawsMatchReferenceDistribution() throws {
        let s = SamplerReferenceTests.fixture["sampling"] as! [String: Any]
        let ids = (s["ids"] as! [NSNumber]).map { Int32($0.intValue) }
        let probs = (s["probs"] as! [NSNumber]).map(\.doubleValue)
        let draws = (s["draws"] as! NSNumber).intValue
        let critical = (s["critical"] as! NSNumber).doubleValue
        var params = SamplingParameters()
        params.topK = (s["top_k"] as! NSNumber).intValue
        params.temperature = (s["temperature"] as! NSNumber).floatValue
        params.topP = 1
        params.minP = 0
        params.seed = (s["seed"] as! NSNumber).uint64Value
        let sampler = try Sampler(parameters: params)
        var counts: [Int32: Int] = [:]
        for _ in 0..<draws {
            counts[sampler.sample(logits: SamplerReferenceTests.logits, context: []), default: 0] += 1
        }
        #expect(Set(counts.keys).isSubset(of: Set(ids)))
        var chi2 = 0.0
        for (id, p) in zip(ids, probs) {
            let expected = p * Double(draws)
            let observed = Double(counts[id] ?? 0)
            chi2 += (observed - expected) * (observed - expected) / expected
        }
        #expect(chi2 < critical, "chi-square \(chi2) over \(ids.count - 1) degrees of freedom, critical \(critical)")
    }

    /// A sampler that always returned the top token would pass the subset check but not this.
    @Test func chiSquareRejectsAWrongDistribution() throws {
        let s = SamplerReferenceTests.fixture["sampling"] as! [String: Any]
        let probs = (s["probs"] as! [NSNumber]).map(\.doubleValue)
        let draws = Double((s["draws"] as! NSNumber).intValue)
        let critical = (s["critical"] as! NSNumber).doubleValue
        // Uniform draws over the same tokens.
        let chi2 = probs.reduce(0.0) { sum, p in
            let expected = p * draws, observed = draws / Double(probs.count)
            return sum + (observed - expected) * (observed - expected) / expected
        }
        #expect(chi2 > critical)
    }

    @Test func seedReproduces() throws {
        var params = SamplingParameters.untruncated
        params.seed = 42
        params.temperature = 1.5
        func run(_ seed: UInt64) throws -> [Int32] {
            params.seed = seed
            let sampler = try Sampler(parameters: params)
            return (0..<64).map { _ in sampler.sample(logits: SamplerReferenceTests.logits, context: []) }
        }
        let first = try run(42), again = try run(42), other = try run(43)
        #expect(first == again)
        #expect(first != other)
    }

    @Test func badParametersAreRejected() {
        var params = SamplingParameters()
        params.dryBase = 0.5
        #expect(throws: SamplingError.invalidParameter(name: "dry_base", reason: "must be at least 1")) { try Sampler(parameters: params) }
        #expect(throws: SamplingError.unknownStage("top_q")) { try SamplerStage.parseOrder("top_k;top_q") }
        #expect((try? SamplerStage.parseOrder("penalties;dry;top_k;typ_p;top_p;min_p;xtc;temperature")) == SamplerStage.llamaDefaultOrder)
    }
}
