/// Parses device lists given on the command line.
///
/// Forms: `3x24GB` (three devices of 24 GB), `4090,4090,3090` (a catalog of common GPUs),
/// `cpu:16GB,cpu:8GB`, `24GB,12GB`, and `vulkan:0` or `vulkan:0:6GB` (a Vulkan device that runs
/// its layers, with all of its device-local memory or the budget given; one device named twice
/// is split as two). Sizes take GB, GiB, MB, MiB or a plain byte count.
/// "GB" means 10^9 bytes and "GiB" 2^30, as `nvidia-smi` and operating systems disagree.
public enum DeviceList {
    /// Common GPUs and the memory each has.
    public static let gpuCatalog: [String: Int] = [
        "4090": 24 * gib, "3090": 24 * gib, "3090ti": 24 * gib, "4080": 16 * gib, "4070ti": 12 * gib,
        "4060ti": 16 * gib, "3080": 10 * gib, "3060": 12 * gib, "a100": 80 * gib, "a100-40": 40 * gib,
        "h100": 80 * gib, "a6000": 48 * gib, "l40s": 48 * gib, "a10": 24 * gib, "t4": 16 * gib, "v100": 32 * gib,
        "5090": 32 * gib,
    ]

    static let gib = 1 << 30

    public static func parse(_ text: String) throws -> [DeviceSpec] {
        var devices: [DeviceSpec] = []
        for item in text.lowercased().split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let x = item.firstIndex(of: "x"), let count = Int(item[..<x]), count > 0, count <= 64 {
                let size = try parseSize(String(item[item.index(after: x)...]), context: text)
                for _ in 0..<count { devices.append(DeviceSpec(name: "gpu\(devices.count)", budgetBytes: size, kind: .gpu)) }
            } else if item.hasPrefix("vulkan:") {
                devices.append(try vulkanDevice(item, index: devices.count, named: devices.map(\.name), context: text))
            } else if item.hasPrefix("cpu:") {
                let size = try parseSize(String(item.dropFirst(4)), context: text)
                devices.append(DeviceSpec(name: "cpu\(devices.count)", budgetBytes: size, kind: .cpu))
            } else if let memory = gpuCatalog[item.replacingOccurrences(of: "rtx", with: "").replacingOccurrences(of: " ", with: "")] {
                devices.append(DeviceSpec(name: "gpu\(devices.count)", budgetBytes: memory, kind: .gpu))
            } else {
                let size = try parseSize(item, context: text)
                devices.append(DeviceSpec(name: "gpu\(devices.count)", budgetBytes: size, kind: .gpu))
            }
        }
        guard !devices.isEmpty else { throw PlanError.invalidDevices(text: text, reason: "no devices given") }
        return devices
    }

    /// `vulkan:N[:SIZE]`: the device's budget is SIZE, at most the device-local memory it has.
    static func vulkanDevice(_ item: String, index: Int, named: [String], context: String) throws -> DeviceSpec {
        let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, let vulkan = Int(parts[1]), vulkan >= 0 else {
            throw PlanError.invalidDevices(text: context, reason: "'\(item)' is not vulkan:N or vulkan:N:SIZE")
        }
        let info: VulkanDeviceInfo
        do {
            let devices = try VulkanInstance.shared().devices()
            guard vulkan < devices.count else { throw VulkanError.noDevice(index: vulkan, found: devices.count) }
            info = devices[vulkan]
        } catch {
            throw PlanError.invalidDevices(text: context, reason: "\(error)")
        }
        if let missing = info.missingFeatures.first {
            throw PlanError.invalidDevices(text: context, reason: "vulkan:\(vulkan) (\(info.name)) lacks \(missing)")
        }
        let memory = info.deviceLocalBytes
        var budget = memory
        if parts.count == 3 {
            budget = try parseSize(parts[2], context: context)
            guard budget <= memory else {
                throw PlanError.invalidDevices(text: context, reason: "\(item): vulkan:\(vulkan) has \(memory) bytes of device-local memory")
            }
        }
        var name = "vulkan:\(vulkan)"
        let uses = named.filter { $0 == name || $0.hasPrefix(name + "#") }.count
        if uses > 0 { name += "#\(uses + 1)" }
        return DeviceSpec(name: name, budgetBytes: budget, memoryBytes: memory, kind: .gpu, vulkanIndex: vulkan)
    }

    /// Parses `24GB`, `23.5GiB`, `512MB` or a plain byte count.
    public static func parseSize(_ text: String, context: String) throws -> Int {
        if let bytes = size(text) { return bytes }
        throw PlanError.invalidDevices(text: context, reason: "'\(text)' is not a size such as 24GB or 16GiB, nor a known GPU (\(gpuCatalog.keys.sorted().joined(separator: ", ")))")
    }

    /// `24GB`, `23.5GiB`, `512MB` or a plain byte count in bytes; nil for anything else.
    public static func size(_ text: String) -> Int? {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("gib", 1073741824), ("mib", 1048576), ("kib", 1024), ("gb", 1e9), ("mb", 1e6), ("kb", 1e3), ("g", 1e9), ("m", 1e6)]
        for (suffix, scale) in units where lower.hasSuffix(suffix) {
            if let value = Double(lower.dropLast(suffix.count)), value > 0, value < 1e7 { return Int(value * scale) }
            return nil
        }
        if let bytes = Int(lower), bytes > 0 { return bytes }
        return nil
    }
}

import Foundation
import LoomVulkan
