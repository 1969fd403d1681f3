import CVulkan
import LoomCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Vulkan loader, opened at run time, and one instance of it for the whole process.
///
/// Nothing links against libvulkan: where it is missing, `VulkanInstance.shared` throws
/// `libraryMissing` and every other part of Loom works as before.
public final class VulkanInstance: @unchecked Sendable {
    let instance: VkInstance
    let functions: InstanceFunctions
    /// The instance's API version (1.2 or 1.3).
    public let apiVersion: UInt32

    /// Loader names tried in order; `LOOM_VULKAN_LIBRARY` puts a path first.
    static var libraryNames: [String] {
        #if os(macOS)
        let names = ["libvulkan.1.dylib", "libMoltenVK.dylib"]
        #else
        let names = ["libvulkan.so.1", "libvulkan.so"]
        #endif
        if let path = getenv("LOOM_VULKAN_LIBRARY") { return [String(cString: path)] }
        return names
    }

    private static let opened = Locked<Result<VulkanInstance, VulkanError>?>(nil)

    /// The process's instance, made on first use; the error says why there is none.
    public static func shared() throws -> VulkanInstance {
        try opened.withLock { state in
            if let state { return try state.get() }
            let result = Result { try VulkanInstance() }.mapError { $0 as! VulkanError }
            state = result
            return try result.get()
        }
    }

    private init() throws {
        let names = Self.libraryNames
        var handle: UnsafeMutableRawPointer?
        var reason = ""
        for name in names {
            handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)
            if handle != nil { break }
            reason = dlerror().map { String(cString: $0) } ?? "not found"
        }
        guard let handle else { throw VulkanError.libraryMissing(tried: names, reason: reason) }
        guard let symbol = dlsym(handle, "vkGetInstanceProcAddr") else { throw VulkanError.missingEntryPoint("vkGetInstanceProcAddr") }
        let getProc = unsafeBitCast(symbol, to: PFN_vkGetInstanceProcAddr.self)

        var version: UInt32 = Self.version(1, 0)
        if let enumerate: PFN_vkEnumerateInstanceVersion = lookUp(getProc, nil, "vkEnumerateInstanceVersion") {
            _ = enumerate(&version)
        }
        guard version >= Self.version(1, 2) else {
            throw VulkanError.unsupported(device: "the Vulkan loader", feature: "Vulkan 1.2 (it offers \(Self.versionString(version)))")
        }
        apiVersion = min(version, Self.version(1, 3))

        var app = VkApplicationInfo()
        app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
        app.pApplicationName = Self.cString("loom")
        app.pEngineName = Self.cString("loom")
        app.apiVersion = apiVersion
        var created: VkInstance?
        let create: PFN_vkCreateInstance = try lookUpRequired(getProc, nil, "vkCreateInstance")
        let result = withUnsafePointer(to: &app) { appPointer in
            var info = VkInstanceCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
            info.pApplicationInfo = appPointer
            return create(&info, nil, &created)
        }
        try check(result, "vkCreateInstance")
        instance = created!
        functions = try InstanceFunctions(getProc, instance)
    }

    deinit { functions.destroyInstance(instance, nil) }

    static func version(_ major: UInt32, _ minor: UInt32) -> UInt32 { (major << 22) | (minor << 12) }

    static func versionString(_ v: UInt32) -> String { "\(v >> 22).\((v >> 12) & 0x3FF).\(v & 0xFFF)" }

    /// A C string that lives as long as the process (a static string's bytes).
    static func cString(_ text: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}

/// Looks an entry point up; nil where the loader has none.
func lookUp<F>(_ getProc: PFN_vkGetInstanceProcAddr, _ instance: VkInstance?, _ name: String) -> F? {
    guard let pointer = getProc(instance, name) else { return nil }
    return unsafeBitCast(pointer, to: F.self)
}

func lookUpRequired<F>(_ getProc: PFN_vkGetInstanceProcAddr, _ instance: VkInstance?, _ name: String) throws -> F {
    guard let f: F = lookUp(getProc, instance, name) else { throw VulkanError.missingEntryPoint(name) }
    return f
}

/// The instance-level entry points the backend calls.
struct InstanceFunctions: @unchecked Sendable {
    let getProc: PFN_vkGetInstanceProcAddr
    let destroyInstance: PFN_vkDestroyInstance
    let enumeratePhysicalDevices: PFN_vkEnumeratePhysicalDevices
    let getProperties2: PFN_vkGetPhysicalDeviceProperties2
    let getFeatures2: PFN_vkGetPhysicalDeviceFeatures2
    let getMemoryProperties2: PFN_vkGetPhysicalDeviceMemoryProperties2
    let getQueueFamilyProperties: PFN_vkGetPhysicalDeviceQueueFamilyProperties
    let enumerateDeviceExtensions: PFN_vkEnumerateDeviceExtensionProperties
    let createDevice: PFN_vkCreateDevice
    let getDeviceProc: PFN_vkGetDeviceProcAddr

    init(_ getProc: PFN_vkGetInstanceProcAddr, _ instance: VkInstance) throws {
        self.getProc = getProc
        func f<F>(_ name: String) throws -> F { try lookUpRequired(getProc, instance, name) }
        destroyInstance = try f("vkDestroyInstance")
        enumeratePhysicalDevices = try f("vkEnumeratePhysicalDevices")
        getProperties2 = try f("vkGetPhysicalDeviceProperties2")
        getFeatures2 = try f("vkGetPhysicalDeviceFeatures2")
        getMemoryProperties2 = try f("vkGetPhysicalDeviceMemoryProperties2")
        getQueueFamilyProperties = try f("vkGetPhysicalDeviceQueueFamilyProperties")
        enumerateDeviceExtensions = try f("vkEnumerateDeviceExtensionProperties")
        createDevice = try f("vkCreateDevice")
        getDeviceProc = try f("vkGetDeviceProcAddr")
    }
}

/// The device-level entry points the backend calls.
struct DeviceFunctions: @unchecked Sendable {
    let destroyDevice: PFN_vkDestroyDevice
    let getDeviceQueue: PFN_vkGetDeviceQueue
    let createBuffer: PFN_vkCreateBuffer
    let destroyBuffer: PFN_vkDestroyBuffer
    let getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements
    let allocateMemory: PFN_vkAllocateMemory
    let freeMemory: PFN_vkFreeMemory
    let bindBufferMemory: PFN_vkBindBufferMemory
    let mapMemory: PFN_vkMapMemory
    let unmapMemory: PFN_vkUnmapMemory
    let getBufferDeviceAddress: PFN_vkGetBufferDeviceAddress
    let createShaderModule: PFN_vkCreateShaderModule
    let destroyShaderModule: PFN_vkDestroyShaderModule
    let createPipelineLayout: PFN_vkCreatePipelineLayout
    let destroyPipelineLayout: PFN_vkDestroyPipelineLayout
    let createComputePipelines: PFN_vkCreateComputePipelines
    let destroyPipeline: PFN_vkDestroyPipeline
    let createCommandPool: PFN_vkCreateCommandPool
    let destroyCommandPool: PFN_vkDestroyCommandPool
    let allocateCommandBuffers: PFN_vkAllocateCommandBuffers
    let resetCommandBuffer: PFN_vkResetCommandBuffer
    let beginCommandBuffer: PFN_vkBeginCommandBuffer
    let endCommandBuffer: PFN_vkEndCommandBuffer
    let cmdBindPipeline: PFN_vkCmdBindPipeline
    let cmdPushConstants: PFN_vkCmdPushConstants
    let cmdDispatch: PFN_vkCmdDispatch
    let cmdPipelineBarrier: PFN_vkCmdPipelineBarrier
    let cmdCopyBuffer: PFN_vkCmdCopyBuffer
    let cmdFillBuffer: PFN_vkCmdFillBuffer
    let queueSubmit: PFN_vkQueueSubmit
    let createFence: PFN_vkCreateFence
    let destroyFence: PFN_vkDestroyFence
    let waitForFences: PFN_vkWaitForFences
    let resetFences: PFN_vkResetFences
    let deviceWaitIdle: PFN_vkDeviceWaitIdle

    init(_ getDeviceProc: PFN_vkGetDeviceProcAddr, _ device: VkDevice) throws {
        func f<F>(_ name: String) throws -> F {
            guard let pointer = getDeviceProc(device, name) else { throw VulkanError.missingEntryPoint(name) }
            return unsafeBitCast(pointer, to: F.self)
        }
        destroyDevice = try f("vkDestroyDevice")
        getDeviceQueue = try f("vkGetDeviceQueue")
        createBuffer = try f("vkCreateBuffer")
        destroyBuffer = try f("vkDestroyBuffer")
        getBufferMemoryRequirements = try f("vkGetBufferMemoryRequirements")
        allocateMemory = try f("vkAllocateMemory")
        freeMemory = try f("vkFreeMemory")
        bindBufferMemory = try f("vkBindBufferMemory")
        mapMemory = try f("vkMapMemory")
        unmapMemory = try f("vkUnmapMemory")
        getBufferDeviceAddress = try f("vkGetBufferDeviceAddress")
        createShaderModule = try f("vkCreateShaderModule")
        destroyShaderModule = try f("vkDestroyShaderModule")
        createPipelineLayout = try f("vkCreatePipelineLayout")
        destroyPipelineLayout = try f("vkDestroyPipelineLayout")
        createComputePipelines = try f("vkCreateComputePipelines")
        destroyPipeline = try f("vkDestroyPipeline")
        createCommandPool = try f("vkCreateCommandPool")
        destroyCommandPool = try f("vkDestroyCommandPool")
        allocateCommandBuffers = try f("vkAllocateCommandBuffers")
        resetCommandBuffer = try f("vkResetCommandBuffer")
        beginCommandBuffer = try f("vkBeginCommandBuffer")
        endCommandBuffer = try f("vkEndCommandBuffer")
        cmdBindPipeline = try f("vkCmdBindPipeline")
        cmdPushConstants = try f("vkCmdPushConstants")
        cmdDispatch = try f("vkCmdDispatch")
        cmdPipelineBarrier = try f("vkCmdPipelineBarrier")
        cmdCopyBuffer = try f("vkCmdCopyBuffer")
        cmdFillBuffer = try f("vkCmdFillBuffer")
        queueSubmit = try f("vkQueueSubmit")
        createFence = try f("vkCreateFence")
        destroyFence = try f("vkDestroyFence")
        waitForFences = try f("vkWaitForFences")
        resetFences = try f("vkResetFences")
        deviceWaitIdle = try f("vkDeviceWaitIdle")
    }
}
