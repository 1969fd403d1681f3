import Foundation
import LoomCore
import LoomFormats
import LoomKernels
import LoomModel

/// A model on disk, opened far enough to plan and load it: a Hugging Face directory
/// (config.json + safetensors) or a single GGUF file. Only headers are read.
public struct ModelFiles: Sendable {
    public let path: String
    public let config: ModelConfig
    public let source: any WeightSource
    /// How RoPE pairs elements in this file's q/k weights.
    public let ropeLayout: RopeLayout
    /// The GGUF file, when the model is one (its tokenizer lives there too).
    public let gguf: GGUFFile?

    /// Opens `path`: a directory with config.json, a directory holding one GGUF file, or a GGUF file.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelPathError.missing(path: path)
        }
        var file = path
        if isDirectory.boolValue && !FileManager.default.fileExists(atPath: path + "/config.json") {
            let ggufs = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
            guard ggufs.count == 1 else { throw ModelPathError.notAModelDirectory(path: path, ggufFiles: ggufs) }
            file = path + "/" + ggufs[0]
            isDirectory = false
        }
        if isDirectory.boolValue {
            config = try ModelArchitectures.loadConfig(directory: path)
            source = SafeTensorsWeightSource(archive: try SafeTensorsArchive(directory: path))
            ropeLayout = .halves
            gguf = nil
        } else {
            let gguf = try GGUFFile(path: file)
            config = try ModelConfig.load(gguf: gguf)
            let family = ModelArchitectures.of(config)
            source = GGUFWeightSource(file: gguf, naming: { family.ggufTensorName($0) })
            ropeLayout = family.ggufRopeLayout
            self.gguf = gguf
        }
    }

    /// The exact bytes the loader will take for this model.
    public func footprint() throws -> ModelFootprint {
        try ModelFootprint(name: path, config: config, source: source)
    }
}

/// Why a path does not name a model.
public enum ModelPathError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    /// A directory without config.json, and with no GGUF file or several.
    case notAModelDirectory(path: String, ggufFiles: [String])

    public var description: String {
        switch self {
        case let .missing(path): return "\(path): no such file or directory"
        case let .notAModelDirectory(path, ggufFiles) where ggufFiles.isEmpty:
            return "\(path): not a model directory: no config.json or *.gguf"
        case let .notAModelDirectory(path, ggufFiles):
            return "\(path): not a model directory: no config.json, and \(ggufFiles.count) GGUF files; give one: \(ggufFiles.joined(separator: ", "))"
        }
    }
}

extension Engine {
    /// Opens a model directory or GGUF file and loads it onto one device.
    public convenience init(path: String, options: EngineOptions = EngineOptions(), pool: ThreadPool? = nil) throws {
        let files = try ModelFiles(path: path)
        let plan = try Engine.singleDevicePlan(files.footprint(), options)
        try self.init(config: files.config, source: files.source, ropeLayout: files.ropeLayout, plan: plan, pool: pool)
    }
}
