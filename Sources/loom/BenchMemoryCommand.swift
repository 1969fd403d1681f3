import ArgumentParser
import Foundation
import LoomCore

/// A STREAM-like read benchmark: the memory bandwidth that bounds decode speed. Sums a buffer far
/// larger than the caches on `-t` threads and reports the best of several passes, as STREAM does.
struct BenchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-memory",
        abstract: "Measure read memory bandwidth (the decode ceiling).")

    @Option(name: .short, parsing: .unconditional, help: "Threads.") var t = ThreadPool.processorCount
    @Option(name: .long, parsing: .unconditional, help: "Buffer size in MiB.") var mib = 1024
    @Option(name: .long, parsing: .unconditional, help: "Passes; the best is reported.") var passes = 5
    @Flag(name: .long, help: "Print JSON.") var json = false

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try requireAtLeast(1, t, "-t")
        try requireAtLeast(1, mib, "--mib")
        try requireAtLeast(1, passes, "--passes")
    }

    func run() {
        let best = ReadBandwidth.measure(threads: t, mib: mib, passes: passes)
        if json {
            print("{\"threads\":\(t),\"bytes\":\(mib << 20),\"gb_per_s\":\(best)}")
        } else {
            print(String(format: "read bandwidth: %.1f GB/s (%d thread%@, %d MiB, best of %d)", best, t, t == 1 ? "" : "s", mib, passes))
        }
    }
}

/// The STREAM-like read measurement `bench-memory` reports and `bench` divides by.
enum ReadBandwidth {
    /// GB/s: the best of `passes` sums of a `mib` MiB buffer on `threads` threads.
    static func measure(threads: Int, mib: Int, passes: Int) -> Double {
        let count = mib * (1 << 20) / MemoryLayout<SIMD16<Float>>.stride
        let buffer = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: count)  // [count] 64-byte lines
        defer { buffer.deallocate() }
        buffer.initialize(repeating: SIMD16(repeating: 1), count: count)  // fault every page in first
        let pool = ThreadPool(threads: threads)
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: count / 4096 + 1)
        defer { partial.deallocate() }
        var best = 0.0
        for _ in 0..<passes {
            let start = DispatchTime.now().uptimeNanoseconds
            pool.parallelFor(count, grain: 4096) { range in
                // Four independent sums so the adds never wait on each other.
                var a = SIMD16<Float>(), b = a, c = a, d = a
                var i = range.lowerBound
                while i + 4 <= range.upperBound {
                    a += buffer[i]; b += buffer[i + 1]; c += buffer[i + 2]; d += buffer[i + 3]
                    i += 4
                }
                while i < range.upperBound { a += buffer[i]; i += 1 }
                partial[range.lowerBound / 4096] = (a + b + c + d).sum()
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            best = max(best, Double(count * 64) / seconds / 1e9)
        }
        return best
    }
}
