import LoomChatTemplate

/// What is known so far of one call in a model's reply.
struct PartialToolCall: Equatable {
    /// Set once the whole name has been read.
    var name: String?
    /// UTF-8 of the arguments JSON text read so far. Later reads of the same reply only append
    /// to it, so what was streamed stays a prefix of the final text.
    var arguments: [UInt8] = []
    /// Where the scan of the arguments got to, for the next reading to carry on from.
    var argumentsScan: ArgumentsScan?
}

/// The arguments value of a call, scanned so far.
struct ArgumentsScan: Equatable {
    /// Offset of the value's first byte in the reply.
    let start: Int
    /// Bytes before this offset have been scanned.
    var scanned: Int
    var scanner = JSONSyntaxScanner()
    /// Set once the value has ended, just past its last byte.
    var end: Int?
}

/// How far a piece of grammar has been read.
enum ReadOutcome: Equatable {
    /// It ends at this byte offset.
    case complete(end: Int)
    /// The bytes so far can begin it, but it needs more.
    case truncated
    /// The bytes cannot begin it.
    case invalid
}

/// Byte-level reading of tool-call JSON in generated text that may still be growing.
enum ToolCallJSON {
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    static func skipWhitespace(_ bytes: [UInt8], _ position: Int) -> Int {
        var p = position
        while p < bytes.count, isWhitespace(bytes[p]) { p += 1 }
        return p
    }

    enum LiteralMatch: Equatable { case matched(end: Int), partial, mismatch }

    /// Whether `literal` is at `position`, or the bytes end inside it.
    static func match(_ literal: String, in bytes: [UInt8], at position: Int) -> LiteralMatch {
        var p = position
        for byte in literal.utf8 {
            guard p < bytes.count else { return .partial }
            guard bytes[p] == byte else { return .mismatch }
            p += 1
        }
        return .matched(end: p)
    }

    /// JSON text without the whitespace between tokens: what OpenAI clients get as `arguments`.
    /// Keys keep the model's order and numbers and escapes stay as written, so every prefix of
    /// the text compacts to a prefix of the whole.
    static func compact(_ json: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(json.count)
        var inString = false, escaped = false
        for byte in json {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                out.append(byte)
            } else if !isWhitespace(byte) {
                if byte == UInt8(ascii: "\"") { inString = true }
                out.append(byte)
            }
        }
        return out
    }

    /// The text of a JSON string literal that may be cut off, up to its last whole character:
    /// an escape that has not ended (or a high surrogate still waiting for its low half) is left
    /// for later. Nil when what is there is not a valid string beginning.
    static func decodedStringPrefix(_ literal: ArraySlice<UInt8>) -> String? {
        let raw = Array(literal)
        var i = 1, cut = raw.count
        while i < raw.count {
            guard raw[i] == UInt8(ascii: "\\") else { i += 1; continue }
            guard i + 1 < raw.count else { cut = i; break }
            guard raw[i + 1] == UInt8(ascii: "u") else { i += 2; continue }
            guard i + 6 <= raw.count else { cut = i; break }
            let code = UInt32(String(decoding: raw[(i + 2)..<(i + 6)], as: UTF8.self), radix: 16) ?? 0
            if (0xD800..<0xDC00).contains(code) {
                guard i + 12 <= raw.count else { cut = i; break }
                i += 12
            } else {
                i += 6
            }
        }
        guard case .string(let text)? = try? JinjaJSON.parse(String(decoding: raw[0..<cut] + [UInt8(ascii: "\"")], as: UTF8.self)) else {
            return nil
        }
        return text
    }

    /// The `arguments` text of a call from the JSON value the model wrote: an object (or any
    /// non-string value) compacted; a string taken as the JSON text it holds.
    static func argumentsText(_ raw: ArraySlice<UInt8>, isWhole: Bool) -> [UInt8]? {
        guard raw.first == UInt8(ascii: "\"") else { return compact(raw) }
        if isWhole {
            guard case .string(let text)? = try? JinjaJSON.parse(String(decoding: raw, as: UTF8.self)) else { return nil }
            return Array(text.utf8)
        }
        return decodedStringPrefix(raw).map { Array($0.utf8) }
    }

    /// Reads one JSON value with LoomChatTemplate's order-preserving parser.
    static func readValue(_ bytes: [UInt8], at position: Int, isFinal: Bool) -> (ReadOutcome, JinjaValue?) {
        do {
            switch try JinjaJSON.parsePrefix(bytes, from: position, isFinal: isFinal) {
            case .complete(let value, let end): return (.complete(end: end), value)
            case .truncated: return (.truncated, nil)
            }
        } catch {
            return (.invalid, nil)
        }
    }

    /// Reads a call object: `{"name": ..., "arguments"|"parameters": ..., ...}`, or the OpenAI
    /// shape with the two inside `"function": {...}`. Other keys (`id`, `type`) are read and
    /// skipped: ids are the server's to give.
    /// Reads the arguments value at `start`, carrying on from `previous` (the same value read
    /// in a shorter reply) when there is one, so long arguments are scanned once.
    static func readArguments(_ bytes: [UInt8], at start: Int, isFinal: Bool, resuming previous: ArgumentsScan?)
        -> (outcome: ReadOutcome, scan: ArgumentsScan, text: [UInt8]?) {
        var scan = previous.flatMap { $0.start == start ? $0 : nil } ?? ArgumentsScan(start: start, scanned: start)
        func text(end: Int?) -> [UInt8]? {
            guard bytes[start] == UInt8(ascii: "\"") else { return scan.scanner.compacted }
            return argumentsText(end.map { bytes[start..<$0] } ?? bytes[start...], isWhole: end != nil)
        }
        if let end = scan.end { return (.complete(end: end), scan, text(end: end)) }
        while scan.scanned < bytes.count {
            switch scan.scanner.scan(bytes[scan.scanned]) {
            case .needsMore:
                scan.scanned += 1
            case .endedWith:
                scan.scanned += 1
                scan.end = scan.scanned
                return (.complete(end: scan.scanned), scan, text(end: scan.scanned))
            case .endedBefore:
                scan.end = scan.scanned
                return (.complete(end: scan.scanned), scan, text(end: scan.scanned))
            case .invalid:
                return (.invalid, scan, nil)
            }
        }
        if isFinal, scan.scanner.endsHere { return (.complete(end: bytes.count), scan, text(end: bytes.count)) }
        return (.truncated, scan, text(end: nil))
    }

    /// - Parameter hint: the same call read from a shorter reply, whose scan of the arguments
    ///   this reading carries on.
    static func readCall(_ bytes: [UInt8], at start: Int, isFinal: Bool, hint: PartialToolCall?, into call: inout PartialToolCall) -> ReadOutcome {
        guard start < bytes.count else { return .truncated }
        guard bytes[start] == UInt8(ascii: "{") else { return .invalid }
        var p = start + 1
        var isFirstKey = true
        var argumentsSeen = !call.arguments.isEmpty
        while true {
            p = skipWhitespace(bytes, p)
            guard p < bytes.count else { return .truncated }
            if bytes[p] == UInt8(ascii: "}") {
                return finishCall(&call, argumentsSeen: argumentsSeen, end: p + 1)
            }
            if !isFirstKey {
                guard bytes[p] == UInt8(ascii: ",") else { return .invalid }
                p = skipWhitespace(bytes, p + 1)
                guard p < bytes.count else { return .truncated }
            }
            guard bytes[p] == UInt8(ascii: "\"") else { return .invalid }
            let (keyOutcome, keyValue) = readValue(bytes, at: p, isFinal: false)
            guard case .complete(let keyEnd) = keyOutcome, case .string(let key)? = keyValue else {
                return keyOutcome == .truncated ? .truncated : .invalid
            }
            isFirstKey = false
            p = skipWhitespace(bytes, keyEnd)
            guard p < bytes.count else { return .truncated }
            guard bytes[p] == UInt8(ascii: ":") else { return .invalid }
            p = skipWhitespace(bytes, p + 1)
            guard p < bytes.count else { return .truncated }
            let valueStart = p
            if key == "function", bytes[p] == UInt8(ascii: "{") {
                switch readCall(bytes, at: p, isFinal: isFinal, hint: hint, into: &call) {
                case .complete(let end): p = end; argumentsSeen = true; continue
                case let other: return other
                }
            }
            if (key == "arguments" || key == "parameters") && !argumentsSeen {
                let (outcome, scan, text) = readArguments(bytes, at: valueStart, isFinal: isFinal, resuming: hint?.argumentsScan)
                call.argumentsScan = scan
                guard outcome != .invalid, let text else { return .invalid }
                call.arguments = text
                guard case .complete(let end) = outcome else { return .truncated }
                argumentsSeen = true
                p = end
                continue
            }
            let (outcome, value) = readValue(bytes, at: p, isFinal: isFinal)
            switch outcome {
            case .invalid: return .invalid
            case .truncated: return .truncated
            case .complete(let end):
                if key == "name", call.name == nil {
                    guard case .string(let name)? = value, !name.isEmpty else { return .invalid }
                    call.name = name
                }
                p = end
            }
        }
    }

    private static func finishCall(_ call: inout PartialToolCall, argumentsSeen: Bool, end: Int) -> ReadOutcome {
        guard call.name != nil else { return .invalid }
        if !argumentsSeen { call.arguments = Array("{}".utf8) }
        return .complete(end: end)
    }

    /// Whether the object at `start` opens with one of `keys`: a Llama 3.x reply that is a JSON
    /// object is a call only when it begins like one.
    static func opensWithKey(_ bytes: [UInt8], at start: Int, oneOf keys: [String]) -> ReadOutcome {
        guard start < bytes.count else { return .truncated }
        guard bytes[start] == UInt8(ascii: "{") else { return .invalid }
        let p = skipWhitespace(bytes, start + 1)
        guard p < bytes.count else { return .truncated }
        guard bytes[p] == UInt8(ascii: "\"") else { return .invalid }
        switch readValue(bytes, at: p, isFinal: false) {
        case (.complete(let end), .string(let key)?): return keys.contains(key) ? .complete(end: end) : .invalid
        case (.truncated, _):
            let partialKey = String(decoding: bytes[(p + 1)...], as: UTF8.self)
            return keys.contains { $0.hasPrefix(partialKey) } ? .truncated : .invalid
        default: return .invalid
        }
    }
}
