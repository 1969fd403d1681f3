import Foundation

/// One transform in a sampler chain. The names are llama.cpp's `--samplers` names, so a
/// chain written for llama.cpp (`penalties;dry;top_k;typ_p;top_p;min_p;xtc;temperature`)
/// means the same here.
public enum SamplerStage: String, Sendable, CaseIterable, Codable {
    /// Repetition, frequency and presence penalties over the recent tokens.
    case penalties
    /// DRY: penalises tokens that would extend a repeat of earlier text.
    case dry
    case topK = "top_k"
    /// Locally typical sampling.
    case typicalP = "typ_p"
    case topP = "top_p"
    case minP = "min_p"
    /// Exclude Top Choices.
    case xtc
    case temperature

    /// llama.cpp's default order (`common_params_sampling::samplers` in common/common.h of
    /// llama.cpp as vendored by llama-cpp-python 0.3.36, less top-n-sigma, which Loom lacks).
    /// Logit bias is applied before the chain and the draw after it, as there.
    public static let llamaDefaultOrder: [SamplerStage] = [.penalties, .dry, .topK, .typicalP, .topP, .minP, .xtc, .temperature]

    /// Parses a `;`- or `,`-separated list of stage names, accepting llama.cpp's aliases.
    public static func parseOrder(_ text: String) throws -> [SamplerStage] {
        let aliases: [String: SamplerStage] = [
            "penalties": .penalties, "repetition": .penalties, "dry": .dry,
            "top_k": .topK, "top-k": .topK, "typ_p": .typicalP, "typical_p": .typicalP, "typical": .typicalP,
            "top_p": .topP, "top-p": .topP, "nucleus": .topP, "min_p": .minP, "min-p": .minP,
            "xtc": .xtc, "temperature": .temperature, "temp": .temperature,
        ]
        let names = text.split(whereSeparator: { $0 == ";" || $0 == "," }).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return try names.map { name in
            guard let stage = aliases[name] else { throw SamplingError.unknownStage(name) }
            return stage
        }
    }
}

/// Bad sampling settings, named by the setting.
public enum SamplingError: Error, CustomStringConvertible, Equatable {
    case unknownStage(String)
    case invalidParameter(name: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownStage(name):
            return "unknown sampler '\(name)'; known: \(SamplerStage.allCases.map(\.rawValue).joined(separator: ", "))"
        case let .invalidParameter(name, reason):
            return "sampling parameter \(name): \(reason)"
        }
    }
}
