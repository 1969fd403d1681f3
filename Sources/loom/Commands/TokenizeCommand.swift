import ArgumentParser
import Foundation
import LoomTokenizer

/// Text to token ids.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text.")

    @OptionGroup var source: TokenizerOptions

    @Flag(help: "Recognise special tokens such as <|im_start|> written in the text.")
    var special = false

    @Flag(name: .customLong("bos"), inversion: .prefixedNo, help: "Put BOS first (default: as the tokenizer says; WordPiece: [CLS] and [SEP] around the text).")
    var bos: Bool?

    @Option(name: .long, help: "Read the text from this file instead of the argument.")
    var file: String?

    @Flag(help: "Print a JSON array of ids (default: ids separated by spaces).")
    var json = false

    @Argument(help: "The text.")
    var text: String?

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        guard (file == nil) != (text == nil) else { throw ValidationError("give the text or --file, not both") }
    }

    func run() throws {
        try reportingErrors {
            let input: String
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
                input = String(decoding: data, as: UTF8.self)
            } else {
                input = text!
            }
            let ids: [Int32]
            if let wordPiece = try source.loadWordPiece() {
                // [CLS] and [SEP] are WordPiece's BOS: --no-bos leaves them out.
                ids = bos ?? true ? wordPiece.encode(input, parseSpecial: special) : wordPiece.encodeWithoutSpecials(input, parseSpecial: special)
            } else {
                ids = try source.load().encode(input, parseSpecial: special, addBOS: bos)
            }
            let list = ids.map(String.init)
            print(json ? "[" + list.joined(separator: ",") + "]" : list.joined(separator: " "))
        }
    }
}
