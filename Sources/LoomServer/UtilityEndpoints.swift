import Foundation
import Hummingbird
import LoomChatTemplate
import LoomRuntime

/// The endpoints beside generation: health, models, metrics, tokenizer, template and slots.
struct UtilityEndpoints: Sendable {
    let state: ServerState
    let metrics: ServerMetrics

    /// 200 once the model is loaded and the server takes work; 503 while it loads or drains.
    func health() -> Response {
        switch state.phase {
        case .ready: return json(["status": "ok"])
        case .loading: return json(["status": "loading model"], status: .serviceUnavailable)
        case .draining: return json(["status": "shutting down"], status: .serviceUnavailable)
        case .failed(let message): return json(["status": "error", "error": message], status: .internalServerError)
        }
    }

    func models() throws(APIError) -> Response {
        let model = try state.model()
        var entry: [String: Any] = ["id": model.name, "object": "model", "created": model.created, "owned_by": "loom"]
        entry["meta"] = ["n_ctx": model.context, "n_vocab": model.tokenizer.vocabularySize]
        var entries = [entry]
        if let embedder = model.embedder {
            entries.append(["id": model.embeddingName, "object": "model", "created": model.created, "owned_by": "loom",
                            "meta": ["n_ctx": embedder.config.maxSequenceLength, "n_vocab": embedder.tokenizer.vocabularySize,
                                     "n_embd": embedder.config.hiddenSize, "kind": "embedding"]])
        }
        return json(["object": "list", "data": entries])
    }

    func metricsText() -> Response {
        let model = try? state.model()
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.scrape(model: model))))
    }

    /// llama-server's `/tokenize`: `content`, optional `add_special` and `with_pieces`.
    func tokenize(_ body: RequestFields) throws(APIError) -> Response {
        let model = try state.model()
        guard let content = try body.string("content") else { throw .invalid("content", "is required") }
        let addSpecial = try body.bool("add_special") ?? false
        let parseSpecial = try body.bool("parse_special") ?? true
        let ids = model.tokenizer.encode(content, parseSpecial: parseSpecial, addBOS: addSpecial ? nil : false)
        if try body.bool("with_pieces") == true {
            let pieces: [[String: Any]] = ids.map { id in
                let bytes = model.tokenizer.bytes(of: id)
                let piece: Any = String(validating: bytes, as: UTF8.self) ?? bytes.map(Int.init)
                return ["id": Int(id), "piece": piece]
            }
            return json(["tokens": pieces])
        }
        return json(["tokens": ids.map(Int.init)])
    }

    /// llama-server's `/detokenize`: `tokens` → `content`.
    func detokenize(_ body: RequestFields) throws(APIError) -> Response {
        let model = try state.model()
        guard let items = try body.array("tokens") else { throw .invalid("tokens", "is required") }
        var ids: [Int32] = []
        for (i, item) in items.enumerated() {
            guard case .int(let id) = item, id >= 0, id < model.tokenizer.vocabularySize else {
                throw .invalid("tokens[\(i)]", "must be a token id below the vocabulary size \(model.tokenizer.vocabularySize)")
            }
            ids.append(Int32(id))
        }
        return json(["content": model.tokenizer.decode(ids)])
    }

    /// The prompt a chat request would be given (llama-server's `/apply-template`).
    func applyTemplate(_ body: RequestFields) throws(APIError) -> Response {
        let model = try state.model()
        let rendered = try ChatPrompt.render(body, model: model)
        return json(["prompt": rendered.text])
    }

    /// What each request in the scheduler is doing, and the page pool.
    func slots() throws(APIError) -> Response {
        let model = try state.model()
        guard let scheduler = model.generator.scheduler else { return json(["slots": [Any]()]) }
        let slots: [[String: Any]] = scheduler.slots().map { slot in
            ["id": slot.id, "state": slot.isRunning ? "running" : "waiting", "n_ctx": model.context,
             "prompt_tokens": slot.promptTokens, "cached_prompt_tokens": slot.reusedPromptTokens,
             "generated_tokens": slot.generatedTokens, "tokens_held": slot.cachedTokens, "pages_held": slot.pages]
        }
        func figures(_ pool: PagePool) -> [String: Any] {
            ["total": pool.pageCount, "page_tokens": pool.pageTokens, "referenced": pool.referencedPageCount,
             "cached": pool.cachedPageCount, "free": pool.freePageCount]
        }
        var object: [String: Any] = ["slots": slots, "parallel": scheduler.maxParallel, "pages": figures(scheduler.model.pages)]
        if let draft = model.draftPages { object["draft_pages"] = figures(draft) }
        return json(object)
    }
}

func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSON.bytes(object))))
}
