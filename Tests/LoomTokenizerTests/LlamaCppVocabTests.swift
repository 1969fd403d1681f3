import Foundation
import Testing
import LoomFormats
@testable import LoomTokenizer

/// Oracle: llama.cpp's vocabulary test suite (`models/ggml-vocab-*.gguf` with `.inp` cases and
/// `.out` ids, from the llama-cpp-python sdist). Every case of every supported vocabulary must
/// give identical ids; the vocabularies Loom does not support are exactly those README lists.
/// WordPiece vocabularies (`tokenizer.ggml.model` `bert`) load as `WordPieceTokenizer`.
@Suite struct LlamaCppVocabTests {
    /// Vocabularies Loom rejects, with the reason (README "Tokenizer: unsupported vocabularies").
    static let unsupported: [String: String] = [
        "gemma-4": "tokenizer.ggml.model gemma4",
    ]

    static func cases(_ vocab: String) throws -> [(text: String, ids: [Int32])] {
        let input = try String(contentsOfFile: try Fixtures.path("llama.cpp/models/ggml-vocab-\(vocab).gguf.inp"), encoding: .utf8)
        let output = try String(contentsOfFile: try Fixtures.path("llama.cpp/models/ggml-vocab-\(vocab).gguf.out"), encoding: .utf8)
        let texts = input.components(separatedBy: "\n__ggml_vocab_test__\n")
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let idLines = lines.last == "" ? Array(lines.dropLast()) : lines
        return zip(texts, idLines).map { text, line in (text, line.split(separator: " ").compactMap { Int32($0) }) }
    }

    static func vocabularies() throws -> [String] {
        let dir = try Fixtures.path("llama.cpp/models")
        return try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { $0.hasPrefix("ggml-vocab-") && $0.hasSuffix(".gguf.inp") }
            .map { String($0.dropFirst("ggml-vocab-".count).dropLast(".gguf.inp".count)) }
            .sorted()
    }

    @Test func everyCaseOfEverySupportedVocabulary() throws {
        let vocabs = try Self.vocabularies()
        #expect(vocabs.count >= 15, "found \(vocabs)")
        var rejected: [String] = []
        var checked = 0
        for vocab in vocabs {
            let encode: (String) -> [Int32]
            let file = try Fixtures.path("llama.cpp/models/ggml-vocab-\(vocab).gguf")
            do {
                if try GGUFFile(path: file).string("tokenizer.ggml.model") == "bert" {
                    let tokenizer = try WordPieceTokenizer(ggufFile: file)
                    encode = { tokenizer.encodeWithoutSpecials($0, parseSpecial: false) }
                } else {
                    let tokenizer = try Tokenizer(ggufFile: file)
                    encode = { tokenizer.encode($0, parseSpecial: false, addBOS: false) }
                }
            } catch let error as TokenizerError {
                rejected.append(vocab)
                #expect(Self.unsupported[vocab] != nil, "\(vocab): \(error)")
                continue
            }
            let cases = try Self.cases(vocab)
            #expect(cases.count >= 40, "\(vocab): \(cases.count) cases")
            var failures = 0
            for (text, ids) in cases {
                let got = encode(text)
                if got != ids {
                    failures += 1
                    if failures <= 3 { Issue.record("\(vocab): \(text.debugDescription) → \(got), llama.cpp \(ids)") }
                }
            }
            #expect(failures == 0, "\(vocab): \(failures) of \(cases.count) cases differ")
            checked += cases.count
        }
        #expect(Set(rejected) == Set(Self.unsupported.keys), "rejected \(rejected)")
        // 14 supported vocabularies of 46–51 cases each.
        #expect(checked >= 636, "checked \(checked) cases")
    }
}
