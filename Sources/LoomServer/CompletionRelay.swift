import Foundation
import HTTPTypes
import Hummingbird
import LoomGenerate
import LoomTokenizer

/// Carries one generation to the client as an OpenAI response: chat or text completion,
/// streamed as server-sent events (each event written as soon as the scheduler makes it) or
/// collected into one JSON object.
struct CompletionRelay: Sendable {
    enum Kind: Sendable {
        case chat
        case text
    }

    let kind: Kind
    let model: ServedModel
    let fields: GenerationFields
    let prompt: [Int32]
    /// Text completions with `echo`: the prompt text, sent before the continuation.
    let echo: String?
    /// The tools rendered into the prompt; the reply is parsed for calls to them.
    let toolNames: Set<String>?
    /// At most this many tool calls are returned; nil for any.
    let toolCallLimit: Int?
    /// Text the reply's parser reads before the generated text: a call marker put in the prompt.
    let replyPrefix: String?
    let metrics: ServerMetrics
    let id: String
    let created = Int(Date().timeIntervalSince1970)
    let started = ContinuousClock.now

    init(kind: Kind, model: ServedModel, fields: GenerationFields, prompt: [Int32], echo: String? = nil,
         toolNames: Set<String>? = nil, toolCallLimit: Int? = nil, replyPrefix: String? = nil, metrics: ServerMetrics) {
        self.kind = kind
        self.model = model
        self.fields = fields
        self.prompt = prompt
        self.echo = echo
        self.toolNames = toolNames
        self.toolCallLimit = toolCallLimit
        self.replyPrefix = replyPrefix
        self.metrics = metrics
        id = (kind == .chat ? "chatcmpl-" : "cmpl-") + RequestID.make()
    }

    private var object: String { kind == .chat ? "chat.completion" : "text_completion" }
    private var chunkObject: String { kind == .chat ? "chat.completion.chunk" : "text_completion" }

    // MARK: whole responses

    /// Waits for the generation and answers with one JSON object.
    func collect(_ stream: GenerationStream) async throws(APIError) -> Response {
        var reply = ReplyBuilder(toolNames: toolNames, format: model.toolCallFormat, streaming: fields.stream, callLimit: toolCallLimit, prefix: replyPrefix)
        var timings = GenerationTimings()
        var reason = FinishReason.cancelled
        var clock = TokenClock(started: started, metrics: metrics)
        do {
            for try await event in stream.events {
                switch event {
                case .text(let text): reply.push(text)
                case .token(let token):
                    clock.tick()
                    reply.tokens.append(token)
                case .preempted: break
                case .finished(let r, let t): reason = r; timings = t
                }
            }
        } catch {
            throw APIError(generation: error)
        }
        _ = reply.finish()
        let finish = reply.finishReason(reason)
        var choice: [String: Any] = ["index": 0, "finish_reason": finish, "logprobs": logprobsObject(reply.tokens, textStart: (echo ?? "").unicodeScalars.count) ?? NSNull()]
        switch kind {
        case .chat:
            let calls = reply.toolCalls
            var message: [String: Any] = ["role": "assistant", "content": calls.isEmpty || !reply.content.isEmpty ? reply.content : NSNull()]
            if !calls.isEmpty {
                message["tool_calls"] = calls.map { ["id": $0.id, "type": "function", "function": ["name": $0.name, "arguments": $0.arguments]] }
            }
            choice["message"] = message
        case .text:
            choice["text"] = (echo ?? "") + reply.content
        }
        metrics.finished(timings: timings)
        let body: [String: Any] = ["id": id, "object": object, "created": created, "model": model.name, "choices": [choice],
                                   "usage": usage(timings), "system_fingerprint": ServerInfo.fingerprint]
        return json(body)
    }

    // MARK: streams

    /// Answers with an event stream; a client that goes away cancels the generation.
    func stream(_ stream: GenerationStream) -> Response {
        let relay = self
        let body = ResponseBody { writer in
            var events = EventWriter(writer: writer, handle: stream.handle)
            try await relay.run(stream, into: &events)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    private func run(_ stream: GenerationStream, into events: inout EventWriter) async throws {
        var reply = ReplyBuilder(toolNames: toolNames, format: model.toolCallFormat, streaming: fields.stream, callLimit: toolCallLimit, prefix: replyPrefix)
        var clock = TokenClock(started: started, metrics: metrics)
        // Text completions' text_offset counts from the start of the whole text (the echoed
        // prompt included), across chunks, as in the response that is not streamed.
        var textOffset = (echo ?? "").unicodeScalars.count
        if kind == .chat { try await events.send(chunk(delta: ["role": "assistant", "content": ""], finish: nil, tokens: nil)) }
        if let echo, !echo.isEmpty { try await events.send(chunk(text: echo, tokens: nil, finish: nil)) }
        var timings = GenerationTimings()
        var reason = FinishReason.cancelled
        do {
            for try await event in stream.events {
                switch event {
                case .text(let text):
                    reply.push(text)
                    if !fields.logprobs { try await sendPending(&reply, tokens: nil, textOffset: &textOffset, into: &events) }
                case .token(let token):
                    clock.tick()
                    if fields.logprobs { try await sendPending(&reply, tokens: [token], textOffset: &textOffset, into: &events) }
                case .preempted: break
                case .finished(let r, let t): reason = r; timings = t
                }
            }
        } catch let error as EventWriter.ClientGone {
            throw error
        } catch {
            // The headers are out: the failure goes in the stream, as OpenAI's API sends it.
            try await events.send(["error": APIError(generation: error).object])
            try await events.sendDone()
            return
        }
        let rest = reply.finish()
        try await sendParts(rest, tokens: nil, textOffset: &textOffset, into: &events)
        let finish = reply.finishReason(reason)
        metrics.finished(timings: timings)
        var last = kind == .chat ? chunk(delta: [:], finish: finish, tokens: nil) : chunk(text: "", tokens: nil, finish: finish)
        if fields.includeUsage { last["usage"] = NSNull() }
        try await events.send(last)
        if fields.includeUsage {
            try await events.send(["id": id, "object": chunkObject, "created": created, "model": model.name, "choices": [Any](),
                                   "usage": usage(timings), "system_fingerprint": ServerInfo.fingerprint])
        }
        try await events.sendDone()
    }

    private func sendPending(_ reply: inout ReplyBuilder, tokens: [GeneratedToken]?, textOffset: inout Int,
                             into events: inout EventWriter) async throws {
        let parts = reply.takeDeltas()
        if parts.content.isEmpty && parts.toolCalls.isEmpty && tokens == nil { return }
        try await sendParts(parts, tokens: tokens, textOffset: &textOffset, into: &events)
    }

    private func sendParts(_ parts: ReplyBuilder.Parts, tokens: [GeneratedToken]?, textOffset: inout Int,
                           into events: inout EventWriter) async throws {
        switch kind {
        case .chat:
            if !parts.content.isEmpty || tokens != nil {
                try await events.send(chunk(delta: ["content": parts.content], finish: nil, tokens: tokens))
            }
            for call in parts.toolCalls {
                var function: [String: Any] = ["arguments": call.arguments]
                if let name = call.name { function["name"] = name }
                var delta: [String: Any] = ["index": call.index, "function": function]
                if let id = call.id {
                    delta["id"] = id
                    delta["type"] = "function"
                }
                try await events.send(chunk(delta: ["tool_calls": [delta]], finish: nil, tokens: nil))
            }
        case .text:
            if !parts.content.isEmpty || tokens != nil {
                try await events.send(chunk(text: parts.content, tokens: tokens, finish: nil, textStart: textOffset))
                for token in tokens ?? [] { textOffset += tokenText(token.id).unicodeScalars.count }
            }
        }
    }

    private func chunk(delta: [String: Any], finish: String?, tokens: [GeneratedToken]?) -> [String: Any] {
        chunk(choice: ["delta": delta], finish: finish, tokens: tokens)
    }

    private func chunk(text: String, tokens: [GeneratedToken]?, finish: String?, textStart: Int = 0) -> [String: Any] {
        chunk(choice: ["text": text], finish: finish, tokens: tokens, textStart: textStart)
    }

    /// A stream event holding one choice (its `delta` or `text` given).
    private func chunk(choice content: [String: Any], finish: String?, tokens: [GeneratedToken]?, textStart: Int = 0) -> [String: Any] {
        var choice = content
        choice["index"] = 0
        choice["finish_reason"] = finish ?? NSNull()
        choice["logprobs"] = tokens.flatMap { logprobsObject($0, textStart: textStart) } ?? NSNull()
        var out: [String: Any] = ["id": id, "object": chunkObject, "created": created, "model": model.name, "choices": [choice],
                                  "system_fingerprint": ServerInfo.fingerprint]
        if fields.includeUsage { out["usage"] = NSNull() }
        return out
    }

    // MARK: parts of a response

    private func usage(_ timings: GenerationTimings) -> [String: Any] {
        ["prompt_tokens": prompt.count, "completion_tokens": timings.generatedTokens, "total_tokens": prompt.count + timings.generatedTokens,
         "prompt_tokens_details": ["cached_tokens": timings.reusedPromptTokens],
         // OpenAI's names for verified proposals (its predicted outputs).
         "completion_tokens_details": ["accepted_prediction_tokens": timings.acceptedTokens,
                                       "rejected_prediction_tokens": timings.proposedTokens - timings.acceptedTokens]]
    }

    /// A token's text as logprobs spell it (its bytes, invalid UTF-8 replaced).
    private func tokenText(_ id: Int32) -> String { String(decoding: model.tokenizer.bytes(of: id), as: UTF8.self) }

    /// Log-probabilities in the endpoint's shape, or nil when none were asked for; text
    /// completions' offsets count characters (code points, as Python's str does) from `textStart`.
    private func logprobsObject(_ tokens: [GeneratedToken], textStart: Int) -> [String: Any]? {
        guard fields.logprobs else { return nil }
        func piece(_ id: Int32) -> (text: String, bytes: [UInt8]) {
            let bytes = model.tokenizer.bytes(of: id)
            return (String(decoding: bytes, as: UTF8.self), bytes)
        }
        switch kind {
        case .chat:
            let content: [[String: Any]] = tokens.map { token in
                let p = piece(token.id)
                return ["token": p.text, "logprob": Double(token.logprob ?? 0), "bytes": p.bytes.map(Int.init),
                        "top_logprobs": token.topLogprobs.map { alt -> [String: Any] in
                            let q = piece(alt.id)
                            return ["token": q.text, "logprob": Double(alt.logprob), "bytes": q.bytes.map(Int.init)]
                        }]
            }
            return ["content": content]
        case .text:
            var offsets: [Int] = []
            var offset = textStart
            for token in tokens {
                offsets.append(offset)
                offset += piece(token.id).text.unicodeScalars.count
            }
            return ["tokens": tokens.map { piece($0.id).text }, "token_logprobs": tokens.map { Double($0.logprob ?? 0) },
                    "top_logprobs": tokens.map { token -> [String: Double] in
                        var top: [String: Double] = [:]
                        for alt in token.topLogprobs { top[piece(alt.id).text] = Double(alt.logprob) }
                        return top
                    },
                    "text_offset": offsets]
        }
    }
}

/// Writes server-sent events; a failed write means the client has gone, and cancels the
/// generation at once (its pages are freed at the scheduler's next step).
struct EventWriter {
    struct ClientGone: Error {}

    var writer: any ResponseBodyWriter
    let handle: GenerationHandle

    mutating func send(_ object: [String: Any]) async throws {
        try await write("data: " + JSON.string(object) + "\n\n")
    }

    mutating func sendDone() async throws {
        try await write("data: [DONE]\n\n")
        try await writer.finish(nil)
    }

    private mutating func write(_ text: String) async throws {
        do {
            try await writer.write(ByteBuffer(string: text))
        } catch {
            handle.cancel()
            throw ClientGone()
        }
    }
}

/// Times tokens as they arrive at the server: time to first token, then the gap between tokens.
struct TokenClock {
    let started: ContinuousClock.Instant
    let metrics: ServerMetrics
    private var last: ContinuousClock.Instant?

    init(started: ContinuousClock.Instant, metrics: ServerMetrics) {
        self.started = started
        self.metrics = metrics
    }

    mutating func tick() {
        let now = ContinuousClock.now
        if let last {
            metrics.interTokenLatency(now - last)
        } else {
            metrics.timeToFirstToken(now - started)
        }
        last = now
    }
}

/// Request ids: random, URL-safe, 24 characters.
enum RequestID {
    static func make() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
    }
}

enum ServerInfo {
    /// Tells clients which build answered (OpenAI's `system_fingerprint`).
    static let fingerprint = "loom-0.1.0"
}
