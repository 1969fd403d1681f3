import Foundation

/// The entry of a fuzz target: one input, which the target feeds to a parser. It returns
/// normally whatever the input (a typed error is a pass); a crash, a sanitizer report, a hang
/// or a runaway allocation is a finding.
public typealias FuzzEntry = (Data) -> Void

/// Runs a fuzz target. Built by `tools/fuzz` (`-DFUZZING`, `-sanitize=fuzzer,address`), it is a
/// libFuzzer binary and takes libFuzzer's arguments. In a normal build it replays every file
/// under the paths it is given (the committed corpus, the crashes fuzzing found among them), so
/// any build can check that each old finding stays fixed.
public enum FuzzTarget {
    nonisolated(unsafe) static var entry: FuzzEntry = { _ in }

    public static func main(_ entry: @escaping FuzzEntry) -> Never {
        self.entry = entry
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in LLVMFuzzerTestOneInput(data, size) })
        #else
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            for file in files(under: path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("\(file): cannot be read\n".utf8))
                    exit(2)
                }
                entry(data)
                count += 1
            }
        }
        print("\(count) inputs replayed")
        exit(0)
        #endif
    }

    /// `path` itself, or the regular files under it in name order.
    static func files(under path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        let names = (FileManager.default.enumerator(atPath: path)?.allObjects as? [String] ?? []).sorted()
        return names.map { path + "/" + $0 }.filter {
            var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &dir) && !dir.boolValue
        }
    }

    /// A directory of this process's own, emptied for each input: the parsers read paths.
    public static let scratch: String = {
        let dir = NSTemporaryDirectory() + "loom-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Writes `data` as `name` in the scratch directory, and returns its path.
    public static func write(_ data: Data, as name: String) -> String {
        let path = scratch + "/" + name
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }
}

#if FUZZING
/// libFuzzer's runtime refers to this symbol (its own `main`, which SwiftPM's entry point replaces).
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTarget.entry(size == 0 ? Data() : Data(bytes: data!, count: size))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif
