// x86 kernels for f32 / f16 / bf16 weights against f32 activations, 8 lanes (AVX2 + FMA + F16C).
// Compiled twice like X86QuantKernels.swift; the AVX-512 module's copy gets the wider ISA's
// instruction selection for free, and X86Float512Kernels.swift adds 16-lane versions there.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The 8 weights at `p` widened to f32.
@inline(__always) func widen8F16(_ p: UnsafeRawPointer) -> __m256 { _mm256_cvtph_ps(load128(p)) }

@inline(__always) func widen8BF16(_ p: UnsafeRawPointer) -> __m256 {
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16))
}

@inline(__always) func widen8F32(_ p: UnsafeRawPointer) -> __m256 { p.loadUnaligned(as: __m256.self) }

/// Widens `count` f16 values at `source` to f32 with F16C (KV cache tiles for attention).
public func widenF16(_ source: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(out + i).storeBytes(of: widen8F16(source + 2 * i), as: __m256.self)
        i += 8
    }
    while i < count { out[i] = loadHalf(source + 2 * i); i += 1 }
}

/// Rows start..<end of a [rows, cols] matrix with `elementBytes`-byte weights, one row at a time
/// with four accumulators across its columns. Weights are read in one sequential stream, which
/// the hardware prefetcher follows at full memory speed; interleaving four rows' streams left
/// decode waiting on loads (about 8 GB/s for bf16 on two threads). `scalar` handles tail columns.
@inline(__always)
func floatRows8(_ w: UnsafeRawPointer, _ elementBytes: Int, _ cols: Int, _ start: Int, _ end: Int,
                _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                _ widen: (UnsafeRawPointer) -> __m256, _ scalar: (UnsafeRawPointer) -> Float) {
    let rowBytes = cols * elementBytes
    let wideCols = cols & ~31
    let vectorCols = cols & ~7
    for r in start..<end {
        let row = w + r * rowBytes
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        var c = 0
        while c < wideCols {
            let xp = UnsafeRawPointer(x + c)
            let wp = row + c * elementBytes
            acc0 = _mm256_fmadd_ps(widen(wp), xp.loadUnaligned(as: __m256.self), acc0)
            acc1 = _mm256_fmadd_ps(widen(wp + 8 * elementBytes), xp.loadUnaligned(fromByteOffset: 32, as: __m256.self), acc1)
            acc2 = _mm256_fmadd_ps(widen(wp + 16 * elementBytes), xp.loadUnaligned(fromByteOffset: 64, as: __m256.self), acc2)
            acc3 = _mm256_fmadd_ps(widen(wp + 24 * elementBytes), xp.loadUnaligned(fromByteOffset: 96, as: __m256.self), acc3)
            c += 32
        }
        while c < vectorCols {
            acc0 = _mm256_fmadd_ps(widen(row + c * elementBytes), UnsafeRawPointer(x + c).loadUnaligned(as: __m256.self), acc0)
            c += 8
        }
        var sum = horizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)))
        while c < cols {
            sum += scalar(row + c * elementBytes) * x[c]
            c += 1
        }
        y[r] = sum
    }
}

public func f16Rows(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatRows8(w, 2, cols, start, end, x, y, widen8F16, loadHalf)
}

public func bf16Rows(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatRows8(w, 2, cols, start, end, x, y, widen8BF16) { Float(bitPattern: UInt32($0.loadUnaligned(as: UInt16.self)) << 16) }
}

public func f32Rows(_ w: UnsafeRawPointer, _ cols: Int, _ start: Int, _ end: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    floatRows8(w, 4, cols, start, end, x, y, widen8F32) { $0.loadUnaligned(as: Float.self) }
}
#endif
