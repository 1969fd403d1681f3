/// Repacking of q8_0 and q4_0 rows into groups of 8 interleaved rows (the "x8" layouts of
/// LoomKernelsAVX512/X86Interleaved.swift), and the way back for single rows. The repacked
/// matrix has exactly the native byte count: a unit of 8 row-blocks holds the 8 f16 scales, then
/// the quants with row i's 4-byte pieces at lane i of each 32-byte chunk.
enum Interleave {
    /// Types with an interleaved layout.
    static func supports(_ type: QuantType) -> Bool { type == .q8_0 || type == .q4_0 }

    static func unitBytes(_ type: QuantType) -> Int { 8 * type.blockBytes }

    /// Repacks `rows` (a multiple of 8) native rows of `blocks` blocks from `source` into `out`.
    static func pack(_ type: QuantType, _ source: UnsafeRawPointer, rows: Int, blocks: Int, into out: UnsafeMutableRawPointer) {
        let rowBytes = blocks * type.blockBytes, unitBytes = unitBytes(type)
        for g in 0..<(rows / 8) {
            for b in 0..<blocks {
                let unit = out + (g * blocks + b) * unitBytes
                for lane in 0..<8 {
                    let block = source + (8 * g + lane) * rowBytes + b * type.blockBytes
                    unit.storeBytes(of: block.loadUnaligned(as: UInt16.self), toByteOffset: 2 * lane, as: UInt16.self)
                    for chunk in 0..<(type == .q8_0 ? 8 : 4) {
                        for t in 0..<4 {
                            let byte = block.load(fromByteOffset: 2 + 4 * chunk + t, as: UInt8.self)
                            unit.storeBytes(of: type == .q8_0 ? byte ^ 0x80 : byte, toByteOffset: 16 + 32 * chunk + 4 * lane + t, as: UInt8.self)
                        }
                    }
                }
            }
        }
    }

    /// Rebuilds native block `b` of row `row` from the interleaved matrix into `block`.
    static func unpackBlock(_ type: QuantType, _ packed: UnsafeRawPointer, row: Int, block b: Int, blocks: Int,
                            into block: UnsafeMutableRawPointer) {
        let unit = packed + ((row / 8) * blocks + b) * unitBytes(type)
        let lane = row % 8
        block.storeBytes(of: unit.loadUnaligned(fromByteOffset: 2 * lane, as: UInt16.self), as: UInt16.self)
        for chunk in 0..<(type == .q8_0 ? 8 : 4) {
            for t in 0..<4 {
                let byte = unit.load(fromByteOffset: 16 + 32 * chunk + 4 * lane + t, as: UInt8.self)
                block.storeBytes(of: type == .q8_0 ? byte ^ 0x80 : byte, toByteOffset: 2 + 4 * chunk + t, as: UInt8.self)
            }
        }
    }
}
