import ArgumentParser
import Foundation
import LoomCore
import LoomFormats
import LoomModel
import LoomRuntime

/// Options shared by every command that runs a model: the model, and how to place it.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("model"), help: "Model directory (config.json + safetensors) or GGUF file (default: the embedded demo model).")
    var modelPath: String?

    /// The model to run: `--model`, or the demo model committed with the package.
    var model: String { modelPath ?? DemoModel.path }

    @OptionGroup var planning: PlanningOptions

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        guard planning.bpw == nil, planning.quant == nil else {
            throw ValidationError("--bpw and --quant size hypothetical weights for `loom plan`; a run uses the file's own tensors")
        }
    }

    /// Plans the model on the requested devices and loads it as planned.
    /// - Parameters:
    ///   - defaultLength: context when `--max-seq-len` is absent (default: min(4096, trained length)).
    ///   - chunk: tokens per forward when the command knows better than `--chunk`.
    func makeEngine(logitsRows: Int = 1, defaultLength: Int? = nil, chunk: Int? = nil) throws -> Engine {
        let files = try ModelFiles(path: model)
        let plan = try makePlan(files, logitsRows: logitsRows, defaultLength: defaultLength, chunk: chunk)
        return try Engine(config: files.config, source: files.source, ropeLayout: files.ropeLayout, plan: plan)
    }

    /// The plan `makeEngine` loads by, made from the files' headers alone.
    func makePlan(_ files: ModelFiles, logitsRows: Int = 1, defaultLength: Int? = nil, chunk: Int? = nil) throws -> MemoryPlan {
        var request = try planning.request(defaultLength: defaultLength ?? min(4096, files.config.maxPositionEmbeddings),
                                           logitsRows: logitsRows)
        if let chunk { request.chunkTokens = chunk }
        return Planner.plan(try files.footprint(), request)
    }
}

/// Per-device planned and peak bytes, for `--json` outputs; a draft model's devices follow the
/// target's, their names prefixed `draft/`.
func usageJSON(_ engine: Engine, draft: Engine? = nil) -> [[String: Any]] {
    let devices = engine.usage.map { ($0, $0.name) } + (draft?.usage.map { ($0, "draft/" + $0.name) } ?? [])
    return devices.map { usage, name in
        ["name": name, "budget_bytes": usage.budgetBytes, "planned_bytes": usage.plannedBytes, "peak_bytes": usage.peakBytes]
    }
}

/// The plan's and the operating system's figures side by side, for `--json`: `devices` (each
/// device's planned and measured arena bytes), the plan's total, and the process's peak and
/// current resident memory as the kernel counts it (`VmHWM`, `RssAnon`, `RssFile`), which stays
/// within the plan plus `ProcessMemory.runtimeAllowance`. A draft model's plan (its weights,
/// cache pages and scratch) counts in the total, and alone in `draft_planned_bytes`.
func memoryJSON(_ engine: Engine, draft: Engine? = nil) -> [String: Any] {
    let draftBytes = draft?.usage.reduce(0) { $0 + $1.plannedBytes } ?? 0
    var object: [String: Any] = ["devices": usageJSON(engine, draft: draft),
                                 "planned_total_bytes": engine.usage.reduce(0) { $0 + $1.plannedBytes } + draftBytes,
                                 "runtime_allowance_bytes": ProcessMemory.runtimeAllowance]
    if draft != nil { object["draft_planned_bytes"] = draftBytes }
    if let memory = ProcessMemory.current() {
        object["process_peak_rss_bytes"] = memory.peakResidentBytes
        object["process_rss_bytes"] = memory.residentBytes
        if let anonymous = memory.anonymousBytes { object["process_rss_anon_bytes"] = anonymous }
        if let file = memory.fileBytes { object["process_rss_file_bytes"] = file }
    }
    return object
}

func jsonString(_ object: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

/// Parses "1,5,42" into token ids.
func parseTokenList(_ text: String) throws -> [Int] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let ids = parts.compactMap { Int($0) }
    guard !parts.isEmpty, ids.count == parts.count else {
        throw ValidationError("--tokens must be comma-separated integers, such as 1,5,42")
    }
    return ids
}

/// Writes a line to standard error (progress and timings never go to stdout).
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Runs `body`, turning Loom's typed errors into a one-line message and exit code 1.
/// What the arguments alone get wrong is caught by `validate()`, which prints the subcommand's
/// usage; an error found while running is about files and models, so no usage follows it.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as ValidationError {
        printError("error: \(error.message)")
        throw ExitCode.failure
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}
