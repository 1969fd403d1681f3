import Foundation
import Testing

/// Runs the `loom` binary that `swift test` built next to the test bundle, as a user would run it.
enum LoomProcess {
    /// The repository root: commands run there, so README paths such as Models/loom-demo work.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary of this build: `swift test` builds every product into the folder that holds the
    /// test bundle. `LOOM_BINARY` overrides it.
    static let binary: String? = {
        if let path = ProcessInfo.processInfo.environment["LOOM_BINARY"] { return path }
        var folders: [URL] = []
        if let executable = Bundle.main.executableURL { folders.append(executable.deletingLastPathComponent()) }
        // macOS runs the tests inside xctest, whose bundle sits in the products folder.
        folders += Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }.map { $0.bundleURL.deletingLastPathComponent() }
        return folders.map { $0.appendingPathComponent("loom").path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func requireBinary() throws -> String {
        try #require(binary, "no loom binary beside the test bundle; `swift test` builds it (or set LOOM_BINARY)")
    }

    /// Runs `loom` with `arguments`.
    static func run(_ arguments: [String]) throws -> Result {
        try launch(try requireBinary(), arguments, environment: [:])
    }

    /// Runs `commandLine` in /bin/sh with `loom` bound to the binary, so that a README line runs
    /// with the quoting a reader's shell gives it.
    static func shell(_ commandLine: String) throws -> Result {
        try launch("/bin/sh", ["-c", "loom() { \"$LOOM_BINARY\" \"$@\"; }\n" + commandLine],
                   environment: ["LOOM_BINARY": try requireBinary()])
    }

    /// Runs `loom` with stdout to a pipe, as `loom ... | tee` would, and returns its first line,
    /// when that line arrived and when the pipe reached its end (the process closed stdout), in
    /// seconds from the start.
    static func pipedFirstLine(_ arguments: [String]) throws -> (line: String, at: Double, end: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try requireBinary())
        process.arguments = arguments
        process.currentDirectoryURL = root
        process.standardInput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        let start = Date()
        try process.run()
        var bytes = Data()
        var firstLineAt: Double?
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            bytes.append(chunk)
            if firstLineAt == nil, bytes.contains(UInt8(ascii: "\n")) { firstLineAt = Date().timeIntervalSince(start) }
        }
        let end = Date().timeIntervalSince(start)
        process.waitUntilExit()
        let line = String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        return (line, firstLineAt ?? end, end)
    }

    /// Runs any program to its end in the repository root, its output in files.
    static func launch(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        // Outputs go to files: a pipe that fills up would block the child before it exits.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("stdout"), err = folder.appendingPathComponent("stderr")
        try Data().write(to: out)
        try Data().write(to: err)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = root
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
    }
}
