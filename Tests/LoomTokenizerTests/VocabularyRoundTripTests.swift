import Foundation
import Testing
@testable import LoomTokenizer

/// Every vocabulary entry decodes to its own bytes, and encodes back to itself when it is one
/// pre-tokenizer piece; the same vocabulary read from three formats agrees id for id.
@Suite struct VocabularyRoundTripTests {
    /// The rank file decoded independently (Foundation's base64), `ranks[id]`.
    static func ranks(_ relative: String) throws -> [Data] {
        let text = try String(contentsOfFile: try Fixtures.path(relative), encoding: .utf8)
        var ranks: [Data] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            let rank = Int(parts[1])!
            while ranks.count <= rank { ranks.append(Data()) }
            ranks[rank] = Data(base64Encoded: String(parts[0]))!
        }
        return ranks
    }

    @Test(arguments: [("tokenizer/qwen.tiktoken", PreTokenizerPattern.qwen2), ("tokenizer/cl100k_base.tiktoken", .cl100k)])
    func everyEntryRoundTrips(file: String, pattern: PreTokenizerPattern) throws {
        let tokenizer = try Tokenizer(tiktokenFile: try Fixtures.path(file), pattern: pattern, specialTokens: [])
        let ranks = try Self.ranks(file)
        var wholePieces = 0
        for (id, bytes) in ranks.enumerated() where !bytes.isEmpty {
            #expect(Array(tokenizer.bytes(of: Int32(id))) == Array(bytes), "id \(id)")
            // (Not String(data:encoding:), which drops a leading byte-order mark.)
            guard let text = String(validating: Array(bytes), as: UTF8.self) else { continue }
            var pieces = 0
            var t = text
            t.withUTF8 { pattern.split($0, 0..<$0.count) { _, _ in pieces += 1 } }
            if pieces == 1 {
                wholePieces += 1
                #expect(tokenizer.encode(text) == [Int32(id)], "id \(id) \(text.debugDescription)")
            }
        }
        #expect(wholePieces > ranks.count / 2)
    }

    /// qwen.tiktoken, Qwen2's GGUF vocabulary and the converted tokenizer.json hold the same bytes.
    @Test func qwenAgreesAcrossFormats() throws {
        let tiktoken = try Tokenizer(tiktokenFile: try Fixtures.path("tokenizer/qwen.tiktoken"), pattern: .qwen2)
        let gguf = try Tokenizer(ggufFile: try Fixtures.path("llama.cpp/models/ggml-vocab-qwen2.gguf"))
        let hf = try Tokenizer(huggingFaceFile: try Fixtures.path("tokenizer/hf-qwen/tokenizer.json"))
        // The GGUF (Qwen1.5's vocabulary) has the first three specials, then [PAD…] entries.
        for id in Int32(0)..<151646 { #expect(gguf.bytes(of: id) == tiktoken.bytes(of: id), "gguf id \(id)") }
        for id in Int32(0)..<151665 { #expect(hf.bytes(of: id) == tiktoken.bytes(of: id), "hf id \(id)") }
        // The GGUF marks the first three Qwen2 specials as control tokens, as the preset does.
        for id in Int32(151643)...151645 { #expect(gguf.isSpecial(id) && tiktoken.isSpecial(id)) }
    }
}
