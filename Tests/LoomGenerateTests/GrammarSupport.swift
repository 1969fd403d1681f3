import Foundation
@testable import LoomGenerate

/// Fixtures and helpers shared by the grammar tests.
enum GrammarFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/grammars")
    /// Fetched fixtures: `$LOOM_FIXTURES` or `.fixtures/` at the repository root.
    static let fetched: URL = ProcessInfo.processInfo.environment["LOOM_FIXTURES"].map { URL(fileURLWithPath: $0) }
        ?? repositoryRoot.appendingPathComponent(".fixtures")
    static let qwen2Vocabulary = fetched.appendingPathComponent("llama.cpp/models/ggml-vocab-qwen2.gguf").path
    static let jsonschemaPython = fetched.appendingPathComponent("venv-jsonschema/bin/python").path

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(name))) as! [String: Any]
    }

    static var gbnfFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".gbnf") }.sorted()
    }
}

/// Whether `grammar` matches `text` as a whole.
func matches(_ grammar: Grammar, _ text: String) -> Bool {
    var matcher = GrammarMatcher(grammar)
    return matcher.accept(Array(text.utf8)) && matcher.canEnd
}

/// A random string the grammar accepts: random allowed bytes, stopping at random where the
/// grammar can end; past `softLimit` bytes it finishes with the shortest completion, so walks end.
func randomWalk(_ grammar: Grammar, using rng: inout RandomSource, softLimit: Int = 200) -> [UInt8]? {
    var matcher = GrammarMatcher(grammar)
    var out: [UInt8] = []
    while out.count <= softLimit {
        let next = matcher.nextBytes
        let options = (0..<256).filter { next[$0] }.map(UInt8.init)
        if matcher.canEnd && (options.isEmpty || Int.random(in: 0..<8, using: &rng) == 0) { return out }
        guard let byte = options.randomElement(using: &rng), matcher.accept(byte: byte) else { return nil }
        out.append(byte)
    }
    guard let rest = shortestCompletion(matcher) else { return nil }
    return out + rest
}

/// The shortest bytes that complete a match from `matcher` (breadth first over matcher states,
/// printable ASCII and UTF-8 continuation bytes, which finish a character begun), or nil past
/// `stateLimit` states.
func shortestCompletion(_ matcher: GrammarMatcher, stateLimit: Int = 100_000) -> [UInt8]? {
    func key(_ m: GrammarMatcher) -> [[UInt32]] { m.stacks.sorted { $0.lexicographicallyPrecedes($1) } }
    var frontier: [(GrammarMatcher, [UInt8])] = [(matcher, [])]
    var seen: Set<[[UInt32]]> = [key(matcher)]
    while !frontier.isEmpty {
        var next: [(GrammarMatcher, [UInt8])] = []
        for (m, path) in frontier {
            if m.canEnd { return path }
            let allowed = m.nextBytes
            for byte in Array(UInt8(0x20)...UInt8(0x7E)) + Array(UInt8(0x80)...UInt8(0xBF)) where allowed[Int(byte)] {
                var copy = m
                guard copy.accept(byte: byte), seen.insert(key(copy)).inserted else { continue }
                guard seen.count <= stateLimit else { return nil }
                next.append((copy, path + [byte]))
            }
        }
        frontier = next
    }
    return nil
}
