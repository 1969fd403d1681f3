/// A reading of one tool-call region of a reply: from the whitespace before its marker to the
/// end of its last call.
struct RegionReading {
    /// The calls begun so far, in order.
    var calls: [PartialToolCall]
    /// `.complete(end)`: the region ends at `end` and its calls are whole. `.truncated`: more
    /// text is needed. `.invalid`: the text is not a tool call after all.
    var outcome: ReadOutcome
}

extension ToolCallFormat {
    /// Keys that may open a Llama 3.x call; any other first key means the reply is plain JSON.
    static let llamaCallFirstKeys = ["name", "type", "function"]

    /// Characters of a function name (or a call id) in Mistral's `name[ARGS]` form.
    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    /// Reads the region that begins at `start` of `bytes`, the reply so far.
    /// - Parameter isFinal: generation has ended, so a region still open is not a call, and a
    ///   closing tag the model left out is forgiven.
    /// - Parameters:
    ///   - previous: the reading of the same region in a shorter reply, which this one carries
    ///     on from, so each byte of long arguments is scanned once.
    ///   - toolNames: when set, a call to any other name is not a call.
    func readRegion(_ bytes: [UInt8], from start: Int, isFinal: Bool, previous: RegionReading? = nil,
                    toolNames: Set<String>? = nil) -> RegionReading {
        let hints = previous?.calls ?? []
        let reading: RegionReading
        switch self {
        case .hermes: reading = Self.readHermes(bytes, from: start, isFinal: isFinal, hints: hints)
        case .llama3JSON: reading = Self.readLlama(bytes, from: start, isFinal: isFinal, hints: hints)
        case .mistral: reading = Self.readMistral(bytes, from: start, isFinal: isFinal, hints: hints)
        }
        // Names are whole once read, so a wrong one shows before the call's first delta is sent.
        if let toolNames, reading.calls.contains(where: { $0.name.map { !toolNames.contains($0) } ?? false }) {
            return RegionReading(calls: [], outcome: .invalid)
        }
        return reading
    }

    private static func hint(_ hints: [PartialToolCall], _ index: Int) -> PartialToolCall? {
        index < hints.count ? hints[index] : nil
    }

    private static func pending(_ calls: [PartialToolCall], isFinal: Bool) -> RegionReading {
        RegionReading(calls: calls, outcome: isFinal ? .invalid : .truncated)
    }

    private static func readHermes(_ bytes: [UInt8], from start: Int, isFinal: Bool, hints: [PartialToolCall]) -> RegionReading {
        var p = ToolCallJSON.skipWhitespace(bytes, start)
        switch ToolCallJSON.match("<tool_call>", in: bytes, at: p) {
        case .matched(let end): p = ToolCallJSON.skipWhitespace(bytes, end)
        case .partial: return pending([], isFinal: isFinal)
        case .mismatch: return RegionReading(calls: [], outcome: .invalid)
        }
        var call = PartialToolCall()
        switch ToolCallJSON.readCall(bytes, at: p, isFinal: isFinal, hint: hint(hints, 0), into: &call) {
        case .invalid: return RegionReading(calls: [call], outcome: .invalid)
        case .truncated: return pending([call], isFinal: isFinal)
        case .complete(let end):
            p = ToolCallJSON.skipWhitespace(bytes, end)
            switch ToolCallJSON.match("</tool_call>", in: bytes, at: p) {
            case .matched(let end): return RegionReading(calls: [call], outcome: .complete(end: end))
            case .partial: return isFinal ? RegionReading(calls: [call], outcome: .complete(end: bytes.count)) : pending([call], isFinal: false)
            case .mismatch: return RegionReading(calls: [call], outcome: .invalid)
            }
        }
    }

    private static func readLlama(_ bytes: [UInt8], from start: Int, isFinal: Bool, hints: [PartialToolCall]) -> RegionReading {
        var p = ToolCallJSON.skipWhitespace(bytes, start)
        switch ToolCallJSON.match("<|python_tag|>", in: bytes, at: p) {
        case .matched(let end): p = ToolCallJSON.skipWhitespace(bytes, end)
        case .partial: return pending([], isFinal: isFinal)
        case .mismatch: break
        }
        var calls: [PartialToolCall] = []
        var lastEnd = p
        while true {
            guard p < bytes.count else {
                return calls.isEmpty || !isFinal ? pending(calls, isFinal: isFinal) : RegionReading(calls: calls, outcome: .complete(end: bytes.count))
            }
            // Text or a non-call object after a call is the reply's text; before any call, the
            // whole reply is.
            let opening = bytes[p] == UInt8(ascii: "{") ? ToolCallJSON.opensWithKey(bytes, at: p, oneOf: llamaCallFirstKeys) : .invalid
            switch opening {
            case .invalid:
                return RegionReading(calls: calls, outcome: calls.isEmpty ? .invalid : .complete(end: lastEnd))
            case .truncated:
                return pending(calls, isFinal: isFinal)
            case .complete:
                break
            }
            var call = PartialToolCall()
            let outcome = ToolCallJSON.readCall(bytes, at: p, isFinal: isFinal, hint: hint(hints, calls.count), into: &call)
            calls.append(call)
            switch outcome {
            case .invalid: return RegionReading(calls: calls, outcome: .invalid)
            case .truncated: return pending(calls, isFinal: isFinal)
            case .complete(let end):
                p = ToolCallJSON.skipWhitespace(bytes, end)
                if p < bytes.count, bytes[p] == UInt8(ascii: ";") { p = ToolCallJSON.skipWhitespace(bytes, p + 1) }
                lastEnd = p
            }
        }
    }

    private static func readMistral(_ bytes: [UInt8], from start: Int, isFinal: Bool, hints: [PartialToolCall]) -> RegionReading {
        var p = ToolCallJSON.skipWhitespace(bytes, start)
        switch ToolCallJSON.match("[TOOL_CALLS]", in: bytes, at: p) {
        case .matched(let end): p = ToolCallJSON.skipWhitespace(bytes, end)
        case .partial: return pending([], isFinal: isFinal)
        case .mismatch: return RegionReading(calls: [], outcome: .invalid)
        }
        guard p < bytes.count else { return pending([], isFinal: isFinal) }
        if bytes[p] == UInt8(ascii: "[") || bytes[p] == UInt8(ascii: "{") {
            return readMistralJSONCalls(bytes, from: p, isFinal: isFinal, hints: hints)
        }
        return readMistralNamedCall(bytes, from: p, isFinal: isFinal, hint: hint(hints, 0))
    }

    /// `[{"name": ..., "arguments": ...}, ...]`, or a single object without the brackets.
    private static func readMistralJSONCalls(_ bytes: [UInt8], from start: Int, isFinal: Bool, hints: [PartialToolCall]) -> RegionReading {
        let isList = bytes[start] == UInt8(ascii: "[")
        var p = isList ? start + 1 : start
        var calls: [PartialToolCall] = []
        while true {
            p = ToolCallJSON.skipWhitespace(bytes, p)
            guard p < bytes.count else { return pending(calls, isFinal: isFinal) }
            var call = PartialToolCall()
            let outcome = ToolCallJSON.readCall(bytes, at: p, isFinal: isFinal, hint: hint(hints, calls.count), into: &call)
            calls.append(call)
            switch outcome {
            case .invalid: return RegionReading(calls: calls, outcome: .invalid)
            case .truncated: return pending(calls, isFinal: isFinal)
            case .complete(let end):
                guard isList else { return RegionReading(calls: calls, outcome: .complete(end: end)) }
                p = ToolCallJSON.skipWhitespace(bytes, end)
                guard p < bytes.count else {
                    // A list the model did not close before it stopped still holds whole calls.
                    return isFinal ? RegionReading(calls: calls, outcome: .complete(end: bytes.count)) : pending(calls, isFinal: false)
                }
                if bytes[p] == UInt8(ascii: "]") { return RegionReading(calls: calls, outcome: .complete(end: p + 1)) }
                guard bytes[p] == UInt8(ascii: ",") else { return RegionReading(calls: calls, outcome: .invalid) }
                p += 1
            }
        }
    }

    /// `name[ARGS]{...}` or `name[CALL_ID]id[ARGS]{...}`.
    private static func readMistralNamedCall(_ bytes: [UInt8], from start: Int, isFinal: Bool, hint: PartialToolCall?) -> RegionReading {
        var p = start
        while p < bytes.count, isNameByte(bytes[p]) { p += 1 }
        // The name may still grow until the next byte that cannot be part of it.
        guard p < bytes.count else { return pending([], isFinal: isFinal) }
        guard p > start else { return RegionReading(calls: [], outcome: .invalid) }
        var call = PartialToolCall(name: String(decoding: bytes[start..<p], as: UTF8.self))
        func argumentsStart(_ p: Int) -> ReadOutcome {
            switch ToolCallJSON.match("[ARGS]", in: bytes, at: p) {
            case .matched(let end): return .complete(end: end)
            case .partial: return .truncated
            case .mismatch: return .invalid
            }
        }
        var arguments = argumentsStart(p)
        if arguments == .invalid {
            switch ToolCallJSON.match("[CALL_ID]", in: bytes, at: p) {
            case .partial: arguments = .truncated
            case .mismatch: arguments = .invalid
            case .matched(let end):
                p = end
                while p < bytes.count, isNameByte(bytes[p]) { p += 1 }
                arguments = p < bytes.count ? argumentsStart(p) : .truncated
            }
        }
        switch arguments {
        case .invalid: return RegionReading(calls: [call], outcome: .invalid)
        case .truncated: return pending([call], isFinal: isFinal)
        case .complete(let end): p = ToolCallJSON.skipWhitespace(bytes, end)
        }
        guard p < bytes.count else { return pending([call], isFinal: isFinal) }
        let (outcome, scan, text) = ToolCallJSON.readArguments(bytes, at: p, isFinal: isFinal, resuming: hint?.argumentsScan)
        call.argumentsScan = scan
        guard outcome != .invalid, let text else { return RegionReading(calls: [call], outcome: .invalid) }
        call.arguments = text
        switch outcome {
        case .complete(let end):
            return RegionReading(calls: [call], outcome: .complete(end: end))
        default:
            return pending([call], isFinal: isFinal)
        }
    }
}
