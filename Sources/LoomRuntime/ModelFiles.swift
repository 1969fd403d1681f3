import Foundation
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

    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError.unreadable(file: path)
        }
        if isDirectory.boolValue {
            config = try ModelArchitectures.loadConfig(directory: path)
            source = SafeTensorsWeightSource(archive: try SafeTensorsArchive(directory: path))
            ropeLayout = .halves
            gguf = nil
        } else {
            let file = try GGUFFile(path: path)
            config = try ModelConfig.load(gguf: file)
            source = GGUFWeightSource(file: file)
            ropeLayout = ModelArchitectures.of(config).ggufRopeLayout
            gguf = file
        }
    }

    /// The exact bytes the loader will take for this model.
    public func footprint() throws -> ModelFootprint {
        try ModelFootprint(name: path, config: config, source: source)
    }
}

extension Engine {
    /// Opens a model directory or GGUF file and loads it onto one device.
    public convenience init(path: String, options: EngineOptions = EngineOptions()) throws {
        let files = try ModelFiles(path: path)
        let plan = try Engine.singleDevicePlan(files.footprint(), options)
        try self.init(config: files.config, source: files.source, ropeLayout: files.ropeLayout, plan: plan)
    }
}
