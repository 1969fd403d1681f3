// The README's "Swift API" example, verbatim between the markers; ReadmeExampleTests checks
// that the README block is identical and runs it.
// README-EXAMPLE-BEGIN
import LoomGenerate

/// Streams a continuation of `prompt` to stdout and returns the text.
func continueText(_ prompt: String, modelPath: String) async throws -> String {
    let generator = try Generator(modelPath: modelPath)
    var options = GenerationOptions(maxTokens: 32)
    options.sampling.temperature = 0.7
    options.sampling.seed = 42
    options.stopStrings = ["\n\n"]
    var text = ""
    for try await event in generator.generate(prompt, options: options) {
        switch event {
        case .text(let chunk):
            text += chunk
            print(chunk, terminator: "")
        case .token, .preempted:
            break
        case .finished(let reason, let timings):
            print("\n[\(reason), \(timings.generatedTokens) tokens, \(timings.generationTokensPerSecond) tok/s]")
        }
    }
    return text
}
// README-EXAMPLE-END

// The README's batching example, verbatim between the markers; BatchingReadmeTests checks that
// the README block is identical and runs it.
// README-BATCH-EXAMPLE-BEGIN
import LoomGenerate
import LoomRuntime

/// Continues several prompts at once: one scheduler, one forward pass per step for all of them.
func continueTogether(_ prompts: [String], modelPath: String) async throws -> [String] {
    // A page pool for 4 sequences of up to 512 tokens each.
    let options = EngineOptions(maxSequenceLength: 512, parallel: 4)
    let generator = try Generator(modelPath: modelPath, options: options)
    let settings = GenerationOptions(maxTokens: 24, sampling: .greedy)
    return try await withThrowingTaskGroup(of: (Int, String).self) { group in
        for (i, prompt) in prompts.enumerated() {
            group.addTask {
                var text = ""
                for try await event in generator.generate(prompt, options: settings) {
                    if case .text(let chunk) = event { text += chunk }
                }
                return (i, text)
            }
        }
        var texts = [String](repeating: "", count: prompts.count)
        for try await (i, text) in group { texts[i] = text }
        return texts
    }
}
// README-BATCH-EXAMPLE-END

// The README's embedding example, verbatim between the markers; EmbedderTests checks that the
// README block is identical and runs it.
// README-EMBED-EXAMPLE-BEGIN
import LoomGenerate

/// The sentence of `candidates` closest in meaning to `query`.
func closest(to query: String, in candidates: [String], modelPath: String) throws -> String {
    let embedder = try Embedder(path: modelPath)
    // Unit vectors (the model's Normalize module): a dot product is the cosine.
    let vectors = try embedder.embed([query] + candidates)
    let scores = vectors.dropFirst().map { v in zip(vectors[0], v).reduce(0) { $0 + $1.0 * $1.1 } }
    return candidates[scores.indices.max { scores[$0] < scores[$1] }!]
}
// README-EMBED-EXAMPLE-END
