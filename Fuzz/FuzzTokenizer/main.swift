import Foundation
import FuzzSupport
import LoomTokenizer

// A tokenizer file, chosen by the first byte: HF tokenizer.json, mistral-common tekken JSON, or
// a .tiktoken rank file (Qwen2's pattern). One that loads encodes and decodes a sentence, and
// streams its ids back one at a time.
FuzzTarget.main { data in
    guard let selector = data.first else { return }
    let name = ["tokenizer.json", "tekken.json", "qwen.tiktoken"][Int(selector) % 3]
    let path = FuzzTarget.write(Data(data.dropFirst()), as: name)
    guard let tokenizer = try? Tokenizer.load(file: path) else { return }
    let ids = tokenizer.encode("Hello, wörld 123 — 😀 <|im_start|>x", parseSpecial: true)
    _ = tokenizer.decode(ids)
    var stream = tokenizer.makeStreamingDecoder()
    for id in ids { _ = stream.push(id) }
}
