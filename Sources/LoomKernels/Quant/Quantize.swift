import LoomCore

/// Quantization from f32, byte-identical to gguf-py's `gguf.quants.quantize` (itself identical to
/// ggml's reference quantizers): the same float32 operations in the same order, the scale rounded
/// to f16 only when stored.
public enum Quantize {
    /// The types this quantizer produces.
    public static let supported: [QuantType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1]

    /// Quantizes `count` values (a multiple of the block size) from `source` into `out`, which must
    /// hold `type.rowBytes(count)` bytes. Returns false for types not in `supported`.
    @discardableResult
    public static func run(_ type: QuantType, _ source: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) -> Bool {
        let block: (UnsafePointer<Float>, UnsafeMutableRawPointer) -> Void
        switch type {
        case .f32:
            out.copyMemory(from: source, byteCount: 4 * count)
            return true
        case .f16:
            for i in 0..<count { out.storeBytes(of: floatToF16(source[i]), toByteOffset: 2 * i, as: UInt16.self) }
            return true
        case .bf16:
            for i in 0..<count { out.storeBytes(of: floatToBF16(source[i]), toByteOffset: 2 * i, as: UInt16.self) }
            return true
        case .q8_0: block = q8_0
        case .q4_0: block = q4_0
        case .q4_1: block = q4_1
        case .q5_0: block = q5_0
        case .q5_1: block = q5_1
        default: return false
        }
        for b in 0..<(count / type.blockSize) {
            block(source + 32 * b, out + b * type.blockBytes)
        }
        return true
    }

    @inline(__always)
    static func storeF16(_ value: Float, _ out: UnsafeMutableRawPointer, _ offset: Int) {
        out.storeBytes(of: Float16(value).bitPattern, toByteOffset: offset, as: UInt16.self)
    }

    /// The element of largest magnitude, signed; the first one on ties (numpy's argmax).
    @inline(__always)
    static func signedAbsMax(_ x: UnsafePointer<Float>) -> Float {
        var best: Float = 0, bestAbs: Float = -1
        for j in 0..<32 where abs(x[j]) > bestAbs {
            bestAbs = abs(x[j])
            best = x[j]
        }
        return best
    }

    /// A float already rounded to an integer, as an `Int`; non-finite values (which gguf-py turns
    /// into unspecified bytes) become 0 rather than trapping.
    @inline(__always)
    static func integer(_ value: Float) -> Int {
        value.isFinite ? Int(max(-1e9, min(1e9, value))) : 0
    }

    @inline(__always)
    static func reciprocal(_ d: Float) -> Float { d == 0 ? 0 : 1 / d }

    /// Symmetric 8-bit: d = max|x| / 127, q = round-half-away(x / d).
    static func q8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id = reciprocal(d)
        storeF16(d, out, 0)
        for j in 0..<32 {
            out.storeBytes(of: Int8(clamping: integer((x[j] * id).rounded(.toNearestOrAwayFromZero))), toByteOffset: 2 + j, as: Int8.self)
        }
    }

    /// Symmetric 4-bit with the signed extreme mapped to -8: q = trunc(x / d + 8.5) in 0...15.
    static func q4_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let d = signedAbsMax(x) / -8
        let id = reciprocal(d)
        storeF16(d, out, 0)
        for j in 0..<16 {
            let q0 = min(15, UInt8(clamping: integer((x[j] * id + 8.5).rounded(.towardZero))))
            let q1 = min(15, UInt8(clamping: integer((x[j + 16] * id + 8.5).rounded(.towardZero))))
            out.storeBytes(of: q0 | q1 << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// The affine scale shared by q4_1 and q5_1: d = (max - min) / levels, stored with the min;
    /// returns the min and 1/d.
    @inline(__always)
    static func affineScale(_ x: UnsafePointer<Float>, levels: Float, _ out: UnsafeMutableRawPointer) -> (min: Float, inverse: Float) {
        var lo = x[0], hi = x[0]
        for j in 1..<32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
        let d = (hi - lo) / levels
        storeF16(d, out, 0)
        storeF16(lo, out, 2)
        return (lo, reciprocal(d))
    }

    /// Affine 4-bit: d = (max - min) / 15, q = trunc((x - min) / d + 0.5) in 0...15.
    static func q4_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let (lo, id) = affineScale(x, levels: 15, out)
        for j in 0..<16 {
            let q0 = min(15, UInt8(clamping: integer(((x[j] - lo) * id + 0.5).rounded(.towardZero))))
            let q1 = min(15, UInt8(clamping: integer(((x[j + 16] - lo) * id + 0.5).rounded(.towardZero))))
            out.storeBytes(of: q0 | q1 << 4, toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    /// Packs 32 five-bit values: low nibbles into qs, bit 4 of value j into bit j of qh.
    @inline(__always)
    static func pack5(_ q: (Int) -> UInt8, _ out: UnsafeMutableRawPointer, qhOffset: Int) {
        var qh: UInt32 = 0
        for j in 0..<16 {
            let q0 = q(j), q1 = q(j + 16)
            qh |= UInt32(q0 >> 4) << UInt32(j) | UInt32(q1 >> 4) << UInt32(j + 16)
            out.storeBytes(of: (q0 & 15) | (q1 & 15) << 4, toByteOffset: qhOffset + 4 + j, as: UInt8.self)
        }
        out.storeBytes(of: qh.littleEndian, toByteOffset: qhOffset, as: UInt32.self)
    }

    /// Symmetric 5-bit with the signed extreme mapped to -16: q = trunc(x / d + 16.5) in 0...31.
    static func q5_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let d = signedAbsMax(x) / -16
        let id = reciprocal(d)
        storeF16(d, out, 0)
        pack5({ j in min(31, UInt8(clamping: integer((x[j] * id + 16.5).rounded(.towardZero)))) }, out, qhOffset: 2)
    }

    /// Affine 5-bit: d = (max - min) / 31, q = trunc((x - min) / d + 0.5) in 0...31.
    static func q5_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        let (lo, id) = affineScale(x, levels: 31, out)
        pack5({ j in min(31, UInt8(clamping: integer(((x[j] - lo) * id + 0.5).rounded(.towardZero)))) }, out, qhOffset: 4)
    }
}
