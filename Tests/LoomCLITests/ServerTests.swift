import Foundation
import Testing

/// `loom serve` on a free loopback port, driven by the official `openai` Python client
/// (Tests/ServerChecks/openai_checks.py, in the virtual environment tools/fixtures/fetch-openai makes).
/// Each check the script runs is one expectation here, so a failure names the check.
@Suite(.serialized)
struct ServerTests {
    static let python = LoomProcess.root.appendingPathComponent(".fixtures/venv-openai/bin/python").path
    static let checks = LoomProcess.root.appendingPathComponent("Tests/ServerChecks/openai_checks.py").path

    /// Starts the server, runs one group of checks, stops the server with SIGTERM and expects a clean exit.
    private func run(_ group: String, serverArguments: [String] = [], apiKey: String? = nil, stopsItself: Bool = false,
                     checkArguments: [String] = []) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.python),
                     "no \(Self.python): run tools/fixtures/fetch (it makes the openai client's environment)")
        let server = try ServerProcess(arguments: ["--parallel", "8", "--threads", "2"] + serverArguments)
        defer { server.kill() }
        var arguments = [Self.checks, "--base-url", server.baseURL, "--group", group, "--loom", try LoomProcess.requireBinary(),
                         "--server-pid", String(server.pid)]
        if let apiKey { arguments += ["--api-key", apiKey] }
        arguments += checkArguments
        let result = try LoomProcess.launch(Self.python, arguments)
        let reports = result.stdout.split(separator: "\n").compactMap { line -> [String: Any]? in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        #expect(!reports.isEmpty, "the checks reported nothing:\n\(result.stdout)\n\(result.stderr)")
        for report in reports {
            let name = report["check"] as? String ?? "?"
            #expect(report["ok"] as? Bool == true, "\(name): \(report["detail"] ?? "")")
        }
        #expect(result.status == 0, "checks exited \(result.status):\n\(result.stderr.suffix(3000))")
        if !stopsItself { server.terminate() }
        let status = server.waitForExit(seconds: 30)
        #expect(status == 0, "loom serve exited with \(String(describing: status)) after SIGTERM:\n\(server.stderr.suffix(3000))")
    }

    @Test func chatAndTextCompletionsThroughTheOpenAIClient() throws {
        try run("api")
    }

    /// `--draft`: the demo model's Q8_0 file drafting for the served demo model.
    @Test func draftModelThroughTheServer() throws {
        try run("draft", serverArguments: ["--draft", LoomProcess.root.appendingPathComponent("Models/loom-demo/gguf/loom-demo-Q8_0.gguf").path])
    }

    @Test func promptCacheAcrossRequestsAndTenants() throws {
        try run("cache")
    }

    @Test func sixteenClientsGetWhatEachGetsAlone() throws {
        try run("concurrency")
    }

    @Test func aDisconnectedClientFreesItsPages() throws {
        try run("disconnect")
    }

    @Test func apiKeysFromAFile() throws {
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("loom-keys-\(UUID().uuidString)")
        try "# one key per line\nfirst-key\nsecond-key\n".write(to: keys, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: keys) }
        try run("auth", serverArguments: ["--api-key-file", keys.path, "--metrics-key", "metrics-secret"], apiKey: "second-key")
    }

    @Test func sigtermDuringEightStreamsEndsEachCleanly() throws {
        try run("shutdown", serverArguments: ["--shutdown-timeout", "5"], stopsItself: true)
    }

    /// POST /v1/embeddings with all-MiniLM-L6-v2 beside the demo model, against sentence-transformers' vectors.
    @Test func embeddingsThroughTheOpenAIClient() throws {
        let encoder = LoomProcess.root.appendingPathComponent(".fixtures/minilm/all-MiniLM-L6-v2").path
        try #require(FileManager.default.fileExists(atPath: encoder + "/model.safetensors"), "no \(encoder): run tools/fixtures/fetch")
        try run("embeddings", serverArguments: ["--embedding-model", encoder],
                checkArguments: ["--golden", LoomProcess.root.appendingPathComponent("Tests/Fixtures/embeddings/minilm").path])
    }

    @Test func soakOfAThousandRequests() throws {
        try run("soak")
    }

    /// The README's two serving lines: the server command (on a free port) and the curl request.
    @Test func readmeServingExample() throws {
        let readme = try String(contentsOf: LoomProcess.root.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.split(separator: "\n").map(String.init)
        let serve = try #require(lines.first { $0.hasPrefix("swift run -c release loom serve") }, "the README has no serve command")
        let curl = try #require(lines.first { $0.hasPrefix("curl -s http://127.0.0.1:8080/") }, "the README has no curl example")
        var arguments = serve.split(separator: " ").dropFirst(6).map(String.init)
        let port = try #require(arguments.firstIndex(of: "--port"))
        arguments[port + 1] = "0"
        let server = try ServerProcess(arguments: arguments)
        defer { server.kill() }
        let result = try LoomProcess.launch("/bin/sh", ["-c", curl.replacingOccurrences(of: "http://127.0.0.1:8080", with: server.baseURL)])
        #expect(result.status == 0, "\(result.stderr)")
        let events = result.stdout.split(separator: "\n").filter { $0.hasPrefix("data: ") }.map { $0.dropFirst(6) }
        #expect(events.last == "[DONE]", "\(result.stdout)")
        for event in events.dropLast() {
            let object = try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any]
            #expect(object?["object"] as? String == "chat.completion.chunk", "\(event)")
        }
        #expect(events.count > 3, "\(result.stdout)")
        server.terminate()
        #expect(server.waitForExit(seconds: 30) == 0)
    }

    @Test func refusesToStartWhenThePlanDoesNotFit() throws {
        let result = try LoomProcess.run(["serve", "--port", "0", "--devices", "cpu:8MB"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("does not fit"), "\(result.stderr)")
        #expect(!result.stderr.contains("listening"), "\(result.stderr)")
    }
}

/// A `loom serve` process: started with `--port 0`, ready once it has said so on stderr.
final class ServerProcess {
    let process = Process()
    let pid: Int32
    private(set) var baseURL = ""
    private let errPath: URL

    init(arguments: [String]) throws {
        errPath = FileManager.default.temporaryDirectory.appendingPathComponent("loom-serve-\(UUID().uuidString).err")
        try Data().write(to: errPath)
        process.executableURL = URL(fileURLWithPath: try LoomProcess.requireBinary())
        process.arguments = ["serve"] + (arguments.contains("--port") ? arguments : ["--port", "0"] + arguments)
        process.currentDirectoryURL = LoomProcess.root
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errPath)
        try process.run()
        pid = process.processIdentifier
        let deadline = Date() + 120
        while Date() < deadline {
            let text = stderr
            if let range = text.range(of: "listening on "), let end = text[range.upperBound...].firstIndex(of: "\n") {
                baseURL = String(text[range.upperBound..<end])
            }
            if !baseURL.isEmpty && text.contains(" is ready ") { return }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill()
        throw ServerStartError(log: stderr)
    }

    struct ServerStartError: Error, CustomStringConvertible {
        let log: String
        var description: String { "loom serve did not become ready:\n\(log)" }
    }

    var stderr: String { (try? String(contentsOf: errPath, encoding: .utf8)) ?? "" }

    func terminate() { if process.isRunning { process.terminate() } }

    func kill() {
        if process.isRunning { Foundation.kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: errPath)
    }

    /// The exit status, or nil if it is still running after `seconds`.
    func waitForExit(seconds: Double) -> Int32? {
        let deadline = Date() + seconds
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return process.isRunning ? nil : process.terminationStatus
    }
}
