import ArgumentParser
import Foundation
import LoomCore
import LoomVulkan

/// A STREAM-like read benchmark: the memory bandwidth that bounds decode speed. Sums a buffer far
/// larger than the caches on `-t` threads and reports the best of several passes, as STREAM does.
/// With `--device vulkan:N` it times a copy kernel on that GPU instead, and counts the bytes
/// read and written (as GPU bandwidth figures do).
struct BenchMemory: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-memory",
        abstract: "Measure read memory bandwidth (the decode ceiling).")

    @Option(name: .short, parsing: .unconditional, help: "Threads.") var t = ThreadPool.processorCount
    @Option(name: .long, parsing: .unconditional, help: "Buffer size in MiB.") var mib = 1024
    @Option(name: .long, parsing: .unconditional, help: "Passes; the best is reported.") var passes = 5
    @Flag(name: .long, help: "Print JSON.") var json = false
    @Option(name: .long, help: "A Vulkan device (vulkan:N) to measure with a copy kernel instead of the CPU.") var device: String?

    func validate() throws {
        guard ArgumentCheck.isOn else { return }
        try requireAtLeast(1, t, "-t")
        try requireAtLeast(1, mib, "--mib")
        try requireAtLeast(1, passes, "--passes")
    }

    func run() throws {
        if let device {
            guard device.hasPrefix("vulkan:"), let index = Int(device.dropFirst(7)) else {
                throw ValidationError("--device \(device): give vulkan:N (loom features lists them)")
            }
            let best = try DeviceBandwidth.measure(device: try VulkanDevice.shared(index: index), mib: mib, passes: passes)
            if json {
                print("{\"device\":\"\(device)\",\"bytes\":\(mib << 20),\"gb_per_s\":\(best)}")
            } else {
                print(String(format: "%@ copy bandwidth: %.1f GB/s read and written (%d MiB, best of %d)", device, best, mib, passes))
            }
            return
        }
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

/// A GPU's memory bandwidth: a copy kernel over two `mib` MiB regions, ten copies per submission
/// (so a submission's fixed cost is a tenth of a copy's), bytes read plus bytes written.
enum DeviceBandwidth {
    static func measure(device: VulkanDevice, mib: Int, passes: Int) throws -> Double {
        let bytes = mib << 20
        let arena = try VulkanArena(device: device, name: "bench-memory", capacity: 2 * bytes + 2 * VulkanArena.alignment)
        let source = try arena.allocate(bytes: bytes, label: "source"), destination = try arena.allocate(bytes: bytes, label: "destination")
        let copies = 10
        try device.submit { r in try r.copyKernel(source, to: destination, bytes: bytes) }  // warm: pipeline, first touch
        var best = 0.0
        for _ in 0..<passes {
            let start = DispatchTime.now().uptimeNanoseconds
            try device.submit { r in
                for _ in 0..<copies {
                    try r.copyKernel(source, to: destination, bytes: bytes)
                    r.barrier()
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            best = max(best, Double(2 * bytes * copies) / seconds / 1e9)
        }
        return best
    }
}
