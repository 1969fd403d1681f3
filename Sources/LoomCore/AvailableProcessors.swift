#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// How many processors this process can keep busy, which is the default thread count.
///
/// The online processor count overstates it in a container or under `taskset`: a pool with more
/// threads than the process may run at once has threads waiting for a CPU, and every loop waits
/// for them. So the count is the CPU affinity mask, capped by the cgroup CPU quota (cgroup v2
/// `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, the smallest along the cgroup's
/// ancestors), rounded down and at least 1.
public enum AvailableProcessors {
    /// The count for this process, read once.
    public static let current: Int = {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #if os(Linux)
        let read: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) }
        let limit = cgroupLimit(mountinfo: read("/proc/self/mountinfo") ?? "", cgroups: read("/proc/self/cgroup") ?? "", read: read)
        return count(online: online, affinity: read("/proc/self/status").flatMap(affinityCount), cgroupLimit: limit)
        #else
        return online
        #endif
    }()

    /// The usable count from its inputs: the online count, capped by the affinity mask's size
    /// and the cgroup quota in processors (either may be unknown), rounded down, at least 1.
    public static func count(online: Int, affinity: Int?, cgroupLimit: Double?) -> Int {
        var result = online
        if let affinity, affinity > 0 { result = min(result, affinity) }
        if let cgroupLimit { result = min(result, Int(cgroupLimit.rounded(.down))) }
        return max(1, result)
    }

    /// The processors a cgroup v2 `cpu.max` file allows ("150000 100000" is 1.5), or nil for
    /// no limit ("max 100000") or unreadable text.
    public static func cpuMaxLimit(_ text: String) -> Double? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let quotaField = fields.first, quotaField != "max", let quota = Double(quotaField), quota > 0 else { return nil }
        let period = fields.count > 1 ? Double(fields[1]) : 100_000
        guard let period, period > 0 else { return nil }
        return quota / period
    }

    /// The processors a cgroup v1 quota and period allow, or nil for no limit (a quota of -1)
    /// or unreadable text.
    public static func cfsLimit(quota: String, period: String) -> Double? {
        guard let q = Double(quota.trimmingCharacters(in: .whitespacesAndNewlines)), q > 0,
              let p = Double(period.trimmingCharacters(in: .whitespacesAndNewlines)), p > 0 else { return nil }
        return q / p
    }

    /// A mounted cgroup hierarchy that can limit CPU time.
    public struct CgroupMount: Equatable, Sendable {
        /// The cgroup path this mount shows at `mountPoint` (not "/" inside some containers).
        public var root: String
        public var mountPoint: String
        /// 2 for the unified hierarchy, 1 for a v1 hierarchy with the cpu controller.
        public var version: Int

        public init(root: String, mountPoint: String, version: Int) {
            self.root = root
            self.mountPoint = mountPoint
            self.version = version
        }
    }

    /// The cgroup2 mounts and the v1 mounts with the cpu controller, from /proc/self/mountinfo.
    public static func cpuMounts(mountinfo: String) -> [CgroupMount] {
        mountinfo.split(separator: "\n").compactMap { line in
            // "id parent major:minor root mount-point options [optional...] - type source super-options"
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 5, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { return nil }
            let type = fields[dash + 1]
            let superOptions = dash + 3 < fields.count ? fields[dash + 3].split(separator: ",") : []
            let root = unescape(fields[3]), mountPoint = unescape(fields[4])
            if type == "cgroup2" { return CgroupMount(root: root, mountPoint: mountPoint, version: 2) }
            if type == "cgroup" && superOptions.contains("cpu") { return CgroupMount(root: root, mountPoint: mountPoint, version: 1) }
            return nil
        }
    }

    /// The process's cgroup paths from /proc/self/cgroup: the unified one ("0::/path") and the
    /// v1 one of the hierarchy with the cpu controller ("4:cpu,cpuacct:/path").
    public static func cgroupPaths(_ text: String) -> (unified: String?, cpu: String?) {
        var unified: String?, cpu: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty {
                unified = String(fields[2])
            } else if fields[1].split(separator: ",").contains("cpu") {
                cpu = String(fields[2])
            }
        }
        return (unified, cpu)
    }

    /// The directories whose limits apply to a process in cgroup `path` of `mount`: its own
    /// cgroup's directory and every ancestor's up to the mount point.
    public static func limitDirectories(path: String, mount: CgroupMount) -> [String] {
        // Inside a container the mount's root may be the container's own cgroup.
        var relative = path
        if mount.root != "/" {
            guard path == mount.root || path.hasPrefix(mount.root + "/") else { return [mount.mountPoint] }
            relative = String(path.dropFirst(mount.root.count))
        }
        var components = relative.split(separator: "/").map(String.init)
        var directories: [String] = []
        while true {
            let suffix = components.isEmpty ? "" : "/" + components.joined(separator: "/")
            directories.append(mount.mountPoint == "/" ? (suffix.isEmpty ? "/" : suffix) : mount.mountPoint + suffix)
            if components.isEmpty { return directories }
            components.removeLast()
        }
    }

    /// The smallest CPU limit, in processors, over the cgroups that contain this process, or nil
    /// when none is set. `read` returns a file's text, or nil when it cannot be read.
    public static func cgroupLimit(mountinfo: String, cgroups: String, read: (String) -> String?) -> Double? {
        let paths = cgroupPaths(cgroups)
        var limit: Double?
        func lower(_ value: Double?) {
            if let value { limit = min(limit ?? value, value) }
        }
        for mount in cpuMounts(mountinfo: mountinfo) {
            guard let path = mount.version == 2 ? paths.unified : paths.cpu else { continue }
            for directory in limitDirectories(path: path, mount: mount) {
                if mount.version == 2 {
                    lower(read(directory + "/cpu.max").flatMap(cpuMaxLimit))
                } else if let quota = read(directory + "/cpu.cfs_quota_us"), let period = read(directory + "/cpu.cfs_period_us") {
                    lower(cfsLimit(quota: quota, period: period))
                }
            }
        }
        return limit
    }

    /// mountinfo writes space, tab, newline and backslash in paths as octal escapes ("\040").
    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The number of processors in a CPU list as /proc/self/status writes `Cpus_allowed_list`
    /// ("0-3,8,10-11" is 7), or nil for unreadable text. (Swift cannot see `sched_getaffinity`,
    /// which glibc declares only for `_GNU_SOURCE`.)
    public static func cpuListCount(_ text: String) -> Int? {
        var total = 0
        for item in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let ends = item.split(separator: "-", omittingEmptySubsequences: false)
            guard let first = Int(ends[0]), first >= 0 else { return nil }
            if ends.count == 1 {
                total += 1
            } else if ends.count == 2, let last = Int(ends[1]), last >= first {
                total += last - first + 1
            } else {
                return nil
            }
        }
        return total > 0 ? total : nil
    }

    /// The `Cpus_allowed_list` of a /proc/PID/status text, counted.
    public static func affinityCount(status: String) -> Int? {
        let key = "Cpus_allowed_list:"
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return nil }
        return cpuListCount(String(line.dropFirst(key.count)))
    }
}
