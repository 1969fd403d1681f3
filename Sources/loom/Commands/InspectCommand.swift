import ArgumentParser
import Foundation
import LoomFormats
import LoomGenerate
import LoomModel
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
            if FileManager.default.fileExists(atPath: model), Embedder.isEncoder(path: model) {
                try inspectEncoder()
                return
            }
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
                    // MXFP4 experts (gpt-oss): two weights a byte in `_blocks`, their exponents in `_scales`.
                    let packed = { (suffix: String) in view.dtype == .u8 && archive.contains(String(name.dropLast(7)) + suffix) }
                    if name.hasSuffix("_scales"), packed("_blocks") { continue }
                    // EXL2 layers: the weights are in q_weight (rows from q_invperm, columns padded to 32).
                    let exl2Parts = [".q_scale", ".q_scale_max", ".q_groups", ".q_invperm", ".q_perm"]
                    if let part = exl2Parts.first(where: name.hasSuffix), archive.contains(String(name.dropLast(part.count)) + ".q_weight") { continue }
                    if name.hasSuffix(".q_weight"), let invperm = try? archive.tensor(String(name.dropLast(".q_weight".count)) + ".q_invperm") {
                        let count = invperm.elementCount * (view.shape.last ?? 0)
                        parameters += count
                        dtypeCounts["EXL2", default: 0] += count
                        continue
                    }
                    let (type, count) = name.hasSuffix("_blocks") && packed("_scales")
                        ? ("MXFP4", 2 * view.elementCount) : (view.dtype.rawValue, view.elementCount)
                    parameters += count
                    dtypeCounts[type, default: 0] += count
                }
                bytesOnDisk = archive.bytesOnDisk
                fileCount = archive.files.count
            }
            // A token reads k of each sparse layer's experts: the rest are idle for it.
            let active = parameters - (ModelCatalog.parameterCount(config) - ModelCatalog.activeParameterCount(config))
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
                    "active_parameters": active,
                ]
                if let moe = config.moe {
                    object["experts"] = ["count": moe.expertCount, "per_token": moe.expertsPerToken, "width": moe.expertIntermediateSize,
                                         "normalize_top_k": moe.normalizeTopK, "dense_layers": moe.denseLayers] as [String: Any]
                }
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
            if let moe = config.moe {
                let activeScaled = active >= 1_000_000_000 ? String(format: "%.2f B", Double(active) / 1e9)
                                                            : String(format: "%.2f M", Double(active) / 1e6)
                print("active         \(active) (\(activeScaled)) per token: \(moe.expertsPerToken) of \(moe.expertCount) experts of width \(moe.expertIntermediateSize)"
                      + (moe.denseLayers.isEmpty ? "" : ", dense layers \(moe.denseLayers.map(String.init).joined(separator: ","))"))
            }
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

    /// A sentence encoder: its shape, pooling and plan (it has no KV cache).
    private func inspectEncoder() throws {
        let embedder = try Embedder(path: model, options: EmbedderOptions(threads: 1))
        let c = embedder.config
        let used = BertWeights.inventory(c).reduce(0) { $0 + $1.elementCount }
        // Every float tensor in the files (a checkpoint may hold a pooler or an MLM head that
        // sentence pooling does not use; position_ids is an integer buffer, not a parameter).
        var parameters = 0
        if model.hasSuffix(".gguf") {
            parameters = try GGUFFile(path: model).tensors.reduce(0) { $0 + $1.elementCount }
        } else {
            let archive = try SafeTensorsArchive(directory: model)
            for name in archive.tensorNames {
                let view = try archive.tensor(name)
                if [DType.f32, .f16, .bf16].contains(view.dtype) { parameters += view.elementCount }
            }
        }
        if json {
            let object: [String: Any] = [
                "architecture": c.architecture.rawValue, "kind": "encoder", "parameters": parameters, "parameters_used": used,
                "layers": c.layerCount,
                "hidden_size": c.hiddenSize, "heads": c.headCount, "intermediate_size": c.intermediateSize,
                "vocab_size": c.vocabSize, "max_position_embeddings": c.maxPositionEmbeddings,
                "max_sequence_length": c.maxSequenceLength, "pooling": c.pooling.rawValue, "normalize": c.normalize,
                "planned_bytes": embedder.plan.totalBytes,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("architecture   \(c.architecture.rawValue) (a sentence encoder: `loom embed`, `loom serve --embedding-model`)")
        print("parameters     \(parameters) (\(String(format: "%.2f M", Double(parameters) / 1e6)))"
              + (used < parameters ? ", \(used) used by sentence embedding" : ""))
        print("shape          \(c.layerCount) layers, hidden \(c.hiddenSize), \(c.headCount) heads, FFN \(c.intermediateSize), vocab \(c.vocabSize)")
        print("sentences      cut at \(c.maxSequenceLength) tokens (\(c.maxPositionEmbeddings) positions); \(c.pooling.rawValue) pooling\(c.normalize ? ", normalised" : "")")
        print("plan           " + embedder.plan.report.joined(separator: "; "))
        print("KV cache/token none (an encoder attends within each sentence, in one pass)")
    }
}
