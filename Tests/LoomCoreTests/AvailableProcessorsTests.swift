import Testing
import LoomCore

/// The default thread count's inputs, from fixture texts in the formats the kernel writes:
/// cpu.max and cpu.cfs_quota_us / cpu.cfs_period_us as Documentation/admin-guide/cgroup-v2.rst
/// and scheduler/sched-bwc.rst describe them, /proc/self/cgroup and /proc/self/mountinfo as
/// proc(5) does, Cpus_allowed_list as the cpuset list format of cpuset(7).
@Suite struct AvailableProcessorsTests {
    @Test func cgroupV2QuotaIsQuotaOverPeriod() {
        #expect(AvailableProcessors.cpuMaxLimit("max 100000\n") == nil)
        #expect(AvailableProcessors.cpuMaxLimit("150000 100000\n") == 1.5)
        #expect(AvailableProcessors.cpuMaxLimit("50000 100000") == 0.5)
        #expect(AvailableProcessors.cpuMaxLimit("400000 200000\n") == 2)
        // The period may be left out when writing, but the file always shows it; 100000 µs is the default.
        #expect(AvailableProcessors.cpuMaxLimit("300000") == 3)
        #expect(AvailableProcessors.cpuMaxLimit("") == nil)
        #expect(AvailableProcessors.cpuMaxLimit("banana 100000") == nil)
        #expect(AvailableProcessors.cpuMaxLimit("100000 0") == nil)
    }

    @Test func cgroupV1QuotaOfMinusOneIsNoLimit() {
        #expect(AvailableProcessors.cfsLimit(quota: "-1\n", period: "100000\n") == nil)
        #expect(AvailableProcessors.cfsLimit(quota: "250000\n", period: "100000\n") == 2.5)
        #expect(AvailableProcessors.cfsLimit(quota: "50000", period: "100000") == 0.5)
        #expect(AvailableProcessors.cfsLimit(quota: "", period: "100000") == nil)
    }

    @Test func countIsTheSmallestLimitRoundedDownAndAtLeastOne() {
        #expect(AvailableProcessors.count(online: 8, affinity: 4, cgroupLimit: 2.5) == 2)
        #expect(AvailableProcessors.count(online: 8, affinity: 4, cgroupLimit: nil) == 4)
        #expect(AvailableProcessors.count(online: 4, affinity: nil, cgroupLimit: 6) == 4)
        #expect(AvailableProcessors.count(online: 2, affinity: 2, cgroupLimit: 0.5) == 1)
        #expect(AvailableProcessors.count(online: 16, affinity: 0, cgroupLimit: 3.99) == 3)
    }

    @Test func cpuListsCountEveryProcessor() {
        #expect(AvailableProcessors.cpuListCount("0-3,8,10-11\n") == 7)
        #expect(AvailableProcessors.cpuListCount("0") == 1)
        #expect(AvailableProcessors.cpuListCount("0-1") == 2)
        #expect(AvailableProcessors.cpuListCount("") == nil)
        #expect(AvailableProcessors.cpuListCount("3-1") == nil)
        #expect(AvailableProcessors.cpuListCount("0-x") == nil)
        let status = "Name:\tloom\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed_list:\t0\n"
        #expect(AvailableProcessors.affinityCount(status: status) == 2)
        #expect(AvailableProcessors.affinityCount(status: "Name:\tloom\n") == nil)
    }

    /// This machine's layout: cgroup v1 controllers, each at the root, and an empty unified tree.
    static let hybridMountinfo = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """
    static let hybridCgroups = "4:memory:/process_api/9324aa\n2:cpuacct:/\n1:cpu:/\n0::/\n"

    @Test func mountsAndPathsAreFound() {
        let mounts = AvailableProcessors.cpuMounts(mountinfo: Self.hybridMountinfo)
        #expect(mounts == [AvailableProcessors.CgroupMount(root: "/", mountPoint: "/sys/fs/cgroup/cpu", version: 1),
                           AvailableProcessors.CgroupMount(root: "/", mountPoint: "/sys/fs/cgroup/unified", version: 2)])
        let paths = AvailableProcessors.cgroupPaths(Self.hybridCgroups)
        #expect(paths.unified == "/" && paths.cpu == "/")
        // A v1 mount with optional fields and controllers named together; a space escaped as \040.
        let line = #"25 20 0:22 /docker/abc /sys/fs/cgroup/cpu\040x,cpuacct rw shared:9 master:2 - cgroup cgroup rw,cpu,cpuacct"#
        #expect(AvailableProcessors.cpuMounts(mountinfo: line)
                == [AvailableProcessors.CgroupMount(root: "/docker/abc", mountPoint: "/sys/fs/cgroup/cpu x,cpuacct", version: 1)])
        let v2 = AvailableProcessors.cgroupPaths("0::/user.slice/user-1000.slice/session-2.scope\n")
        #expect(v2.unified == "/user.slice/user-1000.slice/session-2.scope" && v2.cpu == nil)
    }

    @Test func limitsApplyFromTheCgroupUpToTheMountPoint() {
        let unified = AvailableProcessors.CgroupMount(root: "/", mountPoint: "/sys/fs/cgroup", version: 2)
        #expect(AvailableProcessors.limitDirectories(path: "/a/b", mount: unified) == ["/sys/fs/cgroup/a/b", "/sys/fs/cgroup/a", "/sys/fs/cgroup"])
        #expect(AvailableProcessors.limitDirectories(path: "/", mount: unified) == ["/sys/fs/cgroup"])
        // A container's own cgroup mounted as the root of its view.
        let container = AvailableProcessors.CgroupMount(root: "/docker/abc", mountPoint: "/sys/fs/cgroup/cpu", version: 1)
        #expect(AvailableProcessors.limitDirectories(path: "/docker/abc", mount: container) == ["/sys/fs/cgroup/cpu"])
        #expect(AvailableProcessors.limitDirectories(path: "/docker/abc/job", mount: container) == ["/sys/fs/cgroup/cpu/job", "/sys/fs/cgroup/cpu"])
    }

    @Test func theSmallestQuotaAlongTheTreeWins() {
        let mountinfo = "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        let files = ["/sys/fs/cgroup/jobs/cpu.max": "200000 100000\n",
                     "/sys/fs/cgroup/jobs/one/cpu.max": "max 100000\n"]
        #expect(AvailableProcessors.cgroupLimit(mountinfo: mountinfo, cgroups: "0::/jobs/one\n", read: { files[$0] }) == 2)
        #expect(AvailableProcessors.cgroupLimit(mountinfo: mountinfo, cgroups: "0::/other\n", read: { files[$0] }) == nil)
        let v1 = "25 20 0:22 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        let v1Files = ["/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "150000\n", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"]
        let limit = AvailableProcessors.cgroupLimit(mountinfo: v1, cgroups: "3:cpu,cpuacct:/docker/abc\n0::/\n", read: { v1Files[$0] })
        #expect(limit == 1.5)
        #expect(AvailableProcessors.count(online: 4, affinity: 4, cgroupLimit: limit) == 1)
        // This machine's files: no quota.
        let here = ["/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"]
        #expect(AvailableProcessors.cgroupLimit(mountinfo: Self.hybridMountinfo, cgroups: Self.hybridCgroups, read: { here[$0] }) == nil)
    }

    @Test func thisProcessGetsAtLeastOneProcessor() {
        #expect(AvailableProcessors.current >= 1)
        #expect(ThreadPool.processorCount == AvailableProcessors.current)
    }
}
