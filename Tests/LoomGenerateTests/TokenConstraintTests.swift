import Foundation
import LoomTokenizer
import Testing
@testable import LoomGenerate

/// Token masks on the real Qwen2 vocabulary (151k tokens, llama.cpp's ggml-vocab-qwen2.gguf).
/// Oracle: every token's bytes fed to a copy of the matcher (the mask must equal it exactly),
/// at states along documents the grammar accepts.
struct TokenConstraintTests {
    static let tokenizer: Tokenizer? = try? Tokenizer(ggufFile: GrammarFixtures.qwen2Vocabulary)

    static let documents: [(grammar: String, text: String)] = [
        ("json.gbnf", #"{"name": "Köln 🌍", "tags": ["a\"b", "\u00e9"], "n": -12.5e3, "ok": true, "x": null, "deep": {"k": [1, [2, {}]]}}"#),
        ("schema", #"{"id": 42, "name": "Ada Lovelace", "email": null, "roles": ["admin", "dev"], "born": "1815-12-10"}"#),
        ("chess.gbnf", "1. e4 e5\n2. Nf3 Nc6\n3. Bb5 a6\n4. O-O Nxe4+\n"),
    ]

    static let schema = #"""
    {"type": "object", "properties": {"id": {"type": "integer", "minimum": 1}, "name": {"type": "string", "maxLength": 40},
     "email": {"type": ["string", "null"]}, "roles": {"type": "array", "items": {"enum": ["admin", "dev", "guest"]}, "maxItems": 3},
     "born": {"type": "string", "format": "date"}}, "required": ["id", "name"], "additionalProperties": false}
    """#

    static func grammar(_ name: String) throws -> Grammar {
        name == "schema" ? try Grammar.jsonSchema(schema) : try Grammar(gbnf: GrammarFixtures.text(name))
    }

    /// What the mask must say for `token`, from the matcher alone.
    static func bruteForce(_ token: Int32, _ matcher: GrammarMatcher, _ tokenizer: Tokenizer, ends: Set<Int32>) -> Bool {
        if ends.contains(token) { return matcher.canEnd }
        if tokenizer.isSpecial(token) { return false }
        let bytes = tokenizer.bytes(of: token)
        var copy = matcher
        return !bytes.isEmpty && copy.accept(bytes)
    }

    @Test(.enabled(if: tokenizer != nil, "needs .fixtures/llama.cpp/models/ggml-vocab-qwen2.gguf (tools/fixtures/fetch-tokenizer)"))
    func maskEqualsBruteForceAlongDocuments() throws {
        let tokenizer = try #require(Self.tokenizer)
        let ends: Set<Int32> = [tokenizer.eos].compactMap { $0 }.reduce(into: []) { $0.insert($1) }
        #expect(!ends.isEmpty)
        for (name, text) in Self.documents {
            let grammar = try Self.grammar(name)
            let constraint = TokenConstraint(grammar: grammar, tokenizer: tokenizer, endTokens: ends)
            #expect(matches(grammar, text), "\(name) accepts its document")
            let tokens = tokenizer.encode(text)
            var matcher = GrammarMatcher(grammar)
            var checked = 0
            for (i, token) in tokens.enumerated() {
                // Every state for short documents, every third for longer ones, and the last.
                if i % (tokens.count > 30 ? 3 : 1) == 0 || i == tokens.count - 1 {
                    let mask = constraint.allowedTokens(after: matcher)
                    var mismatches: [Int32] = []
                    for t in 0..<Int32(tokenizer.vocabularySize) {
                        let expected = Self.bruteForce(t, matcher, tokenizer, ends: ends)
                        if mask.contains(t) != expected || constraint.allows(t, after: matcher) != expected { mismatches.append(t) }
                    }
                    #expect(mismatches.isEmpty, "\(name) after token \(i): \(mismatches.prefix(5).map { String(decoding: tokenizer.bytes(of: $0), as: UTF8.self).debugDescription })")
                    let ownTokenAllowed = mask.contains(token)
                    #expect(ownTokenAllowed, "\(name): the document's own next token is allowed")
                    checked += 1
                }
                #expect(constraint.advance(&matcher, by: token), "\(name) token \(i)")
            }
            #expect(matcher.canEnd && constraint.allowedTokens(after: matcher).contains(ends.first!))
            #expect(checked >= 8)
        }
    }

    /// The shared trie is one per tokenizer, and special tokens other than end tokens never pass.
    @Test(.enabled(if: tokenizer != nil, "needs .fixtures/llama.cpp/models/ggml-vocab-qwen2.gguf (tools/fixtures/fetch-tokenizer)"))
    func specialTokensAndSharing() throws {
        let tokenizer = try #require(Self.tokenizer)
        let any = TokenConstraint(grammar: try Grammar(gbnf: "root ::= .*"), tokenizer: tokenizer, endTokens: [])
        let other = TokenConstraint(grammar: Grammar.anyJSON, tokenizer: tokenizer, endTokens: [])
        #expect(any.trie === other.trie)
        let mask = any.allowedTokens(after: GrammarMatcher(any.grammar))
        let specials = (0..<Int32(tokenizer.vocabularySize)).filter { tokenizer.isSpecial($0) }
        #expect(!specials.isEmpty)
        for s in specials { #expect(!mask.contains(s) && !any.allows(s, after: GrammarMatcher(any.grammar))) }
        // `.*` takes any valid UTF-8, so every non-special token whose bytes are valid UTF-8 passes.
        let valid = (0..<Int32(tokenizer.vocabularySize)).filter { !tokenizer.isSpecial($0) && String(validating: tokenizer.bytes(of: $0), as: UTF8.self) != nil }
        #expect(valid.allSatisfy(mask.contains))
    }
}
