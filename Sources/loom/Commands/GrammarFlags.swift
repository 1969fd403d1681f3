import ArgumentParser
import Foundation
import LoomGenerate

/// Constrained output: the reply follows a GBNF grammar, a JSON Schema or a regular expression.
struct GrammarFlags: ParsableArguments {
    @Option(help: ArgumentHelp("A GBNF grammar file (llama.cpp's format) the reply must follow.", valueName: "file"))
    var grammar: String?
    @Option(name: .customLong("json-schema"), help: ArgumentHelp("A JSON Schema file the reply must be an instance of.", valueName: "file"))
    var jsonSchema: String?
    @Option(help: "A regular expression the whole reply must match.")
    var regex: String?

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        _ = try constraint()
    }

    /// The grammar these flags ask for; nil when none is given.
    func constraint() throws -> Grammar? {
        let given = [grammar.map { _ in "--grammar" }, jsonSchema.map { _ in "--json-schema" }, regex.map { _ in "--regex" }].compactMap { $0 }
        guard given.count <= 1 else { throw ValidationError("\(given.joined(separator: " and ")) cannot be combined: give one") }
        do {
            if let grammar { return try Grammar(gbnf: try read(grammar, "--grammar")) }
            if let jsonSchema { return try Grammar.jsonSchema(try read(jsonSchema, "--json-schema")) }
            if let regex { return try Grammar.regex(regex) }
        } catch let error as GrammarError {
            let source = grammar ?? jsonSchema ?? "--regex"
            throw ValidationError("\(source): \(error)")
        }
        return nil
    }

    private func read(_ path: String, _ flag: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(flag) \(path): cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw ValidationError("\(flag) \(path): not UTF-8 text") }
        return text
    }
}
