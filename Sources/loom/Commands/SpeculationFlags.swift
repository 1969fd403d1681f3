import ArgumentParser
import LoomGenerate

/// Speculative decoding flags: propose tokens by prompt lookup and verify several per pass.
struct SpeculationFlags: ParsableArguments {
    @Option(parsing: .unconditional,
            help: "Propose the continuation of the last N tokens' latest earlier occurrence (prompt lookup, N down to 1), verified several per pass; the tokens are the same as without.")
    var lookup: Int?
    @Option(name: .customLong("draft-max"), parsing: .unconditional, help: "Tokens proposed per step at most, with --lookup (default: \(Speculation.defaultMaxDraft)).")
    var draftMax: Int?

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        _ = try speculation()
    }

    /// The speculation these flags ask for; nil without `--lookup`.
    func speculation() throws -> Speculation? {
        if let lookup, !(1...64).contains(lookup) { throw ValidationError("--lookup must be from 1 to 64 tokens, got \(lookup)") }
        if let draftMax, !(1...64).contains(draftMax) { throw ValidationError("--draft-max must be from 1 to 64 tokens, got \(draftMax)") }
        guard let lookup else {
            if draftMax != nil { throw ValidationError("--draft-max needs --lookup N") }
            return nil
        }
        return .promptLookup(ngram: lookup, maxDraft: draftMax ?? Speculation.defaultMaxDraft)
    }
}
