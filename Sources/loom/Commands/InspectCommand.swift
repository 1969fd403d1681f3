import ArgumentParser
import Foundation
import LoomFormats
import LoomRuntime

/// What a model is, and what it costs, read from its headers only.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model's architecture, parameters, dtypes, size on disk and KV-cache cost per token.",
        discussion: "MODEL may also be a catalog name (\(ModelCatalog.names.joined(separator: ", "))): its shape, without files.")

    @Argument(help: "Model directory (config.json + safetensors), GGUF file or catalog name.")
    var model: String

    @Flag(help: "JSON output.")
    var json = false

    func run() throws {
        try reportingErrors {
            let catalogConfig = FileManager.default.fileExists(atPath: model) ? nil : ModelCatalog.entries[model.lowercased()]
            let files = try catalogConfig == nil ? ModelFiles(path: model) : nil
            // A catalog entry is a config.json without files: no dtypes, no bytes on disk.
            let config = catalogConfig ?? files!.config
            var parameters = 0
            var dtypeCounts: [String: Int] = [:]
            var bytesOnDisk = 0
            var fileCount = 1
            if catalogConfig != nil {
                parameters = ModelCatalog.parameterCount(config)
            } else if let gguf = files!.gguf {
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
                var object: [String: Any] = [
                    "architecture": config.architecture.rawValue,
                    "parameters": parameters,
                    "layers": config.layerCount, "hidden_size": config.hiddenSize,
                    "heads": config.headCount, "kv_heads": config.kvHeadCount, "head_dim": config.headDim,
                    "intermediate_size": config.intermediateSize, "vocab_size": config.vocabSize,
                    "max_position_embeddings": config.maxPositionEmbeddings,
                    "kv_cache_bytes_per_token": cacheBytes,
                ]
                if catalogConfig == nil {
                    object["dtypes"] = dtypeCounts
                    object["bytes_on_disk"] = bytesOnDisk
                } else {
                    object["catalog"] = true
                }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("architecture   \(config.architecture.rawValue)")
            let scaled = parameters >= 1_000_000_000 ? String(format: "%.2f B", Double(parameters) / 1e9)
                                                     : String(format: "%.2f M", Double(parameters) / 1e6)
            print("parameters     \(parameters) (\(scaled))")
            if catalogConfig == nil {
                print("dtypes         " + dtypeCounts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))
                print("on disk        \(bytesOnDisk) bytes in \(counted(fileCount, "file"))")
            } else {
                print("source         the catalog (shapes from its config.json; no files, so no dtypes or sizes on disk)")
            }
            print("shape          \(config.layerCount) layers, hidden \(config.hiddenSize), \(config.headCount) heads, \(config.kvHeadCount) KV heads, head_dim \(config.headDim), FFN \(config.intermediateSize), vocab \(config.vocabSize)")
            print("context        \(config.maxPositionEmbeddings) positions, RoPE θ \(config.ropeTheta)")
            print("KV cache/token " + CacheType.allCases.map { "\($0.rawValue) \(cacheBytes[$0.rawValue]!) B" }.joined(separator: ", "))
        }
    }
}
