import Foundation
import Testing
@testable import LoomKernels

@Suite struct GatedActivationTests {
    /// SwiGLU on every path this CPU runs against g·u/(1 + e^−g) in Double, over the range where
    /// e^−g under- and overflows in f32 and over lengths with and without a vector tail.
    @Test func swiGLUMatchesDoubleOnEveryPath() {
        var generator = SystemRandomNumberGenerator()
        for path in KernelPath.supported {
            for count in [1, 15, 16, 37, 4864] {
                let gate = (0..<count).map { i -> Float in i % 11 == 0 ? Float(i % 3 == 0 ? 95 : -95) : Float.random(in: -12...12, using: &generator) }
                let up = (0..<count).map { _ in Float.random(in: -3...3, using: &generator) }
                var out = gate
                out.withUnsafeMutableBufferPointer { o in up.withUnsafeBufferPointer { u in
                    swiGLU(gate: o.baseAddress!, up: u.baseAddress!, count: count, path: path)
                } }
                for i in 0..<count {
                    let g = Double(gate[i]), expected = g / (1 + Foundation.exp(-g)) * Double(up[i])
                    let error = abs(Double(out[i]) - expected)
                    #expect(error <= 4e-7 * abs(expected) + 1e-30, "\(path) count \(count) index \(i): g \(g) got \(out[i]) want \(expected)")
                }
            }
        }
    }
}
