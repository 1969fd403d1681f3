import ArgumentParser
import Foundation
import LoomCore
import LoomRuntime

/// Options shared by every command that runs a model.
struct RunOptions: ParsableArguments {
    @Option(name: .long, help: "Model directory (config.json + safetensors).")
    var model: String

    @Option(name: .shortAndLong, help: "Threads (default: all cores).")
    var threads: Int = ThreadPool.processorCount

    @Option(name: .customLong("max-seq-len"), help: "Positions the KV cache holds (default: the model's, at most 4096).")
    var maxSequenceLength: Int?

    @Option(name: .long, help: "KV cache type: f32 or fp16.")
    var cache: String = "fp16"

    func engineOptions() throws -> EngineOptions {
        guard let cacheType = CacheType(rawValue: cache) else {
            throw ValidationError("unknown cache type '\(cache)'; expected one of \(CacheType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
        return EngineOptions(maxSequenceLength: maxSequenceLength, cacheType: cacheType, threads: threads)
    }
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
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as ValidationError {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}
