import Foundation
import Testing

/// `loom features` lists the Vulkan devices, and a machine without Vulkan runs everything else.
@Suite struct VulkanFeaturesTests {
    static let required = ProcessInfo.processInfo.environment["LOOM_REQUIRE_VULKAN"] == "1"

    @Test func featuresListsTheVulkanDevices() throws {
        let result = try LoomProcess.run(["features"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        if Self.required {
            let device = try #require(lines.first { $0.hasPrefix("vulkan:0 ") }, "\(result.stdout)")
            #expect(device.contains("device-local ") && device.contains("subgroup ") && device.contains("16-bit storage"), "\(device)")
        } else {
            #expect(lines.contains { $0.hasPrefix("vulkan:") }, "\(result.stdout)")
        }
    }

    /// With no loader, features says why and how to get one, and exits 0; the CPU still runs.
    @Test func aMissingLoaderIsNamedAndHarmless() throws {
        let missing = "/nonexistent/libvulkan.so.1"
        let features = try LoomProcess.launch(try LoomProcess.requireBinary(), ["features"], environment: ["LOOM_VULKAN_LIBRARY": missing])
        #expect(features.status == 0, "\(features.stderr)")
        #expect(features.stdout.contains("vulkan: none (no Vulkan loader: tried \(missing) ("), "\(features.stdout)")
        #expect(features.stdout.contains("mesa-vulkan-drivers"), "\(features.stdout)")
        let generate = try LoomProcess.launch(try LoomProcess.requireBinary(),
                                              ["generate", "--prompt", "Hello", "--max-tokens", "4", "--seed", "1"],
                                              environment: ["LOOM_VULKAN_LIBRARY": missing])
        #expect(generate.status == 0, "\(generate.stderr)")
    }
}
