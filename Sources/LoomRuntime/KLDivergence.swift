import Foundation

/// A base model's log-probabilities over an evaluation text, in llama.cpp's `--kl-divergence-base`
/// file format, so that either tool can write the base and either can compare against it.
///
/// Layout, little-endian:
/// - `_logits_` (8 bytes), n_ctx (u32), n_vocab (i32), n_chunk (i32);
/// - tokens: n_ctx · n_chunk i32, the text's first n_chunk whole chunks of n_ctx tokens;
/// - per chunk, per scored position (n_ctx − 1 − n_ctx/2 of them, positions n_ctx/2 … n_ctx − 2,
///   each predicting the next token), a row of nv = 2·⌈n_vocab/2⌉ + 4 u16: two f32 (`scale`,
///   `minLogProb`), then token i's log-probability as `scale · q[i] + minLogProb`.
///   The row keeps the 16 nats below the top logit (q = 0 below that) in steps of 16/65535 nats,
///   so it costs 2 bytes a token of the vocabulary instead of 4 and loses nothing the KL
///   divergence can see. Only the top token gets code 65535 (Loom's writer lowers a tied
///   runner-up by one step), so the base's top token is never ambiguous.
///
/// Scoring only the second half of each chunk gives every target at least n_ctx/2 tokens of
/// context, as llama.cpp's perplexity does.
public struct BaseLogProbsHeader: Equatable, Sendable {
    public static let magic = Array("_logits_".utf8)
    public let context: Int
    public let vocabSize: Int
    public let chunks: Int

    public init(context: Int, vocabSize: Int, chunks: Int) {
        self.context = context
        self.vocabSize = vocabSize
        self.chunks = chunks
    }

    /// u16 entries per stored row: the two f32 fields, then the vocabulary padded to even.
    public var rowEntries: Int { 2 * ((vocabSize + 1) / 2) + 4 }
    /// The first scored position of a chunk.
    public var firstScored: Int { context / 2 }
    /// Rows stored per chunk.
    public var scoredPerChunk: Int { context - 1 - context / 2 }
    /// Bytes before the first row.
    public var headerBytes: Int { 8 + 12 + 4 * context * chunks }
    /// The size a complete file has.
    public var fileBytes: Int { headerBytes + 2 * rowEntries * scoredPerChunk * chunks }

    /// Reads and checks the header of the file at `path`, and that the file has the size it implies.
    public init(path: String) throws {
        func fail(_ reason: String) -> BaseLogProbsError { BaseLogProbsError(path: path, reason: reason) }
        guard let file = FileHandle(forReadingAtPath: path) else { throw fail("cannot open the file") }
        defer { try? file.close() }
        let first = try file.read(upToCount: 20) ?? Data()
        guard first.count == 20, Array(first.prefix(8)) == Self.magic else { throw fail("not a log-probability file (no _logits_ header)") }
        func field(_ offset: Int) -> UInt32 { UInt32(littleEndian: first.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }) }
        let context = Int(field(8)), vocab = Int(Int32(bitPattern: field(12))), chunks = Int(Int32(bitPattern: field(16)))
        guard context >= 4, context <= 1 << 24, vocab >= 1, vocab <= 1 << 24, chunks >= 1, chunks <= 1 << 24 else {
            throw fail("bad header: n_ctx \(context), n_vocab \(vocab), n_chunk \(chunks)")
        }
        self.init(context: context, vocabSize: vocab, chunks: chunks)
        let size = try file.seekToEnd()
        guard size == fileBytes else {
            throw fail("\(size) bytes, but its header (n_ctx \(context), n_vocab \(vocab), n_chunk \(chunks)) needs \(fileBytes)")
        }
    }
}

/// Why a base log-probability file cannot be used.
public struct BaseLogProbsError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// What `Engine.klDivergence` measures: the compared model against the base, over the base's
/// scored tokens. Uncertainties are standard errors of the mean, as llama.cpp prints them.
public struct KLDivergenceResult: Sendable {
    public let tokens: Int
    public let chunks: Int
    /// Mean KL(base ‖ model) per token, in nats, and its standard error.
    public let meanKLD: Double
    public let meanKLDError: Double
    /// The fraction of tokens whose most probable next token is the same under both, and its
    /// standard error.
    public let sameTop: Double
    public let sameTopError: Double
    /// Mean negative log-likelihood of the text's tokens under the model and under the base.
    public let meanNLL: Double
    public let meanNLLBase: Double
    public var perplexity: Double { exp(meanNLL) }
    public var perplexityBase: Double { exp(meanNLLBase) }
    /// The root mean square of the difference in the true token's probability.
    public let rmsProbabilityDifference: Double
}

enum LogProbRow {
    /// Fills `row` ([rowEntries] u16) from `logits` ([vocab]) and returns the target's negative
    /// log-likelihood. The top 16 nats are spread over the u16 range, rounded to nearest.
    static func encode(_ logits: [Float], target: Int, into row: UnsafeMutablePointer<UInt16>) -> Double {
        var maxLogit = logits[0], minLogit = logits[0], top = 0
        for (i, v) in logits.enumerated() {
            if v > maxLogit { maxLogit = v; top = i }
            minLogit = min(minLogit, v)
        }
        minLogit = max(minLogit, maxLogit - 16)
        let logSumExp = logSumExpOver(logits, maximum: maxLogit)
        let minLogProb = Float(Double(minLogit - maxLogit) - logSumExp)
        let scale = (maxLogit - minLogit) / 65535
        UnsafeMutableRawPointer(row).storeBytes(of: scale.bitPattern, as: UInt32.self)
        UnsafeMutableRawPointer(row).storeBytes(of: minLogProb.bitPattern, toByteOffset: 4, as: UInt32.self)
        let q = row + 4  // [vocab]
        if scale > 0 {
            let inverse = 1 / scale
            for (i, v) in logits.enumerated() {
                q[i] = v > minLogit ? UInt16(clamping: Int((inverse * (v - minLogit)).rounded(.toNearestOrAwayFromZero))) : 0
            }
            // A runner-up within half a step of the top would round to the same code and make
            // the base's top token ambiguous; one step lower (2.4e-4 nats) keeps it unique.
            for i in 0..<logits.count where i != top && q[i] == 65535 { q[i] = 65534 }
        } else {
            q.update(repeating: 0, count: logits.count)
        }
        return Double(maxLogit) + logSumExp - Double(logits[target])
    }

    /// log Σ exp(v − maximum), in Double.
    static func logSumExpOver(_ logits: [Float], maximum: Float) -> Double {
        var sum = 0.0
        for v in logits { sum += exp(Double(v - maximum)) }
        return log(sum)
    }
}

/// Running sums for the KL statistics.
struct KLDivergenceSums {
    var count = 0
    var sameTop = 0
    var nll = 0.0, nllBase = 0.0
    var kld = 0.0, kld2 = 0.0
    var pDiff2 = 0.0

    /// Adds one position: the model's `logits` ([vocab]) against the base's stored `row`.
    mutating func add(_ logits: [Float], base row: UnsafePointer<UInt16>, target: Int) {
        var maxLogit = logits[0], top = 0
        for (i, v) in logits.enumerated() where v > maxLogit { maxLogit = v; top = i }
        let logNorm = Double(maxLogit) + LogProbRow.logSumExpOver(logits, maximum: maxLogit)
        let raw = UnsafeRawPointer(row)
        let scale = Double(Float(bitPattern: raw.load(as: UInt32.self)))
        let minLogProb = Double(Float(bitPattern: raw.load(fromByteOffset: 4, as: UInt32.self)))
        let q = row + 4  // [vocab]
        var sum = 0.0
        var baseTop = 0
        var baseTopLogProb = -Double.infinity
        for i in 0..<logits.count {
            let logBase = scale * Double(q[i]) + minLogProb
            if logBase > baseTopLogProb { baseTopLogProb = logBase; baseTop = i }
            // Below −16 nats the row holds no information (llama.cpp skips these too).
            if logBase > -16 {
                sum += exp(logBase) * (logBase - (Double(logits[i]) - logNorm))
            }
        }
        let nllModel = logNorm - Double(logits[target])
        let nllOfBase = -(scale * Double(q[target]) + minLogProb)
        count += 1
        if top == baseTop { sameTop += 1 }
        nll += nllModel
        nllBase += nllOfBase
        kld += sum
        kld2 += sum * sum
        let pDiff = exp(-nllModel) - exp(-nllOfBase)
        pDiff2 += pDiff * pDiff
    }

    func result(chunks: Int) -> KLDivergenceResult {
        let n = Double(count)
        let mean = kld / n
        let variance = kld2 / n - mean * mean
        let kldError = variance > 0 && count > 10 ? (variance / (n - 1)).squareRoot() : 0
        let top = Double(sameTop) / n
        let topError = count > 1 ? (top * (1 - top) / (n - 1)).squareRoot() : 0
        return KLDivergenceResult(tokens: count, chunks: chunks, meanKLD: mean, meanKLDError: kldError,
                                  sameTop: top, sameTopError: topError, meanNLL: nll / n, meanNLLBase: nllBase / n,
                                  rmsProbabilityDifference: (pDiff2 / n).squareRoot())
    }
}

extension Engine {
    /// Evaluates the first whole chunks of `tokens` (each of `context` tokens, from an empty cache,
    /// the first replaced by `bos` when given, as llama.cpp does) and writes the base file to
    /// `path` (see `BaseLogProbsHeader`). At most `maxChunks` chunks when given. Returns the
    /// base model's own perplexity over the scored tokens.
    public func saveBaseLogProbs(tokens: [Int], context: Int, bos: Int?, maxChunks: Int? = nil, to path: String,
                                 progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> PerplexityResult {
        guard context >= 4 else { throw EngineError.invalidOption(name: "ctx", reason: "\(context) is too small for chunks (at least 4)") }
        guard context <= capacity else {
            throw EngineError.invalidOption(name: "context", reason: "\(context) is larger than the cache of \(capacity) positions; raise --max-seq-len")
        }
        let chunks = min(tokens.count / context, maxChunks ?? Int.max)
        guard chunks >= 1 else {
            throw EngineError.invalidOption(name: "tokens", reason: "the text has \(tokens.count) tokens, fewer than one chunk of \(context)")
        }
        let header = BaseLogProbsHeader(context: context, vocabSize: config.vocabSize, chunks: chunks)
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
            throw BaseLogProbsError(path: path, reason: "cannot create the file")
        }
        defer { try? out.close() }
        var head = Data(BaseLogProbsHeader.magic)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { head.append(contentsOf: $0) } }
        put(UInt32(context)); put(Int32(config.vocabSize)); put(Int32(chunks))
        for t in tokens[0..<(chunks * context)] { put(Int32(t)) }
        try out.write(contentsOf: head)
        var rows = [UInt16](repeating: 0, count: header.rowEntries * header.scoredPerChunk)  // [scored][rowEntries]
        var total = 0.0
        for chunk in 0..<chunks {
            let logits = try evaluateChunk(tokens, chunk: chunk, context: context, bos: bos)  // [context][vocab]
            rows.withUnsafeMutableBufferPointer { buffer in
                for k in 0..<header.scoredPerChunk {
                    let position = header.firstScored + k
                    total += LogProbRow.encode(logits[position], target: tokens[chunk * context + position + 1],
                                               into: buffer.baseAddress! + k * header.rowEntries)
                }
            }
            try rows.withUnsafeBytes { try out.write(contentsOf: Data($0)) }
            progress(chunk + 1, chunks, exp(total / Double((chunk + 1) * header.scoredPerChunk)))
        }
        let scored = chunks * header.scoredPerChunk
        return PerplexityResult(tokens: tokens.count, scored: scored, windows: chunks, meanNLL: total / Double(scored))
    }

    /// Compares this model against the base file at `path`, on the base's own tokens.
    public func klDivergence(basePath path: String, bos: Int?,
                             progress: (Int, Int, KLDivergenceResult) -> Void = { _, _, _ in }) throws -> KLDivergenceResult {
        guard let file = FileHandle(forReadingAtPath: path) else { throw BaseLogProbsError(path: path, reason: "cannot open the file") }
        defer { try? file.close() }
        func fail(_ reason: String) -> BaseLogProbsError { BaseLogProbsError(path: path, reason: reason) }
        func read(_ count: Int, _ what: String) throws -> Data {
            let data = try file.read(upToCount: count) ?? Data()
            guard data.count == count else { throw fail("truncated in \(what): needed \(count) bytes, found \(data.count)") }
            return data
        }
        let header = try BaseLogProbsHeader(path: path)
        let (context, vocab, chunks) = (header.context, header.vocabSize, header.chunks)
        guard vocab == config.vocabSize else { throw fail("vocabulary of \(vocab) tokens, the model has \(config.vocabSize)") }
        guard context <= capacity else {
            throw EngineError.invalidOption(name: "context", reason: "the base file's chunks are \(context) tokens, larger than the cache of \(capacity) positions; raise --max-seq-len")
        }
        _ = try read(20, "the header")
        let tokenData = try read(4 * context * chunks, "the tokens")
        let tokens: [Int] = tokenData.withUnsafeBytes { raw in
            (0..<(context * chunks)).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocab }) { throw fail("token \(bad) outside the vocabulary of \(vocab)") }
        var sums = KLDivergenceSums()
        for chunk in 0..<chunks {
            let logits = try evaluateChunk(tokens, chunk: chunk, context: context, bos: bos)  // [context][vocab]
            let rows = try read(2 * header.rowEntries * header.scoredPerChunk, "chunk \(chunk)")  // [scored][rowEntries] u16
            rows.withUnsafeBytes { raw in
                let base = raw.bindMemory(to: UInt16.self).baseAddress!
                for k in 0..<header.scoredPerChunk {
                    let position = header.firstScored + k
                    sums.add(logits[position], base: base + k * header.rowEntries, target: tokens[chunk * context + position + 1])
                }
            }
            progress(chunk + 1, chunks, sums.result(chunks: chunk + 1))
        }
        return sums.result(chunks: chunks)
    }

    /// The logits of every position of chunk `chunk` ([context][vocab]), from an empty cache.
    private func evaluateChunk(_ tokens: [Int], chunk: Int, context: Int, bos: Int?) throws -> [[Float]] {
        reset()
        defer { reset() }
        var input = Array(tokens[(chunk * context)..<((chunk + 1) * context)])
        if let bos { input[0] = bos }
        return try evaluate(input, allPositions: true)
    }
}
