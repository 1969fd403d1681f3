import Testing
@testable import LoomGenerate

/// The byte-at-a-time JSON scanner that reads long tool-call arguments. What is a value, the
/// beginning of one, or neither follows from the JSON grammar (RFC 8259).
struct JSONSyntaxScannerTests {
    enum Verdict: Equatable { case endsAt(Int), needsMore, invalid }

    func scan(_ text: String) -> (Verdict, [UInt8]) {
        var scanner = JSONSyntaxScanner()
        let bytes = Array(text.utf8)
        for (i, byte) in bytes.enumerated() {
            switch scanner.scan(byte) {
            case .needsMore: continue
            case .endedWith: return (.endsAt(i + 1), scanner.compacted)
            case .endedBefore: return (.endsAt(i), scanner.compacted)
            case .invalid: return (.invalid, scanner.compacted)
            }
        }
        return (.needsMore, scanner.compacted)
    }

    static let documents = [
        #"{"a": 1, "b": [true, false, null], "c": {"d": "x y"}}"#,
        #"  { "unit" : "celsius" ,"n":-0.5e+3, "e": [] , "o": {} }"#,
        #"["\u00e9\ud83c\udf0d", "tab\tquote\"back\\slash/", 0, 12, 3.25, 1E9]"#,
        #"{"text": "谢谢 🌍 Köln", "nested": [[1, [2]], {"k": [{}]}]}"#,
    ]

    @Test func everyPrefixNeedsMoreAndTheWholeEnds() {
        for document in Self.documents {
            let bytes = Array(document.utf8)
            for cut in 0..<bytes.count {
                #expect(scan(String(decoding: bytes[..<cut], as: UTF8.self)).0 == .needsMore, "\(document) cut at \(cut)")
            }
            let (verdict, compacted) = scan(document + " trailing")
            #expect(verdict == .endsAt(bytes.count), "\(document)")
            #expect(compacted == ToolCallJSON.compact(bytes[...]), "\(document)")
        }
    }

    @Test func wrongBytesAreInvalid() {
        for text in ["}", "{a", #"{"a" 1"#, "[1 2", "[tx", "[-x", #""\q"#, #""\u00g"#, #"{"a": Paris}"#, "[01]", "[1.]", "[1e]",
                     "[.5]", "[+1]", #"{"a":1,}"#, "[1,]", "{\"a\n\": 1}", #"{"a"}"#, "[}", "{]"] {
            #expect(scan(text).0 == .invalid, "\(text)")
        }
    }

    @Test func aTopLevelNumberEndsAtTheNextByte() {
        #expect(scan("12,").0 == .endsAt(2))
        #expect(scan("12").0 == .needsMore)
        var scanner = JSONSyntaxScanner()
        for byte in "12".utf8 { _ = scanner.scan(byte) }
        #expect(scanner.endsHere)
        #expect(scan("true").0 == .endsAt(4))
    }
}
