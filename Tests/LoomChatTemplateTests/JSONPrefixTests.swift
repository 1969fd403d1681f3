import Testing
@testable import LoomChatTemplate

/// `JinjaJSON.parsePrefix` on text that may still grow. Whether a text is the beginning of some
/// JSON value, a whole one, or neither follows from the JSON grammar (RFC 8259): a prefix is
/// truncated exactly when some continuation makes it valid.
struct JSONPrefixTests {
    enum Kind: Equatable { case complete(end: Int), truncated, invalid }

    func kind(_ text: String, isFinal: Bool = false) -> Kind {
        do {
            switch try JinjaJSON.parsePrefix(Array(text.utf8), from: 0, isFinal: isFinal) {
            case .complete(_, let end): return .complete(end: end)
            case .truncated: return .truncated
            }
        } catch {
            return .invalid
        }
    }

    @Test func beginningsOfValuesAreTruncated() {
        for text in ["", "  ", "{", "{\"a", "{\"a\"", "{\"a\":", "{\"a\": [1, ", "[tr", "[nul", "[-", "\"\\", "\"\\u00", "{\"a\": \"x"] {
            #expect(kind(text) == .truncated, "\(text)")
        }
    }

    @Test func wrongBytesAreInvalidWhateverFollows() {
        for text in ["}", "{a", "{\"a\" 1", "[1 2", "[tx", "[-x", "\"\\q", "\"\\u00g", "{\"a\": Paris}"] {
            #expect(kind(text) == .invalid, "\(text)")
        }
    }

    @Test func wholeValuesEndWhereTheyEnd() {
        #expect(kind("{\"a\": 1} tail") == .complete(end: 8))
        #expect(kind("[true]") == .complete(end: 6))
        #expect(kind(" \"x\"") == .complete(end: 4))
    }

    @Test func aNumberOrLiteralAtTheEndMayStillGrowUnlessFinal() {
        #expect(kind("12") == .truncated)
        #expect(kind("12", isFinal: true) == .complete(end: 2))
        #expect(kind("true") == .truncated)
        #expect(kind("true", isFinal: true) == .complete(end: 4))
        #expect(kind("[1", isFinal: true) == .invalid)
    }
}
