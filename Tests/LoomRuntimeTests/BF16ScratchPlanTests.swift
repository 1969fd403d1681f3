import Foundation
import Testing
import LoomCore
import LoomFormats
import LoomKernels
import LoomRuntime

/// bf16 matrices on AVX-512 BF16 ask for scratch (activations split into bf16 hi + lo); the
/// planner must count the same bytes with and without the file.
@Suite struct BF16ScratchPlanTests {
    @Test func fileLessBF16FootprintCountsTheScratchTheFileNeeds() throws {
        let directory = SplitExecutionTests.goldens + "/qwen2-bias-tied-bf16"
        let fromFile = try SplitExecutionTests().load(directory).footprint
        let fileLess = ModelFootprint(name: "qwen2", config: fromFile.config, precision: .ggufMix(.bf16))
        for tokens in [1, 7, 512] {
            #expect(fileLess.matmulScratch(tokens) == fromFile.matmulScratch(tokens), "\(tokens) tokens")
        }
        let widest = max(fromFile.config.hiddenSize, fromFile.config.intermediateSize, fromFile.config.queryWidth)
        let split = FloatMatrix.scratchBytes(type: .bf16, cols: widest, batch: 512)
        #expect(fromFile.matmulScratch(512) == split)
        // Batch invariance (the default) keeps the split kernels off.
        #expect((split > 0) == (CPUFeatures.current.avx512bf16 && KernelPath.active == .avx512 && !BatchInvariance.enabled))
    }
}
