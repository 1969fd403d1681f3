import Foundation
import Testing
@testable import LoomGenerate

/// Each sampler stage against tools/samplers/make_expected.py (a NumPy implementation of the
/// stage as llama.cpp defines it), on the same fixed logits.
struct SamplerReferenceTests {
    struct Case {
        let name: String
        let stage: String
        let params: [String: Any]
        let context: [Int32]
        let ids: [Int32]
        /// nil stands for −∞.
        let logits: [Float?]
        let probs: [Double]
    }

    nonisolated(unsafe) static let fixture: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/samplers.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static let logits: [Float] = (fixture["logits"] as! [NSNumber]).map(\.floatValue)

    nonisolated(unsafe) static let cases: [Case] = (fixture["cases"] as! [[String: Any]]).map { c in
        Case(name: c["name"] as! String, stage: c["stage"] as! String, params: c["params"] as! [String: Any],
             context: ((c["context"] as? [NSNumber]) ?? []).map { Int32($0.intValue) },
             ids: (c["ids"] as! [NSNumber]).map { Int32($0.intValue) },
             logits: (c["logits"] as! [Any]).map { ($0 as? NSNumber)?.floatValue },
             probs: (c["probs"] as! [NSNumber]).map(\.doubleValue))
    }

    @Test func fixtureHasEveryStage() {
        let stages = Set(Self.cases.map(\.stage))
        #expect(stages == ["temperature", "top_k", "top_p", "min_p", "typical_p", "penalties", "logit_bias", "dry", "xtc", "chain"])
    }

    @Test(arguments: cases.map(\.name))
    func stageMatchesReference(_ name: String) throws {
        let c = Self.cases.first { $0.name == name }!
        var candidates = Candidates(logits: Self.logits)
        let p = c.params
        func f(_ key: String) -> Float { (p[key] as! NSNumber).floatValue }
        func i(_ key: String) -> Int { (p[key] as? NSNumber)?.intValue ?? 0 }
        switch c.stage {
        case "temperature": candidates.applyTemperature(f("temperature"))
        case "top_k": candidates.applyTopK(i("k"), minKeep: i("min_keep"))
        case "top_p": candidates.applyTopP(f("p"), minKeep: i("min_keep"))
        case "min_p": candidates.applyMinP(f("p"), minKeep: i("min_keep"))
        case "typical_p": candidates.applyTypicalP(f("p"), minKeep: i("min_keep"))
        case "penalties":
            candidates.applyPenalties(recent: recentTokens(c.context, lastN: i("last_n")), repetition: f("repeat"),
                                      frequency: f("freq"), presence: f("presence"))
        case "logit_bias":
            var bias: [Int32: Float] = [:]
            for (k, v) in p["bias"] as! [String: Any] { bias[Int32(k)!] = (v as? NSNumber)?.floatValue ?? -.infinity }
            candidates.applyLogitBias(bias)
        case "dry":
            candidates.applyDRY(recent: recentTokens(c.context, lastN: i("last_n")), multiplier: f("multiplier"), base: f("base"),
                                allowedLength: i("allowed"), breakers: Set((p["breakers"] as! [NSNumber]).map { Int32($0.intValue) }))
        case "xtc":
            candidates.applyXTC(probability: f("probability"), threshold: f("threshold"), minKeep: i("min_keep"),
                                draw: (p["draw"] as! NSNumber).doubleValue)
        case "chain":
            var params = SamplingParameters()
            params.logitBias = [5: 1.0]
            params.penaltyLastN = i("penalty_last_n")
            params.repetitionPenalty = f("repeat")
            params.frequencyPenalty = f("freq")
            params.presencePenalty = f("presence")
            params.topK = i("top_k")
            params.typicalP = f("typical_p")
            params.topP = f("top_p")
            params.minP = f("min_p")
            params.temperature = f("temperature")
            params.seed = 1
            #expect(params.order == SamplerStage.llamaDefaultOrder)
            let sampler = try Sampler(parameters: params)
            sampler.candidates.load(Self.logits)
            sampler.candidates.applyLogitBias(params.logitBias)
            sampler.applyChain(context: c.context)
            candidates = sampler.candidates
        default:
            Issue.record("unknown stage \(c.stage)")
        }
        // The same tokens survive, with the same scores.
        let got = Dictionary(uniqueKeysWithValues: candidates.live.map { ($0.id, $0.logit) })
        let want = Dictionary(uniqueKeysWithValues: zip(c.ids, c.logits).map { ($0, $1 ?? -.infinity) })
        #expect(Set(got.keys) == Set(want.keys), "\(name): kept ids")
        for (id, logit) in want {
            guard let mine = got[id] else { continue }
            if logit == -.infinity {
                #expect(mine == -.infinity, "\(name): id \(id)")
            } else {
                #expect(abs(mine - logit) <= 1e-5 * max(1, abs(logit)), "\(name): id \(id) logit \(mine) vs \(logit)")
            }
        }
        // Stages that define an order keep it (top-k and top-p sort; typical orders by surprise).
        if ["top_k", "top_p", "typical_p"].contains(c.stage) {
            #expect(candidates.live.map(\.id) == c.ids, "\(name): order")
        }
        candidates.softmax()
        let probs = Dictionary(uniqueKeysWithValues: (0..<candidates.count).map { (candidates.ids[$0], Double(candidates.probs[$0])) })
        for (id, q) in zip(c.ids, c.probs) {
            #expect(abs((probs[id] ?? -1) - q) <= 1e-5, "\(name): probability of \(id)")
        }
    }

    /// The sorted-prefix selection agrees with a full sort on a vocabulary-sized vector.
    @Test func partialSelectionMatchesFullSort() {
        var random = RandomSource(seed: 99)
        let logits = (0..<151_936).map { _ in Float(random.unit() * 20 - 10) }
        var candidates = Candidates(logits: logits)
        candidates.applyTopK(40)
        let expected = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }.prefix(40)
        #expect(candidates.live.map { Int($0.id) } == Array(expected))
        var nucleus = Candidates(logits: logits)
        nucleus.applyTopP(0.5)
        // A flat distribution needs far more than the first guess of 256: the fallback runs.
        let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        #expect(nucleus.live.map { Int($0.id) } == Array(order.prefix(nucleus.count)))
        #expect(nucleus.count > 256)
    }
}
