import Foundation

/// How rotary position frequencies are derived, following transformers' `rope_type`s.
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor` (all frequencies scaled alike).
    case linear(factor: Double)
    /// Llama 3.1: low frequencies divided by `factor`, high ones kept, a smooth ramp between.
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
    /// YaRN: a ramp between interpolated and extrapolated frequencies, and cos/sin scaled by
    /// `attentionFactor`.
    case yarn(factor: Double, originalMaxPositions: Int, betaFast: Double, betaSlow: Double,
              attentionFactor: Double, truncate: Bool)
    /// LongRoPE (Phi-3's `longrope`, formerly `su`): each frequency divided by its own factor,
    /// the short ones within the original context and the long ones beyond it, and cos/sin scaled
    /// by `attentionFactor`.
    case longRope(shortFactors: [Double], longFactors: [Double], originalMaxPositions: Int, attentionFactor: Double)

    /// The inverse frequency of each of the `rotaryDim / 2` rotation pairs, and the factor applied
    /// to cos and sin, for a table of `positions` positions.
    ///
    /// LongRoPE takes its long factors when the table reaches past the original context, as
    /// llama.cpp decides by its context size. transformers decides by the length of the sequence
    /// at hand instead, so the two agree for every sequence when the context is within the
    /// original one, and for sequences longer than it otherwise.
    public func inverseFrequencies(theta: Double, rotaryDim: Int, positions: Int) -> (inverse: [Double], attentionFactor: Double) {
        let half = rotaryDim / 2
        let base = (0..<half).map { 1.0 / pow(theta, Double(2 * $0) / Double(rotaryDim)) }
        switch self {
        case .none:
            return (base, 1)
        case let .linear(factor):
            return (base.map { $0 / factor }, 1)
        case let .llama3(factor, low, high, original):
            let lowWavelength = Double(original) / low
            let highWavelength = Double(original) / high
            let scaled = base.map { inverse -> Double in
                let wavelength = 2 * Double.pi / inverse
                if wavelength < highWavelength { return inverse }
                if wavelength > lowWavelength { return inverse / factor }
                let smooth = (Double(original) / wavelength - low) / (high - low)
                return (1 - smooth) * inverse / factor + smooth * inverse
            }
            return (scaled, 1)
        case let .yarn(factor, original, betaFast, betaSlow, attentionFactor, truncate):
            func correctionDim(_ rotations: Double) -> Double {
                Double(rotaryDim) * log(Double(original) / (rotations * 2 * Double.pi)) / (2 * log(theta))
            }
            var low = correctionDim(betaFast)
            var high = correctionDim(betaSlow)
            if truncate { low = low.rounded(.down); high = high.rounded(.up) }
            low = max(low, 0)
            high = min(high, Double(rotaryDim - 1))
            if low == high { high += 0.001 }
            let scaled = (0..<half).map { i -> Double in
                let ramp = min(max((Double(i) - low) / (high - low), 0), 1)
                let extrapolationWeight = 1 - ramp
                return base[i] / factor * (1 - extrapolationWeight) + base[i] * extrapolationWeight
            }
            return (scaled, attentionFactor)
        case let .longRope(short, long, original, attentionFactor):
            let factors = positions > original ? long : short
            // As transformers computes it: the factor times θ^(2i/d) in float32, then inverted.
            let scaled = (0..<half).map { i in
                Double(1 / (Float(factors[i]) * Float(pow(theta, Double(2 * i) / Double(rotaryDim)))))
            }
            return (scaled, attentionFactor)
        }
    }
}
