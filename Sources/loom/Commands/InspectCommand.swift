import ArgumentParser
import Foundation
import LoomFormats
import LoomRuntime

/// What a model is, and what it costs, read from its headers only.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model's architecture, parameters, dtypes, size on disk and KV-cache cost per token.")

    @Argument(help: "Model directory (config.json + safetensors) or GGUF file.")
    var model: String

    @Flag(help: "JSON output.")
    var json = false

    func run() throws {
        try reportingErrors {
            let files = try ModelFiles(path: model)
            let config = files.config
            var parameters = 0
            var dtypeCounts: [String: Int] = [:]
            var bytesOnDisk = 0
            var fileCount = 1
            if let gguf = files.gguf {
                for info in gguf.tensors {
                    parameters += info.elementCount
                    dtypeCounts[info.type.name, default: 0] += info.elementCount
                }
                bytesOnDisk = gguf.file.count
            } else {
                let archive = try SafeTensorsArchive(directory: model)
                for name in archive.tensorNames {
                    let view = try archive.tensor(name)
                    parameters += view.elementCount
                    dtypeCounts[view.dtype.rawValue, default: 0] += view.elementCount
                }
                bytesOnDisk = archive.bytesOnDisk
                fileCount = archive.files.count
            }
            let kvWidth = config.kvWidth
            var cacheBytes: [String: Int] = [:]
            for type in CacheType.allCases {
                cacheBytes[type.rawValue] = type.bytesPerTokenPerLayer(kvWidth: kvWidth) * config.layerCount
            }
            if json {
                let object: [String: Any] = [
                    "architecture": config.architecture.rawValue,
                    "parameters": parameters,
                    "dtypes": dtypeCounts,
                    "bytes_on_disk": bytesOnDisk,
                    "layers": config.layerCount, "hidden_size": config.hiddenSize,
                    "heads": config.headCount, "kv_heads": config.kvHeadCount, "head_dim": config.headDim,
                    "intermediate_size": config.intermediateSize, "vocab_size": config.vocabSize,
                    "max_position_embeddings": config.maxPositionEmbeddings,
                    "kv_cache_bytes_per_token": cacheBytes,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("architecture   \(config.architecture.rawValue)")
            print("parameters     \(parameters) (\(String(format: "%.2f", Double(parameters) / 1e9)) B)")
            print("dtypes         " + dtypeCounts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
            print("on disk        \(bytesOnDisk) bytes in \(fileCount) file(s)")
            print("shape          \(config.layerCount) layers, hidden \(config.hiddenSize), \(config.headCount) heads, \(config.kvHeadCount) KV heads, head_dim \(config.headDim), FFN \(config.intermediateSize), vocab \(config.vocabSize)")
            print("context        \(config.maxPositionEmbeddings) positions, RoPE θ \(config.ropeTheta)")
            print("KV cache/token " + CacheType.allCases.map { "\($0.rawValue) \(cacheBytes[$0.rawValue]!) B" }.joined(separator: ", "))
        }
    }
}
