/// Turns a model's reply, fed as it is generated, into OpenAI chat-completion output: plain text
/// for `content` and `tool_calls` in the model's `ToolCallFormat`.
///
/// Text that could be the beginning of a tool-call marker is held back until the next pieces
/// show whether it is (as stop strings are), so a marker never reaches the content stream; the
/// whitespace between text and a call is dropped. A call's first delta goes out once its name
/// is known; with `.incremental` streaming its arguments follow as they are generated.
///
/// Everything it produces depends on the text only, not on how the text was cut into pieces:
/// the same reply fed whole or a character at a time gives the same content, calls and ids.
/// A marker followed by text that is not a valid call (broken JSON, or a reply cut off inside a
/// call) is returned as content, as llama-server does.
///
/// ```swift
/// var parser = ToolCallStreamParser(format: .hermes, toolNames: ["get_weather"])
/// for piece in pieces { send(parser.feed(piece)) }
/// let (last, result) = parser.finish()
/// send(last)  // then finish_reason: result.openAIFinishReason(for: reason)
/// ```
public struct ToolCallStreamParser: Sendable {
    /// When a call's arguments are sent.
    public enum ArgumentStreaming: Sendable {
        /// Piece by piece as the model writes them. A call that turns out to be malformed after
        /// its first delta was sent cannot be taken back; it is missing from the final result.
        case incremental
        /// The whole call in one delta, once the text around it shows it is a valid call: the
        /// deltas then always add up to the final result.
        case wholeCalls
    }

    public let format: ToolCallFormat
    public let argumentStreaming: ArgumentStreaming
    /// The request's tool names, when given: a "call" to any other name is text.
    public let toolNames: Set<String>?
    private var ids: ToolCallIDGenerator
    private let markers: StringWatch

    /// [reply bytes] UTF-8 of everything fed so far.
    private var bytes: [UInt8] = []
    /// Bytes before this offset have been sent as content or taken into a call.
    private var position = 0
    /// Where the tool-call region being read begins, if one is open.
    private var regionStart: Int?
    /// The last reading of the open region, which the next one carries on from.
    private var lastReading: RegionReading?
    /// Calls of the open region whose first delta has been sent.
    private var streamedCalls: [StreamedCall] = []
    /// Whitespace right after a call is dropped.
    private var trimsLeadingWhitespace = false
    /// A Llama 3.x call must open the reply.
    private var replyMayStillOpenWithCall = true
    private var nextIndex = 0
    private var content: [UInt8] = []
    private var toolCalls: [ToolCall] = []
    private var hadMalformedCall = false

    private struct StreamedCall {
        let index: Int
        let id: String
        var sentArgumentBytes: Int
    }

    /// - Parameters:
    ///   - format: how the model writes calls (`ToolCallFormat.detect(templateSource:)`).
    ///   - toolNames: the names of the request's `tools`. Give them: a Llama 3.x reply that is a
    ///     JSON object beginning with `"name"` is otherwise taken for a call.
    ///   - ids: where the calls' ids come from; by default unseeded ids in the format's style.
    public init(format: ToolCallFormat, argumentStreaming: ArgumentStreaming = .incremental, toolNames: Set<String>? = nil,
                ids: ToolCallIDGenerator? = nil) {
        self.format = format
        self.argumentStreaming = argumentStreaming
        self.toolNames = toolNames
        self.ids = ids ?? ToolCallIDGenerator(style: format.callIDStyle)
        markers = StringWatch(format.openingMarkers)
    }

    /// Takes the next piece of the reply (a `GenerationEvent.text`) and returns what can be sent.
    public mutating func feed(_ text: String) -> [ToolCallStreamEvent] {
        bytes.append(contentsOf: text.utf8)
        return advance(isFinal: false)
    }

    /// Ends the reply: returns the events still held back, and the whole reply for a
    /// non-streaming response and the finish reason.
    public mutating func finish() -> (events: [ToolCallStreamEvent], result: ToolCallParseResult) {
        let events = advance(isFinal: true)
        let result = ToolCallParseResult(content: String(decoding: content, as: UTF8.self), toolCalls: toolCalls,
                                         hadMalformedCall: hadMalformedCall)
        return (events, result)
    }

    private mutating func advance(isFinal: Bool) -> [ToolCallStreamEvent] {
        var events: [ToolCallStreamEvent] = []
        while true {
            if let start = regionStart {
                guard readRegion(from: start, isFinal: isFinal, into: &events) else { return events }
            } else {
                guard readContent(isFinal: isFinal, into: &events) else { return events }
            }
        }
    }

    /// Sends the text up to the next marker. Returns whether a region now begins.
    private mutating func readContent(isFinal: Bool, into events: inout [ToolCallStreamEvent]) -> Bool {
        if trimsLeadingWhitespace {
            position = ToolCallJSON.skipWhitespace(bytes, position)
            guard position < bytes.count else { return false }
            trimsLeadingWhitespace = false
        }
        if format == .llama3JSON {
            if replyMayStillOpenWithCall {
                let first = ToolCallJSON.skipWhitespace(bytes, position)
                guard first < bytes.count else {
                    if isFinal { sendContent(upTo: bytes.count, into: &events) }
                    return false
                }
                if bytes[first] == UInt8(ascii: "{") || ToolCallJSON.match("<|python_tag|>", in: bytes, at: first) != .mismatch {
                    regionStart = position
                    return true
                }
                replyMayStillOpenWithCall = false
            }
            sendContent(upTo: bytes.count, into: &events)
            return false
        }
        if let marker = markers.firstMatch(in: bytes, from: position) {
            var start = marker
            while start > position, ToolCallJSON.isWhitespace(bytes[start - 1]) { start -= 1 }
            sendContent(upTo: start, into: &events)
            regionStart = start
            return true
        }
        var end = bytes.count
        if !isFinal {
            // A marker may be starting, and whitespace before a marker is dropped.
            end -= markers.heldTail(of: bytes, from: position)
            while end > position, ToolCallJSON.isWhitespace(bytes[end - 1]) { end -= 1 }
        }
        sendContent(upTo: end, into: &events)
        return false
    }

    /// Reads the open region. Returns whether it ended (as calls or as text).
    private mutating func readRegion(from start: Int, isFinal: Bool, into events: inout [ToolCallStreamEvent]) -> Bool {
        let reading = format.readRegion(bytes, from: start, isFinal: isFinal, previous: lastReading, toolNames: toolNames)
        lastReading = reading
        switch reading.outcome {
        case .truncated:
            if argumentStreaming == .incremental { stream(reading.calls, into: &events) }
            return false
        case .complete(let end):
            stream(reading.calls, into: &events)
            for (call, streamed) in zip(reading.calls, streamedCalls) {
                toolCalls.append(ToolCall(index: streamed.index, id: streamed.id, name: call.name ?? "",
                                          arguments: String(decoding: call.arguments, as: UTF8.self)))
            }
            endRegion(resumingAt: end)
            trimsLeadingWhitespace = true
            return true
        case .invalid:
            if argumentStreaming == .incremental {
                // What a finer cut of the same text would have sent before the error showed.
                stream(longestOpenReading(from: start).calls, into: &events)
            }
            // A Llama 3.x reply that is JSON but not a call is ordinary text.
            if format != .llama3JSON || !streamedCalls.isEmpty { hadMalformedCall = true }
            if format == .llama3JSON {
                endRegion(resumingAt: start)
            } else {
                // The marker is text; what follows it may still hold a valid call.
                let markerStart = ToolCallJSON.skipWhitespace(bytes, start)
                let markerEnd = markerStart + (format.openingMarkers.first?.utf8.count ?? 0)
                endRegion(resumingAt: start)
                sendContent(upTo: markerEnd, into: &events)
            }
            return true
        }
    }

    private mutating func endRegion(resumingAt offset: Int) {
        regionStart = nil
        lastReading = nil
        streamedCalls = []
        replyMayStillOpenWithCall = false
        position = offset
    }

    /// The reading of the longest prefix of the reply (cut between characters) on which the
    /// open region is still open: the region's invalid text starts after it.
    private func longestOpenReading(from start: Int) -> RegionReading {
        func isOpen(_ end: Int) -> RegionReading? {
            let reading = format.readRegion(Array(bytes[..<end]), from: start, isFinal: false, toolNames: toolNames)
            return reading.outcome == .truncated ? reading : nil
        }
        func isContinuationByte(_ offset: Int) -> Bool { bytes[offset] & 0xC0 == 0x80 }
        var low = start, high = bytes.count
        var best = isOpen(start) ?? RegionReading(calls: [], outcome: .truncated)
        while high - low > 1 {
            var middle = (low + high) / 2
            while middle > low, isContinuationByte(middle) { middle -= 1 }
            if middle == low {
                middle = (low + high) / 2
                while middle < high, isContinuationByte(middle) { middle += 1 }
                if middle == high { break }
            }
            if let reading = isOpen(middle) {
                low = middle
                best = reading
            } else {
                high = middle
            }
        }
        return best
    }

    /// Sends what is new in the region's calls: a first delta for each call that now has a
    /// name, then the arguments text added since the last delta.
    private mutating func stream(_ calls: [PartialToolCall], into events: inout [ToolCallStreamEvent]) {
        for (position, call) in calls.enumerated() {
            // A later call's delta never goes out before an earlier one's name.
            guard let name = call.name else { return }
            if position == streamedCalls.count {
                let streamed = StreamedCall(index: nextIndex, id: ids.next(), sentArgumentBytes: call.arguments.count)
                nextIndex += 1
                streamedCalls.append(streamed)
                events.append(.toolCall(ToolCallDelta(index: streamed.index, id: streamed.id, name: name,
                                                      arguments: String(decoding: call.arguments, as: UTF8.self))))
            } else if call.arguments.count > streamedCalls[position].sentArgumentBytes {
                let new = call.arguments[streamedCalls[position].sentArgumentBytes...]
                streamedCalls[position].sentArgumentBytes = call.arguments.count
                events.append(.toolCall(ToolCallDelta(index: streamedCalls[position].index, arguments: String(decoding: new, as: UTF8.self))))
            }
        }
    }

    private mutating func sendContent(upTo end: Int, into events: inout [ToolCallStreamEvent]) {
        guard end > position else { return }
        let piece = bytes[position..<end]
        content.append(contentsOf: piece)
        events.append(.content(String(decoding: piece, as: UTF8.self)))
        position = end
    }
}
