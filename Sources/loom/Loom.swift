import ArgumentParser
import LoomCore
import LoomKernels
import LoomVulkan

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
            SynthesizeCommand.self,
            Template.self,
            EmbedCommand.self,
            TokenizeCommand.self,
            DetokenizeCommand.self,
            TokenizerBenchCommand.self,
            PerplexityCommand.self,
            QuantizeCommand.self,
            ServeCommand.self,
        ]
    )
}

/// Prints the CPU features that choose the kernels, and the Vulkan devices `--devices vulkan:N` can name.
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the CPU features and the Vulkan devices Loom detected and will use.")

    func run() {
        print(CPUFeatures.current)
        let chosen = KernelPath.environmentChoice.path != nil ? " (\(KernelPath.environmentVariable))" : ""
        print("kernels: \(KernelPath.active.rawValue)\(chosen); this CPU runs \(KernelPath.supported.map(\.rawValue).joined(separator: ", "))")
        print("threads: \(ThreadPool.processorCount)")
        do {
            let devices = try VulkanInstance.shared().devices()
            if devices.isEmpty { print("vulkan: the loader reports no devices") }
            for device in devices { print(device.summary) }
        } catch {
            print("vulkan: none (\(error))")
        }
    }
}
