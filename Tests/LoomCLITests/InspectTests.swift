import Foundation
import Testing

@Suite struct InspectTests {
    static let fixtures = LoomProcess.root.appendingPathComponent("Tests/Fixtures/mxfp4-checkpoint").path

    /// An MXFP4 checkpoint counts two weights a byte of `_blocks` and none for `_scales`: the
    /// same parameters, active parameters and MXFP4 weights as llama.cpp's conversion of it.
    @Test func mxfp4CheckpointCountsAsItsGGUFConversion() throws {
        func inspect(_ path: String) throws -> [String: Any] {
            let result = try LoomProcess.run(["inspect", path, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        }
        let checkpoint = try inspect(Self.fixtures + "/gptoss"), converted = try inspect(Self.fixtures + "/gptoss-f32.gguf")
        #expect(checkpoint["parameters"] as? Int == converted["parameters"] as? Int)
        #expect(checkpoint["active_parameters"] as? Int == converted["active_parameters"] as? Int)
        let dtypes = try #require(checkpoint["dtypes"] as? [String: Int])
        #expect(dtypes["U8"] == nil)
        #expect(dtypes["MXFP4"] == (converted["dtypes"] as? [String: Int])?["MXFP4"])
        // Every expert's gate, up and down: layers × experts × 3 × width × hidden.
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/gptoss/config.json"))) as! [String: Any]
        let shape = ["num_hidden_layers", "num_local_experts", "intermediate_size", "hidden_size"].map { config[$0] as! Int }
        #expect(dtypes["MXFP4"] == shape.reduce(3, *))
    }
}
