import Testing
@testable import LoomTokenizer

/// The streaming decoder against the full decode, on random id sequences biased toward the
/// byte tokens of multi-byte characters.
@Suite struct StreamingDecoderTests {
    /// A deterministic generator (SplitMix64), so a failure reproduces.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The bytes without a trailing proper prefix of a valid UTF-8 sequence: what a decoder may
    /// emit before the next token arrives. Written independently of `StreamingDecoder`.
    static func completePrefix(_ bytes: [UInt8]) -> [UInt8] {
        for back in 1...3 where bytes.count >= back {
            let start = bytes.count - back
            let lead = bytes[start]
            let need: Int
            switch lead {
            case 0xC2...0xDF: need = 2
            case 0xE0...0xEF: need = 3
            case 0xF0...0xF4: need = 4
            case 0x80...0xBF: continue
            default: return bytes
            }
            guard back < need else { return bytes }
            let tail = Array(bytes[start...])
            // A proper prefix is valid when some completion is: try the smallest continuation.
            for fill in [UInt8(0x80), 0x90, 0xA0] {
                let candidate = tail + [UInt8](repeating: fill, count: need - back)
                if String(validating: candidate, as: UTF8.self) != nil { return Array(bytes[..<start]) }
            }
            return bytes
        }
        return bytes
    }

    static func check(_ tokenizer: Tokenizer, sequences: Int, seed: UInt64) {
        // Ids whose bytes are not valid UTF-8 on their own: pieces of multi-byte characters.
        var partial: [Int32] = []
        for id in 0..<Int32(tokenizer.vocabularySize) {
            let b = Array(tokenizer.bytes(of: id))
            if !b.isEmpty && String(validating: b, as: UTF8.self) == nil { partial.append(id) }
        }
        #expect(partial.count >= 128, "\(partial.count) partial-character tokens")
        var rng = SplitMix(state: seed)
        for _ in 0..<sequences {
            let length = Int.random(in: 1...40, using: &rng)
            let ids: [Int32] = (0..<length).map { _ in
                Int.random(in: 0..<4, using: &rng) == 0
                    ? Int32.random(in: 0..<Int32(tokenizer.vocabularySize), using: &rng)
                    : partial.randomElement(using: &rng)!
            }
            var decoder = tokenizer.makeStreamingDecoder()
            var stream = ""
            for (k, id) in ids.enumerated() {
                stream += decoder.push(id)
                // Emitted text is exactly the complete part of the bytes so far.
                let expected = String(decoding: Self.completePrefix(Array(Self.rawBytes(tokenizer, Array(ids[...k])))), as: UTF8.self)
                if stream != expected {
                    Issue.record("ids \(ids[...k]): streamed \(stream.debugDescription), expected \(expected.debugDescription)")
                    return
                }
            }
            stream += decoder.finish()
            #expect(stream == tokenizer.decode(ids), "ids \(ids)")
        }
    }

    /// The bytes `decode` turns into text (after the SentencePiece leading-space strip).
    static func rawBytes(_ tokenizer: Tokenizer, _ ids: [Int32]) -> [UInt8] {
        var bytes = ids.flatMap { Array(tokenizer.bytes(of: $0)) }
        if tokenizer.decodeStripsLeadingSpace, bytes.first == 0x20 { bytes.removeFirst() }
        return bytes
    }

    @Test func qwenByteLevel() throws {
        let tokenizer = try Tokenizer(tiktokenFile: try Fixtures.path("tokenizer/qwen.tiktoken"), pattern: .qwen2)
        Self.check(tokenizer, sequences: 3000, seed: 1)
    }

    @Test func sentencePieceByteFallback() throws {
        let tokenizer = try Tokenizer(huggingFaceFile: try Fixtures.path("tokenizer/hf-spm-legacy/tokenizer.json"))
        Self.check(tokenizer, sequences: 3000, seed: 2)
    }

    @Test func emojiSplitAcrossByteTokensWaitsForItsLastByte() throws {
        let tokenizer = try Tokenizer(tiktokenFile: try Fixtures.path("tokenizer/qwen.tiktoken"), pattern: .qwen2)
        // 🦙 is F0 9F A6 99: feed it one byte token at a time.
        let byteIds = [0xF0, 0x9F, 0xA6, 0x99].map { b in tokenizer.encoder.table.storage.byteIds[b] }
        var decoder = tokenizer.makeStreamingDecoder()
        #expect(decoder.push(byteIds[0]) == "")
        #expect(decoder.push(byteIds[1]) == "")
        #expect(decoder.push(byteIds[2]) == "")
        #expect(decoder.push(byteIds[3]) == "🦙")
        // A lead byte followed by ASCII is proven invalid at once, as errors="replace" does.
        #expect(decoder.push(byteIds[0]) == "")
        #expect(decoder.push(tokenizer.encode("a")[0]) == "\u{FFFD}a")
        #expect(decoder.push(byteIds[0]) == "")
        #expect(decoder.finish() == "\u{FFFD}")
    }
}
