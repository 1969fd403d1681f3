import Foundation
import FuzzSupport
import LoomFormats

// A safetensors file (header and data ranges), or, when the first byte is odd, a sharded
// checkpoint's index (model.safetensors.index.json, the rest of the input) over one shard.
FuzzTarget.main { data in
    guard let selector = data.first else { return }
    let rest = data.dropFirst()
    if selector & 1 == 0 {
        let path = FuzzTarget.write(Data(rest), as: "model.safetensors")
        guard let file = try? SafeTensorsFile(path: path) else { return }
        for view in file.tensors.values { _ = view.bytes.last }
    } else {
        let dir = FuzzTarget.scratch + "/sharded"
        try? FileManager.default.removeItem(atPath: dir)
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/model.safetensors.index.json", contents: Data(rest))
        FileManager.default.createFile(atPath: dir + "/model-00001-of-00001.safetensors", contents: Data([8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8)))
        guard let archive = try? SafeTensorsArchive(directory: dir) else { return }
        for name in archive.tensorNames { _ = try? archive.tensor(name).bytes.count }
    }
}
