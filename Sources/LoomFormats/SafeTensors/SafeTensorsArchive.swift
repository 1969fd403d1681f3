import Foundation

/// All the safetensors weights of a model directory: one `model.safetensors`, or the shards
/// listed by `model.safetensors.index.json`. Every shard is opened and validated up front, so a
/// missing or corrupt shard is reported before anything is loaded.
public final class SafeTensorsArchive: @unchecked Sendable {
    public let directory: String
    public let files: [SafeTensorsFile]
    private let location: [String: Int]

    public init(directory: String) throws {
        self.directory = directory
        let fm = FileManager.default
        let indexPath = directory + "/model.safetensors.index.json"
        let singlePath = directory + "/model.safetensors"
        if fm.fileExists(atPath: indexPath) {
            let shardForTensor = try Self.readIndex(indexPath)
            var shardNames = Array(Set(shardForTensor.values)).sorted()
            var files: [SafeTensorsFile] = []
            var fileIndex: [String: Int] = [:]
            for shard in shardNames {
                let shardPath = directory + "/" + shard
                guard fm.fileExists(atPath: shardPath) else {
                    let tensor = shardForTensor.first { $0.value == shard }!.key
                    throw SafeTensorsError.missingShard(index: indexPath, shard: shard, tensor: tensor)
                }
                fileIndex[shard] = files.count
                files.append(try SafeTensorsFile(path: shardPath))
            }
            var location: [String: Int] = [:]
            for (tensor, shard) in shardForTensor {
                let index = fileIndex[shard]!
                guard files[index].tensors[tensor] != nil else {
                    throw SafeTensorsError.invalidIndex(file: indexPath, reason: "tensor '\(tensor)' is mapped to \(shard), which does not contain it")
                }
                location[tensor] = index
            }
            shardNames.removeAll()
            self.files = files
            self.location = location
        } else if fm.fileExists(atPath: singlePath) {
            let file = try SafeTensorsFile(path: singlePath)
            files = [file]
            location = file.tensors.mapValues { _ in 0 }
        } else {
            throw SafeTensorsError.missingTensor(name: "*", searched: "\(directory) (no model.safetensors or model.safetensors.index.json)")
        }
    }

    /// Every tensor name in the archive.
    public var tensorNames: [String] { Array(location.keys) }

    /// Bytes of all shards on disk.
    public var bytesOnDisk: Int { files.reduce(0) { $0 + $1.map.count } }

    public func contains(_ name: String) -> Bool { location[name] != nil }

    /// The tensor named `name`, or a `missingTensor` error naming the directory.
    public func tensor(_ name: String) throws -> TensorView {
        guard let index = location[name], let view = files[index].tensors[name] else {
            throw SafeTensorsError.missingTensor(name: name, searched: directory)
        }
        return view
    }

    private static func readIndex(_ path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SafeTensorsError.invalidIndex(file: path, reason: "cannot be read")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SafeTensorsError.invalidIndex(file: path, reason: "not a JSON object")
        }
        guard let map = object["weight_map"] as? [String: Any] else {
            throw SafeTensorsError.invalidIndex(file: path, reason: "missing field 'weight_map'")
        }
        var result: [String: String] = [:]
        for (tensor, shard) in map {
            guard let shard = shard as? String, !shard.contains("/") else {
                throw SafeTensorsError.invalidIndex(file: path, reason: "weight_map['\(tensor)'] is not a file name in the directory")
            }
            result[tensor] = shard
        }
        return result
    }
}
