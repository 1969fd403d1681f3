import Foundation
import Testing
import LoomFormats
import LoomRuntime

/// What `loom plan` says when not even one token fits, and the parameter count `loom inspect`
/// gives for a catalog name.
@Suite struct PlanDiagnosisTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func footprint(_ name: String, bits: Double = 4) throws -> ModelFootprint {
        ModelFootprint(name: name, config: try #require(ModelCatalog.entries[name]), precision: .bitsPerWeight(bits))
    }

    func gpus(_ budgets: [Int]) -> [DeviceSpec] {
        budgets.enumerated().map { DeviceSpec(name: "gpu\($0.offset)", budgetBytes: $0.element, kind: .gpu) }
    }

    @Test func aBudgetBelowTheReserveNamesTheReserve() throws {
        let plan = Planner.plan(try footprint("qwen2.5-0.5b"), PlanRequest(devices: gpus([50_000_000]), maxSequenceLength: 512))
        #expect(!plan.fits)
        #expect(plan.suggestions.contains("the 64 MiB reserve (--reserve) does not fit in the budget of gpu0 (0.05 GB)"), "\(plan.suggestions)")
    }

    @Test func aPlanThatFitsOnlyWithoutTheReserveNamesIt() throws {
        let model = try footprint("qwen2.5-0.5b")
        // The budget that one token needs with no reserve, plus half the reserve.
        let bare = Planner.plan(model, PlanRequest(devices: gpus([100_000_000_000]), maxSequenceLength: 1, reserveBytes: 0))
        let budget = bare.devices[0].totalBytes + (32 << 20)
        let plan = Planner.plan(model, PlanRequest(devices: gpus([budget]), maxSequenceLength: 512))
        #expect(!plan.fits)
        #expect(plan.suggestions.contains { $0.hasPrefix("no context length fits with the 64 MiB reserve (--reserve)") }, "\(plan.suggestions)")
        #expect(!plan.suggestions.contains { $0.contains("weights") }, "\(plan.suggestions)")
        #expect(Planner.plan(model, PlanRequest(devices: gpus([budget]), maxSequenceLength: 1, reserveBytes: 0)).fits)
    }

    @Test func weightsTooLargeForTheBudgetsNameTheWeightsOnly() throws {
        let plan = Planner.plan(try footprint("smaug-72b", bits: 3), PlanRequest(devices: gpus([1_000_000_000, 1_000_000_000]), maxSequenceLength: 512))
        #expect(!plan.fits)
        #expect(plan.suggestions.contains("no context length fits with a fp16 cache: the weights alone are too large"), "\(plan.suggestions)")
        #expect(!plan.suggestions.contains { $0.contains("reserve") }, "\(plan.suggestions)")
    }

    /// The count for a shape (what `inspect` prints for a catalog name) against the tensors of a
    /// real model directory: the demo model's safetensors.
    @Test func parameterCountOfAShapeMatchesTheDemoModelsTensors() throws {
        let directory = Self.root.appendingPathComponent("Models/loom-demo/hf").path
        let archive = try SafeTensorsArchive(directory: directory)
        let elements = try archive.tensorNames.reduce(0) { $0 + (try archive.tensor($1).elementCount) }
        #expect(ModelCatalog.parameterCount(try ModelConfig.load(directory: directory)) == elements)
    }
}
