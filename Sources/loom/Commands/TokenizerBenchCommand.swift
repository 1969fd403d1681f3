import ArgumentParser
import Foundation
import LoomTokenizer

/// Tokenizer throughput on a corpus, single-threaded; `tools/bench-tokenizer` runs it next to
/// tiktoken and writes the comparison. Times are the thread's CPU time, so other processes on
/// a shared machine disturb them less than wall-clock time.
struct TokenizerBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-tokenizer",
        abstract: "Measure vocabulary load, encode and streaming decode speed on a corpus (one thread).")

    @OptionGroup var source: TokenizerOptions

    @Option(name: .long, help: "Corpus: u32 little-endian length + UTF-8 records (tools/tokenizer/build-corpus.py).")
    var corpus: String

    @Option(name: .long, help: "Timed passes; the best is reported.")
    var passes: Int = 3

    func run() throws {
        try reportingErrors {
            guard let data = FileManager.default.contents(atPath: corpus) else { throw ValidationError("cannot read \(corpus)") }
            var docs: [String] = []
            var i = 0
            while i + 4 <= data.count {
                let n = data.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: i, as: UInt32.self))) }
                guard i + 4 + n <= data.count else { throw ValidationError("\(corpus): record at \(i) runs past the end") }
                docs.append(String(decoding: data[(i + 4)..<(i + 4 + n)], as: UTF8.self))
                i += 4 + n
            }
            let bytes = docs.reduce(0) { $0 + $1.utf8.count }

            var load = Double.infinity
            var tokenizer = try source.load()
            for _ in 0..<5 {
                let t = threadSeconds()
                tokenizer = try source.load()
                load = min(load, threadSeconds() - t)
            }

            var encode = Double.infinity
            var ids: [[Int32]] = []
            for _ in 0..<max(1, passes) {
                let t = threadSeconds()
                ids = docs.map { tokenizer.encode($0, parseSpecial: false, addBOS: false) }
                encode = min(encode, threadSeconds() - t)
            }
            let tokens = ids.reduce(0) { $0 + $1.count }

            var stream = Double.infinity
            var emitted = 0
            for _ in 0..<max(1, passes) {
                let t = threadSeconds()
                emitted = 0
                for doc in ids {
                    var decoder = tokenizer.makeStreamingDecoder()
                    for id in doc { emitted &+= decoder.push(id).utf8.count }
                    emitted &+= decoder.finish().utf8.count
                }
                stream = min(stream, threadSeconds() - t)
            }

            var decode = Double.infinity
            for _ in 0..<max(1, passes) {
                let t = threadSeconds()
                var total = 0
                for doc in ids { total &+= tokenizer.decode(doc).utf8.count }
                decode = min(decode, threadSeconds() - t)
                emitted = max(emitted, total)
            }

            let result: [String: Any] = [
                "documents": docs.count, "bytes": bytes, "tokens": tokens, "decoded_bytes": emitted,
                "load_ms": load * 1000,
                "encode_mb_s": Double(bytes) / encode / 1e6, "encode_tokens_s": Double(tokens) / encode,
                "stream_decode_tokens_s": Double(tokens) / stream, "decode_tokens_s": Double(tokens) / decode,
            ]
            let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: json, as: UTF8.self))
        }
    }
}

/// CPU time of the calling thread, in seconds.
func threadSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
