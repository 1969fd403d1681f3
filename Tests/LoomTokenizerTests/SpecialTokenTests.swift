import Foundation
import Testing
@testable import LoomTokenizer

/// Oracle: HF tokenizers with special-token parsing on and off (tools/tokenizer/make-special-cases.py).
@Suite struct SpecialTokenTests {
    struct Case: Decodable { let text: String; let parsed: [Int32]; let plain: [Int32] }
    struct File: Decodable { let cases: [String: [Case]] }

    static func cases(_ name: String) throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.committed + "/special-tokens.json"))
        return try JSONDecoder().decode(File.self, from: data).cases[name] ?? []
    }

    @Test(arguments: ["qwen", "spm-legacy"])
    func withAndWithoutSpecialParsing(name: String) throws {
        let tokenizer = try Tokenizer(huggingFaceFile: try Fixtures.path("tokenizer/hf-\(name)/tokenizer.json"))
        let cases = try Self.cases(name)
        #expect(cases.count >= 8)
        for c in cases {
            #expect(tokenizer.encode(c.text, parseSpecial: true, addBOS: false) == c.parsed, "\(c.text.debugDescription) parsed")
            #expect(tokenizer.encode(c.text, parseSpecial: false, addBOS: false) == c.plain, "\(c.text.debugDescription) plain")
        }
    }

    /// The tiktoken preset's built-in Qwen2 specials give the ids Qwen2.5's tokenizer.json gives.
    @Test func qwenPresetSpecialsMatchHF() throws {
        let tokenizer = try Tokenizer(tiktokenFile: try Fixtures.path("tokenizer/qwen.tiktoken"), pattern: .qwen2)
        for c in try Self.cases("qwen") {
            #expect(tokenizer.encode(c.text, parseSpecial: true) == c.parsed, "\(c.text.debugDescription)")
            #expect(tokenizer.encode(c.text, parseSpecial: false) == c.plain, "\(c.text.debugDescription)")
        }
        let chat = tokenizer.encode("<|im_start|>user", parseSpecial: true)
        #expect(chat.first == 151644)
        #expect(tokenizer.decode(chat) == "<|im_start|>user")
        #expect(tokenizer.decode(chat, skipSpecial: true) == "user")
    }
}
