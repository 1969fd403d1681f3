import Foundation
import LoomTokenizer
import Testing
@testable import LoomGenerate

/// Per-token cost of grammar masks on the Qwen2 vocabulary, while walking JSON documents token by
/// token. Runs only with LOOM_BENCH_GRAMMAR=1 (tools/bench-grammar); prints a table.
struct GrammarBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["LOOM_BENCH_GRAMMAR"] == "1"

    static let document = #"""
    {"id": 1187, "name": "Grace Hopper", "email": "grace@navy.mil", "roles": ["admin", "dev"], "born": "1906-12-09",
     "address": {"street": "12 Elm St.", "city": "Arlington", "zip": "22201"}, "active": true, "score": 97.25,
     "notes": "Wrote the first compiler; coined \"debugging\". Liked clocks that run backwards — 逆時計 🕰️.",
     "tags": ["navy", "cobol", "compilers", "nanoseconds"], "manager": null}
    """#

    static let schema = #"""
    {"type": "object", "properties": {
      "id": {"type": "integer", "minimum": 1}, "name": {"type": "string"}, "email": {"type": ["string", "null"]},
      "roles": {"type": "array", "items": {"enum": ["admin", "dev", "guest"]}, "maxItems": 3},
      "born": {"type": "string", "format": "date"},
      "address": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                  "required": ["street", "city", "zip"], "additionalProperties": false},
      "active": {"type": "boolean"}, "score": {"type": "number"}, "notes": {"type": "string"},
      "tags": {"type": "array", "items": {"type": "string"}}, "manager": {"anyOf": [{"type": "null"}, {"type": "string"}]}},
     "required": ["id", "name", "roles"], "additionalProperties": false}
    """#

    struct Stats: CustomStringConvertible {
        var samples: [Double]
        var description: String {
            let s = samples.sorted()
            let mean = s.reduce(0, +) / Double(s.count)
            return String(format: "min %.4f  median %.4f  mean %.4f  max %.4f ms  (%d tokens)", s.first!, s[s.count / 2], mean, s.last!, s.count)
        }
    }

    static func milliseconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    @Test(.enabled(if: enabled, "set LOOM_BENCH_GRAMMAR=1 (tools/bench-grammar)"))
    func perTokenMaskCost() throws {
        let tokenizer = try Tokenizer(ggufFile: GrammarFixtures.qwen2Vocabulary)
        let ends: Set<Int32> = tokenizer.eos.map { [$0] } ?? []
        var trieTime = 0.0
        trieTime = Self.milliseconds { _ = TokenTrie(tokenizer) }
        let trie = TokenTrie.shared(for: tokenizer)
        print("Qwen2 vocabulary: \(tokenizer.vocabularySize) tokens, trie of \(trie.bytes.count) nodes built in \(String(format: "%.1f", trieTime)) ms")
        let document = Self.document.replacingOccurrences(of: "\n", with: "")
        let tokens = tokenizer.encode(document)
        for (label, grammar) in [("json.gbnf", try Grammar(gbnf: GrammarFixtures.text("json.gbnf"))), ("schema", try Grammar.jsonSchema(Self.schema))] {
            #expect(matches(grammar, document), "\(label) accepts the document")
            // Full mask, cold automaton, no remembered masks: every state met for the first time
            // is built while scanning.
            let cold = TokenConstraint(grammar: grammar, tokenizer: tokenizer, endTokens: ends, remembersMasks: false)
            var coldTimes: [Double] = [], warmTimes: [Double] = [], cachedTimes: [Double] = [], checkTimes: [Double] = []
            var allowedCounts: [Int] = []
            var m = GrammarMatcher(grammar)
            for token in tokens {
                var mask: TokenMask? = nil
                coldTimes.append(Self.milliseconds { mask = cold.allowedTokens(after: m) })
                allowedCounts.append(mask!.count)
                #expect(mask!.contains(token))
                _ = cold.advance(&m, by: token)
            }
            // The same walk again: the automaton is warm, masks are still scanned.
            m = GrammarMatcher(grammar)
            for token in tokens {
                warmTimes.append(Self.milliseconds { _ = cold.allowedTokens(after: m) })
                _ = cold.advance(&m, by: token)
            }
            // The default constraint (remembers masks per state), on a fresh automaton.
            let cached = TokenConstraint(grammar: grammar, tokenizer: tokenizer, endTokens: ends)
            m = GrammarMatcher(grammar)
            for token in tokens {
                cachedTimes.append(Self.milliseconds { _ = cached.allowedTokens(after: m) })
                _ = cached.advance(&m, by: token)
            }
            // Check the sampled token first (the document's token, always allowed here), then
            // advance: the full mask is never needed.
            let checking = TokenConstraint(grammar: grammar, tokenizer: tokenizer, endTokens: ends)
            m = GrammarMatcher(grammar)
            for token in tokens {
                checkTimes.append(Self.milliseconds {
                    if checking.allows(token, after: m) { _ = checking.advance(&m, by: token) } else { _ = checking.allowedTokens(after: m) }
                })
            }
            print("\(label): \(tokens.count) tokens, allowed per state: min \(allowedCounts.min()!) median \(allowedCounts.sorted()[allowedCounts.count / 2]) max \(allowedCounts.max()!)")
            print("  full mask, cold automaton:           \(Stats(samples: coldTimes))")
            print("  full mask, warm automaton:           \(Stats(samples: warmTimes))")
            print("  full mask, default (masks cached):   \(Stats(samples: cachedTimes))")
            print("  check sampled token first + advance: \(Stats(samples: checkTimes))")
        }
    }
}
