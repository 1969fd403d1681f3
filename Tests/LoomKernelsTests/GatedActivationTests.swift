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

    /// GeGLU with the tanh GELU (`gelu_pytorch_tanh`) on every path against
    /// ½g(1 + tanh(√(2/π)(g + 0.044715g³)))·u in Double, through both tails and with a vector tail.
    @Test func geluTanhGLUMatchesDoubleOnEveryPath() {
        var generator = SystemRandomNumberGenerator()
        for path in KernelPath.supported {
            for count in [1, 15, 16, 37, 2048] {
                let gate = (0..<count).map { i -> Float in i % 11 == 0 ? Float(i % 3 == 0 ? 40 : -40) : Float.random(in: -9...9, using: &generator) }
                let up = (0..<count).map { _ in Float.random(in: -3...3, using: &generator) }
                var out = gate
                out.withUnsafeMutableBufferPointer { o in up.withUnsafeBufferPointer { u in
                    geluTanhGLU(gate: o.baseAddress!, up: u.baseAddress!, count: count, path: path)
                } }
                for i in 0..<count {
                    let g = Double(gate[i]), y = (2 / Double.pi).squareRoot() * (g + 0.044715 * g * g * g)
                    // ½(1 + tanh y) = 1/(1 + e^{−2y}): the form that keeps its digits in the negative tail,
                    // where 1 + tanh(y) cancels to 0 even in Double.
                    let expected = g / (1 + Foundation.exp(-2 * y)) * Double(up[i])
                    #expect(abs(0.5 * (1 + Foundation.tanh(y)) - 1 / (1 + Foundation.exp(-2 * y))) < 1e-15)
                    // f32 rounding of y (a few ulp: the cube and two sums) is carried into e^{−2y} times |2y|; far in the negative tail the
                    // kernel's e^x stops at e^88, leaving |g·u|/e^88 < 1e-35 where the value is 0.
                    let error = abs(Double(out[i]) - expected)
                    #expect(error <= (4e-7 + 3e-7 * abs(2 * y)) * abs(expected) + 1e-35,
                            "\(path) count \(count) index \(i): g \(g) got \(out[i]) want \(expected)")
                }
            }
        }
    }

    /// Soft-capping on every path against cap · tanh(v / cap) in Double, through saturation on both
    /// sides, with and without a vector tail.
    @Test func softcapMatchesDoubleOnEveryPath() {
        var generator = SystemRandomNumberGenerator()
        for path in KernelPath.supported {
            for count in [1, 15, 16, 37, 4096] {
                let input = (0..<count).map { i -> Float in i % 9 == 0 ? Float(i % 2 == 0 ? 400 : -400) : Float.random(in: -120...120, using: &generator) }
                var out = input
                out.withUnsafeMutableBufferPointer { softcap($0.baseAddress!, count: count, cap: 50, path: path) }
                for i in 0..<count {
                    let expected = 50 * Foundation.tanh(Double(input[i]) / 50)
                    // tanh as 2σ(2y) − 1: the sigmoid's few ulp of 2, times the cap.
                    #expect(abs(Double(out[i]) - expected) <= 50 * 5e-7, "\(path) count \(count) index \(i): \(input[i]) got \(out[i]) want \(expected)")
                }
            }
        }
    }

    /// GELU on every path against ½x(1 + erf(x/√2)) in Double (Foundation's erf), from deep in the
    /// negative tail, where it underflows, to large positive values, with and without a vector tail.
    @Test func geluMatchesDoubleOnEveryPath() {
        var generator = SystemRandomNumberGenerator()
        for path in KernelPath.supported {
            for count in [1, 15, 16, 37, 1536] {
                let input = (0..<count).map { i -> Float in i % 13 == 0 ? Float(i % 2 == 0 ? 30 : -30) : Float.random(in: -9...9, using: &generator) }
                var out = input
                out.withUnsafeMutableBufferPointer { gelu($0.baseAddress!, count: count, path: path) }
                for i in 0..<count {
                    let x = Double(input[i]), expected = 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
                    // erf's absolute error: 1.5e-7 from A&S 7.1.26 plus about 1e-7 from evaluating it
                    // in f32, times ½|x| in GELU; then f32 rounding of the result.
                    let error = abs(Double(out[i]) - expected)
                    #expect(error <= 2e-7 * abs(x) + 3e-7 * abs(expected) + 1e-30, "\(path) count \(count) index \(i): x \(x) got \(out[i]) want \(expected)")
                }
            }
        }
    }
}
