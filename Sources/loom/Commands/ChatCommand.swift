import ArgumentParser
import Dispatch
import Foundation
import LoomGenerate
import LoomRuntime
import LoomChatTemplate
import LoomTokenizer

/// `loom chat`: a multi-turn conversation in the terminal, in the model's chat template.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a model in the terminal, using its chat template.",
        discussion: """
        Type a message and press Enter. /reset starts a new conversation, /exit (or Ctrl-D) leaves.
        Ctrl-C stops the reply being written and returns to the prompt.
        Each turn reuses the cached conversation, so only the new message is evaluated.
        """)

    @OptionGroup var options: RunOptions
    @OptionGroup var sampling: SamplingFlags

    @Option(help: "A system message to start every conversation with.")
    var system: String?

    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "The longest reply, in tokens.")
    var maxTokens = 1024

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try requireAtLeast(1, maxTokens, "--max-tokens")
    }

    @Option(name: .customLong("template-name"), help: "Which of several named chat templates to use.")
    var templateName: String?

    func run() throws {
        try reportingErrors {
            let files = try ModelFiles(path: options.model)
            let tokenizer = try Generator.loadTokenizer(files)
            let engine = try options.makeEngine()
            let generator = try Generator(model: engine, tokenizer: tokenizer, endTokens: try StopTokens.of(files, tokenizer: tokenizer))
            let conversation = try ChatConversation(chat: try ModelChatTemplate.load(model: options.model), templateName: templateName,
                                                    tokenizer: tokenizer, system: system)
            let settings = GenerationOptions(maxTokens: maxTokens, sampling: try sampling.parameters())
            let interrupt = InterruptWatch()
            printError("loom chat: \(options.model) (context \(engine.capacity) tokens). /reset, /exit, Ctrl-C stops a reply.")
            while true {
                writeOut("> ")
                interrupt.atPrompt = true
                guard let line = readLine(strippingNewline: true) else { writeOut("\n"); return }
                interrupt.atPrompt = false
                let input = line.trimmingCharacters(in: .whitespaces)
                if input.isEmpty { continue }
                if input == "/exit" || input == "/quit" { return }
                if input == "/reset" {
                    conversation.reset()
                    printError("(new conversation)")
                    continue
                }
                let prompt = try conversation.prompt(user: line)
                let run = try generator.makeRun(prompt: prompt, options: settings)
                interrupt.current = run
                var reply = ""
                var replyTokens: [Int32] = []
                var outcome: (FinishReason, GenerationTimings)?
                while !run.isFinished {
                    for event in try run.next() {
                        switch event {
                        case .preempted:
                            break
                        case .text(let chunk):
                            reply += chunk
                            writeOut(chunk)
                        case .token(let token): replyTokens.append(token.id)
                        case .finished(let reason, let timings): outcome = (reason, timings)
                        }
                    }
                }
                interrupt.current = nil
                if !reply.hasSuffix("\n") { writeOut("\n") }
                conversation.record(reply: reply, tokens: replyTokens)
                if let (reason, t) = outcome {
                    let note = reason == .cancelled ? " (stopped)" : reason == .length ? " (length limit)" : ""
                    printError(String(format: "[%@, %.1f tok/s; prompt %@, %.1f tok/s]",
                                      counted(t.generatedTokens, "token"), t.generationTokensPerSecond,
                                      counted(t.promptTokens, "new token"), t.promptTokensPerSecond) + note)
                }
            }
        }
    }
}

/// Turns Ctrl-C into "stop the current reply" instead of "quit".
final class InterruptWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var _current: GenerationRun?
    private var _atPrompt = false
    private let source: DispatchSourceSignal

    var current: GenerationRun? {
        get { lock.withLock { _current } }
        set { lock.withLock { _current = newValue } }
    }
    var atPrompt: Bool {
        get { lock.withLock { _atPrompt } }
        set { lock.withLock { _atPrompt = newValue } }
    }

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            if let run = self.current {
                run.cancel()
            } else if self.atPrompt {
                writeOut("\n(/exit or Ctrl-D leaves)\n> ")
            }
        }
        source.resume()
    }

    deinit {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
