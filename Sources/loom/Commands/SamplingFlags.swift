import ArgumentParser
import LoomGenerate

/// Sampler flags, named as llama.cpp names them (`--temp`, `--top-k`, `--repeat-penalty`, ...).
/// Unset flags keep llama.cpp's defaults.
struct SamplingFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: "Temperature; 0 picks the most likely token (default: 0.8; with --tokens, 0).")
    var temp: Float?
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Keep the k most likely tokens; 0 keeps all (default: 40).")
    var topK: Int?
    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Nucleus: keep tokens up to this cumulative probability; 1 disables (default: 0.95).")
    var topP: Float?
    @Option(name: .customLong("min-p"), parsing: .unconditional, help: "Keep tokens at least this fraction as likely as the best; 0 disables (default: 0.05).")
    var minP: Float?
    @Option(name: .customLong("typical-p"), parsing: .unconditional, help: "Locally typical sampling mass; 1 disables (default: 1).")
    var typicalP: Float?
    @Option(name: .customLong("min-keep"), parsing: .unconditional, help: "Truncating samplers keep at least this many tokens (default: 0).")
    var minKeep: Int?
    @Option(name: .customLong("repeat-penalty"), parsing: .unconditional, help: "Penalise recently seen tokens; 1 disables (default: 1).")
    var repeatPenalty: Float?
    @Option(name: .customLong("repeat-last-n"), parsing: .unconditional, help: "Context tokens the penalties look at; -1 all, 0 none (default: 64).")
    var repeatLastN: Int?
    @Option(name: .customLong("presence-penalty"), parsing: .unconditional, help: "Subtracted from every token already present (default: 0).")
    var presencePenalty: Float?
    @Option(name: .customLong("frequency-penalty"), parsing: .unconditional, help: "Subtracted per occurrence (default: 0).")
    var frequencyPenalty: Float?
    @Option(name: .customLong("dry-multiplier"), parsing: .unconditional, help: "DRY strength; 0 disables (default: 0).")
    var dryMultiplier: Float?
    @Option(name: .customLong("dry-base"), parsing: .unconditional, help: "DRY base (default: 1.75).")
    var dryBase: Float?
    @Option(name: .customLong("dry-allowed-length"), parsing: .unconditional, help: "Repeats this long are not penalised (default: 2).")
    var dryAllowedLength: Int?
    @Option(name: .customLong("dry-penalty-last-n"), parsing: .unconditional, help: "Context tokens DRY scans; -1 all, 0 none (default: 64).")
    var dryPenaltyLastN: Int?
    @Option(name: .customLong("dry-sequence-breaker"), help: "A DRY sequence breaker (repeatable; replaces the defaults \\n : \" *).")
    var drySequenceBreakers: [String] = []
    @Option(name: .customLong("xtc-probability"), parsing: .unconditional, help: "Chance XTC acts per token; 0 disables (default: 0).")
    var xtcProbability: Float?
    @Option(name: .customLong("xtc-threshold"), parsing: .unconditional, help: "XTC threshold (default: 0.1).")
    var xtcThreshold: Float?
    @Option(name: .customLong("logit-bias"), help: "ID=BIAS added to a token's logit, e.g. 15043=-inf (repeatable).")
    var logitBias: [String] = []
    @Option(help: "Sampler order, ';'-separated (default: penalties;dry;top_k;typ_p;top_p;min_p;xtc;temperature).")
    var samplers: String?
    @Option(parsing: .unconditional, help: "Random seed, for reproducible runs (default: random).")
    var seed: UInt64?

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try validating { _ = try parameters() }
    }

    /// The parameters these flags describe; `greedyByDefault` makes temperature 0 unless `--temp` is given.
    func parameters(greedyByDefault: Bool = false) throws -> SamplingParameters {
        var p = SamplingParameters()
        if greedyByDefault { p.temperature = 0 }
        if let temp { p.temperature = temp }
        if let topK { p.topK = topK }
        if let topP { p.topP = topP }
        if let minP { p.minP = minP }
        if let typicalP { p.typicalP = typicalP }
        if let minKeep { p.minKeep = minKeep }
        if let repeatPenalty { p.repetitionPenalty = repeatPenalty }
        if let repeatLastN { p.penaltyLastN = repeatLastN }
        if let presencePenalty { p.presencePenalty = presencePenalty }
        if let frequencyPenalty { p.frequencyPenalty = frequencyPenalty }
        if let dryMultiplier { p.dryMultiplier = dryMultiplier }
        if let dryBase { p.dryBase = dryBase }
        if let dryAllowedLength { p.dryAllowedLength = dryAllowedLength }
        if let dryPenaltyLastN { p.dryPenaltyLastN = dryPenaltyLastN }
        if !drySequenceBreakers.isEmpty { p.drySequenceBreakers = drySequenceBreakers.map(unescape) }
        if let xtcProbability { p.xtcProbability = xtcProbability }
        if let xtcThreshold { p.xtcThreshold = xtcThreshold }
        for item in logitBias {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let id = Int32(parts[0]) else {
                throw ValidationError("--logit-bias takes ID=BIAS, such as 15043=-inf or 42=2.5; got '\(item)'")
            }
            let text = parts[1].lowercased()
            guard let bias = text == "-inf" ? -Float.infinity : Float(text) else {
                throw ValidationError("--logit-bias \(item): '\(parts[1])' is not a number or -inf")
            }
            p.logitBias[id] = bias
        }
        if let samplers { p.order = try SamplerStage.parseOrder(samplers) }
        p.seed = seed
        try p.validate()
        return p
    }
}

/// Turns the escapes a shell user types (\n, \t, \\) into the characters.
func unescape(_ text: String) -> String {
    var out = ""
    var escaped = false
    for c in text {
        if escaped {
            switch c {
            case "n": out.append("\n")
            case "t": out.append("\t")
            default: out.append(c)
            }
            escaped = false
        } else if c == "\\" {
            escaped = true
        } else {
            out.append(c)
        }
    }
    if escaped { out.append("\\") }
    return out
}
