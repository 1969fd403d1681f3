import Testing
@testable import LoomTokenizer

/// Oracle: tiktoken's ids for the 12 MB corpus (tools/tokenizer/expected-ids.py).
@Suite struct TiktokenCorpusTests {
    static func check(vocabulary: String, pattern: PreTokenizerPattern, digests: String) throws {
        // encode_ordinary: no special or added tokens at all.
        try check(try Tokenizer(tiktokenFile: try Fixtures.path(vocabulary), pattern: pattern, specialTokens: []), digests: digests)
    }

    static func check(_ tokenizer: Tokenizer, digests: String) throws {
        let docs = try Fixtures.corpus()
        let expected = try Fixtures.digests(digests)
        try #require(docs.count == expected.count, "corpus has \(docs.count) documents, \(digests) \(expected.count)")
        var failures = 0
        for (i, doc) in docs.enumerated() {
            let ids = tokenizer.encode(doc, addBOS: false)
            if ids.count != expected[i].count || Fixtures.fnv1a64(ids) != expected[i].hash {
                failures += 1
                if failures <= 5 {
                    Issue.record("\(digests) document \(i): \(ids.count) ids, tiktoken \(expected[i].count); starts \(doc.prefix(60).debugDescription)")
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(docs.count) documents differ")
    }

    @Test func qwenMatchesTiktoken() throws {
        try Self.check(vocabulary: "tokenizer/qwen.tiktoken", pattern: .qwen2, digests: "corpus-ids-qwen.txt")
    }

    @Test func cl100kMatchesTiktoken() throws {
        try Self.check(vocabulary: "tokenizer/cl100k_base.tiktoken", pattern: .cl100k, digests: "corpus-ids-cl100k.txt")
    }

    /// mistral-common encodes without parsing specials; tiktoken is its engine.
    @Test func tekkenMatchesMistralCommon() throws {
        try Self.check(try Tokenizer(tekkenFile: try Fixtures.path("tokenizer/mistral/tekken_240911.json")),
                       digests: "corpus-ids-tekken.txt")
    }
}
