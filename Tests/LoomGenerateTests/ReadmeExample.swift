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
