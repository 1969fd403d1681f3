import Foundation
import LoomTokenizer
@testable import LoomGenerate

/// A stand-in model that "wants" to write a fixed script: at reply position i it gives
/// `script[i]` logit 10, `alternative` logit 5 and every other id 0, so greedy decoding follows
/// the script unless a token is banned. It records everything it is asked to evaluate.
final class ScriptedModel: TokenEvaluator, @unchecked Sendable {
    let script: [Int32]
    let alternative: Int32
    let promptLength: Int
    let vocabularySize: Int
    let capacity: Int
    /// Seconds each evaluate call takes, to test cancellation.
    let delay: Double
    /// When set, the call numbered `gateAfter` waits for this semaphore: tests use it to cancel at
    /// a known step however slowly the machine schedules them.
    var gate: DispatchSemaphore?
    var gateAfter = Int.max
    private(set) var context: [Int] = []
    private let lock = NSLock()
    private var _calls = 0
    var calls: Int { lock.withLock { _calls } }

    init(script: [Int32], alternative: Int32, promptLength: Int, vocabularySize: Int = 260, capacity: Int = 4096, delay: Double = 0) {
        self.script = script
        self.alternative = alternative
        self.promptLength = promptLength
        self.vocabularySize = vocabularySize
        self.capacity = capacity
        self.delay = delay
    }

    var position: Int { context.count }

    func evaluate(_ tokens: [Int], allPositions: Bool) throws -> [[Float]] {
        let call = lock.withLock { _calls += 1; return _calls }
        if call == gateAfter { gate?.wait() }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        context += tokens
        var row = [Float](repeating: 0, count: vocabularySize)
        let index = context.count - promptLength
        if index >= 0 && index < script.count { row[Int(script[index])] = 10 }
        if row[Int(alternative)] == 0 { row[Int(alternative)] = 5 }
        return [row]
    }

    func rewind(to position: Int) {
        context.removeLast(max(0, context.count - position))
    }
}

/// A byte-level tokenizer: id b is byte b (0...255); id 256 is a special `<eos>`.
enum ByteTokenizer {
    static let eos: Int32 = 256

    static let shared: Tokenizer = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bytes-\(getpid()).tiktoken").path
        let lines = (0..<256).map { "\(Data([UInt8($0)]).base64EncodedString()) \($0)" }
        try! lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return try! Tokenizer(tiktokenFile: path, pattern: .gpt2, specialTokens: [AddedToken(content: "<eos>", id: eos, special: true)])
    }()

    static func ids(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }
}
