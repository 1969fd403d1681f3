import ArgumentParser
import Foundation
import LoomFormats
import LoomGenerate
import LoomModel
import LoomCore
import LoomRuntime

/// Answers "does it fit, and where does everything go" before anything is downloaded or loaded.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan memory per device: weights, KV cache, scratch and logits, before loading.",
        discussion: """
            MODEL is a model directory, a GGUF file or a catalog name: \(ModelCatalog.names.joined(separator: ", ")).
            The exit status is 0 when the plan fits, 2 when it does not, 1 when it cannot be made.
            """)

    @Argument(help: "Model directory, GGUF file or catalog name.")
    var model: String

    @OptionGroup var planning: PlanningOptions

    @Flag(help: "JSON output.")
    var json = false

    func run() throws {
        try reportingErrors {
            if FileManager.default.fileExists(atPath: model), Embedder.isEncoder(path: model) {
                // A sentence encoder has no KV cache to size: its plan is the weights and one pass.
                let embedder = try Embedder(path: model, options: EmbedderOptions(threads: planning.threads))
                print("\(model): sentence encoder (loom embed, loom serve --embedding-model)")
                for line in embedder.plan.report { print(line) }
                return
            }
            let footprint = try planning.footprint(model: model)
            let request = try planning.request()
            let plan = Planner.plan(footprint, request)
            let weightsOnly = try planning.splitBytes().map {
                Planner.weightsOnlySplit(footprint, request, length: plan.maxSequenceLength, splitBytes: $0)
            }
            if json {
                let data = try JSONSerialization.data(withJSONObject: PlanReport.json(plan, weightsOnly: weightsOnly),
                                                      options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(PlanReport.table(plan, weightsOnly: weightsOnly))
            }
            // Scripts ask "does it fit?" with the exit status; 1 stays for errors.
            if !plan.fits { throw ExitCode(2) }
        }
    }
}

/// Options that describe the devices, the split and the cache: shared by plan and the run commands.
struct PlanningOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Average bits per weight (EXL2 style, 6-bit head), e.g. 3.0.")
    var bpw: Double?

    @Option(help: "A GGUF quantization mix: \(GGUFMix.allCases.map(\.rawValue).joined(separator: ", ")).")
    var quant: String?

    @Option(help: "Devices: 3x24GB, 4090,4090,4090, cpu:16GB,cpu:8GB, or vulkan:0 (a Vulkan device that runs its layers; vulkan:0:6GB for a budget; loom features lists them) (default: this machine's memory).")
    var devices: String?

    @Option(help: "Budget per device in GB, including cache, scratch and logits, e.g. 10,14,23.")
    var split: String?

    @Flag(help: "Fill devices in order up to their budget (the default).")
    var auto = false

    @Flag(help: "Spread layers so every device ends equally full.")
    var balance = false

    @Option(name: .customLong("max-seq-len"), parsing: .unconditional,
            help: "Context length, or 'auto' for the largest that fits (plan's default; run commands default to min(4096, trained length)).")
    var maxSeqLen: String?

    @Option(help: "KV cache type: \(CacheType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var cache = "fp16"

    @Option(parsing: .unconditional, help: "Sequences run at once, each up to --max-seq-len tokens (bench: a comma-separated list of widths to measure).")
    var parallel = ParallelWidths([1])

    @Option(name: .customLong("cache-tokens"), help: "Tokens the KV-cache page pool holds over all sequences, or 'auto' for the most that fits (default: --parallel × --max-seq-len).")
    var cacheTokens: String?

    @Option(name: .customLong("page-tokens"), parsing: .unconditional, help: "Positions per KV-cache page.")
    var pageTokens = PlanRequest.defaultPageTokens

    @Flag(name: .customLong("swa-full"),
          help: "Keep every position in the sliding-window layers' cache too: more memory, but rewinds and forks never recompute.")
    var swaFull = false

    @Option(parsing: .unconditional, help: "Tokens per forward chunk (sizes the scratch).")
    var chunk = 512

    // Optional, so that help describes the default rather than showing this machine's count.
    @Option(name: [.short, .customLong("threads")], parsing: .unconditional,
            help: ArgumentHelp("Threads (default: the cores this process may use).", valueName: "threads"))
    var threadsOption: Int?

    /// `--threads`, or every core this process may use (its CPU affinity and cgroup quota).
    var threads: Int { threadsOption ?? ThreadPool.processorCount }

    @Option(parsing: .unconditional, help: "Memory left free on each device, in MiB.")
    var reserve = 64

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try validating {
            _ = try precision()
            _ = try request()
        }
    }

    func footprint(model: String) throws -> ModelFootprint {
        var isDirectory: ObjCBool = false
        let precision = try self.precision()
        if FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) {
            let files = try ModelFiles(path: model)
            if precision != .file { return ModelFootprint(name: model, config: files.config, precision: precision) }
            return try files.footprint()
        }
        guard let config = ModelCatalog.entries[model.lowercased()] else {
            if model.contains("/") || model.hasSuffix(".gguf") { throw ModelPathError.missing(path: model) }
            throw PlanError.unknownModel(name: model, known: ModelCatalog.names)
        }
        return ModelFootprint(name: model, config: config, precision: precision == .file ? .ggufMix(.f16) : precision)
    }

    func precision() throws -> WeightPrecision {
        if let bpw {
            guard bpw > 1, bpw <= 32 else {
                throw ValidationError("--bpw must be above 1 and at most 32 (bits per weight, such as 3.0), got \(String(format: "%g", bpw))")
            }
            return .bitsPerWeight(bpw)
        }
        if let quant {
            guard let mix = GGUFMix(rawValue: quant.lowercased()) else {
                throw ValidationError("--quant must be one of \(GGUFMix.allCases.map(\.rawValue).joined(separator: ", ")), got '\(quant)'")
            }
            return .ggufMix(mix)
        }
        return .file
    }

    func splitBytes() throws -> [Int]? {
        guard let split else { return nil }
        let values = try split.split(separator: ",", omittingEmptySubsequences: false).map { part -> Int in
            let text = part.trimmingCharacters(in: .whitespaces)
            if let gb = Double(text), gb > 0, gb.isFinite { return Int(gb * 1e9) }
            if Double(text) == nil, let bytes = DeviceList.size(text) { return bytes }
            throw PlanError.invalidSplit(text: split, reason: "'\(text)' is not a budget: give each device's budget in GB, "
                                         + "comma-separated, such as 10,14,23, or with a unit (10GB, 13.5GiB, 512MB)")
        }
        return values
    }

    /// - Parameter defaultLength: the context when `--max-seq-len` is not given (nil: auto).
    func request(defaultLength: Int? = nil, logitsRows: Int = 1) throws -> PlanRequest {
        guard let cacheType = CacheType(rawValue: cache) else {
            throw ValidationError("--cache must be one of \(CacheType.allCases.map(\.rawValue).joined(separator: ", ")), got '\(cache)'")
        }
        var deviceList = try devices.map(DeviceList.parse)
            ?? [DeviceSpec(name: "cpu0", budgetBytes: Int(ProcessInfo.processInfo.physicalMemory), kind: .cpu)]
        if let split = try splitBytes() {
            if devices == nil {
                deviceList = split.enumerated().map { DeviceSpec(name: "gpu\($0.offset)", budgetBytes: $0.element, kind: .gpu) }
            }
            guard split.count == deviceList.count else {
                throw PlanError.invalidSplit(text: self.split!, reason: "\(split.count) sizes for \(deviceList.count) devices")
            }
            for i in deviceList.indices {
                guard split[i] <= deviceList[i].memoryBytes else {
                    throw PlanError.invalidSplit(text: self.split!, reason: "\(deviceList[i].name) has only \(deviceList[i].memoryBytes) bytes")
                }
                deviceList[i].budgetBytes = split[i]
            }
        }
        var length: Int? = defaultLength
        if let maxSeqLen {
            if maxSeqLen == "auto" { length = nil } else {
                guard let n = Int(maxSeqLen), n > 0 else {
                    throw ValidationError("--max-seq-len must be at least 1 or 'auto', got \(maxSeqLen)")
                }
                length = n
            }
        }
        try requireAtLeast(1, chunk, "--chunk")
        try requireAtLeast(1, threads, "--threads")
        try requireAtLeast(0, reserve, "--reserve")
        try requireAtLeast(1, pageTokens, "--page-tokens")
        var pool = CacheTokens.perSequence
        if let cacheTokens {
            if cacheTokens == "auto" { pool = .fill } else {
                guard let n = Int(cacheTokens), n > 0 else {
                    throw ValidationError("--cache-tokens takes a positive number of tokens or 'auto', got '\(cacheTokens)'")
                }
                pool = .tokens(n)
            }
        }
        return PlanRequest(devices: deviceList, balance: balance, maxSequenceLength: length, cacheType: cacheType,
                           parallel: parallel.widest, cacheTokens: pool, pageTokens: pageTokens, chunkTokens: chunk, threads: threads,
                           logitsRows: logitsRows, reserveBytes: reserve << 20, fullWindowCache: swaFull)
    }
}

/// `--parallel`: one number of sequences, or for `bench` a list of batch widths ("1,2,4,8,16").
struct ParallelWidths: ExpressibleByArgument, Equatable {
    let widths: [Int]

    init(_ widths: [Int]) { self.widths = widths }

    init?(argument: String) {
        let values = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        widths = values.map { $0! }
    }

    var defaultValueDescription: String { widths.map(String.init).joined(separator: ",") }

    /// The most sequences at once: what the page pool is planned for.
    var widest: Int { widths.max() ?? 1 }
}
