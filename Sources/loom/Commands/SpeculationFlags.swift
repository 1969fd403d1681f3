import ArgumentParser
import LoomGenerate
import LoomRuntime

/// Speculative decoding flags: propose tokens by prompt lookup and verify several per pass.
struct SpeculationFlags: ParsableArguments {
    @Option(parsing: .unconditional,
            help: "Propose the continuation of the last N tokens' latest earlier occurrence (prompt lookup, N down to 1), verified several per pass; the tokens are the same as without.")
    var lookup: Int?
    @Option(help: ArgumentHelp("A smaller model with the same vocabulary that proposes tokens (its greedy choice) for the model to verify several per pass; the tokens are the same as without.", valueName: "model"))
    var draft: String?
    @Option(name: .customLong("draft-max"), parsing: .unconditional, help: "Tokens proposed per step at most, with --lookup or --draft (default: \(Speculation.defaultMaxDraft)).")
    var draftMax: Int?

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        _ = try speculation()
    }

    /// The speculation these flags ask for; nil without `--lookup`.
    func speculation() throws -> Speculation? {
        if let lookup, !(1...64).contains(lookup) { throw ValidationError("--lookup must be from 1 to 64 tokens, got \(lookup)") }
        if let draftMax, !(1...64).contains(draftMax) { throw ValidationError("--draft-max must be from 1 to 64 tokens, got \(draftMax)") }
        if lookup != nil && draft != nil { throw ValidationError("--lookup and --draft cannot be combined: give one") }
        guard let lookup else {
            if draftMax != nil && draft == nil { throw ValidationError("--draft-max needs --lookup N or --draft MODEL") }
            return nil
        }
        return .promptLookup(ngram: lookup, maxDraft: draftMax ?? Speculation.defaultMaxDraft)
    }

    /// The speculation for `target`: prompt lookup, or the `--draft` model loaded with the
    /// target's context, cache type and parallel sequences, on the target's threads.
    func speculation(target: Engine) throws -> Speculation? {
        guard let draft else { return try speculation() }
        _ = try speculation()
        let request = target.plan.request
        let options = EngineOptions(maxSequenceLength: target.capacity, chunkTokens: target.chunkTokens, cacheType: request.cacheType,
                                    threads: target.pool.threadCount, parallel: request.parallel)
        let model: DraftModel
        do {
            model = try DraftModel(engine: try Engine(path: draft, options: options, pool: target.pool), targetVocabularySize: target.config.vocabSize)
        } catch {
            throw ValidationError("--draft \(draft): \(error)")
        }
        return .draftModel(model, maxDraft: draftMax ?? Speculation.defaultMaxDraft, draftCost: try model.passCost(comparedTo: target))
    }
}

extension Speculation {
    /// The draft model's engine, whose plan counts in the process's memory beside the target's.
    var draftEngine: Engine? {
        draftModel?.engine as? Engine
    }
}
