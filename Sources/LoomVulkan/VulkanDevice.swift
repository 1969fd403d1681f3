import CVulkan
import LoomCore

/// One Vulkan device opened for compute: its queue, the kernels' pipelines, and a command
/// buffer that records a whole pass and is submitted once.
///
/// Kernels take buffer device addresses in their push constants, so there are no descriptor
/// sets, and a buffer may be as large as an allocation (not `maxStorageBufferRange`).
/// Calls on one device are serialised by its lock; a pass records and submits under it.
public final class VulkanDevice: @unchecked Sendable {
    public let info: VulkanDeviceInfo
    let instance: VulkanInstance
    let physical: VkPhysicalDevice
    let device: VkDevice
    let functions: DeviceFunctions
    let queue: VkQueue
    let commandPool: VkCommandPool
    let commandBuffer: VkCommandBuffer
    let fence: VkFence
    let pipelineLayout: VkPipelineLayout
    /// The memory type device-local buffers come from, and the one for host-visible staging.
    let deviceLocalType: UInt32
    let hostVisibleType: UInt32
    private var pipelines: [VulkanKernel: VkPipeline] = [:]
    /// Taken by each submission.
    let lock = Locked(())
    /// Taken by each upload or download, which use the one staging buffer.
    let transfers = Locked(())
    var stagingBuffer: VulkanStaging?

    private static let opened = Locked<[Int: VulkanDevice]>([:])

    /// `vulkan:index`, opened once for the process: the plan lines that name it share it.
    public static func shared(index: Int) throws -> VulkanDevice {
        try opened.withLock { devices in
            if let device = devices[index] { return device }
            let device = try VulkanDevice(index: index)
            devices[index] = device
            return device
        }
    }

    /// Opens `vulkan:index` (a logical device of its own; `shared` is the process's).
    public convenience init(index: Int) throws {
        let instance = try VulkanInstance.shared()
        let physical = try instance.physicalDevices()
        guard index >= 0, index < physical.count else { throw VulkanError.noDevice(index: index, found: physical.count) }
        try self.init(instance: instance, physical: physical[index], info: instance.info(index: index, physical[index]))
    }

    init(instance: VulkanInstance, physical: VkPhysicalDevice, info: VulkanDeviceInfo) throws {
        self.instance = instance
        self.physical = physical
        self.info = info
        if let missing = info.missingFeatures.first { throw VulkanError.unsupported(device: "vulkan:\(info.index)", feature: missing) }

        let f = instance.functions
        var familyCount: UInt32 = 0
        f.getQueueFamilyProperties(physical, &familyCount, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(familyCount))
        f.getQueueFamilyProperties(physical, &familyCount, &families)
        // A compute family without graphics is the dedicated compute queue where there is one.
        let compute = families.indices.filter { families[$0].queueFlags & VK_QUEUE_COMPUTE_BIT.rawValue != 0 }
        guard let family = compute.first(where: { families[$0].queueFlags & VK_QUEUE_GRAPHICS_BIT.rawValue == 0 }) ?? compute.first else {
            throw VulkanError.unsupported(device: "vulkan:\(info.index)", feature: "a compute queue")
        }

        var features11 = VkPhysicalDeviceVulkan11Features()
        features11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES
        features11.storageBuffer16BitAccess = 1
        var features12 = VkPhysicalDeviceVulkan12Features()
        features12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES
        features12.bufferDeviceAddress = 1
        features12.storageBuffer8BitAccess = info.storage8Bit ? 1 : 0
        features12.shaderFloat16 = info.shaderFloat16 ? 1 : 0
        features12.shaderInt8 = info.shaderInt8 ? 1 : 0
        var priority: Float = 1
        var created: VkDevice?
        let result = withUnsafeMutablePointer(to: &features12) { p12 in
            features11.pNext = UnsafeMutableRawPointer(p12)
            return withUnsafeMutablePointer(to: &features11) { p11 in
                var queueInfo = VkDeviceQueueCreateInfo()
                queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
                queueInfo.queueFamilyIndex = UInt32(family)
                queueInfo.queueCount = 1
                return withUnsafePointer(to: &priority) { priorityPointer in
                    queueInfo.pQueuePriorities = priorityPointer
                    return withUnsafePointer(to: &queueInfo) { queuePointer in
                        var deviceInfo = VkDeviceCreateInfo()
                        deviceInfo.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                        deviceInfo.pNext = UnsafeRawPointer(p11)
                        deviceInfo.queueCreateInfoCount = 1
                        deviceInfo.pQueueCreateInfos = queuePointer
                        return f.createDevice(physical, &deviceInfo, nil, &created)
                    }
                }
            }
        }
        try check(result, "vkCreateDevice")
        let device = created!
        self.device = device
        let d = try DeviceFunctions(f.getDeviceProc, device)
        functions = d
        var queue: VkQueue?
        d.getDeviceQueue(device, UInt32(family), 0, &queue)
        self.queue = queue!

        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue
        poolInfo.queueFamilyIndex = UInt32(family)
        var pool: VkCommandPool?
        try check(d.createCommandPool(device, &poolInfo, nil, &pool), "vkCreateCommandPool")
        commandPool = pool!
        var allocateInfo = VkCommandBufferAllocateInfo()
        allocateInfo.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        allocateInfo.commandPool = pool
        allocateInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        allocateInfo.commandBufferCount = 1
        var buffer: VkCommandBuffer?
        try check(d.allocateCommandBuffers(device, &allocateInfo, &buffer), "vkAllocateCommandBuffers")
        commandBuffer = buffer!
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence?
        try check(d.createFence(device, &fenceInfo, nil, &fence), "vkCreateFence")
        self.fence = fence!

        var range = VkPushConstantRange()
        range.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT.rawValue
        range.size = UInt32(VulkanKernel.pushConstantBytes)
        var layout: VkPipelineLayout?
        let layoutResult = withUnsafePointer(to: &range) { rangePointer in
            var layoutInfo = VkPipelineLayoutCreateInfo()
            layoutInfo.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO
            layoutInfo.pushConstantRangeCount = 1
            layoutInfo.pPushConstantRanges = rangePointer
            return d.createPipelineLayout(device, &layoutInfo, nil, &layout)
        }
        try check(layoutResult, "vkCreatePipelineLayout")
        pipelineLayout = layout!

        var memory = VkPhysicalDeviceMemoryProperties2()
        memory.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2
        f.getMemoryProperties2(physical, &memory)
        let types: [UInt32] = withUnsafeBytes(of: memory.memoryProperties.memoryTypes) { raw in
            Array(raw.bindMemory(to: VkMemoryType.self).prefix(Int(memory.memoryProperties.memoryTypeCount)).map(\.propertyFlags))
        }
        let local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue
        let visible = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
        guard let localType = types.firstIndex(where: { $0 & local == local }) else {
            throw VulkanError.noMemoryType(device: "vulkan:\(info.index)", wanted: "device-local")
        }
        // Staging prefers memory the host caches and the device does not hold.
        guard let stagingType = types.firstIndex(where: { $0 & visible == visible && $0 & local == 0 })
            ?? types.firstIndex(where: { $0 & visible == visible }) else {
            throw VulkanError.noMemoryType(device: "vulkan:\(info.index)", wanted: "host-visible and coherent")
        }
        deviceLocalType = UInt32(localType)
        hostVisibleType = UInt32(stagingType)
    }

    deinit {
        let d = functions
        _ = d.deviceWaitIdle(device)
        stagingBuffer = nil
        for pipeline in pipelines.values { d.destroyPipeline(device, pipeline, nil) }
        d.destroyPipelineLayout(device, pipelineLayout, nil)
        d.destroyFence(device, fence, nil)
        d.destroyCommandPool(device, commandPool, nil)
        d.destroyDevice(device, nil)
    }

    /// The kernel's pipeline, built on first use (under the device lock).
    func pipeline(_ kernel: VulkanKernel) throws -> VkPipeline {
        if let pipeline = pipelines[kernel] { return pipeline }
        let code = kernel.spirv
        var module: VkShaderModule?
        let moduleResult = code.withUnsafeBufferPointer { words in
            var info = VkShaderModuleCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO
            info.codeSize = words.count * 4
            info.pCode = words.baseAddress
            return functions.createShaderModule(device, &info, nil, &module)
        }
        try check(moduleResult, "vkCreateShaderModule")
        defer { functions.destroyShaderModule(device, module, nil) }
        var stage = VkPipelineShaderStageCreateInfo()
        stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO
        stage.stage = VK_SHADER_STAGE_COMPUTE_BIT
        stage.module = module
        stage.pName = VulkanInstance.cString("main")
        var info = VkComputePipelineCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO
        info.stage = stage
        info.layout = pipelineLayout
        var pipeline: VkPipeline?
        try check(functions.createComputePipelines(device, nil, 1, &info, nil, &pipeline), "vkCreateComputePipelines")
        pipelines[kernel] = pipeline!
        return pipeline!
    }

    /// Records `body` into the device's command buffer, submits it, and waits for it to finish;
    /// then `completion` may read what `body` fetched into the staging buffer
    /// (`VulkanRecorder.stage`/`fetch` work only when `staged` is true).
    public func submit(staged: Bool = false, _ body: (VulkanRecorder) throws -> Void,
                       completion: (VulkanRecorder) throws -> Void = { _ in }) throws {
        if staged { transfers.lock() }
        defer { if staged { transfers.unlock() } }
        let staging = staged ? try self.staging() : nil
        try lock.withLock { _ in
            let d = functions
            try check(d.resetCommandBuffer(commandBuffer, 0), "vkResetCommandBuffer")
            var begin = VkCommandBufferBeginInfo()
            begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
            begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue
            try check(d.beginCommandBuffer(commandBuffer, &begin), "vkBeginCommandBuffer")
            let recorder = VulkanRecorder(device: self, staging: staging)
            do {
                try body(recorder)
            } catch {
                _ = d.endCommandBuffer(commandBuffer)
                throw error
            }
            try check(d.endCommandBuffer(commandBuffer), "vkEndCommandBuffer")
            var buffer: VkCommandBuffer? = commandBuffer
            let submitResult = withUnsafePointer(to: &buffer) { bufferPointer in
                var info = VkSubmitInfo()
                info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
                info.commandBufferCount = 1
                info.pCommandBuffers = bufferPointer
                return d.queueSubmit(queue, 1, &info, fence)
            }
            try check(submitResult, "vkQueueSubmit")
            var waited: VkFence? = fence
            try check(d.waitForFences(device, 1, &waited, 1, UInt64.max), "vkWaitForFences")
            try check(d.resetFences(device, 1, &waited), "vkResetFences")
            try completion(recorder)
        }
    }

    /// Allocates `bytes` of memory of `memoryType` with a buffer over all of it, addressable by kernels.
    func allocateBuffer(bytes: Int, memoryType: UInt32, label: String) throws -> (VkBuffer, VkDeviceMemory, VkDeviceAddress) {
        let d = functions
        var bufferInfo = VkBufferCreateInfo()
        bufferInfo.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        bufferInfo.size = VkDeviceSize(bytes)
        bufferInfo.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue | VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT.rawValue
        bufferInfo.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer?
        try check(d.createBuffer(device, &bufferInfo, nil, &buffer), "vkCreateBuffer")
        var requirements = VkMemoryRequirements()
        d.getBufferMemoryRequirements(device, buffer, &requirements)
        guard requirements.memoryTypeBits & (1 << memoryType) != 0 else {
            d.destroyBuffer(device, buffer, nil)
            throw VulkanError.noMemoryType(device: "vulkan:\(info.index)", wanted: "usable for \(label)")
        }
        var flags = VkMemoryAllocateFlagsInfo()
        flags.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO
        flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT.rawValue
        var memory: VkDeviceMemory?
        let allocateResult = withUnsafePointer(to: &flags) { flagsPointer in
            var allocateInfo = VkMemoryAllocateInfo()
            allocateInfo.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
            allocateInfo.pNext = UnsafeRawPointer(flagsPointer)
            allocateInfo.allocationSize = requirements.size
            allocateInfo.memoryTypeIndex = memoryType
            return d.allocateMemory(device, &allocateInfo, nil, &memory)
        }
        if allocateResult != VK_SUCCESS {
            d.destroyBuffer(device, buffer, nil)
            throw VulkanError.call("vkAllocateMemory (\(label), \(bytes) bytes)", result: allocateResult.rawValue)
        }
        if let error = Result(catching: { try check(d.bindBufferMemory(device, buffer, memory, 0), "vkBindBufferMemory") }).failure {
            d.destroyBuffer(device, buffer, nil)
            d.freeMemory(device, memory, nil)
            throw error
        }
        var addressInfo = VkBufferDeviceAddressInfo()
        addressInfo.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO
        addressInfo.buffer = buffer
        return (buffer!, memory!, d.getBufferDeviceAddress(device, &addressInfo))
    }

    func release(buffer: VkBuffer, memory: VkDeviceMemory) {
        functions.destroyBuffer(device, buffer, nil)
        functions.freeMemory(device, memory, nil)
    }
}

extension Result {
    var failure: Failure? { if case let .failure(error) = self { error } else { nil } }
}
