import Testing
@testable import LoomTokenizer

/// Oracle: HF tokenizers' ids for the corpus, with tokenizer.json files that transformers'
/// converters built from the real vocabularies (tools/tokenizer/make-hf-tokenizers.py).
@Suite struct HuggingFaceCorpusTests {
    static func check(_ name: String) throws {
        let tokenizer = try Tokenizer(huggingFaceFile: try Fixtures.path("tokenizer/hf-\(name)/tokenizer.json"))
        let docs = try Fixtures.corpus()
        let expected = try Fixtures.digests("corpus-ids-hf-\(name).txt")
        try #require(docs.count == expected.count)
        var failures = 0
        for (i, doc) in docs.enumerated() {
            // HF recognises special tokens written in the text unless told otherwise.
            let ids = tokenizer.encode(doc, parseSpecial: true, addBOS: false)
            if ids.count != expected[i].count || Fixtures.fnv1a64(ids) != expected[i].hash {
                failures += 1
                if failures <= 5 {
                    Issue.record("hf-\(name) document \(i): \(ids.count) ids, HF \(expected[i].count); starts \(doc.prefix(60).debugDescription)")
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(docs.count) documents differ")
    }

    @Test func qwenByteLevelWithNFC() throws { try Self.check("qwen") }
    @Test func cl100kVocabularyLlama3Pattern() throws { try Self.check("cl100k") }
    @Test func sentencePieceLegacyPrependReplace() throws { try Self.check("spm-legacy") }
    @Test func sentencePieceMetaspace() throws { try Self.check("spm-meta") }
    @Test func sentencePieceMetaspaceSplit() throws { try Self.check("spm-meta-split") }
    /// DeepSeek's pre-tokenizer: a Sequence of five Splits, Digits and ByteLevel.
    @Test func deepseekSequenceOfSplits() throws { try Self.check("deepseek") }

    @Test func configGivesSpecialsAndTemplate() throws {
        let qwen = try Tokenizer(huggingFaceFile: try Fixtures.path("tokenizer/hf-qwen/tokenizer.json"))
        #expect(qwen.eos == 151645)
        #expect(qwen.bos == nil)
        #expect(qwen.chatTemplate?.contains("<|im_start|>") == true)
        let spm = try Tokenizer(huggingFaceFile: try Fixtures.path("tokenizer/hf-spm-legacy/tokenizer.json"))
        #expect(spm.bos == 1 && spm.eos == 2 && spm.addsBOS)
        #expect(spm.encode("Hi").first == 1)
    }
}
