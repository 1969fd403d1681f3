import Foundation
import FuzzSupport
import LoomFormats
import LoomModel
import LoomRuntime

// A config.json (with a generation_config.json beside it when the input holds a NUL: the part
// after it), then what is built from one that parses: the tensor inventory, and the planner's
// sizes of the model at f16.
FuzzTarget.main { data in
    let dir = FuzzTarget.scratch + "/model"
    try? FileManager.default.removeItem(atPath: dir)
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let parts = data.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    FileManager.default.createFile(atPath: dir + "/config.json", contents: Data(parts[0]))
    if parts.count > 1 { FileManager.default.createFile(atPath: dir + "/generation_config.json", contents: Data(parts[1])) }
    guard let config = try? ModelArchitectures.loadConfig(directory: dir) else { return }
    _ = ModelFootprint(name: "fuzz", config: config, precision: .ggufMix(.f16)).weightBytes
}
