#if arch(x86_64)
import LoomKernelsAVX2
import LoomKernelsAVX512
#endif

/// Scaled dot-product attention of one query head over `length` cached positions of one KV head.
///
/// - Parameters:
///   - query: [headDim], f32
///   - keys: [length, headDim] of `Element` (the cache's storage type)
///   - values: [length, headDim] of `Element`
///   - scores: [length] scratch
///   - out: [headDim]
@inlinable
public func attendOneHead<Element: DenseElement>(
    query: UnsafePointer<Float>, keys: UnsafeRawPointer, values: UnsafeRawPointer, element: Element.Type,
    length: Int, headDim: Int, scale: Float, scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
) {
    let rowBytes = headDim * Element.byteWidth
    let q = UnsafeRawPointer(query)
    var maximum = -Float.infinity
    for t in 0..<length {
        let k = keys + t * rowBytes
        var acc = SIMD16<Float>()
        var c = 0
        while c + 16 <= headDim {
            acc += Element.load16(k, c) * q.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
            c += 16
        }
        var dot = horizontalSum(acc)
        while c < headDim { dot += Element.load1(k, c) * query[c]; c += 1 }
        let score = dot * scale
        scores[t] = score
        maximum = max(maximum, score)
    }
    var sum: Float = 0
    for t in 0..<length {
        let e = expf(scores[t] - maximum)
        scores[t] = e
        sum += e
    }
    let inverse = 1 / sum
    for c in 0..<headDim { out[c] = 0 }
    let o = UnsafeMutableRawPointer(out)
    for t in 0..<length {
        let v = values + t * rowBytes
        let weight = scores[t] * inverse
        let w16 = SIMD16<Float>(repeating: weight)
        var c = 0
        while c + 16 <= headDim {
            let current = o.loadUnaligned(fromByteOffset: c * 4, as: SIMD16<Float>.self)
            o.storeBytes(of: current + w16 * Element.load16(v, c), toByteOffset: c * 4, as: SIMD16<Float>.self)
            c += 16
        }
        while c < headDim { out[c] += weight * Element.load1(v, c); c += 1 }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Full (bidirectional) attention of one head over `length` positions, each query attending to
/// every key, on `path` (see `EncoderAttention.attend`). `scratch` holds at least
/// `encoderAttentionScratch(length:headDim:)` floats.
public func attendAllPositions(query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
                               out: UnsafeMutablePointer<Float>, stride: Int, length: Int, headDim: Int, scale: Float,
                               scratch: UnsafeMutablePointer<Float>, path: KernelPath = .active) {
    #if arch(x86_64)
    switch path {
    case .avx512:
        return LoomKernelsAVX512.EncoderAttention.attend(query: query, key: key, value: value, out: out, stride: stride,
                                                         length: length, headDim: headDim, scale: scale, scratch: scratch)
    case .avx2:
        return LoomKernelsAVX2.EncoderAttention.attend(query: query, key: key, value: value, out: out, stride: stride,
                                                       length: length, headDim: headDim, scale: scale, scratch: scratch)
    case .portable: break
    }
    #endif
    EncoderAttention.attend(query: query, key: key, value: value, out: out, stride: stride,
                            length: length, headDim: headDim, scale: scale, scratch: scratch)
}

/// Floats of scratch `attendAllPositions` needs.
public func encoderAttentionScratch(length: Int, headDim: Int) -> Int {
    EncoderAttention.scratchFloats(length: length, headDim: headDim)
}
