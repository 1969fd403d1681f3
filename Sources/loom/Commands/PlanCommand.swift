import ArgumentParser
import Foundation
import LoomFormats
import LoomModel
import LoomCore
import LoomRuntime

/// Answers "does it fit, and where does everything go" before anything is downloaded or loaded.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan memory per device: weights, KV cache, scratch and logits, before loading.",
        discussion: "MODEL is a model directory, a GGUF file or a catalog name: \(ModelCatalog.names.joined(separator: ", ")).")

    @Argument(help: "Model directory, GGUF file or catalog name.")
    var model: String

    @OptionGroup var planning: PlanningOptions

    @Flag(help: "JSON output.")
    var json = false

    func run() throws {
        try reportingErrors {
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
        }
    }
}

/// Options that describe the devices, the split and the cache: shared by plan and the run commands.
struct PlanningOptions: ParsableArguments {
    @Option(help: "Average bits per weight (EXL2 style, 6-bit head), e.g. 3.0.")
    var bpw: Double?

    @Option(help: "A GGUF quantization mix: \(GGUFMix.allCases.map(\.rawValue).joined(separator: ", ")).")
    var quant: String?

    @Option(help: "Devices: 3x24GB, 4090,4090,4090, or cpu:16GB,cpu:8GB (default: this machine's memory).")
    var devices: String?

    @Option(help: "Budget per device in GB, including cache, scratch and logits, e.g. 10,14,23.")
    var split: String?

    @Flag(help: "Fill devices in order up to their budget (the default).")
    var auto = false

    @Flag(help: "Spread layers so every device ends equally full.")
    var balance = false

    @Option(name: .customLong("max-seq-len"), help: "Context length, or 'auto' for the largest that fits (plan's default; run commands default to min(4096, trained length)).")
    var maxSeqLen: String?

    @Option(help: "KV cache type: \(CacheType.allCases.map(\.rawValue).joined(separator: ", ")).")
    var cache = "fp16"

    @Option(help: "Sequences run at once, each up to --max-seq-len tokens (bench: a comma-separated list of widths to measure).")
    var parallel = ParallelWidths([1])

    @Option(name: .customLong("cache-tokens"), help: "Tokens the KV-cache page pool holds over all sequences, or 'auto' for the most that fits (default: --parallel × --max-seq-len).")
    var cacheTokens: String?

    @Option(name: .customLong("page-tokens"), help: "Positions per KV-cache page.")
    var pageTokens = PlanRequest.defaultPageTokens

    @Option(help: "Tokens per forward chunk (sizes the scratch).")
    var chunk = 512

    @Option(name: .shortAndLong, help: "Threads (default: all cores).")
    var threads = ThreadPool.processorCount

    @Option(help: "Reserve left free per device, in MiB.")
    var reserve = 64

    func footprint(model: String) throws -> ModelFootprint {
        var isDirectory: ObjCBool = false
        let precision = try self.precision()
        if FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory) {
            let files = try ModelFiles(path: model)
            if precision != .file { return ModelFootprint(name: model, config: files.config, precision: precision) }
            return try files.footprint()
        }
        guard let config = ModelCatalog.entries[model.lowercased()] else {
            throw PlanError.unknownModel(name: model, known: ModelCatalog.names)
        }
        return ModelFootprint(name: model, config: config, precision: precision == .file ? .ggufMix(.f16) : precision)
    }

    func precision() throws -> WeightPrecision {
        if let bpw {
            guard bpw > 1, bpw <= 32 else { throw ValidationError("--bpw must be between 1 and 32") }
            return .bitsPerWeight(bpw)
        }
        if let quant {
            guard let mix = GGUFMix(rawValue: quant.lowercased()) else {
                throw PlanError.unknownQuantization(name: quant, known: GGUFMix.allCases.map(\.rawValue))
            }
            return .ggufMix(mix)
        }
        return .file
    }

    func splitBytes() throws -> [Int]? {
        guard let split else { return nil }
        let values = try split.split(separator: ",").map { part -> Int in
            let text = part.trimmingCharacters(in: .whitespaces)
            if let gb = Double(text), gb > 0 { return Int(gb * 1e9) }
            return try DeviceList.parseSize(text, context: split)
        }
        guard !values.isEmpty else { throw PlanError.invalidSplit(text: split, reason: "no sizes") }
        return values
    }

    /// - Parameter defaultLength: the context when `--max-seq-len` is not given (nil: auto).
    func request(defaultLength: Int? = nil, logitsRows: Int = 1) throws -> PlanRequest {
        guard let cacheType = CacheType(rawValue: cache) else {
            throw ValidationError("unknown cache type '\(cache)'; expected one of \(CacheType.allCases.map(\.rawValue).joined(separator: ", "))")
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
                guard let n = Int(maxSeqLen), n > 0 else { throw ValidationError("--max-seq-len takes a positive number or 'auto'") }
                length = n
            }
        }
        guard chunk > 0, threads > 0, reserve >= 0 else {
            throw ValidationError("--parallel, --chunk and --threads must be positive, --reserve not negative")
        }
        guard pageTokens > 0 else { throw ValidationError("--page-tokens must be at least 1, got \(pageTokens)") }
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
                           logitsRows: logitsRows, reserveBytes: reserve << 20)
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
