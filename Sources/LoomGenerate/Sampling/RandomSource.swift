import LoomCore

/// A seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64), so that a run
/// with the same seed, prompt and model draws the same tokens on every machine.
public struct RandomSource: RandomNumberGenerator, Sendable {
    /// [4] the generator's state; never all zero.
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose whole sequence is fixed by `seed`.
    public init(seed: UInt64) {
        var seeds = SplitMix64(seed: seed)
        state = (seeds.next(), seeds.next(), seeds.next(), seeds.next())
    }

    /// A generator seeded from the system's entropy, for runs that need not repeat.
    public static func random() -> RandomSource {
        var system = SystemRandomNumberGenerator()
        return RandomSource(seed: system.next())
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    /// A uniform draw in [0, 1) with 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    @inline(__always)
    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
