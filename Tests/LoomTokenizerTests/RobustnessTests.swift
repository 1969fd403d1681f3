import Foundation
import Testing
import LoomCore
@testable import LoomTokenizer

/// Random and hostile input never crashes or goes quadratic; bad files give typed errors.
@Suite struct RobustnessTests {
    static func tokenizers() throws -> [(String, Tokenizer)] {
        [
            ("qwen", try Tokenizer(tiktokenFile: try Fixtures.path("tokenizer/qwen.tiktoken"), pattern: .qwen2)),
            ("tekken", try Tokenizer(tekkenFile: try Fixtures.path("tokenizer/mistral/tekken_240911.json"))),
            ("spm", try Tokenizer(huggingFaceFile: try Fixtures.path("tokenizer/hf-spm-legacy/tokenizer.json"))),
            ("llama-bpe", try Tokenizer(ggufFile: try Fixtures.path("llama.cpp/models/ggml-vocab-llama-bpe.gguf"))),
        ]
    }

    @Test func randomBytesRoundTrip() throws {
        var rng = StreamingDecoderTests.SplitMix(state: 7)
        for (name, tokenizer) in try Self.tokenizers() {
            for _ in 0..<300 {
                let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let text = String(decoding: bytes, as: UTF8.self)
                let ids = tokenizer.encode(text, parseSpecial: true, addBOS: false)
                #expect(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize }, "\(name)")
                // Byte-level and byte-fallback vocabularies cover every character.
                #expect(tokenizer.decode(ids, skipSpecial: false) == text, "\(name): \(bytes)")
            }
        }
    }

    /// JSON escapes of lone surrogates become U+FFFD when parsed; the text still tokenizes.
    @Test func loneSurrogateEscapes() throws {
        let json = #"["a\ud800b", "\udfff", "\ud83d\ude00\ud83d"]"#.data(using: .utf8)!
        let strings = (try? JSONSerialization.jsonObject(with: json) as? [String]) ?? ["a\u{FFFD}b"]
        for (_, tokenizer) in try Self.tokenizers() {
            for s in strings { #expect(tokenizer.decode(tokenizer.encode(s, addBOS: false)) == s) }
        }
    }

    /// A 1 MB word, 100k spaces, 1 MB of digits and of CJK: linear time (a quadratic merge
    /// would take hours here), exact round trip.
    @Test func hugePiecesAreNotQuadratic() throws {
        let inputs = [
            String(repeating: "a", count: 1 << 20),
            String(repeating: " ", count: 100_000),
            String(repeating: "1234567890", count: 100_000),
            String(repeating: "汉字", count: 170_000),
            String(repeating: "ab", count: 1 << 19),
        ]
        for (name, tokenizer) in try Self.tokenizers() {
            for text in inputs {
                let start = ContinuousClock.now
                let ids = tokenizer.encode(text, addBOS: false)
                let elapsed = ContinuousClock.now - start
                #expect(elapsed < .seconds(10), "\(name): \(text.prefix(4).debugDescription)… took \(elapsed)")
                #expect(tokenizer.decode(ids) == text, "\(name)")
            }
        }
    }

    /// The heap merge (long pieces) and the linear merge (short pieces) agree.
    @Test func heapAndLinearMergesAgree() throws {
        let tokenizer = try Tokenizer(tiktokenFile: try Fixtures.path("tokenizer/qwen.tiktoken"), pattern: .qwen2)
        let words = ["internationalization", "Pneumonoultramicroscopicsilicovolcanoconiosis", "ababababab", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]
        for word in words {
            // Twenty copies without separators: one piece, longer than the heap threshold.
            let long = String(repeating: word, count: 20)
            let scratch = BytePairEncoder.Scratch()
            var viaHeap: [Int32] = []
            var viaLinear: [Int32] = []
            var text = long
            text.withUTF8 { buf in
                tokenizer.encoder.encode(buf, 0, buf.count, into: &viaHeap, scratch: scratch)
                tokenizer.encoder.encodeLinearForTesting(buf, 0, buf.count, into: &viaLinear, scratch: scratch)
            }
            #expect(viaHeap == viaLinear, "\(word)")
        }
    }

    @Test func badFilesGiveTypedErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-tokenizer-bad-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ text: String) -> String {
            let p = dir.appendingPathComponent(name).path
            #expect(FileManager.default.createFile(atPath: p, contents: Data(text.utf8)), "cannot write \(p)")
            return p
        }
        #expect(throws: TokenizerError.self) { try Tokenizer(tiktokenFile: write("a.tiktoken", "IQ== 0\nnot-base64! 1\n"), pattern: .qwen2) }
        #expect(throws: TokenizerError.self) { try Tokenizer(tiktokenFile: write("b.tiktoken", "IQ==\n"), pattern: .qwen2) }
        // A rank far past any vocabulary (FuzzTokenizer's finding: it sized a 2.4 GB table) is refused by line.
        let lying = write("h.tiktoken", "IQ== 0\nIg== 999999999\n")
        #expect(throws: TokenizerError.malformed(file: lying, location: "line 2",
                                                 reason: "rank 999999999 is beyond the 16777216 ids a vocabulary may have")) {
            try Tokenizer(tiktokenFile: lying, pattern: .qwen2)
        }
        #expect(throws: TokenizerError.self) { try Tokenizer(huggingFaceFile: write("c.json", "{\"model\": 3")) }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(huggingFaceFile: write("d.json", #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"}}"#))
        }
        do {
            _ = try Tokenizer(huggingFaceFile: write("e.json", #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"}}"#))
        } catch let error as TokenizerError {
            #expect(error == .unsupportedPattern(file: dir.appendingPathComponent("e.json").path, regex: #"\w+"#))
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(huggingFaceFile: write("f.json", #"{"model": {"type": "BPE", "vocab": {"a": 0, "\ud800": 1}, "merges": ["a b"]}}"#))
        }
        #expect(throws: (any Error).self) { try Tokenizer(tekkenFile: write("g.json", "[]")) }
        // A truncated GGUF vocabulary fails in the GGUF reader, with its own typed error.
        let gguf = try Data(contentsOf: URL(fileURLWithPath: try Fixtures.path("llama.cpp/models/ggml-vocab-qwen2.gguf")))
        let truncated = dir.appendingPathComponent("t.gguf").path
        try gguf.prefix(gguf.count / 2).write(to: URL(fileURLWithPath: truncated))
        #expect(throws: (any Error).self) { try Tokenizer(ggufFile: truncated) }
        #expect(throws: TokenizerError.self) { try Tokenizer.load(modelDirectory: dir.path) }
    }
}
