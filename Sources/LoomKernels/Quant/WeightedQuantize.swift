/// Importance-weighted quantization into ggml's block formats (the layouts are `QuantType`'s).
///
/// Each block minimises Σ wⱼ (xⱼ − x̂ⱼ)² over its stored integers and scales. With an importance
/// vector (llama.cpp's imatrix: each input column's mean squared activation, which is what a
/// weight's rounding error is multiplied by in the layer's output) wⱼ = impⱼ·√(σ² + xⱼ²), σ² the
/// block's mean square, as llama.cpp weighs it; without one impⱼ = 1, every column alike.
/// (llama.cpp's reference quantizers weigh by xⱼ² or σ + |xⱼ| instead. Measured against xⱼ²
/// here, √(σ² + xⱼ²) lowered the demo model's KL divergence at every type tried and
/// all-MiniLM-L6-v2's embedding error by 5–13%: the small weights matter to the output too.)
///
/// Where llama.cpp tries one family of candidate scales per sub-block, this also tries the mirror
/// mapping (the extreme at the positive end), and then refines by alternating rounding and a
/// least-squares refit until the error stops falling; after the sub-block scales are themselves
/// quantized, the super-block scales are refitted by least squares against the final integers.
public enum WeightedQuantize {
    /// The types this quantizer produces.
    public static let supported: [QuantType] = [.q8_0, .q4_0, .q5_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs]

    /// Quantizes one row of `count` weights (a multiple of the block size) into `out`
    /// (`type.rowBytes(count)` bytes). `importance` ([count]) is the row's column importances, or
    /// nil. Returns false for types not in `supported`.
    @discardableResult
    public static func row(_ type: QuantType, _ x: UnsafePointer<Float>, count: Int, importance: UnsafePointer<Float>?,
                           into out: UnsafeMutableRawPointer) -> Bool {
        guard supported.contains(type) else { return false }
        if type == .q8_0 { return Quantize.run(.q8_0, x, count: count, into: out) }
        let n = type.blockSize
        var weights = [Float](repeating: 0, count: n)  // [blockSize]
        var scratch = BlockScratch()
        for b in 0..<(count / n) {
            let xb = x + b * n
            weights.withUnsafeMutableBufferPointer { w in
                blockWeights(xb, importance.map { $0 + b * n }, count: n, into: w.baseAddress!)
                let block = out + b * type.blockBytes
                switch type {
                case .q4_0: q4_0(xb, w.baseAddress!, block, &scratch)
                case .q5_0: q5_0(xb, w.baseAddress!, block, &scratch)
                case .q2_K: q2_K(xb, w.baseAddress!, block, &scratch)
                case .q3_K: q3_K(xb, w.baseAddress!, block, &scratch)
                case .q4_K: q45_K(xb, w.baseAddress!, block, bits: 4, &scratch)
                case .q5_K: q45_K(xb, w.baseAddress!, block, bits: 5, &scratch)
                case .q6_K: q6_K(xb, w.baseAddress!, block, &scratch)
                case .iq4_nl: iq4_nl(xb, w.baseAddress!, block, &scratch)
                case .iq4_xs: iq4_xs(xb, w.baseAddress!, block, &scratch)
                default: break
                }
            }
        }
        return true
    }

    /// Integers and scales of one super-block while it is being fitted.
    struct BlockScratch {
        var q = [Int32](repeating: 0, count: 256)         // [256] the integers, offset removed
        var candidate = [Int32](repeating: 0, count: 32)  // [sub-block] a candidate's integers
        var scales = [Float](repeating: 0, count: 16)     // [sub-blocks]
        var mins = [Float](repeating: 0, count: 16)       // [sub-blocks], positive: x ≈ scale·q − min
    }

    static func blockWeights(_ x: UnsafePointer<Float>, _ importance: UnsafePointer<Float>?, count n: Int, into w: UnsafeMutablePointer<Float>) {
        if let importance {
            var sum2: Float = 0
            for j in 0..<n { sum2 += x[j] * x[j] }
            let sigma2 = sum2 / Float(n)
            for j in 0..<n { w[j] = importance[j] * (sigma2 + x[j] * x[j]).squareRoot() }
        } else {
            // No importance matrix: every input column counts the same.
            var sum2: Float = 0
            for j in 0..<n { sum2 += x[j] * x[j] }
            let sigma2 = sum2 / Float(n)
            for j in 0..<n { w[j] = (sigma2 + x[j] * x[j]).squareRoot() }
        }
        // All-zero weights (a zero block, or columns never activated) would leave every fit
        // undetermined; a tiny floor keeps the plain squared error as the tie-breaker.
        var total: Float = 0
        for j in 0..<n { total += w[j] }
        let floor = max(total / Float(n) * 1e-6, Float.leastNormalMagnitude)
        for j in 0..<n { w[j] += floor }
    }

    @inline(__always)
    static func nearest(_ v: Float) -> Int32 {
        v.isFinite ? Int32(max(-1e6, min(1e6, v)).rounded(.toNearestOrEven)) : 0
    }

    @inline(__always)
    static func f16Rounded(_ v: Float) -> Float { Float(Float16(v)) }

    // MARK: sub-block fits

    /// Fits x ≈ d·q with q in lo...hi (lo = −hi − 1) over `n` values; the integers go to `q`.
    /// Returns d. Candidates map the signed extreme to either end of the range at 0.1-level steps;
    /// the best is then refined by re-rounding and refitting.
    static func fitSymmetric(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int, hi: Int32,
                             _ q: UnsafeMutablePointer<Int32>, _ candidate: UnsafeMutablePointer<Int32>) -> Float {
        let lo = -hi - 1
        return fitScale(x, w, n: n, ends: (Float(lo), Float(hi)), steps: (-0.1, 0.1), count: 9, zero: 0, q, candidate,
                        round: { min(hi, max(lo, nearest($0))) }, value: { Float($0) })
    }

    /// Fits x ≈ d·value(q) over `n` values, `round` giving the integer whose value is nearest;
    /// the integers go to `q` (all `zero` when x is). Returns d. Candidates put the signed
    /// extreme at ends.low + steps.low·k and ends.high + steps.high·k for k in −count...count,
    /// each refitted by weighted least squares; the best is refined by re-rounding at its own scale.
    @inline(__always)
    static func fitScale(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int, ends: (low: Float, high: Float),
                         steps: (low: Float, high: Float), count: Int, zero: Int32, _ q: UnsafeMutablePointer<Int32>, _ candidate: UnsafeMutablePointer<Int32>,
                         round: (Float) -> Int32, value: (Int32) -> Float) -> Float {
        var extreme: Float = 0
        for j in 0..<n where abs(x[j]) > abs(extreme) { extreme = x[j] }
        guard abs(extreme) > 1e-30 else {
            q.update(repeating: zero, count: n)
            return 0
        }
        var bestScore: Float = -1, bestD: Float = 0
        // score = (Σ w x v)² / Σ w v², the error reduction of the least-squares d for those v.
        func consider(_ inverse: Float) {
            var sumXV: Float = 0, sumVV: Float = 0
            for j in 0..<n {
                let l = round(inverse * x[j])
                candidate[j] = l
                let v = value(l)
                sumXV += w[j] * x[j] * v
                sumVV += w[j] * (v * v)  // v·v is exact: the grids are small integers
            }
            guard sumVV > 0 else { return }
            let score = sumXV * sumXV / sumVV
            if score > bestScore {
                bestScore = score
                bestD = sumXV / sumVV
                q.update(from: candidate, count: n)
            }
        }
        for k in -count...count {
            consider((ends.low + steps.low * Float(k)) / extreme)    // extreme at the negative end
            consider((ends.high + steps.high * Float(k)) / extreme)  // extreme at the positive end
        }
        for _ in 0..<4 {
            guard bestD != 0 else { break }
            let before = bestScore
            consider(1 / bestD)
            if bestScore <= before { break }
        }
        return bestD
    }

    /// Fits x ≈ d·q − m with q in 0...hi and m ≥ 0 (the block's minimum is at or below zero, as
    /// ggml's K-quants store it) over `n` values. Returns (d, m).
    static func fitAffine(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int, hi: Int32,
                          _ q: UnsafeMutablePointer<Int32>, _ candidate: UnsafeMutablePointer<Int32>) -> (scale: Float, min: Float) {
        var lo = x[0], top = x[0]
        var sumW: Float = 0, sumX: Float = 0
        for j in 0..<n {
            lo = min(lo, x[j]); top = max(top, x[j])
            sumW += w[j]; sumX += w[j] * x[j]
        }
        lo = min(lo, 0)
        guard top > lo else {
            q.update(repeating: 0, count: n)
            return (0, -lo)
        }
        var bestError = Float.infinity, best: (Float, Float) = (0, 0)
        /// Rounds with (scale, offset), refits both by weighted least squares (offset ≤ 0) and keeps the best.
        func consider(inverse: Float, offset: Float) {
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for j in 0..<n {
                let l = min(hi, max(0, nearest(inverse * (x[j] - offset))))
                candidate[j] = l
                let fl = Float(l)
                sumL += w[j] * fl; sumL2 += w[j] * fl * fl; sumXL += w[j] * x[j] * fl
            }
            let det = sumW * sumL2 - sumL * sumL
            var d: Float, b: Float
            if det > 0 {
                d = (sumW * sumXL - sumL * sumX) / det
                b = (sumL2 * sumX - sumL * sumXL) / det
                if b > 0 { b = 0; d = sumL2 > 0 ? sumXL / sumL2 : 0 }
            } else {
                b = min(0, sumX / sumW); d = 0
            }
            var error: Float = 0
            for j in 0..<n {
                let diff = d * Float(candidate[j]) + b - x[j]
                error += w[j] * diff * diff
            }
            if error < bestError {
                bestError = error
                best = (d, b)
                q.update(from: candidate, count: n)
            }
        }
        let range = top - lo
        for step in 0...40 {
            consider(inverse: (Float(hi) - 1 + 0.05 * Float(step)) / range, offset: lo)
        }
        for _ in 0..<4 {
            guard best.0 > 0 else { break }
            let before = bestError
            consider(inverse: 1 / best.0, offset: best.1)
            if bestError >= before { break }
        }
        return (best.0, -best.1)
    }

    /// Re-rounds `n` values to the stored scale and min (x ≈ d·q − m) and returns nothing; the
    /// integers go to `q`.
    @inline(__always)
    static func roundTo(_ x: UnsafePointer<Float>, n: Int, scale d: Float, min m: Float, lo: Int32, hi: Int32, _ q: UnsafeMutablePointer<Int32>) {
        let inverse: Float = d != 0 ? 1 / d : 0
        for j in 0..<n { q[j] = min(hi, max(lo, nearest((x[j] + m) * inverse))) }
    }

    // MARK: 32-weight blocks

    static func q4_0(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ s: inout BlockScratch) {
        symmetric32(x, w, hi: 7, out, &s)
        var stored = [Int32](repeating: 0, count: 32)
        for j in 0..<32 { stored[j] = s.q[j] + 8 }
        BlockGrid.pack(.q4_0, stored, into: out)
    }

    static func q5_0(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ s: inout BlockScratch) {
        symmetric32(x, w, hi: 15, out, &s)
        let q = s.q
        Quantize.pack5({ UInt8(q[$0] + 16) }, out, qhOffset: 2)
    }

    /// Fits a 32-weight symmetric block, stores d (f16) at offset 0 and leaves the integers, for
    /// the stored d, in `s.q`.
    static func symmetric32(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, hi: Int32, _ out: UnsafeMutableRawPointer, _ s: inout BlockScratch) {
        s.q.withUnsafeMutableBufferPointer { q in
            s.candidate.withUnsafeMutableBufferPointer { c in
                let d = f16Rounded(fitSymmetric(x, w, n: 32, hi: hi, q.baseAddress!, c.baseAddress!))
                Quantize.storeF16(d, out, 0)
                roundTo(x, n: 32, scale: d, min: 0, lo: -hi - 1, hi: hi, q.baseAddress!)
            }
        }
    }

    // MARK: K super-blocks

    /// Quantizes the sub-block scales `values` ([count], any sign when `signed`) to integers in
    /// lo...hi times one f16 super-scale; returns the super-scale and writes the integers.
    ///
    /// `importance` ([count]) is how much an error in each sub-block's value costs: Σ w·q² over
    /// the sub-block for a scale (its error multiplies every integer), Σ w for a min. Candidates
    /// map the extreme to either end of the range and near it, and the least-squares super-scale
    /// of the best candidate's integers is tried too; the one with the least importance-weighted
    /// error in the values wins (llama.cpp maps the extreme to one end, or searches one side).
    static func superScale(_ values: [Float], importance: [Float], count: Int, lo: Int32, hi: Int32, signed: Bool,
                           into ints: inout [Int32]) -> Float {
        var extreme: Float = 0
        for v in values.prefix(count) where abs(v) > abs(extreme) { extreme = v }
        guard extreme != 0 else {
            for i in 0..<count { ints[i] = 0 }
            return 0
        }
        var bestError = Float.infinity, bestD: Float = 0
        func consider(_ d: Float) {
            guard d.isFinite, d != 0 else { return }
            let inverse = 1 / d
            var error: Float = 0
            for i in 0..<count {
                let l = min(hi, max(lo, nearest(values[i] * inverse)))
                let diff = values[i] - d * Float(l)
                error += importance[i] * diff * diff
            }
            if error < bestError { bestError = error; bestD = d }
        }
        func search(end: Float) {
            for step in -8...4 { consider(f16Rounded(extreme / (end + (end < 0 ? -0.1 : 0.1) * Float(step)))) }
        }
        if signed { search(end: Float(lo)) }
        search(end: Float(hi))
        // The weighted least-squares scale for the best candidate's integers.
        var sumVL: Float = 0, sumLL: Float = 0
        for i in 0..<count {
            let l = Float(min(hi, max(lo, nearest(values[i] / bestD))))
            sumVL += importance[i] * values[i] * l
            sumLL += importance[i] * l * l
        }
        if sumLL > 0 { consider(f16Rounded(sumVL / sumLL)) }
        let inverse = 1 / bestD
        for i in 0..<count { ints[i] = min(hi, max(lo, nearest(values[i] * inverse))) }
        return bestD
    }

    /// Σ w·v(j)² over each of `groups` sub-blocks of `group` weights: the importance of an
    /// error in a sub-block's scale (v the integers or grid values) or min (v = 1).
    static func subBlockImportance(_ w: UnsafePointer<Float>, group: Int, groups: Int, _ v: (Int) -> Float) -> [Float] {
        (0..<groups).map { g in
            var sum: Float = 0
            for j in (g * group)..<(g * group + group) { sum += w[j] * v(j) * v(j) }
            return sum
        }
    }

    /// Refits the f16 super-scales (d for scales, dmin for mins) by weighted least squares over the
    /// whole super-block, given the sub-block integers `sc`, `mc` and the weights' integers `q`:
    /// x ≈ d·sc·q − dmin·mc. Keeps the old pair when the refit is not better.
    static func refitSuperScales(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, group: Int, groups: Int,
                                 sc: [Int32], mc: [Int32]?, q: [Int32], d: inout Float, dmin: inout Float) {
        var a11: Double = 0, a12: Double = 0, a22: Double = 0, b1: Double = 0, b2: Double = 0
        for g in 0..<groups {
            for j in (g * group)..<(g * group + group) {
                let u = Double(sc[g] * q[j]), v = -Double(mc?[g] ?? 0), wj = Double(w[j]), xj = Double(x[j])
                a11 += wj * u * u; a12 += wj * u * v; a22 += wj * v * v
                b1 += wj * u * xj; b2 += wj * v * xj
            }
        }
        var newD: Double, newDmin: Double
        if mc != nil {
            let det = a11 * a22 - a12 * a12
            guard det > 0 else { return }
            newD = (b1 * a22 - b2 * a12) / det
            newDmin = (a11 * b2 - a12 * b1) / det
        } else {
            guard a11 > 0 else { return }
            newD = b1 / a11
            newDmin = 0
        }
        func error(_ dd: Float, _ mm: Float) -> Double {
            var e: Double = 0
            for g in 0..<groups {
                for j in (g * group)..<(g * group + group) {
                    let diff = Double(dd * Float(sc[g]) * Float(q[j]) - mm * Float(mc?[g] ?? 0) - x[j])
                    e += Double(w[j]) * diff * diff
                }
            }
            return e
        }
        let candidateD = f16Rounded(Float(newD)), candidateMin = f16Rounded(Float(newDmin))
        guard candidateD.isFinite, candidateMin.isFinite, mc == nil || candidateMin >= 0 else { return }
        if error(candidateD, candidateMin) < error(d, dmin) {
            d = candidateD
            dmin = candidateMin
        }
    }

    /// q4_K and q5_K: 8 sub-blocks of 32 with 6-bit scales and mins.
    static func q45_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, bits: Int, _ s: inout BlockScratch) {
        let hi: Int32 = bits == 4 ? 15 : 31
        fitAffineSubBlocks(x, w, group: 32, groups: 8, hi: hi, &s)
        var sc = [Int32](repeating: 0, count: 8), mc = [Int32](repeating: 0, count: 8)
        let q = s.q
        var d = superScale(s.scales, importance: subBlockImportance(w, group: 32, groups: 8) { Float(q[$0]) },
                           count: 8, lo: 0, hi: 63, signed: false, into: &sc)
        var dmin = superScale(s.mins, importance: subBlockImportance(w, group: 32, groups: 8) { _ in 1 },
                              count: 8, lo: 0, hi: 63, signed: false, into: &mc)
        finishAffine(x, w, group: 32, groups: 8, hi: hi, sc: sc, mc: mc, d: &d, dmin: &dmin, &s)
        Quantize.storeF16(d, out, 0)
        Quantize.storeF16(dmin, out, 2)
        for i in 0..<4 {
            out.storeBytes(of: UInt8(sc[i]) | UInt8(sc[i + 4] >> 4) << 6, toByteOffset: 4 + i, as: UInt8.self)
            out.storeBytes(of: UInt8(mc[i]) | UInt8(mc[i + 4] >> 4) << 6, toByteOffset: 8 + i, as: UInt8.self)
            out.storeBytes(of: UInt8(sc[i + 4] & 15) | UInt8(mc[i + 4] & 15) << 4, toByteOffset: 12 + i, as: UInt8.self)
        }
        BlockGrid.pack(bits == 4 ? .q4_K : .q5_K, s.q, into: out)
    }

    /// q2_K: 16 sub-blocks of 16 with 4-bit scales and mins, 2-bit weights.
    static func q2_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ s: inout BlockScratch) {
        fitAffineSubBlocks(x, w, group: 16, groups: 16, hi: 3, &s)
        var sc = [Int32](repeating: 0, count: 16), mc = [Int32](repeating: 0, count: 16)
        let q = s.q
        var d = superScale(s.scales, importance: subBlockImportance(w, group: 16, groups: 16) { Float(q[$0]) },
                           count: 16, lo: 0, hi: 15, signed: false, into: &sc)
        var dmin = superScale(s.mins, importance: subBlockImportance(w, group: 16, groups: 16) { _ in 1 },
                              count: 16, lo: 0, hi: 15, signed: false, into: &mc)
        finishAffine(x, w, group: 16, groups: 16, hi: 3, sc: sc, mc: mc, d: &d, dmin: &dmin, &s)
        for g in 0..<16 { out.storeBytes(of: UInt8(sc[g]) | UInt8(mc[g]) << 4, toByteOffset: g, as: UInt8.self) }
        BlockGrid.pack(.q2_K, s.q, into: out)
        Quantize.storeF16(d, out, 80)
        Quantize.storeF16(dmin, out, 82)
    }

    /// Sub-block affine fits into `s.scales` and `s.mins`, their integers into `s.q`.
    static func fitAffineSubBlocks(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, group: Int, groups: Int, hi: Int32, _ s: inout BlockScratch) {
        s.q.withUnsafeMutableBufferPointer { q in
            s.candidate.withUnsafeMutableBufferPointer { c in
                for g in 0..<groups {
                    let fit = fitAffine(x + g * group, w + g * group, n: group, hi: hi, q.baseAddress! + g * group, c.baseAddress!)
                    s.scales[g] = fit.scale
                    s.mins[g] = fit.min
                }
            }
        }
    }

    /// Rounds every weight to its sub-block's stored scale and min, refits the super-scales
    /// against those integers, and rounds once more if they changed.
    static func finishAffine(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, group: Int, groups: Int, hi: Int32,
                             sc: [Int32], mc: [Int32], d: inout Float, dmin: inout Float, _ s: inout BlockScratch) {
        func roundAll() {
            s.q.withUnsafeMutableBufferPointer { q in
                for g in 0..<groups {
                    roundTo(x + g * group, n: group, scale: d * Float(sc[g]), min: dmin * Float(mc[g]), lo: 0, hi: hi, q.baseAddress! + g * group)
                }
            }
        }
        roundAll()
        let (oldD, oldMin) = (d, dmin)
        refitSuperScales(x, w, group: group, groups: groups, sc: sc, mc: mc, q: s.q, d: &d, dmin: &dmin)
        if d != oldD || dmin != oldMin { roundAll() }
    }

    /// Symmetric sub-block fits into `s.scales`; then the signed sub-scales are quantized to
    /// lo...hi with one super-scale and every weight is rounded to its stored scale.
    static func symmetricSuperBlock(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, hiWeight: Int32, scaleLo: Int32, scaleHi: Int32,
                                    sc: inout [Int32], _ s: inout BlockScratch) -> Float {
        s.q.withUnsafeMutableBufferPointer { q in
            s.candidate.withUnsafeMutableBufferPointer { c in
                for g in 0..<16 {
                    s.scales[g] = fitSymmetric(x + 16 * g, w + 16 * g, n: 16, hi: hiWeight, q.baseAddress! + 16 * g, c.baseAddress!)
                }
            }
        }
        let q = s.q
        var d = superScale(s.scales, importance: subBlockImportance(w, group: 16, groups: 16) { Float(q[$0]) },
                           count: 16, lo: scaleLo, hi: scaleHi, signed: true, into: &sc)
        let scales = sc
        func roundAll() {
            s.q.withUnsafeMutableBufferPointer { q in
                for g in 0..<16 {
                    roundTo(x + 16 * g, n: 16, scale: d * Float(scales[g]), min: 0, lo: -hiWeight - 1, hi: hiWeight, q.baseAddress! + 16 * g)
                }
            }
        }
        roundAll()
        var unusedMin: Float = 0
        let old = d
        refitSuperScales(x, w, group: 16, groups: 16, sc: sc, mc: nil, q: s.q, d: &d, dmin: &unusedMin)
        if d != old { roundAll() }
        return d
    }

    /// q3_K: 16 sub-blocks of 16, weights in −4…3, 6-bit signed scales.
    static func q3_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ s: inout BlockScratch) {
        var sc = [Int32](repeating: 0, count: 16)
        let d = symmetricSuperBlock(x, w, hiWeight: 3, scaleLo: -32, scaleHi: 31, sc: &sc, &s)
        var biased = [Int32](repeating: 0, count: 256)
        for e in 0..<256 { biased[e] = s.q[e] + 4 }
        BlockGrid.pack(.q3_K, biased, into: out)
        var packed = [UInt8](repeating: 0, count: 12)
        for i in 0..<16 {
            let v = UInt8(sc[i] + 32)
            packed[i % 8] |= (v & 15) << UInt8(i < 8 ? 0 : 4)
            packed[8 + i % 4] |= (v >> 4) << UInt8(2 * (i / 4))
        }
        for i in 0..<12 { out.storeBytes(of: packed[i], toByteOffset: 96 + i, as: UInt8.self) }
        Quantize.storeF16(d, out, 108)
    }

    /// q6_K: 16 sub-blocks of 16, weights in −32…31, int8 scales.
    static func q6_K(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ s: inout BlockScratch) {
        var sc = [Int32](repeating: 0, count: 16)
        let d = symmetricSuperBlock(x, w, hiWeight: 31, scaleLo: -128, scaleHi: 127, sc: &sc, &s)
        var biased = [Int32](repeating: 0, count: 256)
        for e in 0..<256 { biased[e] = s.q[e] + 32 }
        BlockGrid.pack(.q6_K, biased, into: out)
        for g in 0..<16 { out.storeBytes(of: Int8(sc[g]), toByteOffset: 192 + g, as: Int8.self) }
        Quantize.storeF16(d, out, 208)
    }

    // MARK: non-linear 4-bit blocks

    /// The `iq4nlValues` entry nearest to `v` (the lower one on a tie), as its nibble.
    @inline(__always)
    static func nearestTableIndex(_ v: Float) -> Int32 {
        // The table rises monotonically; a binary search over its 16 entries.
        var lo = 0, hi = 15
        if !(v > Float(iq4nlValues[0])) { return 0 }
        if v >= Float(iq4nlValues[15]) { return 15 }
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if v < Float(iq4nlValues[mid]) { hi = mid } else { lo = mid }
        }
        return v - Float(iq4nlValues[lo]) <= Float(iq4nlValues[hi]) - v ? Int32(lo) : Int32(hi)
    }

    /// Fits x ≈ d·table[q] over `n` values, with `table` = `iq4nlValues` (−127…113, not
    /// symmetric, so a negative d is the mirrored grid); the nibbles go to `q`. Returns d.
    static func fitTable(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, n: Int,
                         _ q: UnsafeMutablePointer<Int32>, _ candidate: UnsafeMutablePointer<Int32>) -> Float {
        fitScale(x, w, n: n, ends: (Float(iq4nlValues[0]), Float(iq4nlValues[15])), steps: (1, 1), count: 10,
                 zero: nearestTableIndex(0), q, candidate, round: nearestTableIndex, value: { Float(iq4nlValues[Int($0)]) })
    }

    /// Rounds `n` values to the nearest `scale`·table entry; the nibbles go to `q`.
    @inline(__always)
    static func roundToTable(_ x: UnsafePointer<Float>, n: Int, scale d: Float, _ q: UnsafeMutablePointer<Int32>) {
        let inverse: Float = d != 0 ? 1 / d : 0
        for j in 0..<n { q[j] = nearestTableIndex(x[j] * inverse) }
    }

    /// iq4_nl: 32 weights, one f16 scale, nibbles into the non-linear table.
    static func iq4_nl(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ s: inout BlockScratch) {
        s.q.withUnsafeMutableBufferPointer { q in
            s.candidate.withUnsafeMutableBufferPointer { c in
                let d = f16Rounded(fitTable(x, w, n: 32, q.baseAddress!, c.baseAddress!))
                Quantize.storeF16(d, out, 0)
                roundToTable(x, n: 32, scale: d, q.baseAddress!)
                BlockGrid.packNibbles(q.baseAddress!, out + 2)
            }
        }
    }

    /// iq4_xs: 8 sub-blocks of 32 with signed 6-bit scales (−32…31) under one f16 super-scale,
    /// nibbles into the non-linear table.
    static func iq4_xs(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ s: inout BlockScratch) {
        s.q.withUnsafeMutableBufferPointer { q in
            s.candidate.withUnsafeMutableBufferPointer { c in
                for g in 0..<8 {
                    s.scales[g] = fitTable(x + 32 * g, w + 32 * g, n: 32, q.baseAddress! + 32 * g, c.baseAddress!)
                }
            }
        }
        var sc = [Int32](repeating: 0, count: 8)
        let q = s.q
        var d = superScale(s.scales, importance: subBlockImportance(w, group: 32, groups: 8) { Float(iq4nlValues[Int(q[$0])]) },
                           count: 8, lo: -32, hi: 31, signed: true, into: &sc)
        let scales = sc
        func roundAll() {
            s.q.withUnsafeMutableBufferPointer { q in
                for g in 0..<8 { roundToTable(x + 32 * g, n: 32, scale: d * Float(scales[g]), q.baseAddress! + 32 * g) }
            }
        }
        roundAll()
        // The super-scale refit by least squares against the table values the weights took.
        var values = [Int32](repeating: 0, count: 256)
        for e in 0..<256 { values[e] = Int32(iq4nlValues[Int(s.q[e])]) }
        var unusedMin: Float = 0
        let old = d
        refitSuperScales(x, w, group: 32, groups: 8, sc: sc, mc: nil, q: values, d: &d, dmin: &unusedMin)
        if d != old { roundAll() }
        Quantize.storeF16(d, out, 0)
        var high: UInt16 = 0
        for g in 0..<8 { high |= UInt16(UInt8(sc[g] + 32) >> 4) << UInt16(2 * g) }
        out.storeBytes(of: high, toByteOffset: 2, as: UInt16.self)
        for i in 0..<4 {
            let low = UInt8(sc[2 * i] + 32) & 15 | (UInt8(sc[2 * i + 1] + 32) & 15) << 4
            out.storeBytes(of: low, toByteOffset: 4 + i, as: UInt8.self)
        }
        s.q.withUnsafeBufferPointer { q in
            BlockGrid.pack(.iq4_xs, q.baseAddress!, into: out)
        }
    }
}
