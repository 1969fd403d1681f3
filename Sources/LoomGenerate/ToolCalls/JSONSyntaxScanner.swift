/// Checks JSON syntax a byte at a time and keeps the text without the whitespace between
/// tokens, so that a long value the model is still writing (a file's content in a tool call's
/// arguments) is read once rather than again with every new piece.
struct JSONSyntaxScanner: Equatable {
    enum Step: Equatable {
        case needsMore
        /// The value ended just before this byte, which is not part of it.
        case endedBefore
        /// The value ended with this byte.
        case endedWith
        case invalid
    }

    private enum NumberPart: Equatable { case minus, zero, integer, dot, fraction, exponentMark, exponentSign, exponent }

    private enum State: Equatable {
        case value
        /// After `[`: a value or `]`.
        case valueOrClose
        /// After `{`: a key or `}`.
        case keyOrClose
        case key
        case colon
        case afterValue
        case string(isKey: Bool)
        case escape(isKey: Bool)
        case unicodeEscape(isKey: Bool, digitsLeft: Int)
        case number(NumberPart)
        case literal(rest: [UInt8])
        case ended
    }

    /// [depth] `{` or `[` of each open container.
    private var open: [UInt8] = []
    private var state = State.value
    /// The value so far, less the whitespace between tokens.
    private(set) var compacted: [UInt8] = []

    /// Whether the value would be whole if the text ended here (a number at the top level).
    var endsHere: Bool {
        guard open.isEmpty, case .number(let part) = state else { return state == .ended }
        return [.zero, .integer, .fraction, .exponent].contains(part)
    }

    mutating func scan(_ byte: UInt8) -> Step {
        switch state {
        case .ended:
            return .invalid
        case .value, .valueOrClose:
            if ToolCallJSON.isWhitespace(byte) { return .needsMore }
            if byte == UInt8(ascii: "]"), state == .valueOrClose { return close(byte) }
            return startValue(byte)
        case .keyOrClose, .key:
            if ToolCallJSON.isWhitespace(byte) { return .needsMore }
            if byte == UInt8(ascii: "}"), state == .keyOrClose { return close(byte) }
            guard byte == UInt8(ascii: "\"") else { return .invalid }
            state = .string(isKey: true)
            return keep(byte)
        case .colon:
            if ToolCallJSON.isWhitespace(byte) { return .needsMore }
            guard byte == UInt8(ascii: ":") else { return .invalid }
            state = .value
            return keep(byte)
        case .afterValue:
            if ToolCallJSON.isWhitespace(byte) { return .needsMore }
            if byte == UInt8(ascii: ",") {
                state = open.last == UInt8(ascii: "{") ? .key : .value
                return keep(byte)
            }
            if (byte == UInt8(ascii: "}") && open.last == UInt8(ascii: "{")) || (byte == UInt8(ascii: "]") && open.last == UInt8(ascii: "[")) {
                return close(byte)
            }
            return .invalid
        case .string(let isKey):
            if byte == UInt8(ascii: "\"") {
                compacted.append(byte)
                if isKey { state = .colon; return .needsMore }
                return endValue(with: true)
            }
            if byte == UInt8(ascii: "\\") { state = .escape(isKey: isKey) }
            return byte < 0x20 ? .invalid : keep(byte)
        case .escape(let isKey):
            if byte == UInt8(ascii: "u") {
                state = .unicodeEscape(isKey: isKey, digitsLeft: 4)
            } else if Array("\"\\/bfnrt".utf8).contains(byte) {
                state = .string(isKey: isKey)
            } else {
                return .invalid
            }
            return keep(byte)
        case .unicodeEscape(let isKey, let digitsLeft):
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) else { return .invalid }
            state = digitsLeft == 1 ? .string(isKey: isKey) : .unicodeEscape(isKey: isKey, digitsLeft: digitsLeft - 1)
            return keep(byte)
        case .number(let part):
            if let next = Self.numberPart(after: part, byte) {
                state = .number(next)
                return keep(byte)
            }
            guard [.zero, .integer, .fraction, .exponent].contains(part) else { return .invalid }
            // The byte after a number belongs to what follows it.
            if endValue(with: false) == .endedBefore { return .endedBefore }
            return scan(byte)
        case .literal(let rest):
            guard byte == rest.first else { return .invalid }
            compacted.append(byte)
            if rest.count == 1 { return endValue(with: true) }
            state = .literal(rest: Array(rest.dropFirst()))
            return .needsMore
        }
    }

    private mutating func keep(_ byte: UInt8) -> Step {
        compacted.append(byte)
        return .needsMore
    }

    private mutating func startValue(_ byte: UInt8) -> Step {
        switch byte {
        case UInt8(ascii: "{"): open.append(byte); state = .keyOrClose
        case UInt8(ascii: "["): open.append(byte); state = .valueOrClose
        case UInt8(ascii: "\""): state = .string(isKey: false)
        case UInt8(ascii: "-"): state = .number(.minus)
        case UInt8(ascii: "0"): state = .number(.zero)
        case UInt8(ascii: "1")...UInt8(ascii: "9"): state = .number(.integer)
        case UInt8(ascii: "t"): state = .literal(rest: Array("rue".utf8))
        case UInt8(ascii: "f"): state = .literal(rest: Array("alse".utf8))
        case UInt8(ascii: "n"): state = .literal(rest: Array("ull".utf8))
        default: return .invalid
        }
        return keep(byte)
    }

    private mutating func close(_ byte: UInt8) -> Step {
        open.removeLast()
        compacted.append(byte)
        return endValue(with: true)
    }

    /// A value has ended: the container it is in continues, or the whole value is done.
    private mutating func endValue(with byteIsPart: Bool) -> Step {
        guard open.isEmpty else {
            state = .afterValue
            return .needsMore
        }
        state = .ended
        return byteIsPart ? .endedWith : .endedBefore
    }

    private static func numberPart(after part: NumberPart, _ byte: UInt8) -> NumberPart? {
        let isDigit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        switch part {
        case .minus: return byte == UInt8(ascii: "0") ? .zero : isDigit ? .integer : nil
        case .zero, .integer:
            if part == .integer, isDigit { return .integer }
            if byte == UInt8(ascii: ".") { return .dot }
            return byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") ? .exponentMark : nil
        case .dot: return isDigit ? .fraction : nil
        case .fraction:
            if isDigit { return .fraction }
            return byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") ? .exponentMark : nil
        case .exponentMark: return byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") ? .exponentSign : isDigit ? .exponent : nil
        case .exponentSign, .exponent: return isDigit ? .exponent : nil
        }
    }
}
