/// How to choose each next token. The defaults are llama.cpp's (`common_params_sampling` in
/// llama.cpp's common/common.h, as vendored by llama-cpp-python 0.3.36), so a user who knows
/// llama.cpp's flags gets the behaviour they expect.
public struct SamplingParameters: Sendable, Equatable {
    /// Divides the logits; 0 or less picks the most likely token (greedy).
    public var temperature: Float = 0.8
    /// Keep the k most likely tokens; 0 or less keeps all.
    public var topK: Int = 40
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.
    public var topP: Float = 0.95
    /// Keep tokens at least this fraction as likely as the most likely; 0 keeps all.
    public var minP: Float = 0.05
    /// Locally typical sampling mass; 1 disables it.
    public var typicalP: Float = 1.0
    /// Truncating stages keep at least this many tokens (llama.cpp's `min_keep`).
    public var minKeep: Int = 0

    /// Divides positive (multiplies negative) logits of recently seen tokens; 1 disables it.
    public var repetitionPenalty: Float = 1.0
    /// Subtracted once per occurrence in the recent tokens; 0 disables it.
    public var frequencyPenalty: Float = 0
    /// Subtracted once from every token present in the recent tokens; 0 disables it.
    public var presencePenalty: Float = 0
    /// How many of the latest context tokens (prompt included) the three penalties look at;
    /// 0 disables them, -1 means the whole context.
    public var penaltyLastN: Int = 64

    /// DRY strength; 0 disables it. Penalty: multiplier × base^(repeat length − allowed length).
    public var dryMultiplier: Float = 0
    public var dryBase: Float = 1.75
    /// Repeats up to this many tokens long are not penalised.
    public var dryAllowedLength: Int = 2
    /// Context tokens DRY scans; 0 disables it, -1 means the whole context.
    public var dryPenaltyLastN: Int = 64
    /// Strings that end a repeat: a token whose text contains one of them is never part of a
    /// match (llama.cpp's default breakers).
    public var drySequenceBreakers: [String] = ["\n", ":", "\"", "*"]

    /// Chance that XTC acts at a step; 0 disables it.
    public var xtcProbability: Float = 0
    /// XTC removes every token at least this likely except the least likely of them; above 0.5 disables it.
    public var xtcThreshold: Float = 0.1

    /// Added to the logits of the given ids before the chain (−∞ bans a token).
    public var logitBias: [Int32: Float] = [:]
    /// The transforms, in order; logit bias comes before and the draw after.
    public var order: [SamplerStage] = SamplerStage.llamaDefaultOrder
    /// Fixes the random draws; nil seeds from the system.
    public var seed: UInt64? = nil

    public init() {}

    /// Always the most likely token (after penalties and bias).
    public static var greedy: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = 0
        return p
    }

    /// Throws for settings that cannot mean anything (a negative top-p, a DRY base below 1 ...).
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ reason: String) throws {
            if !ok { throw SamplingError.invalidParameter(name: name, reason: reason) }
        }
        try check(temperature.isFinite, "temperature", "must be a finite number")
        try check(topP >= 0 && topP.isFinite, "top_p", "must be at least 0")
        try check(minP >= 0 && minP <= 1, "min_p", "must be within 0...1")
        try check(typicalP >= 0 && typicalP.isFinite, "typical_p", "must be at least 0")
        try check(minKeep >= 0, "min_keep", "must be at least 0")
        try check(repetitionPenalty > 0 && repetitionPenalty.isFinite, "repeat_penalty", "must be positive")
        try check(frequencyPenalty.isFinite && presencePenalty.isFinite, "frequency/presence_penalty", "must be finite")
        try check(penaltyLastN >= -1, "repeat_last_n", "must be -1, 0 or positive")
        try check(dryMultiplier >= 0 && dryMultiplier.isFinite, "dry_multiplier", "must be at least 0")
        try check(dryBase >= 1 && dryBase.isFinite, "dry_base", "must be at least 1")
        try check(dryAllowedLength >= 0, "dry_allowed_length", "must be at least 0")
        try check(dryPenaltyLastN >= -1, "dry_penalty_last_n", "must be -1, 0 or positive")
        try check(xtcProbability >= 0 && xtcProbability <= 1, "xtc_probability", "must be within 0...1")
        try check(xtcThreshold >= 0, "xtc_threshold", "must be at least 0")
        try check(!logitBias.values.contains { $0.isNaN || $0 == .infinity }, "logit_bias", "values must be numbers below +inf")
    }
}
