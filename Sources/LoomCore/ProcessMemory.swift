#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's memory as the operating system counts it, to check the planner's figures
/// against: the arenas' accounting agrees with the plan by construction, the kernel's does not.
public struct ProcessMemory: Sendable, Equatable {
    /// The most the resident set has held (Linux `VmHWM`, Darwin `ru_maxrss`).
    public var peakResidentBytes: Int
    /// The resident set now (`VmRSS`).
    public var residentBytes: Int
    /// Resident anonymous memory now (`RssAnon`: arenas, heap, stacks); nil where not reported.
    public var anonymousBytes: Int?
    /// Resident pages of mapped files now (`RssFile`: weights read in place, the binary).
    public var fileBytes: Int?

    /// Resident memory of the runtime itself, beside what the plan names: the binary, the Swift
    /// runtime and Foundation, thread stacks and the allocator's pools. Measured for `loom
    /// generate` and `loom bench` on the demo models (the process peak less the plan's total):
    /// 16–27 MiB on x86-64 Linux, release build. A process's peak stays within plan + this.
    public static let runtimeAllowance = 48 << 20

    /// The figures now, or nil where the system reports none.
    public static func current() -> ProcessMemory? {
        #if os(Linux)
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var fields: [String: Int] = [:]
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // "VmHWM:\t  123456 kB"
            let parts = text.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" || $0 == "\n" })
            if parts.count == 3, parts[2] == "kB", let kib = Int(parts[1]) { fields[String(parts[0])] = kib << 10 }
        }
        guard let peak = fields["VmHWM"], let resident = fields["VmRSS"] else { return nil }
        return ProcessMemory(peakResidentBytes: peak, residentBytes: resident, anonymousBytes: fields["RssAnon"],
                             fileBytes: fields["RssFile"])
        #elseif canImport(Darwin)
        var usage = rusage()
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
        var info = mach_task_basic_info()
        var count = mach_msg_type_number_t(MemoryLayout<mach_task_basic_info>.size / MemoryLayout<natural_t>.size)
        let status = withUnsafeMutablePointer(to: &info) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) { task_info(mach_task_self_, task_flavor_t(MACH_TASK_BASIC_INFO), $0, &count) }
        }
        let resident = status == KERN_SUCCESS ? Int(info.resident_size) : Int(usage.ru_maxrss)
        return ProcessMemory(peakResidentBytes: Int(usage.ru_maxrss), residentBytes: resident, anonymousBytes: nil, fileBytes: nil)
        #else
        return nil
        #endif
    }
}
