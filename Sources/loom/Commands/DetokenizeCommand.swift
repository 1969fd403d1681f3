import ArgumentParser
import Foundation
import LoomTokenizer

/// Token ids to text, whole or streamed one id at a time.
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Print the text of token ids; --stream shows what a streaming decoder emits after each id.")

    @OptionGroup var source: TokenizerOptions

    @Option(name: .long, help: "Comma-separated ids, such as 1,2,3.")
    var ids: String

    @Flag(name: .customLong("skip-special"), help: "Leave special tokens out.")
    var skipSpecial = false

    @Flag(help: "Decode one id at a time: one line per id with the text it completed, then a line for the flush.")
    var stream = false

    @Flag(help: "Print JSON strings.")
    var json = false

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        _ = try idList()
    }

    private func idList() throws -> [Int32] {
        let parts = ids.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let list = parts.compactMap { Int32($0) }
        guard !parts.isEmpty, list.count == parts.count else {
            throw ValidationError("--ids must be comma-separated integers, such as 1,2,3")
        }
        return list
    }

    func run() throws {
        try reportingErrors {
            let tokenizer = try source.load()
            let list = try idList()
            if let bad = list.first(where: { $0 < 0 || Int($0) >= tokenizer.vocabularySize }) {
                throw ValidationError("id \(bad) is outside the vocabulary (0..<\(tokenizer.vocabularySize))")
            }
            guard stream else {
                let text = tokenizer.decode(list, skipSpecial: skipSpecial)
                print(json ? jsonString(text) : text)
                return
            }
            var decoder = tokenizer.makeStreamingDecoder(skipSpecial: skipSpecial)
            for id in list {
                let chunk = decoder.push(id)
                print(json ? jsonString(chunk) : chunk)
            }
            let rest = decoder.finish()
            print(json ? jsonString(rest) : rest)
        }
    }
}
