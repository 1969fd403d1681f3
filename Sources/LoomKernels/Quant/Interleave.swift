/// Repacking of q8_0, q4_0, q5_0, mxfp4, iq4_nl, q4_K, q5_K, q6_K and iq4_xs rows into groups of 8 interleaved rows (the "x8"
/// layouts of LoomKernelsAVX2/X86Interleaved.swift and X86KInterleaved.swift), and the way back
/// for single rows. The repacked matrix has exactly the native byte count: a unit of 8
/// row-blocks holds the 8 rows' f16 scales (mxfp4: their E8M0 bytes), then their other fields and quants with row i's
/// 4-byte pieces at lane i of each 32-byte chunk.
enum Interleave {
    /// Types with an interleaved layout.
    static func supports(_ type: QuantType) -> Bool {
        [.q8_0, .q4_0, .q5_0, .mxfp4, .iq4_nl, .q4_K, .q5_K, .q6_K, .iq4_xs].contains(type)
    }

    /// Where the packed nibbles or bytes start in a unit: after the scales, and for q5_0 after
    /// the 8 rows' fifth-bit words.
    static func quantsOffset(_ type: QuantType) -> Int { type == .q5_0 ? 48 : type == .mxfp4 ? 8 : 16 }

    static func unitBytes(_ type: QuantType) -> Int { 8 * type.blockBytes }

    /// Repacks `rows` (a multiple of 8) native rows of `blocks` blocks from `source` into `out`,
    /// handing each 1 MiB or so of `source` to `consumed` once it is copied, so a caller can let
    /// those pages go while the rest is still being read.
    static func pack(_ type: QuantType, _ source: UnsafeRawPointer, rows: Int, blocks: Int, into out: UnsafeMutableRawPointer,
                     consumed: ((UnsafeRawBufferPointer) -> Void)? = nil) {
        let rowBytes = blocks * type.blockBytes, unitBytes = unitBytes(type)
        let groupsPerChunk = max(1, (1 << 20) / (8 * rowBytes))
        var released = 0
        for g in 0..<(rows / 8) {
            for b in 0..<blocks {
                let unit = out + (g * blocks + b) * unitBytes
                for lane in 0..<8 {
                    let block = source + (8 * g + lane) * rowBytes + b * type.blockBytes
                    copyLane(type, block: UnsafeMutableRawPointer(mutating: block), unit: unit, lane: lane, toUnit: true)
                }
            }
            if let consumed, (g + 1) % groupsPerChunk == 0 || g + 1 == rows / 8 {
                let end = (g + 1) * 8 * rowBytes
                consumed(UnsafeRawBufferPointer(start: source + released, count: end - released))
                released = end
            }
        }
    }

    /// Moves one row-block between its native block and lane `lane` of a unit, either way.
    static func copyLane(_ type: QuantType, block: UnsafeMutableRawPointer, unit: UnsafeMutableRawPointer, lane: Int, toUnit: Bool) {
        @inline(__always) func move(_ count: Int, blockOffset: Int, unitOffset: Int, flip: UInt8 = 0) {
            if flip == 0 {
                if toUnit {
                    (unit + unitOffset).copyMemory(from: block + blockOffset, byteCount: count)
                } else {
                    (block + blockOffset).copyMemory(from: unit + unitOffset, byteCount: count)
                }
                return
            }
            for t in 0..<count {
                if toUnit {
                    unit.storeBytes(of: block.load(fromByteOffset: blockOffset + t, as: UInt8.self) ^ flip, toByteOffset: unitOffset + t, as: UInt8.self)
                } else {
                    block.storeBytes(of: unit.load(fromByteOffset: unitOffset + t, as: UInt8.self) ^ flip, toByteOffset: blockOffset + t, as: UInt8.self)
                }
            }
        }
        if type == .q6_K {
            // d, the 16 int8 scales (sub-block-major), then records of qh and ql four-byte pieces.
            move(2, blockOffset: 208, unitOffset: 2 * lane)
            for s in 0..<16 { move(1, blockOffset: 192 + s, unitOffset: 16 + 8 * s + lane) }
            for n in 0..<2 {
                for c in 0..<8 {
                    let record = 144 + 96 * (8 * n + c) + 4 * lane
                    move(4, blockOffset: 128 + 32 * n + 4 * c, unitOffset: record)
                    move(4, blockOffset: 64 * n + 4 * c, unitOffset: record + 32)
                    move(4, blockOffset: 64 * n + 32 + 4 * c, unitOffset: record + 64)
                }
            }
            return
        }
        if type == .q5_K {
            // d, dmin, the three words of packed scales, then records of qh and qs pieces.
            move(2, blockOffset: 0, unitOffset: 2 * lane)
            move(2, blockOffset: 2, unitOffset: 16 + 2 * lane)
            for word in 0..<3 { move(4, blockOffset: 4 + 4 * word, unitOffset: 32 + 32 * word + 4 * lane) }
            for c in 0..<8 {
                let record = 128 + 160 * c + 4 * lane
                move(4, blockOffset: 16 + 4 * c, unitOffset: record)
                for p in 0..<4 { move(4, blockOffset: 48 + 32 * p + 4 * c, unitOffset: record + 32 + 32 * p) }
            }
            return
        }
        if type == .iq4_xs {
            // d, scales_h, scales_l, then the 32 four-byte pieces of qs slice by slice.
            move(2, blockOffset: 0, unitOffset: 2 * lane)
            move(2, blockOffset: 2, unitOffset: 16 + 2 * lane)
            move(4, blockOffset: 4, unitOffset: 32 + 4 * lane)
            for piece in 0..<32 { move(4, blockOffset: 8 + 4 * piece, unitOffset: 64 + 32 * piece + 4 * lane) }
            return
        }
        if type == .q4_K {
            // d, dmin, the three words of packed scales, then the 32 four-byte pieces of qs.
            move(2, blockOffset: 0, unitOffset: 2 * lane)
            move(2, blockOffset: 2, unitOffset: 16 + 2 * lane)
            for word in 0..<3 { move(4, blockOffset: 4 + 4 * word, unitOffset: 32 + 32 * word + 4 * lane) }
            for piece in 0..<32 { move(4, blockOffset: 16 + 4 * piece, unitOffset: 128 + 32 * piece + 4 * lane) }
            return
        }
        if type == .mxfp4 { move(1, blockOffset: 0, unitOffset: lane) } else { move(2, blockOffset: 0, unitOffset: 2 * lane) }
        if type == .q5_0 { move(4, blockOffset: 2, unitOffset: 16 + 4 * lane) }
        let quants = type == .q5_0 ? 6 : type == .mxfp4 ? 1 : 2
        for chunk in 0..<(type == .q8_0 ? 8 : 4) {
            move(4, blockOffset: quants + 4 * chunk, unitOffset: quantsOffset(type) + 32 * chunk + 4 * lane, flip: type == .q8_0 ? 0x80 : 0)
        }
    }

    /// Rebuilds native block `b` of row `row` from the interleaved matrix into `block`.
    static func unpackBlock(_ type: QuantType, _ packed: UnsafeRawPointer, row: Int, block b: Int, blocks: Int,
                            into block: UnsafeMutableRawPointer) {
        let unit = packed + ((row / 8) * blocks + b) * unitBytes(type)
        copyLane(type, block: block, unit: UnsafeMutableRawPointer(mutating: unit), lane: row % 8, toUnit: false)
    }
}
