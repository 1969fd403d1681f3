import Foundation
import Testing
@testable import LoomGenerate

/// Tool-call parsing of scripted replies. The replies are inputs written here in each family's
/// format; the expected parse is what OpenAI's chat-completions format defines for them:
/// `message.content` is the text outside the calls, each call is `{id, type: "function",
/// function: {name, arguments}}` with `arguments` the JSON text of the arguments (compacted here,
/// keys in the order written), and streamed `delta.tool_calls` pieces, joined by `index`, give
/// the same calls.
struct ToolCallTests {
    static let seed: UInt64 = 7

    /// The ways a reply is cut into pieces: whole, a character at a time, and random cuts.
    static func cuts(of text: String) -> [[String]] {
        let characters = Array(text)
        var result = [[text], characters.map { String($0) }]
        var random = RandomSource(seed: 2024)
        for _ in 0..<6 {
            var pieces: [String] = [], i = 0
            while i < characters.count {
                let length = 1 + Int(random.next() % 7)
                pieces.append(String(characters[i..<min(i + length, characters.count)]))
                i += length
            }
            result.append(pieces)
        }
        return result
    }

    struct Streamed {
        var events: [ToolCallStreamEvent]
        var result: ToolCallParseResult
    }

    static func parse(_ pieces: [String], _ format: ToolCallFormat, _ streaming: ToolCallStreamParser.ArgumentStreaming,
                      toolNames: Set<String>? = nil) -> Streamed {
        var parser = ToolCallStreamParser(format: format, argumentStreaming: streaming, toolNames: toolNames,
                                          ids: ToolCallIDGenerator(style: format.callIDStyle, seed: seed))
        var events: [ToolCallStreamEvent] = []
        for piece in pieces { events += parser.feed(piece) }
        let (last, result) = parser.finish()
        return Streamed(events: events + last, result: result)
    }

    /// The content and calls a client rebuilds from the deltas.
    static func assemble(_ events: [ToolCallStreamEvent]) -> (content: String, calls: [ToolCall]) {
        var content = "", calls: [ToolCall] = []
        for event in events {
            switch event {
            case .content(let text):
                #expect(!text.isEmpty, "empty content delta")
                content += text
            case .toolCall(let delta):
                if let id = delta.id {
                    #expect(!calls.contains { $0.index == delta.index }, "two first deltas for index \(delta.index)")
                    calls.append(ToolCall(index: delta.index, id: id, name: delta.name ?? "", arguments: delta.arguments))
                } else if let i = calls.firstIndex(where: { $0.index == delta.index }) {
                    #expect(delta.name == nil)
                    calls[i].arguments += delta.arguments
                } else {
                    Issue.record("arguments delta for index \(delta.index) before its first delta")
                }
            }
        }
        return (content, calls)
    }

    /// Parses `reply` in every cut and both streaming modes, and checks each against the expected
    /// content and calls and against the other cuts.
    func check(_ reply: String, _ format: ToolCallFormat, content: String, calls expected: [(name: String, arguments: String)],
               malformed: Bool = false, toolNames: Set<String>? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        var ids = ToolCallIDGenerator(style: format.callIDStyle, seed: Self.seed)
        for streaming in [ToolCallStreamParser.ArgumentStreaming.incremental, .wholeCalls] {
            let reference = Self.parse([reply], format, streaming, toolNames: toolNames)
            let referenceStream = Self.assemble(reference.events)
            for pieces in Self.cuts(of: reply) {
                let run = Self.parse(pieces, format, streaming, toolNames: toolNames)
                let label = "\(format) \(streaming) cut into \(pieces.count)"
                #expect(run.result == reference.result, "\(label): final result differs from the whole reply's", sourceLocation: sourceLocation)
                let stream = Self.assemble(run.events)
                #expect(stream.content == referenceStream.content && stream.calls == referenceStream.calls,
                        "\(label): deltas differ from the whole reply's", sourceLocation: sourceLocation)
                #expect(stream.content == run.result.content, "\(label): content deltas do not add up", sourceLocation: sourceLocation)
                if streaming == .wholeCalls || !run.result.hadMalformedCall {
                    #expect(stream.calls == run.result.toolCalls, "\(label): call deltas do not add up", sourceLocation: sourceLocation)
                }
            }
        }
        let result = Self.parse([reply], format, .incremental, toolNames: toolNames).result
        #expect(result.content == content, sourceLocation: sourceLocation)
        #expect(result.toolCalls.map(\.name) == expected.map(\.name), sourceLocation: sourceLocation)
        #expect(result.toolCalls.map(\.arguments) == expected.map(\.arguments), sourceLocation: sourceLocation)
        #expect(result.hadMalformedCall == malformed, sourceLocation: sourceLocation)
        if !malformed {
            #expect(result.toolCalls.map(\.index) == Array(0..<expected.count), sourceLocation: sourceLocation)
            #expect(result.toolCalls.map(\.id) == expected.map { _ in ids.next() }, sourceLocation: sourceLocation)
            #expect(result.openAIFinishReason(for: .stop) == (expected.isEmpty ? "stop" : "tool_calls"), sourceLocation: sourceLocation)
            for marker in format.openingMarkers {
                #expect(!result.content.contains(marker), sourceLocation: sourceLocation)
            }
        }
    }

    // MARK: Hermes / Qwen

    @Test func hermesSingleCall() {
        check("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 2}}\n</tool_call>", .hermes,
              content: "", calls: [("get_weather", #"{"city":"Paris","days":2}"#)])
    }

    @Test func hermesTwoCalls() {
        check("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
              + "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"Europe/Paris\"}}\n</tool_call>", .hermes,
              content: "", calls: [("get_weather", #"{"city":"Paris"}"#), ("get_time", #"{"tz":"Europe/Paris"}"#)])
    }

    @Test func hermesContentBeforeAndAfter() {
        check("Let me check the weather.\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\nOne moment.",
              .hermes, content: "Let me check the weather.One moment.", calls: [("get_weather", #"{"city":"Paris"}"#)])
    }

    @Test func hermesPlainTextPassesThrough() {
        check("Use a <tool> or <tool_cal tag, and x<y. Tags: <tool_call", .hermes,
              content: "Use a <tool> or <tool_cal tag, and x<y. Tags: <tool_call", calls: [])
        check("  two spaces, then newlines\n\n", .hermes, content: "  two spaces, then newlines\n\n", calls: [])
    }

    @Test func hermesMalformedJSONIsContent() {
        let missingBrace = "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}\n</tool_call>"
        check(missingBrace, .hermes, content: missingBrace, calls: [], malformed: true)
        let unquoted = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": Paris}}\n</tool_call>"
        check(unquoted, .hermes, content: unquoted, calls: [], malformed: true)
        let template = "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>"
        check(template, .hermes, content: template, calls: [], malformed: true)
    }

    @Test func hermesCutOffCallIsContent() {
        let cut = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par"
        check(cut, .hermes, content: cut, calls: [], malformed: true)
    }

    @Test func hermesMissingClosingTagAtTheEndIsForgiven() {
        check("<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}\n</tool", .hermes,
              content: "", calls: [("get_time", #"{"tz":"UTC"}"#)])
    }

    @Test func hermesUnicodeArguments() {
        check("Wetter für Köln 🌍:\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Köln\", \"note\": \"谢谢 🌍\", \"escaped\": \"\\u00e9\\ud83c\\udf0d\"}}\n</tool_call>",
              .hermes, content: "Wetter für Köln 🌍:",
              calls: [("get_weather", #"{"city":"Köln","note":"谢谢 🌍","escaped":"\u00e9\ud83c\udf0d"}"#)])
    }

    @Test func hermesArgumentsKeepOrderAndLoseOnlyInterTokenWhitespace() {
        check("<tool_call>\n{\"arguments\": {\n  \"unit\" : \"celsius\",\n  \"city\": \"New  York\",\n  \"days\": [1, 2.50, -3e2],\n  \"x\": {\"b\": null, \"a\": true}\n}, \"name\": \"get_weather\"}\n</tool_call>",
              .hermes, content: "",
              calls: [("get_weather", #"{"unit":"celsius","city":"New  York","days":[1,2.50,-3e2],"x":{"b":null,"a":true}}"#)])
    }

    @Test func hermesStringArgumentsAreTheJSONTheyHold() {
        check("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}\n</tool_call>", .hermes,
              content: "", calls: [("get_weather", #"{"city": "Paris"}"#)])
    }

    @Test func hermesCallWithoutArgumentsHasEmptyObject() {
        check("<tool_call>\n{\"name\": \"get_time\"}\n</tool_call>", .hermes, content: "", calls: [("get_time", "{}")])
    }

    // MARK: Llama 3.x

    @Test func llamaSingleCall() {
        check("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": 2}}", .llama3JSON,
              content: "", calls: [("get_weather", #"{"city":"Paris","days":2}"#)])
    }

    @Test func llamaPythonTagAndTypeFunction() {
        check("<|python_tag|>{\"type\": \"function\", \"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", .llama3JSON,
              content: "", calls: [("get_weather", #"{"city":"Paris"}"#)])
        check("\n {\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}}", .llama3JSON,
              content: "", calls: [("get_time", #"{"tz":"UTC"}"#)])
    }

    @Test func llamaTwoCalls() {
        check("{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; {\"name\": \"get_time\", \"parameters\": {\"tz\": \"UTC\"}}",
              .llama3JSON, content: "", calls: [("get_weather", #"{"city":"Paris"}"#), ("get_time", #"{"tz":"UTC"}"#)])
    }

    @Test func llamaTextAfterCall() {
        check("{\"name\": \"get_time\", \"parameters\": {}}\nI will tell you the time.", .llama3JSON,
              content: "I will tell you the time.", calls: [("get_time", "{}")])
    }

    @Test func llamaPlainRepliesPassThrough() {
        check("{\"answer\": 42, \"name\": \"x\"}", .llama3JSON, content: "{\"answer\": 42, \"name\": \"x\"}", calls: [])
        check("  The weather is {\"name\": \"fine\"}.", .llama3JSON, content: "  The weather is {\"name\": \"fine\"}.", calls: [])
        check("{na", .llama3JSON, content: "{na", calls: [])
    }

    @Test func llamaMalformedJSONIsContent() {
        let unquoted = "{\"name\": \"get_weather\", \"parameters\": {\"city\": Paris}}"
        check(unquoted, .llama3JSON, content: unquoted, calls: [], malformed: true)
    }

    @Test func llamaUnicodeArguments() {
        check("{\"name\": \"translate\", \"parameters\": {\"text\": \"谢谢!\", \"to\": \"Deutsch – ü\"}}", .llama3JSON,
              content: "", calls: [("translate", #"{"text":"谢谢!","to":"Deutsch – ü"}"#)])
    }

    // MARK: Mistral

    @Test func mistralJSONList() {
        check("[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": \"abc123def\"}]", .mistral,
              content: "", calls: [("get_weather", #"{"city":"Paris"}"#)])
        check("[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}, {\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}]",
              .mistral, content: "", calls: [("get_weather", #"{"city":"Paris"}"#), ("get_time", #"{"tz":"UTC"}"#)])
    }

    @Test func mistralNamedCalls() {
        check("[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\", \"days\": 2}", .mistral,
              content: "", calls: [("get_weather", #"{"city":"Paris","days":2}"#)])
        check("[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]get_time[CALL_ID]a1b2c3d4e[ARGS]{\"tz\": \"UTC\"}", .mistral,
              content: "", calls: [("get_weather", #"{"city":"Paris"}"#), ("get_time", #"{"tz":"UTC"}"#)])
    }

    @Test func mistralContentBeforeCall() {
        check("Sure, checking.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Zürich\"}", .mistral,
              content: "Sure, checking.", calls: [("get_weather", #"{"city":"Zürich"}"#)])
    }

    @Test func mistralPlainTextPassesThrough() {
        check("Brackets [TOOL] and [TOOL_CALL stay, as does [TOOL_CALLS", .mistral,
              content: "Brackets [TOOL] and [TOOL_CALL stay, as does [TOOL_CALLS", calls: [])
    }

    @Test func mistralMalformedIsContent() {
        let badArguments = "[TOOL_CALLS]get_weather[ARGS]{\"city\": }"
        check(badArguments, .mistral, content: badArguments, calls: [], malformed: true)
        let badList = "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}} {\"name\": \"x\"}]"
        check(badList, .mistral, content: badList, calls: [], malformed: true)
    }

    @Test func mistralIDsAreNineAlphanumerics() {
        let result = Self.parse(["[TOOL_CALLS]get_time[ARGS]{}"], .mistral, .incremental).result
        let id = try? #require(result.toolCalls.first?.id)
        #expect(id?.count == 9 && id?.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } == true)
    }

    // MARK: Tool names

    @Test func callsToUnknownToolsAreText() {
        let names: Set<String> = ["get_weather", "get_time"]
        let misspelt = "<tool_call>\n{\"name\": \"get_wether\", \"arguments\": {}}\n</tool_call>"
        check(misspelt, .hermes, content: misspelt, calls: [], malformed: true, toolNames: names)
        check("{\"name\": \"Bob\", \"age\": 3}", .llama3JSON, content: "{\"name\": \"Bob\", \"age\": 3}", calls: [], toolNames: names)
        check("{\"name\": \"get_time\", \"parameters\": {\"tz\": \"UTC\"}}", .llama3JSON, content: "",
              calls: [("get_time", #"{"tz":"UTC"}"#)], toolNames: names)
        check("[TOOL_CALLS]get_wether[ARGS]{}", .mistral, content: "[TOOL_CALLS]get_wether[ARGS]{}", calls: [], malformed: true, toolNames: names)
    }

    // MARK: Streaming shape

    @Test func argumentsStreamInPiecesAfterAFirstDeltaWithIDAndName() throws {
        let reply = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
        let run = Self.parse(reply.map { String($0) }, .hermes, .incremental)
        let deltas = run.events.compactMap { if case .toolCall(let d) = $0 { return d } else { return nil } }
        let first = try #require(deltas.first)
        #expect(first.index == 0 && first.name == "get_weather")
        #expect(first.id?.hasPrefix("call_") == true && first.id?.count == 29)
        #expect(deltas.count > 5, "arguments should arrive in several pieces")
        #expect(deltas.dropFirst().allSatisfy { $0.id == nil && $0.name == nil && $0.index == 0 })
        let whole = Self.parse(reply.map { String($0) }, .hermes, .wholeCalls)
        #expect(whole.events.count == 1)
    }

    @Test func deltasEncodeInOpenAIShape() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let first = String(decoding: try encoder.encode(ToolCallDelta(index: 0, id: "call_1", name: "f", arguments: "")), as: UTF8.self)
        #expect(first == #"{"function":{"arguments":"","name":"f"},"id":"call_1","index":0,"type":"function"}"#)
        let next = String(decoding: try encoder.encode(ToolCallDelta(index: 0, arguments: "{\"a\"")), as: UTF8.self)
        #expect(next == #"{"function":{"arguments":"{\"a\""},"index":0}"#)
        let call = String(decoding: try encoder.encode(ToolCall(index: 0, id: "call_1", name: "f", arguments: "{}")), as: UTF8.self)
        #expect(call == #"{"function":{"arguments":"{}","name":"f"},"id":"call_1","type":"function"}"#)
    }

    @Test func finishReasonStaysLengthWhenCutOff() {
        let result = ToolCallParseResult(content: "", toolCalls: [ToolCall(index: 0, id: "x", name: "f", arguments: "{}")], hadMalformedCall: false)
        #expect(result.openAIFinishReason(for: .length) == "length")
        #expect(result.openAIFinishReason(for: .stop) == "tool_calls")
    }

    @Test func seededIDsRepeatAndUnseededDiffer() {
        var a = ToolCallIDGenerator(style: .openAI, seed: 1), b = ToolCallIDGenerator(style: .openAI, seed: 1)
        #expect(a.next() == b.next())
        var c = ToolCallIDGenerator(style: .openAI), d = ToolCallIDGenerator(style: .openAI)
        #expect(c.next() != d.next())
    }

    @Test func formatNames() {
        #expect(ToolCallFormat(name: "qwen") == .hermes)
        #expect(ToolCallFormat(name: "llama3-json") == .llama3JSON)
        #expect(ToolCallFormat(name: "Mistral") == .mistral)
        #expect(ToolCallFormat(name: "gpt-oss") == nil)
    }
}
