import Testing
@testable import LoomTokenizer

/// Oracle: HF tokenizers' `Split` (Oniguruma) with each pattern's regular expression cuts the
/// corpus into the same pieces as the hand-written scanner (tools/tokenizer/expected-pieces.py).
/// cl100k is left out: its possessive `\s++$` form means something else to Oniguruma than to
/// tiktoken's fancy-regex, and tiktoken's ids on the corpus are its oracle (TiktokenCorpusTests).
@Suite struct PreTokenizerTests {
    @Test(arguments: [PreTokenizerPattern.gpt2, .llama3, .qwen2, .qwen35, .o200k])
    func scannerMatchesRegex(pattern: PreTokenizerPattern) throws {
        let docs = try Fixtures.corpus()
        let expected = try Fixtures.digests("corpus-pieces.txt", prefix: pattern.rawValue)
        try #require(expected.count == docs.count, "\(pattern): \(expected.count) lines for \(docs.count) documents")
        var failures = 0
        for (i, doc) in docs.enumerated() {
            var lengths: [Int32] = []
            var text = doc
            text.withUTF8 { pattern.split($0, 0..<$0.count) { start, end in lengths.append(Int32(end - start)) } }
            if lengths.count != expected[i].count || Fixtures.fnv1a64(lengths) != expected[i].hash {
                failures += 1
                if failures <= 3 {
                    Issue.record("\(pattern) document \(i): \(lengths.count) pieces, HF \(expected[i].count); starts \(doc.prefix(50).debugDescription)")
                }
            }
        }
        #expect(failures == 0, "\(pattern): \(failures) of \(docs.count) documents cut differently")
    }
}
