import Foundation
import FuzzSupport
import LoomFormats
import LoomModel
import LoomTokenizer

// A GGUF file: header, metadata and tensor infos; then what reads them, the model config and the
// vocabulary (which encodes and decodes a sentence when it loads).
FuzzTarget.main { data in
    let path = FuzzTarget.write(data, as: "model.gguf")
    guard let file = try? GGUFFile(path: path) else { return }
    for info in file.tensors { _ = file.data(for: info).count }
    _ = try? ModelConfig.load(gguf: file)
    if let tokenizer = try? Tokenizer.load(file: path) { _ = tokenizer.decode(tokenizer.encode("Hello, wörld 123 😀")) }
}
