import CVulkan
import Foundation

/// What one Vulkan device offers, read before anything is created on it: `loom features`
/// prints it, the planner sizes from it, and `VulkanDevice` checks it.
public struct VulkanDeviceInfo: Sendable, Equatable {
    /// A memory heap, with the driver's budget for this process where `VK_EXT_memory_budget` is present.
    public struct Heap: Sendable, Equatable {
        public let bytes: Int
        public let deviceLocal: Bool
        public let budgetBytes: Int?
    }

    /// The index `vulkan:N` names.
    public let index: Int
    public let name: String
    /// discrete, integrated, virtual, cpu or other.
    public let type: String
    public let apiVersion: String
    public let driver: String
    public let heaps: [Heap]
    public let subgroupSize: Int
    public let storage16Bit: Bool
    public let storage8Bit: Bool
    public let shaderFloat16: Bool
    public let shaderInt8: Bool
    public let integerDotProduct: Bool
    public let bufferDeviceAddress: Bool
    public let cooperativeMatrix: Bool
    public let memoryBudget: Bool
    public let maxStorageBufferRange: Int
    public let maxMemoryAllocationBytes: Int
    public let maxPushConstantsBytes: Int
    public let maxComputeSharedMemoryBytes: Int

    /// Bytes of device-local memory: the budget where the driver gives one, else the heaps' size.
    public var deviceLocalBytes: Int {
        heaps.filter(\.deviceLocal).reduce(0) { $0 + ($1.budgetBytes ?? $1.bytes) }
    }

    /// What the kernels need and this device lacks; empty when it can run them.
    public var missingFeatures: [String] {
        var missing: [String] = []
        if !bufferDeviceAddress { missing.append("bufferDeviceAddress") }
        if !storage16Bit { missing.append("storageBuffer16BitAccess") }
        if maxPushConstantsBytes < 128 { missing.append("128 bytes of push constants") }
        return missing
    }

    /// One line per device, as `loom features` prints it.
    public var summary: String {
        let gib = 1073741824.0
        let heapText = heaps.map { heap in
            let size = String(format: "%.1f GiB", Double(heap.bytes) / gib)
            let budget = heap.budgetBytes.map { String(format: ", budget %.1f GiB", Double($0) / gib) } ?? ""
            return (heap.deviceLocal ? "device-local " : "host ") + size + budget
        }.joined(separator: "; ")
        var features: [String] = []
        if storage16Bit { features.append("16-bit storage") }
        if storage8Bit { features.append("8-bit storage") }
        if shaderFloat16 { features.append("float16") }
        if shaderInt8 { features.append("int8") }
        if integerDotProduct { features.append("integer dot product") }
        if cooperativeMatrix { features.append("cooperative matrix") }
        if memoryBudget { features.append("memory budget") }
        let usable = missingFeatures.isEmpty ? "" : "; unusable, lacks " + missingFeatures.joined(separator: ", ")
        return "vulkan:\(index) \(name) (\(type), Vulkan \(apiVersion), \(driver)): \(heapText); subgroup \(subgroupSize); "
            + features.joined(separator: ", ") + usable
    }
}

extension VulkanInstance {
    /// The devices the loader reports, in its order.
    public func devices() throws -> [VulkanDeviceInfo] {
        try physicalDevices().enumerated().map { index, device in info(index: index, device) }
    }

    func physicalDevices() throws -> [VkPhysicalDevice] {
        var count: UInt32 = 0
        try check(functions.enumeratePhysicalDevices(instance, &count, nil), "vkEnumeratePhysicalDevices")
        var devices = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        try check(functions.enumeratePhysicalDevices(instance, &count, &devices), "vkEnumeratePhysicalDevices")
        return devices.prefix(Int(count)).compactMap { $0 }
    }

    func extensionNames(_ device: VkPhysicalDevice) -> Set<String> {
        var count: UInt32 = 0
        guard functions.enumerateDeviceExtensions(device, nil, &count, nil) == VK_SUCCESS else { return [] }
        var properties = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        guard functions.enumerateDeviceExtensions(device, nil, &count, &properties) == VK_SUCCESS else { return [] }
        return Set(properties.prefix(Int(count)).map { p in withUnsafeBytes(of: p.extensionName) { string($0) } })
    }

    func info(index: Int, _ device: VkPhysicalDevice) -> VulkanDeviceInfo {
        let extensions = extensionNames(device)
        let hasBudget = extensions.contains("VK_EXT_memory_budget")

        var subgroup = VkPhysicalDeviceSubgroupProperties()
        subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
        var maintenance3 = VkPhysicalDeviceMaintenance3Properties()
        maintenance3.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES
        var driver = VkPhysicalDeviceDriverProperties()
        driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES
        var properties = VkPhysicalDeviceProperties2()
        properties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
        withUnsafeMutablePointer(to: &subgroup) { subgroupPointer in
            withUnsafeMutablePointer(to: &maintenance3) { maintenancePointer in
                withUnsafeMutablePointer(to: &driver) { driverPointer in
                    maintenancePointer.pointee.pNext = UnsafeMutableRawPointer(subgroupPointer)
                    driverPointer.pointee.pNext = UnsafeMutableRawPointer(maintenancePointer)
                    properties.pNext = UnsafeMutableRawPointer(driverPointer)
                    functions.getProperties2(device, &properties)
                    maintenancePointer.pointee.pNext = nil
                    driverPointer.pointee.pNext = nil
                }
            }
        }
        properties.pNext = nil

        var features11 = VkPhysicalDeviceVulkan11Features()
        features11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES
        var features12 = VkPhysicalDeviceVulkan12Features()
        features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES
        var features13 = VkPhysicalDeviceVulkan13Features()
        features13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES
        let deviceVersion = properties.properties.apiVersion
        let has13 = deviceVersion >= VulkanInstance.version(1, 3) && apiVersion >= VulkanInstance.version(1, 3)
        var features = VkPhysicalDeviceFeatures2()
        features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        withUnsafeMutablePointer(to: &features11) { p11 in
            withUnsafeMutablePointer(to: &features12) { p12 in
                withUnsafeMutablePointer(to: &features13) { p13 in
                    p11.pointee.pNext = UnsafeMutableRawPointer(p12)
                    if has13 { p12.pointee.pNext = UnsafeMutableRawPointer(p13) }
                    features.pNext = UnsafeMutableRawPointer(p11)
                    functions.getFeatures2(device, &features)
                    p11.pointee.pNext = nil
                    p12.pointee.pNext = nil
                }
            }
        }

        var budget = VkPhysicalDeviceMemoryBudgetPropertiesEXT()
        budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT
        var memory = VkPhysicalDeviceMemoryProperties2()
        memory.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2
        withUnsafeMutablePointer(to: &budget) { budgetPointer in
            if hasBudget { memory.pNext = UnsafeMutableRawPointer(budgetPointer) }
            functions.getMemoryProperties2(device, &memory)
            memory.pNext = nil
        }
        let heapCount = Int(memory.memoryProperties.memoryHeapCount)
        let heaps: [VulkanDeviceInfo.Heap] = withUnsafeBytes(of: memory.memoryProperties.memoryHeaps) { raw in
            let all = raw.bindMemory(to: VkMemoryHeap.self)
            return withUnsafeBytes(of: budget.heapBudget) { budgetRaw in
                let budgets = budgetRaw.bindMemory(to: VkDeviceSize.self)
                return (0..<heapCount).map { i in
                    VulkanDeviceInfo.Heap(bytes: Int(all[i].size),
                                          deviceLocal: all[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue != 0,
                                          budgetBytes: hasBudget && budgets[i] > 0 ? Int(budgets[i]) : nil)
                }
            }
        }

        let limits = properties.properties.limits
        let typeName = switch properties.properties.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: "discrete"
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: "integrated"
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: "virtual"
        case VK_PHYSICAL_DEVICE_TYPE_CPU: "cpu"
        default: "other"
        }
        let driverName = withUnsafeBytes(of: driver.driverName) { string($0) }
        let driverInfo = withUnsafeBytes(of: driver.driverInfo) { string($0) }
        return VulkanDeviceInfo(
            index: index,
            name: withUnsafeBytes(of: properties.properties.deviceName) { string($0) },
            type: typeName,
            apiVersion: VulkanInstance.versionString(deviceVersion),
            driver: driverInfo.isEmpty ? driverName : "\(driverName) \(driverInfo)",
            heaps: heaps,
            subgroupSize: Int(subgroup.subgroupSize),
            storage16Bit: features11.storageBuffer16BitAccess != 0,
            storage8Bit: features12.storageBuffer8BitAccess != 0,
            shaderFloat16: features12.shaderFloat16 != 0,
            shaderInt8: features12.shaderInt8 != 0,
            integerDotProduct: (has13 && features13.shaderIntegerDotProduct != 0) || extensions.contains("VK_KHR_shader_integer_dot_product"),
            bufferDeviceAddress: features12.bufferDeviceAddress != 0,
            cooperativeMatrix: extensions.contains("VK_KHR_cooperative_matrix") || extensions.contains("VK_NV_cooperative_matrix"),
            memoryBudget: hasBudget,
            maxStorageBufferRange: Int(limits.maxStorageBufferRange),
            maxMemoryAllocationBytes: Int(maintenance3.maxMemoryAllocationSize),
            maxPushConstantsBytes: Int(limits.maxPushConstantsSize),
            maxComputeSharedMemoryBytes: Int(limits.maxComputeSharedMemorySize))
    }
}

/// A NUL-terminated C string in a fixed-size char array.
func string(_ bytes: UnsafeRawBufferPointer) -> String {
    let end = bytes.firstIndex(of: 0) ?? bytes.count
    return String(decoding: bytes[..<end], as: UTF8.self)
}
