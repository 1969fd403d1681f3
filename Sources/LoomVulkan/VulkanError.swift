import CVulkan

/// Why the Vulkan backend could not do what was asked, naming the call, device or buffer.
public enum VulkanError: Error, CustomStringConvertible, Sendable {
    /// No Vulkan loader could be opened (the library is not installed).
    case libraryMissing(tried: [String], reason: String)
    /// The loader or driver lacks an entry point the backend calls.
    case missingEntryPoint(String)
    /// A Vulkan call failed.
    case call(String, result: Int32)
    /// `vulkan:N` names a device that is not there.
    case noDevice(index: Int, found: Int)
    /// The device lacks a feature the kernels need.
    case unsupported(device: String, feature: String)
    /// The device has no memory type with the properties asked for.
    case noMemoryType(device: String, wanted: String)
    /// A sub-allocation did not fit what its arena was sized for (the plan and the arena disagree).
    case arenaFull(arena: String, label: String, requested: Int, left: Int)
    /// A kernel was given buffers or sizes that do not fit its arguments.
    case invalidArgument(kernel: String, reason: String)

    public var description: String {
        switch self {
        case let .libraryMissing(tried, reason):
            "no Vulkan loader: tried \(tried.joined(separator: ", ")) (\(reason)); install libvulkan1 and a driver (Debian: mesa-vulkan-drivers), or set LOOM_VULKAN_LIBRARY"
        case let .missingEntryPoint(name): "the Vulkan loader has no \(name)"
        case let .call(name, result): "\(name) failed: \(VulkanError.resultName(result)) (\(result))"
        case let .noDevice(index, found): "vulkan:\(index): this machine has \(found) Vulkan device\(found == 1 ? "" : "s") (loom features lists them)"
        case let .unsupported(device, feature): "\(device): the Vulkan device lacks \(feature), which Loom's kernels need"
        case let .noMemoryType(device, wanted): "\(device): no memory type is \(wanted)"
        case let .arenaFull(arena, label, requested, left):
            "\(arena): \(label) needs \(requested) bytes and \(left) are left of what the plan sized"
        case let .invalidArgument(kernel, reason): "\(kernel): \(reason)"
        }
    }

    static func resultName(_ result: Int32) -> String {
        switch result {
        case VK_NOT_READY.rawValue: "VK_NOT_READY"
        case VK_TIMEOUT.rawValue: "VK_TIMEOUT"
        case VK_INCOMPLETE.rawValue: "VK_INCOMPLETE"
        case VK_ERROR_OUT_OF_HOST_MEMORY.rawValue: "VK_ERROR_OUT_OF_HOST_MEMORY"
        case VK_ERROR_OUT_OF_DEVICE_MEMORY.rawValue: "VK_ERROR_OUT_OF_DEVICE_MEMORY"
        case VK_ERROR_INITIALIZATION_FAILED.rawValue: "VK_ERROR_INITIALIZATION_FAILED"
        case VK_ERROR_DEVICE_LOST.rawValue: "VK_ERROR_DEVICE_LOST"
        case VK_ERROR_MEMORY_MAP_FAILED.rawValue: "VK_ERROR_MEMORY_MAP_FAILED"
        case VK_ERROR_EXTENSION_NOT_PRESENT.rawValue: "VK_ERROR_EXTENSION_NOT_PRESENT"
        case VK_ERROR_FEATURE_NOT_PRESENT.rawValue: "VK_ERROR_FEATURE_NOT_PRESENT"
        case VK_ERROR_INCOMPATIBLE_DRIVER.rawValue: "VK_ERROR_INCOMPATIBLE_DRIVER"
        case VK_ERROR_TOO_MANY_OBJECTS.rawValue: "VK_ERROR_TOO_MANY_OBJECTS"
        default: "VkResult"
        }
    }
}

/// Throws unless `result` is VK_SUCCESS.
@inline(__always)
func check(_ result: VkResult, _ call: StaticString) throws {
    if result != VK_SUCCESS { throw VulkanError.call("\(call)", result: result.rawValue) }
}
