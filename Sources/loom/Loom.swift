import ArgumentParser
import LoomCore

@main
struct Loom: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Run large language models locally.",
        version: "0.1.0",
        subcommands: [
            InspectCommand.self,
            PlanCommand.self,
            LogitsCommand.self,
            GenerateCommand.self,
            ChatCommand.self,
            BenchCommand.self,
            BenchSamplingCommand.self,
            Features.self,
            BenchKernels.self,
            BenchMemory.self,
            Template.self,
            TokenizeCommand.self,
            DetokenizeCommand.self,
            TokenizerBenchCommand.self,
            PerplexityCommand.self,
            ServeCommand.self,
        ]
    )
}

/// Prints the CPU features that choose the kernels.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the CPU features Loom detected and will use.")

    func run() {
        print(CPUFeatures.current)
        print("threads: \(ThreadPool.processorCount)")
    }
}
