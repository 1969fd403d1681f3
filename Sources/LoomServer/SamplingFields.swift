import LoomChatTemplate
import LoomGenerate

/// What chat and text completions share: how to sample, when to stop, what to report.
struct GenerationFields {
    var options: GenerationOptions
    /// `max_tokens` as asked; nil runs to the end of the context.
    var maxTokens: Int?
    var stream = false
    var includeUsage = false
    /// Per-token log-probabilities wanted, and how many alternatives.
    var logprobs = false
    var topLogprobs = 0

    /// Reads the fields of OpenAI's API, with the extras users of llama-server and TabbyAPI
    /// send (top_k, min_p, typical_p, repeat_penalty, DRY, XTC, banned_strings, min_tokens).
    /// Anything absent keeps the server's default (`defaults`, set from the command line).
    init(_ body: RequestFields, defaults: SamplingParameters, speculation: Speculation? = nil, vocabularySize: Int, chat: Bool) throws(APIError) {
        var sampling = defaults
        if let n = try body.int("n"), n != 1 { throw .invalid("n", "only 1 choice per request is supported, got \(n)") }
        if let t = try body.number("temperature", atLeast: 0) { sampling.temperature = Float(t) }
        if let p = try body.number("top_p", atLeast: 0, atMost: 1) { sampling.topP = Float(p) }
        if let k = try body.int("top_k", atLeast: -1) { sampling.topK = k }
        if let p = try body.number("min_p", atLeast: 0, atMost: 1) { sampling.minP = Float(p) }
        if let p = try body.number("typical_p", atLeast: 0, atMost: 1) { sampling.typicalP = Float(p) }
        if let p = try body.number("presence_penalty", atLeast: -2, atMost: 2) { sampling.presencePenalty = Float(p) }
        if let p = try body.number("frequency_penalty", atLeast: -2, atMost: 2) { sampling.frequencyPenalty = Float(p) }
        if let p = try body.number("repeat_penalty", atLeast: 0) {
            guard p > 0 else { throw .invalid("repeat_penalty", "must be positive (1 disables it)") }
            sampling.repetitionPenalty = Float(p)
        }
        if let n = try body.int("repeat_last_n", atLeast: -1) { sampling.penaltyLastN = n }
        if let m = try body.number("dry_multiplier", atLeast: 0) { sampling.dryMultiplier = Float(m) }
        if let b = try body.number("dry_base", atLeast: 1) { sampling.dryBase = Float(b) }
        if let n = try body.int("dry_allowed_length", atLeast: 0) { sampling.dryAllowedLength = n }
        if let n = try body.int("dry_penalty_last_n", atLeast: -1) { sampling.dryPenaltyLastN = n }
        if let breakers = try body.strings("dry_sequence_breakers", maxCount: 64) { sampling.drySequenceBreakers = breakers }
        if let p = try body.number("xtc_probability", atLeast: 0, atMost: 1) { sampling.xtcProbability = Float(p) }
        if let t = try body.number("xtc_threshold", atLeast: 0) { sampling.xtcThreshold = Float(t) }
        if let seed = try body.int("seed") { sampling.seed = UInt64(bitPattern: Int64(seed)) }
        if let bias = try body.object("logit_bias") { sampling.logitBias = try Self.logitBias(bias, vocabularySize: vocabularySize) }

        options = GenerationOptions(sampling: sampling)
        let maxCompletionTokens = try body.int("max_completion_tokens", atLeast: 0)
        let legacyMaxTokens = try body.int("max_tokens", atLeast: 0)
        maxTokens = maxCompletionTokens ?? legacyMaxTokens
        if let n = try body.int("min_tokens", atLeast: 0) { options.minTokens = n }
        if let stops = try body.strings("stop", maxCount: 16) { options.stopStrings = stops }
        if let banned = try body.strings("banned_strings", maxCount: 64) { options.bannedStrings = banned }
        if let ignore = try body.bool("ignore_eos") { options.stopAtModelEndTokens = !ignore }
        if let salt = try body.string("cache_salt") { options.cacheSalt = salt }
        options.speculation = try Self.speculation(body, defaults: speculation)
        _ = try body.string("user")

        stream = try body.bool("stream") ?? false
        if let streamOptions = try body.object("stream_options") {
            guard stream else { throw .invalid("stream_options", "is only allowed when stream is true") }
            includeUsage = try streamOptions.bool("include_usage") ?? false
        }
        if chat {
            logprobs = try body.bool("logprobs") ?? false
            if let top = try body.int("top_logprobs", atLeast: 0, atMost: 20) {
                guard logprobs else { throw .invalid("top_logprobs", "needs logprobs set to true") }
                topLogprobs = top
            }
        } else if let top = try body.int("logprobs", atLeast: 0, atMost: 20) {
            // Text completions: `logprobs` is the number of alternatives (0 still reports the chosen token's).
            logprobs = true
            topLogprobs = top
        }
        options.logprobs = logprobs
        options.topLogprobs = topLogprobs
        options.grammar = try Self.grammar(body)
    }

    /// Prompt lookup as the request asks (`lookup`: n-gram size, 0 for no speculation at all;
    /// `draft_max`), else the server's (prompt lookup or its draft model, `draft_max` applying
    /// to either).
    static func speculation(_ body: RequestFields, defaults: Speculation?) throws(APIError) -> Speculation? {
        let lookup = try body.int("lookup", atLeast: 0, atMost: 64)
        let draftMax = try body.int("draft_max", atLeast: 1, atMost: 64)
        if lookup == 0 { return nil }
        if lookup == nil, var drafting = defaults, case .draft = drafting.source {
            if let draftMax { drafting.maxDraft = draftMax }
            return drafting
        }
        guard let ngram = lookup ?? defaults.flatMap({ if case let .promptLookup(n, _) = $0.source { n } else { nil } }) else {
            if draftMax != nil { throw .invalid("draft_max", "needs lookup (the n-gram size of prompt lookup) or a draft model (--draft), here or on the command line") }
            return nil
        }
        return .promptLookup(ngram: ngram, maxDraft: draftMax ?? defaults?.maxDraft ?? Speculation.defaultMaxDraft)
    }

    /// The grammar the reply must follow: OpenAI's `response_format` (`json_object`, or
    /// `json_schema` with its `schema`), or llama-server's `json_schema`, `grammar` (GBNF) and
    /// TabbyAPI's `regex_pattern`/`regex`; at most one of them.
    static func grammar(_ body: RequestFields) throws(APIError) -> Grammar? {
        var given: [(param: String, make: () throws(GrammarError) -> Grammar)] = []
        if let format = try body.object("response_format") {
            switch try format.string("type") {
            case nil: throw .invalid("response_format.type", "is required (text, json_object or json_schema)")
            case "text"?: break
            case "json_object"?: given.append(("response_format", { Grammar.anyJSON }))
            case "json_schema"?:
                guard let spec = try format.object("json_schema"), let schema = spec.value("schema") else {
                    throw .invalid("response_format.json_schema.schema", "is required with type json_schema")
                }
                let text = try schemaText(schema, param: "response_format.json_schema.schema")
                given.append(("response_format.json_schema.schema", { () throws(GrammarError) -> Grammar in try Grammar.jsonSchema(text) }))
            case let other?: throw .invalid("response_format.type", "\(other) is not supported; use text, json_object or json_schema")
            }
        }
        if let schema = body.value("json_schema") {
            let text = try schemaText(schema, param: "json_schema")
            given.append(("json_schema", { () throws(GrammarError) -> Grammar in try Grammar.jsonSchema(text) }))
        }
        if let gbnf = try body.string("grammar"), !gbnf.isEmpty {
            given.append(("grammar", { () throws(GrammarError) -> Grammar in try Grammar(gbnf: gbnf) }))
        }
        for key in ["regex", "regex_pattern"] {
            if let pattern = try body.string(key) { given.append((key, { () throws(GrammarError) -> Grammar in try Grammar.regex(pattern) })) }
        }
        guard given.count <= 1 else {
            throw .invalid(given[1].param, "cannot be combined with \(given[0].param): give one grammar")
        }
        guard let (param, make) = given.first else { return nil }
        do { return try make() } catch { throw .invalid(param, error.description) }
    }

    private static func schemaText(_ schema: JinjaValue, param: String) throws(APIError) -> String {
        guard case .dict = schema else {
            if case .bool = schema { throw .invalid(param, "boolean schemas are not supported; give an object") }
            throw .invalid(param, "must be a JSON Schema object")
        }
        do { return try JinjaJSON.text(schema) } catch { throw .invalid(param, "cannot be written as JSON: \(error)") }
    }

    /// OpenAI's `logit_bias`: token id (as a string key) → bias in -100...100, where ±100 bans or
    /// forces the token.
    static func logitBias(_ fields: RequestFields, vocabularySize: Int) throws(APIError) -> [Int32: Float] {
        var out: [Int32: Float] = [:]
        for (key, _) in fields.fields.pairs {
            let text = key.jsonText
            guard let id = Int(text), id >= 0, id < vocabularySize else {
                throw .invalid(fields.name(text), "keys must be token ids below the vocabulary size \(vocabularySize)")
            }
            guard let bias = try fields.number(text, atLeast: -100, atMost: 100) else { continue }
            out[Int32(id)] = bias <= -100 ? -.infinity : Float(bias)
        }
        return out
    }
}
