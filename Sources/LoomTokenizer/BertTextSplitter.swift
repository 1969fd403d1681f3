import Foundation

/// The text steps in front of WordPiece, as HF tokenizers' `BertNormalizer` and
/// `BertPreTokenizer` define them: clean control characters, space out CJK ideographs, strip
/// accents (NFD, then drop nonspacing marks), lowercase character by character, then cut into
/// words at whitespace and around every punctuation character.
struct BertTextSplitter: Sendable, Equatable {
    var cleanText = true
    var handleChineseCharacters = true
    var stripAccents = true
    var lowercase = true

    /// The words of `text`, each as its Unicode scalars.
    func words(_ text: Substring) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var word: [Unicode.Scalar] = []
        func endWord() { if !word.isEmpty { words.append(word); word.removeAll(keepingCapacity: true) } }
        for scalar in normalized(text) {
            if scalar.properties.isWhitespace {
                endWord()
            } else if Self.isPunctuation(scalar) {
                endWord()
                words.append([scalar])
            } else {
                word.append(scalar)
            }
        }
        endWord()
        return words
    }

    /// The normalizer's output as scalars.
    func normalized(_ text: Substring) -> [Unicode.Scalar] {
        var cleaned: [Unicode.Scalar] = []
        cleaned.reserveCapacity(text.unicodeScalars.count)
        var ascii = true
        for scalar in text.unicodeScalars {
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
                if Self.isWhitespace(scalar) { cleaned.append(" "); continue }
            }
            if scalar.value >= 0x80 { ascii = false }
            if handleChineseCharacters && Self.isChineseCharacter(scalar.value) {
                cleaned.append(" "); cleaned.append(scalar); cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        if ascii {
            // ASCII has no accents and lowercases byte by byte.
            if lowercase { for i in cleaned.indices where cleaned[i].value &- 0x41 < 26 { cleaned[i] = Unicode.Scalar(cleaned[i].value + 0x20)! } }
            return cleaned
        }
        if stripAccents {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: cleaned)
            cleaned = String(view).decomposedStringWithCanonicalMapping.unicodeScalars
                .filter { $0.properties.generalCategory != .nonspacingMark }
        }
        guard lowercase else { return cleaned }
        var lowered: [Unicode.Scalar] = []
        lowered.reserveCapacity(cleaned.count)
        for scalar in cleaned {
            if scalar.value < 0x80 {
                lowered.append(scalar.value &- 0x41 < 26 ? Unicode.Scalar(scalar.value + 0x20)! : scalar)
            } else {
                lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return lowered
    }

    /// Tab, newline and carriage return, and every White_Space character.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    /// The "other" categories (Cc, Cf, Cn, Co, Cs) except tab, newline and carriage return.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// ASCII punctuation (which includes symbols such as `$`, `+` and `|`) and every P* category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v) || (0x7B...0x7E).contains(v)
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT spaces out (not kana, not Hangul).
    static func isChineseCharacter(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
