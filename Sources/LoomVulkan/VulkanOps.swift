import LoomKernels

/// The kernels as calls with shapes, checked against the regions they are given.
extension VulkanRecorder {
    /// The weight types the matmul kernel reads in place.
    public static let matmulTypes: [QuantType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .mxfp4, .q4_K, .q5_K, .q6_K]

    /// output[b, r] = Σ_c weights[r, c] · input[b, c].
    /// weights: [rows, cols] of `type` in GGUF layout; input: [batch, cols] f32; output: [batch, rows] f32.
    public func matmul(_ type: QuantType, weights: VulkanBuffer, rows: Int, cols: Int,
                       input: VulkanBuffer, batch: Int, output: VulkanBuffer) throws {
        let kernel: VulkanKernel
        switch type {
        case .f32: kernel = .matmulF32
        case .f16: kernel = .matmulF16
        case .bf16: kernel = .matmulBF16
        case .q8_0: kernel = .matmulQ8_0
        case .q4_0: kernel = .matmulQ4_0
        case .mxfp4: kernel = .matmulMXFP4
        case .q4_K: kernel = .matmulQ4_K
        case .q5_K: kernel = .matmulQ5_K
        case .q6_K: kernel = .matmulQ6_K
        default: throw VulkanError.invalidArgument(kernel: "matmul", reason: "no kernel for \(type.name) weights (\(Self.matmulTypes.map(\.name).joined(separator: ", ")) have one)")
        }
        guard cols % type.blockSize == 0 else {
            throw VulkanError.invalidArgument(kernel: "matmul", reason: "\(cols) columns are not whole \(type.name) blocks")
        }
        try need(weights, rows * type.rowBytes(cols), "matmul", "weights [\(rows), \(cols)]")
        try need(input, batch * cols * 4, "matmul", "input [\(batch), \(cols)]")
        try need(output, batch * rows * 4, "matmul", "output [\(batch), \(rows)]")
        var a = KernelArguments()
        a.buffer(weights); a.buffer(input); a.buffer(output)
        a.uint(rows); a.uint(cols); a.uint(batch)
        try dispatch(kernel, groups: rows, a)
    }

    /// output[r, :] = input[r, :] / sqrt(mean(input[r, :]²) + eps) · weight; output may be input.
    public func rmsNorm(_ input: VulkanBuffer, weight: VulkanBuffer, eps: Float, rows: Int, width: Int, output: VulkanBuffer) throws {
        try need(input, rows * width * 4, "rmsNorm", "input [\(rows), \(width)]")
        try need(weight, width * 4, "rmsNorm", "weight [\(width)]")
        try need(output, rows * width * 4, "rmsNorm", "output [\(rows), \(width)]")
        var a = KernelArguments()
        a.buffer(input); a.buffer(weight); a.buffer(output)
        a.uint(rows); a.uint(width); a.float(eps)
        try dispatch(.rmsNorm, groups: rows, a)
    }

    /// gate[i] = silu(gate[i]) · up[i] for i < count.
    public func swiGLU(gate: VulkanBuffer, up: VulkanBuffer, count: Int) throws {
        try gated(.swiGLU, gate: gate, up: up, count: count)
    }

    /// gate[i] = gelu_tanh(gate[i]) · up[i] for i < count.
    public func geluTanhGLU(gate: VulkanBuffer, up: VulkanBuffer, count: Int) throws {
        try gated(.geluTanhGLU, gate: gate, up: up, count: count)
    }

    /// gpt-oss's clamped SwiGLU: gate[i] = g·σ(α·g)·(u + 1), g = min(gate[i], limit), u = up[i] clamped to ±limit.
    public func clampedSwiGLU(gate: VulkanBuffer, up: VulkanBuffer, count: Int, limit: Float, alpha: Float) throws {
        try gated(.clampedSwiGLU, gate: gate, up: up, count: count) { $0.float(limit); $0.float(alpha) }
    }

    private func gated(_ kernel: VulkanKernel, gate: VulkanBuffer, up: VulkanBuffer, count: Int,
                       more: (inout KernelArguments) -> Void = { _ in }) throws {
        try need(gate, count * 4, kernel.rawValue, "gate [\(count)]")
        try need(up, count * 4, kernel.rawValue, "up [\(count)]")
        var a = KernelArguments()
        a.buffer(gate); a.buffer(up); a.uint(count)
        more(&a)
        try dispatch(kernel, threads: count, a)
    }

    /// x[i] = cap · tanh(x[i] / cap) for i < count.
    public func softcap(_ x: VulkanBuffer, count: Int, cap: Float) throws {
        try need(x, count * 4, "softcap", "x [\(count)]")
        var a = KernelArguments()
        a.buffer(x); a.uint(count); a.float(cap)
        try dispatch(.softcap, threads: count, a)
    }

    /// sum[i] += addend[i] for i < count.
    public func add(_ addend: VulkanBuffer, into sum: VulkanBuffer, count: Int) throws {
        try need(sum, count * 4, "add", "sum [\(count)]")
        try need(addend, count * 4, "add", "addend [\(count)]")
        var a = KernelArguments()
        a.buffer(sum); a.buffer(addend); a.uint(count)
        try dispatch(.add, threads: count, a)
    }

    /// output[r] = the index of the largest value of input[r, :] (the lowest among equals), as Int32.
    public func argmax(_ input: VulkanBuffer, rows: Int, width: Int, output: VulkanBuffer) throws {
        try need(input, rows * width * 4, "argmax", "input [\(rows), \(width)]")
        try need(output, rows * 4, "argmax", "output [\(rows)]")
        var a = KernelArguments()
        a.buffer(input); a.buffer(output); a.uint(rows); a.uint(width)
        try dispatch(.argmax, groups: rows, a)
    }

    /// Rotates `heads` heads of each row in place by its position: x is [rows, heads, headStride],
    /// the table's cosines and sines [positions, half] each, positions [rows] Int32.
    public func rope(_ x: VulkanBuffer, rows: Int, heads: Int, headStride: Int, half: Int, pairs: Bool,
                     cosines: VulkanBuffer, sines: VulkanBuffer, positions: VulkanBuffer) throws {
        guard 2 * half <= headStride else { throw VulkanError.invalidArgument(kernel: "rope", reason: "\(2 * half) rotated of a \(headStride)-wide head") }
        try need(x, rows * heads * headStride * 4, "rope", "x [\(rows), \(heads), \(headStride)]")
        try need(positions, rows * 4, "rope", "positions [\(rows)]")
        var a = KernelArguments()
        a.buffer(x); a.buffer(cosines); a.buffer(sines); a.buffer(positions)
        a.uint(rows); a.uint(heads); a.uint(headStride); a.uint(half); a.uint(pairs ? 1 : 0)
        try dispatch(.rope, threads: rows * heads * half, a)
    }

    /// A paged cache layer's planes, [pages, kvHeads, pageTokens, row] each: rows of head_dim f16
    /// values (bits 16), or of ExLlamaV2's groups of 32 (an f16 scale and 8-bit codes or 4-bit
    /// nibbles, rotated by a Hadamard transform), byte for byte as the CPU's layers hold them.
    public struct PagedPlanes: Sendable {
        public let keys: VulkanBuffer
        public let values: VulkanBuffer
        public let kvHeads: Int
        public let headDim: Int
        public let pageTokens: Int
        public let pageCount: Int
        /// 16, 8 or 4.
        public let keyBits: Int
        public let valueBits: Int

        public init(keys: VulkanBuffer, values: VulkanBuffer, kvHeads: Int, headDim: Int, pageTokens: Int, pageCount: Int,
                    keyBits: Int = 16, valueBits: Int = 16) {
            precondition([16, 8, 4].contains(keyBits) && [16, 8, 4].contains(valueBits) && (keyBits == 16) == (valueBits == 16))
            self.keys = keys
            self.values = values
            self.kvHeads = kvHeads
            self.headDim = headDim
            self.pageTokens = pageTokens
            self.pageCount = pageCount
            self.keyBits = keyBits
            self.valueBits = valueBits
        }

        /// Bytes of one cached row (one position of one head) at `bits`.
        public static func rowBytes(bits: Int, headDim: Int) -> Int {
            bits == 16 ? headDim * 2 : headDim / 32 * (bits == 8 ? 34 : 18)
        }

        /// Bytes of one plane.
        public static func planeBytes(kvHeads: Int, headDim: Int, pageTokens: Int, pageCount: Int, bits: Int = 16) -> Int {
            pageCount * kvHeads * pageTokens * rowBytes(bits: bits, headDim: headDim)
        }

        public var keyRowBytes: Int { Self.rowBytes(bits: keyBits, headDim: headDim) }
        public var valueRowBytes: Int { Self.rowBytes(bits: valueBits, headDim: headDim) }
    }

    /// Stores rows' keys and values ([rows, kvHeads, headDim] f32 each) at their slots ([rows]
    /// Int32), as f16 or quantized as the planes' bits say.
    public func storeKV(keys: VulkanBuffer, values: VulkanBuffer, slots: VulkanBuffer, rows: Int, into cache: PagedPlanes) throws {
        let width = cache.kvHeads * cache.headDim
        try need(keys, rows * width * 4, "kvStore", "keys [\(rows), \(cache.kvHeads), \(cache.headDim)]")
        try need(values, rows * width * 4, "kvStore", "values [\(rows), \(cache.kvHeads), \(cache.headDim)]")
        try need(slots, rows * 4, "kvStore", "slots [\(rows)]")
        let planes = (cache.pageCount * cache.kvHeads * cache.pageTokens) as Int
        try need(cache.keys, planes * cache.keyRowBytes, "kvStore", "the key plane")
        try need(cache.values, planes * cache.valueRowBytes, "kvStore", "the value plane")
        var a = KernelArguments()
        a.buffer(keys); a.buffer(values); a.buffer(cache.keys); a.buffer(cache.values); a.buffer(slots)
        a.uint(rows); a.uint(cache.kvHeads); a.uint(cache.headDim); a.uint(cache.pageTokens)
        if cache.keyBits == 16 {
            try dispatch(.kvStore, threads: rows * width, a)
        } else {
            guard cache.headDim % 32 == 0 else { throw VulkanError.invalidArgument(kernel: "kvQuant", reason: "head_dim \(cache.headDim) is not whole groups of 32") }
            a.uint(cache.keyBits); a.uint(cache.valueBits)
            try dispatch(.kvQuant, threads: rows * cache.kvHeads * cache.headDim / 32 * 2, a)
        }
    }

    /// Causal attention of each row ([rows, heads, headDim] queries) over its sequence's pages:
    /// row r sits at `rowPositions[r]` and its page table starts at `rowTables[r]` in `pageTables`.
    /// `window` limits the positions a row sees (itself included); nil sees all. `softcap` caps
    /// the scaled scores (cap · tanh(score / cap)); `sinks` ([heads]) joins each softmax.
    public func attention(queries: VulkanBuffer, rows: Int, heads: Int, cache: PagedPlanes, pageTables: VulkanBuffer,
                          rowPositions: VulkanBuffer, rowTables: VulkanBuffer, scale: Float, window: Int?,
                          softcap: Float? = nil, sinks: VulkanBuffer? = nil, output: VulkanBuffer) throws {
        guard cache.headDim <= 256, heads % cache.kvHeads == 0 else {
            throw VulkanError.invalidArgument(kernel: "attention", reason: "head_dim \(cache.headDim) (at most 256), \(heads) heads over \(cache.kvHeads) KV heads")
        }
        try need(queries, rows * heads * cache.headDim * 4, "attention", "queries [\(rows), \(heads), \(cache.headDim)]")
        try need(output, rows * heads * cache.headDim * 4, "attention", "output [\(rows), \(heads), \(cache.headDim)]")
        try need(rowPositions, rows * 4, "attention", "positions [\(rows)]"); try need(rowTables, rows * 4, "attention", "tables [\(rows)]")
        var a = KernelArguments()
        a.buffer(queries); a.buffer(cache.keys); a.buffer(cache.values); a.buffer(pageTables); a.buffer(rowPositions); a.buffer(rowTables)
        a.buffer(output)
        a.uint(rows); a.uint(heads); a.uint(cache.kvHeads); a.uint(cache.headDim); a.uint(cache.pageTokens); a.float(scale); a.uint(window ?? 0)
        a.float(softcap ?? 0)
        if let sinks { try need(sinks, heads * 4, "attention", "sinks [\(heads)]") }
        a.uint(sinks == nil ? 0 : 1)
        // Without sinks the kernel never reads them; any address does.
        a.buffer(sinks ?? queries)
        a.uint(cache.keyBits); a.uint(cache.valueBits)
        try dispatch(.attention, groups: rows * heads, a)
    }

    /// y[r, :] += bias for every row of y ([rows, width]).
    public func addRows(_ bias: VulkanBuffer, into y: VulkanBuffer, rows: Int, width: Int) throws {
        try need(y, rows * width * 4, "addRows", "y [\(rows), \(width)]")
        try need(bias, width * 4, "addRows", "bias [\(width)]")
        var a = KernelArguments()
        a.buffer(y); a.buffer(bias); a.uint(rows); a.uint(width)
        try dispatch(.addRows, threads: rows * width, a)
    }

    /// sum[r, :] = Σ_j weights[r·k + j] · expertOut[slots[r·k + j], :] for every row: the
    /// router-weighted sum of each row's `k` chosen experts, added in the order given.
    public func expertSum(_ expertOut: VulkanBuffer, slots: VulkanBuffer, weights: VulkanBuffer, rows: Int, width: Int, k: Int,
                          into sum: VulkanBuffer) throws {
        try need(slots, rows * k * 4, "expertSum", "slots [\(rows), \(k)]"); try need(weights, rows * k * 4, "expertSum", "weights [\(rows), \(k)]")
        try need(sum, rows * width * 4, "expertSum", "sum [\(rows), \(width)]")
        var a = KernelArguments()
        a.buffer(expertOut); a.buffer(slots); a.buffer(weights); a.buffer(sum); a.uint(rows); a.uint(width); a.uint(k)
        try dispatch(.expertSum, threads: rows * width, a)
    }

    /// destination = source over `bytes` (a multiple of 16), by a kernel: the bandwidth probe.
    public func copyKernel(_ source: VulkanBuffer, to destination: VulkanBuffer, bytes: Int) throws {
        guard bytes % 16 == 0, source.address % 16 == 0, destination.address % 16 == 0 else {
            throw VulkanError.invalidArgument(kernel: "copy", reason: "\(bytes) bytes: whole, aligned 16-byte words only")
        }
        try need(source, bytes, "copy", "source"); try need(destination, bytes, "copy", "destination")
        var a = KernelArguments()
        a.buffer(source); a.buffer(destination); a.uint(bytes / 16)
        try dispatch(.copy, threads: bytes / 16, a)
    }

    private func need(_ buffer: VulkanBuffer, _ bytes: Int, _ kernel: String, _ what: String) throws {
        guard bytes <= buffer.bytes else {
            throw VulkanError.invalidArgument(kernel: kernel, reason: "\(what) needs \(bytes) bytes; \(buffer.label) has \(buffer.bytes)")
        }
    }
}
