import Foundation
import Testing
@testable import LoomTokenizer

/// WordPiece against HF tokenizers on all-MiniLM-L6-v2's tokenizer.json: the ids and decodings
/// that tools/goldens/make_embedding_goldens.py recorded for 316 varied sentences.
struct WordPieceTests {
    struct Sentence: Decodable { let text: String; let ids: [Int32]; let decoded: String }
    struct Golden: Decodable { let sentences: [Sentence]; let max_seq_length: Int }

    static func golden() throws -> Golden {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/embeddings/minilm/sentences.json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: path))
    }

    static func tokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(huggingFaceFile: try Fixtures.path("minilm/all-MiniLM-L6-v2/tokenizer.json"))
    }

    @Test func idsMatchHuggingFaceTokenizers() throws {
        let golden = try Self.golden()
        let tokenizer = try Self.tokenizer()
        try #require(golden.sentences.count >= 300)
        var failures = 0
        for sentence in golden.sentences {
            let ids = tokenizer.encode(sentence.text, maxLength: golden.max_seq_length)
            if ids != sentence.ids {
                failures += 1
                if failures <= 5 { Issue.record("\(sentence.text.prefix(60).debugDescription): \(ids.prefix(40)) HF \(sentence.ids.prefix(40))") }
            }
        }
        #expect(failures == 0, "\(failures) of \(golden.sentences.count) sentences differ")
    }

    @Test func decodingMatchesHuggingFaceTokenizers() throws {
        let golden = try Self.golden()
        let tokenizer = try Self.tokenizer()
        var failures = 0
        for sentence in golden.sentences where tokenizer.decode(sentence.ids) != sentence.decoded {
            failures += 1
            if failures <= 5 { Issue.record("\(sentence.ids.prefix(20)): \(tokenizer.decode(sentence.ids).prefix(80).debugDescription) HF \(sentence.decoded.prefix(80).debugDescription)") }
        }
        #expect(failures == 0, "\(failures) of \(golden.sentences.count) decodings differ")
    }

    @Test func truncationKeepsTheSpecialTokens() throws {
        let tokenizer = try Self.tokenizer()
        let ids = tokenizer.encode(String(repeating: "word ", count: 50), maxLength: 8)
        #expect(ids.count == 8)
        #expect(ids.first == tokenizer.classifierId && ids.last == tokenizer.separatorId)
        #expect(tokenizer.encode("word word", maxLength: 8).count == 4)
    }

    /// tokenizer.json files that break one rule each, and the place the error names.
    @Test func badFilesNameTheField() throws {
        let original = try String(contentsOfFile: try Fixtures.path("minilm/all-MiniLM-L6-v2/tokenizer.json"), encoding: .utf8)
        let cases: [(String, String, String)] = [
            ("\"unk_token\":\"[UNK]\"", "\"unk_token\":\"<nope>\"", "model.unk_token"),
            ("\"type\":\"BertPreTokenizer\"", "\"type\":\"Whitespace\"", "pre_tokenizer Whitespace"),
            ("\"type\":\"BertNormalizer\"", "\"type\":\"NFKC\"", "normalizer NFKC"),
            ("{\"SpecialToken\":{\"id\":\"[CLS]\"", "{\"SpecialToken\":{\"id\":\"[NOPE]\"", "post_processor.single[0]"),
            ("\"content\":\"[MASK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false",
             "\"content\":\"[MASK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":true",
             "added_tokens[4]"),
        ]
        for (from, to, named) in cases {
            let present = original.contains(from)
            #expect(present, "fixture lacks \(from)")
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-wp-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/tokenizer.json"
            try original.replacingOccurrences(of: from, with: to).write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try WordPieceTokenizer(huggingFaceFile: path)
                Issue.record("\(to) was accepted")
            } catch let error as TokenizerError {
                #expect(error.description.contains(path) && error.description.contains(named), "\(error)")
            }
        }
        let truncated = FileManager.default.temporaryDirectory.appendingPathComponent("loom-wp-\(UUID().uuidString).json").path
        try String(original.prefix(5000)).write(toFile: truncated, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: truncated) }
        #expect(throws: TokenizerError.self) { try WordPieceTokenizer(huggingFaceFile: truncated) }
    }
}
