import ArgumentParser
import Foundation
import LoomCore
import LoomKernels

/// Times the weight-matrix kernels over every matrix of a Qwen2.5-0.5B-shaped model (24 layers
/// of q/k/v/o/gate/up/down plus the 151936-row output head), with random weights of one format.
/// Decode (batch 1) reports GB/s of weights streamed and the tokens/s the matmuls alone allow;
/// prompt (batch > 1) reports tokens/s, with the output head applied to the last token only, as
/// llama-bench's pp does. Compare with llama.cpp tg128/pp512 (tools/bench-vs-llamacpp).
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-kernels",
        abstract: "Time matrix kernels on Qwen2.5-0.5B shapes (decode GB/s, prompt tokens/s).")

    @Option(name: .long, help: "Formats, comma-separated (f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl, q4_K, q6_K, ...).")
    var types = "q8_0,q4_0"
    @Option(name: .short, parsing: .unconditional, help: "Threads.") var t = ThreadPool.processorCount
    @Option(name: .long, help: "Kernel path: avx512-vnni, avx2 or portable (default: the best this CPU runs).")
    var path: String?
    @Option(name: .long, parsing: .unconditional, help: "Decode tokens to time.") var tokens = 64
    @Option(name: .long, parsing: .unconditional, help: "Prompt batch size (0 to skip the prompt benchmark).") var batch = 512
    @Flag(name: .long, help: "Print JSON lines.") var json = false
    @Flag(name: .long, help: "Repack q8_0/q4_0/q5_0 and the K formats into interleaved 8-row groups at load (AVX-512 or AVX2 path).")
    var repack = false
    @Flag(name: .long, help: "Fine activation rounding (the residual) for every repacked matrix, not only the LM head.")
    var fineActivations = false
    @Option(name: .long, help: "bf16 prompt kernel: dot (AVX-512 BF16 vdpbf16ps over split activations, where the CPU has it) or fma.")
    var bf16Kernel = "dot"
    @Option(name: .long, help: "Instead of the model, one ROWSxCOLS matrix (e.g. 256x896, cache-resident) run --tokens times.")
    var shape: String?

    /// (rows, cols, copies per model) for Qwen2.5-0.5B: hidden 896, 2 KV heads of 64, FFN 4864.
    static let shapes: [(name: String, rows: Int, cols: Int, count: Int)] = [
        ("attn_q", 896, 896, 24), ("attn_k", 128, 896, 24), ("attn_v", 128, 896, 24), ("attn_output", 896, 896, 24),
        ("ffn_gate", 4864, 896, 24), ("ffn_up", 4864, 896, 24), ("ffn_down", 896, 4864, 24), ("output", 151936, 896, 1),
    ]

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try requireAtLeast(1, t, "-t")
        try requireAtLeast(1, tokens, "--tokens")
        try requireAtLeast(0, batch, "--batch")
        if let path, KernelPath(name: path) == nil {
            throw ValidationError("--path must be one of \(KernelPath.allCases.map(\.rawValue).joined(separator: ", ")), got '\(path)'")
        }
        guard ["dot", "fma"].contains(bf16Kernel) else { throw ValidationError("--bf16-kernel must be dot or fma, got '\(bf16Kernel)'") }
        _ = try quantTypes()
        if let shape, shape.split(separator: "x").compactMap({ Int($0) }).filter({ $0 > 0 }).count != 2 {
            throw ValidationError("--shape must be ROWSxCOLS, such as 256x896, got '\(shape)'")
        }
    }

    private func quantTypes() throws -> [QuantType] {
        try types.split(separator: ",").map(String.init).map { name in
            guard let type = QuantType.allCases.first(where: { $0.name == name }) else {
                throw ValidationError("--types: unknown format '\(name)'; known: \(QuantType.allCases.map(\.name).joined(separator: ", "))")
            }
            return type
        }
    }

    func run() throws {
        let chosen = path.flatMap { KernelPath(name: $0) } ?? KernelPath.active
        let pool = ThreadPool(threads: t)
        for type in try quantTypes() {
            try bench(type, path: chosen, pool: pool)
        }
    }

    func bench(_ type: QuantType, path: KernelPath, pool: ThreadPool) throws {
        var rng = SystemRandomNumberGenerator()
        let arena = MemoryArena(name: "bench")
        var storage: [UnsafeMutableRawPointer] = []
        defer { storage.forEach { $0.deallocate() } }
        var matrices: [WeightMatrix] = []
        var isOutputHead: [Bool] = []  // llama-bench's pp computes logits for the last token only
        var shapes = Self.shapes
        if let spec = shape {
            let parts = spec.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--shape wants ROWSxCOLS") }
            shapes = [("custom", parts[0], parts[1], 1)]
        }
        for shape in shapes where shape.cols % type.blockSize == 0 {
            for _ in 0..<shape.count {
                let bytes = shape.rows * type.rowBytes(shape.cols)
                let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                storage.append(raw)
                fillRandom(raw, bytes: bytes, type: type, rng: &rng)
                isOutputHead.append(shape.name == "output")
                matrices.append(type.blockSize == 1
                    ? try FloatMatrix(type: type, data: raw, byteCount: bytes, rows: shape.rows, cols: shape.cols, owner: nil, path: path,
                                      bf16DotProducts: bf16Kernel == "dot")
                    : try QuantizedMatrix(type: type, data: raw, byteCount: bytes, rows: shape.rows, cols: shape.cols, owner: nil,
                                          path: path, repackingInto: repack ? arena : nil,
                                          activations: shape.name == "output" || fineActivations ? .fine : .standard))
                if repack, (matrices.last as? QuantizedMatrix)?.isInterleaved == true {
                    raw.deallocate()  // the matrix now reads only its arena copy
                    storage.removeLast()
                }
            }
        }
        let skipped = shapes.filter { $0.cols % type.blockSize != 0 }.map(\.name)
        let chunkTokens = max(1, batch)
        let maxRows = shapes.map(\.rows).max()!, maxCols = shapes.map(\.cols).max()!
        let scratchBytes = matrices.map { $0.scratchBytes(batch: chunkTokens) }.max() ?? 0
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(64, scratchBytes), alignment: 64)
        defer { scratch.deallocate() }
        let x = UnsafeMutablePointer<Float>.allocate(capacity: chunkTokens * maxCols)  // [batch, cols]
        defer { x.deallocate() }
        for i in 0..<(chunkTokens * maxCols) { x[i] = Float.random(in: -1...1, using: &rng) }
        let y = UnsafeMutablePointer<Float>.allocate(capacity: chunkTokens * maxRows)  // [batch, rows]
        defer { y.deallocate() }
        let modelBytes = matrices.reduce(0) { $0 + $1.byteCount }
        let kernelNote = (matrices.first as? FloatMatrix)?.usesBF16DotProducts == true ? ", vdpbf16ps prompt" : ""

        // Decode: every matrix once per token, as a forward pass would.
        for m in matrices { m.multiply(x, batch: 1, into: y, scratch: scratch, pool: pool) }  // warm-up
        var perToken: [Double] = [], cpuPerToken: [Double] = []
        for _ in 0..<tokens {
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = threadCPUSeconds()
            for m in matrices { m.multiply(x, batch: 1, into: y, scratch: scratch, pool: pool) }
            perToken.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            cpuPerToken.append(threadCPUSeconds() - cpuStart)
        }
        let cpuMean = cpuPerToken.reduce(0, +) / Double(tokens)
        let (mean, sd) = meanAndDeviation(perToken)
        let gbps = Double(modelBytes) / mean / 1e9
        var promptRate = 0.0, promptCPURate = 0.0
        if batch > 1 {
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = threadCPUSeconds()
            for (m, isOutput) in zip(matrices, isOutputHead) {
                m.multiply(x, batch: isOutput ? 1 : batch, into: y, scratch: scratch, pool: pool)
            }
            promptRate = Double(batch) / (Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            promptCPURate = Double(batch) / (threadCPUSeconds() - cpuStart)
        }
        if json {
            print("{\"type\":\"\(type.name)\",\"repacked\":\(repack),\"path\":\"\(path.rawValue)\",\"bf16_dot\":\(!kernelNote.isEmpty),\"threads\":\(t),\"weight_bytes\":\(modelBytes),"
                + "\"decode_s_per_token\":\(mean),\"decode_s_sd\":\(sd),\"decode_gb_per_s\":\(gbps),"
                + "\"matmul_tokens_per_s\":\(1 / mean),\"prompt_batch\":\(batch),\"prompt_tokens_per_s\":\(promptRate)}")
        } else {
            let skippedNote = skipped.isEmpty ? "" : " (skipped, not whole blocks: \(skipped.joined(separator: ", ")))"
            print("\(type.name)\(repack ? " repacked" : "") [\(path.rawValue)\(kernelNote), \(t) thread\(t == 1 ? "" : "s")] \(String(format: "%.0f", Double(modelBytes) / 1e6)) MB of weights\(skippedNote)")
            print(String(format: "  decode: %.3f ± %.3f ms/token, %.1f GB/s, %.1f tokens/s (matmuls only)", mean * 1e3, sd * 1e3, gbps, 1 / mean))
            if t == 1 {
                // On a shared machine wall time includes waiting for a core; CPU time does not.
                print(String(format: "  decode, calling thread's CPU time: %.3f ms/token, %.1f GB/s per busy core", cpuMean * 1e3, Double(modelBytes) / cpuMean / 1e9))
            }
            if batch > 1 { print(String(format: "  prompt: batch %d, %.1f tokens/s (matmuls only)", batch, promptRate)) }
            if batch > 1 && t == 1 { print(String(format: "  prompt, calling thread's CPU time: %.1f tokens/s per busy core", promptCPURate)) }
        }
    }

    /// Random bytes, with each block's f16 scales set to small finite values so sums stay finite.
    func fillRandom(_ raw: UnsafeMutableRawPointer, bytes: Int, type: QuantType, rng: inout SystemRandomNumberGenerator) {
        let words = raw.bindMemory(to: UInt64.self, capacity: bytes / 8)
        for i in 0..<(bytes / 8) { words[i] = rng.next() & 0x3BFF_3BFF_3BFF_3BFF }  // keeps f16/bf16 values finite and < 2
        guard type.blockSize > 1 else { return }
        let scale = Float16(0.01).bitPattern
        for block in 0..<(bytes / type.blockBytes) {
            for offset in scaleOffsets(type) { raw.storeBytes(of: scale, toByteOffset: block * type.blockBytes + offset, as: UInt16.self) }
        }
    }

    func scaleOffsets(_ type: QuantType) -> [Int] {
        switch type {
        case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q2_K: return [80, 82]
        case .q3_K: return [108]
        case .q6_K: return [208]
        default: return [0]
        }
    }

    func threadCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    func meanAndDeviation(_ values: [Double]) -> (Double, Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, values.count - 1))
        return (mean, variance.squareRoot())
    }
}
