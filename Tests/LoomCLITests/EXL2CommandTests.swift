import Foundation
import Testing

/// An EXL2 checkpoint through the command line: `loom logits` on the tiny Llama of
/// tools/exl2/make-fixtures against the float model exllamav2 rebuilds from it. The weights are
/// the same to the bit (EXL2ModelTests); what differs is that q4_0/q5_0/q8_0 kernels round the
/// activations to 8 bits per block, so the logits agree to that rounding, not exactly.
@Suite struct EXL2CommandTests {
    static let exl2 = LoomProcess.root.appendingPathComponent("Tests/Fixtures/exl2/tiny-llama-exl2").path
    static let reference = LoomProcess.root.appendingPathComponent("Tests/Fixtures/exl2/tiny-llama-reference").path

    static func logits(_ model: String, _ tokens: String) throws -> [Float] {
        let result = try LoomProcess.run(["logits", "--model", model, "--tokens", tokens, "-t", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[Double]])
        return try #require(rows.last).map(Float.init)
    }

    @Test func logitsFollowTheRebuiltFloatModel() throws {
        var agree = 0, total = 0, worst: Float = 0
        for tokens in ["1,5,9,33,70,100", "3,3,3,3", "1,127,64,2,90,17,45,8,8,8,120,0"] {
            let a = try Self.logits(Self.exl2, tokens), b = try Self.logits(Self.reference, tokens)
            #expect(a.count == 128 && b.count == 128)
            let scale = b.map(abs).max()!
            let difference = zip(a, b).map { abs($0 - $1) }.max()!
            worst = max(worst, difference / scale)
            // 2 layers of activations rounded to 1/254 of their block maxima: a few percent at most.
            #expect(difference <= 0.05 * scale, "\(tokens): max |Δ| \(difference) against logits up to \(scale)")
            total += 1
            if a.firstIndex(of: a.max()!) == b.firstIndex(of: b.max()!) { agree += 1 }
        }
        #expect(agree == total, "the top token differs in \(total - agree) of \(total) sequences")
        print("EXL2 tiny Llama against its rebuilt float model: worst max |Δlogit| \(worst) of the logits' range")
    }

    /// `loom inspect` counts an EXL2 layer's weights (in_features × out_features), not its packed
    /// words: the tiny Llama's 2 layers of q, k, v, o, gate, up and down and its head.
    @Test func inspectCountsTheWeightsOfEXL2Layers() throws {
        let result = try LoomProcess.run(["inspect", Self.exl2, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let (hidden, ffn, kv, vocab) = (64, 128, 32, 128)
        let linear = 2 * (hidden * hidden * 2 + kv * hidden * 2 + ffn * hidden * 3) + vocab * hidden
        let float = vocab * hidden + hidden + 2 * 2 * hidden  // embeddings, final norm, two norms a layer
        #expect((object["dtypes"] as? [String: Int]) == ["EXL2": linear, "F16": float])
        #expect(object["parameters"] as? Int == linear + float)
    }
}
