import Foundation
import Hummingbird
import LoomChatTemplate
import LoomGenerate

/// `POST /v1/embeddings` over the server's sentence encoder (`loom serve --embedding-model`).
///
/// `input` is a string, a list of strings, a list of token ids, or a list of such lists, as
/// OpenAI's API takes it. Texts longer than the encoder's sequence length are cut there, as
/// sentence-transformers does, and `usage` counts the tokens actually embedded. Vectors come as
/// floats, or as base64 of little-endian float32 with `encoding_format: "base64"` (what the
/// official clients ask for by default).
struct EmbeddingEndpoint: Sendable {
    let state: ServerState

    /// Inputs one request may carry (OpenAI's limit).
    static let maxInputs = 2048

    func embeddings(_ body: RequestFields) async throws(APIError) -> Response {
        let model = try state.model()
        guard let embedder = model.embedder else {
            throw .badRequest("\(model.name) is a text generation model and this server has no sentence encoder; "
                              + "start it with --embedding-model DIR (a BERT / sentence-transformers directory)",
                              code: "model_not_embedding")
        }
        if let requested = try body.string("model"), requested != model.embeddingName, requested != model.name {
            throw .invalid("model", "'\(requested)' is not served here; the sentence encoder is '\(model.embeddingName)'", code: "model_not_found")
        }
        let format = try body.string("encoding_format") ?? "float"
        guard format == "float" || format == "base64" else { throw .invalid("encoding_format", "must be float or base64") }
        if let dimensions = try body.int("dimensions", atLeast: 1), dimensions != embedder.config.hiddenSize {
            throw .invalid("dimensions", "\(model.embeddingName) gives \(embedder.config.hiddenSize) dimensions and cannot shorten them")
        }
        let sequences = try Self.inputs(body, embedder: embedder)
        let vectors: [[Float]]
        do {
            vectors = try await Self.offCooperativePool { try embedder.embed(tokens: sequences) }
        } catch {
            throw .server("embedding failed: \(error)")
        }
        let tokens = sequences.reduce(0) { $0 + $1.count }
        let data: [[String: Any]] = vectors.enumerated().map { index, vector in
            let embedding: Any = format == "base64" ? Self.base64(vector) : vector.map(Double.init)
            return ["object": "embedding", "index": index, "embedding": embedding]
        }
        return json(["object": "list", "data": data, "model": model.embeddingName,
                     "usage": ["prompt_tokens": tokens, "total_tokens": tokens]])
    }

    /// The token sequences to embed, [CLS] and [SEP] included, each cut to the sequence length.
    static func inputs(_ body: RequestFields, embedder: Embedder) throws(APIError) -> [[Int32]] {
        guard let value = body.value("input") else { throw .invalid("input", "is required") }
        let vocabulary = embedder.tokenizer.vocabularySize
        let length = embedder.config.maxSequenceLength
        func ids(_ items: [JinjaValue], _ name: String) throws(APIError) -> [Int32] {
            var out: [Int32] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard case .int(let id) = item, id >= 0, id < vocabulary else {
                    throw .invalid("\(name)[\(i)]", "must be a token id below the vocabulary size \(vocabulary)")
                }
                out.append(Int32(id))
            }
            return embedder.tokenizer.withSpecials(out, maxLength: length)
        }
        switch value {
        case .string(let text):
            return [embedder.tokens(of: text)]
        case .array(let items):
            guard !items.isEmpty else { throw .invalid("input", "must not be an empty list") }
            guard items.count <= maxInputs else { throw .invalid("input", "holds \(items.count) inputs; at most \(maxInputs)") }
            if items.allSatisfy({ if case .int = $0 { return true } else { return false } }) {
                return [try ids(items, "input")]
            }
            var out: [[Int32]] = []
            for (i, item) in items.enumerated() {
                switch item {
                case .string(let text): out.append(embedder.tokens(of: text))
                case .array(let inner):
                    guard !inner.isEmpty else { throw .invalid("input[\(i)]", "must not be an empty list of tokens") }
                    out.append(try ids(inner, "input[\(i)]"))
                default: throw .invalid("input[\(i)]", "must be a string or a list of token ids")
                }
            }
            return out
        default:
            throw .invalid("input", "must be a string, a list of strings, or token ids")
        }
    }

    /// Runs blocking work on a thread of its own, so the encoder's passes never hold one of
    /// Swift's cooperative threads (which serve the other requests).
    static func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    static func base64(_ vector: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(vector.count * 4)
        for x in vector {
            let bits = x.bitPattern.littleEndian
            bytes.append(UInt8(bits & 0xFF)); bytes.append(UInt8((bits >> 8) & 0xFF))
            bytes.append(UInt8((bits >> 16) & 0xFF)); bytes.append(UInt8(bits >> 24))
        }
        return Data(bytes).base64EncodedString()
    }
}
