import Foundation
import Testing

/// What the CLI says when it is given something wrong: the option or file that is wrong, the
/// subcommand's usage for a usage error, and exit statuses scripts can rely on.
@Suite struct MessageTests {
    /// ArgumentParser's status for a usage error (EX_USAGE).
    static let usageStatus: Int32 = 64

    func expectUsageError(_ result: LoomProcess.Result, _ message: String, usage subcommand: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == Self.usageStatus, "status \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("Error: \(message)\n"), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains("Usage: loom \(subcommand) "), "\(result.stderr)", sourceLocation: sourceLocation)
    }

    /// A path under the temporary folder that does not exist.
    func missingPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("loom-missing-\(UUID().uuidString)").path
    }

    @Test(arguments: [("--max-tokens", "-1", "--max-tokens must be at least 0, got -1"),
                      ("--threads", "-3", "--threads must be at least 1, got -3"),
                      ("--max-seq-len", "-5", "--max-seq-len must be at least 1 or 'auto', got -5")])
    func negativeNumbersAreValuesThatAreChecked(_ option: String, _ value: String, _ message: String) throws {
        expectUsageError(try LoomProcess.run(["generate", "--prompt", "hi", option, value]), message, usage: "generate")
    }

    /// `--tokens` runs the plain sampler loop: flags it would silently drop are refused.
    @Test(arguments: [["--lookup", "3"], ["--draft", "Models/loom-demo/gguf/loom-demo-Q8_0.gguf"], ["--grammar", "GRAMMAR"]])
    func tokensRefuseWhatNeedsTheGenerator(_ flag: [String]) throws {
        let grammar = FileManager.default.temporaryDirectory.appendingPathComponent("loom-tokens-\(UUID().uuidString).gbnf")
        try "root ::= \"a\"\n".write(to: grammar, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: grammar) }
        let arguments = flag.map { $0 == "GRAMMAR" ? grammar.path : $0 }
        expectUsageError(try LoomProcess.run(["generate", "--tokens", "1,2"] + arguments),
                         "--tokens runs the plain sampler on token ids; --lookup, --draft, --grammar and --json-schema need --prompt",
                         usage: "generate")
    }

    @Test func aNegativeValueThatIsAllowedIsTaken() throws {
        // llama.cpp's -1: the penalties look at the whole context.
        let result = try LoomProcess.run(["generate", "--tokens", "1,2", "--max-tokens", "1", "--repeat-last-n", "-1"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func zeroThreadsNamesThreadsAndTheSubcommandsUsage() throws {
        expectUsageError(try LoomProcess.run(["generate", "--prompt", "hi", "--threads", "0"]), "--threads must be at least 1, got 0",
                         usage: "generate")
        expectUsageError(try LoomProcess.run(["plan", "smaug-72b", "-t", "0"]), "--threads must be at least 1, got 0", usage: "plan")
    }

    @Test func aBadSplitBlamesSplitAndDescribesIt() throws {
        let result = try LoomProcess.run(["plan", "smaug-72b", "--devices", "3x24GB", "--split", "10,abc"])
        expectUsageError(result, "--split '10,abc': 'abc' is not a budget: give each device's budget in GB, comma-separated, "
                         + "such as 10,14,23, or with a unit (10GB, 13.5GiB, 512MB)", usage: "plan")
        #expect(!result.stderr.contains("--devices"))
    }

    @Test func aMisspeltOptionIsReportedBeforeTheCheckItMakesFail() throws {
        expectUsageError(try LoomProcess.run(["generate", "--promt", "hi"]), "Unknown option '--promt'. Did you mean '--prompt'?",
                         usage: "generate")
        // With nothing misspelt, the check itself is what is reported.
        expectUsageError(try LoomProcess.run(["generate", "--prompt", "hi", "--tokens", "1"]),
                         "give at most one of --prompt, --tokens and --prompts-file", usage: "generate")
    }

    @Test func aMissingPathIsNamedAsMissing() throws {
        let path = missingPath()
        for arguments in [["inspect", path], ["generate", "--model", path, "--prompt", "hi"], ["plan", path]] {
            let result = try LoomProcess.run(arguments)
            #expect(result.status == 1)
            #expect(result.stderr == "error: \(path): no such file or directory\n", "\(arguments): \(result.stderr)")
        }
    }

    @Test func aDirectoryWithoutAModelSaysWhatAModelDirectoryHas() throws {
        let folder = missingPath()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try LoomProcess.run(["inspect", folder])
        #expect(result.status == 1)
        #expect(result.stderr == "error: \(folder): not a model directory: no config.json or *.gguf\n", "\(result.stderr)")
    }

    @Test func aDirectoryHoldingOneGGUFFileIsThatModel() throws {
        let folder = missingPath()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = LoomProcess.root.appendingPathComponent("Models/loom-demo/gguf/loom-demo-Q8_0.gguf").path
        try FileManager.default.createSymbolicLink(atPath: folder + "/model.gguf", withDestinationPath: file)
        let fromFolder = try LoomProcess.run(["inspect", folder]), fromFile = try LoomProcess.run(["inspect", file])
        #expect(fromFolder.status == 0, "\(fromFolder.stderr)")
        #expect(fromFolder.stdout == fromFile.stdout)
    }

    @Test func inspectTakesCatalogNames() throws {
        let result = try LoomProcess.run(["inspect", "smaug-72b"])
        #expect(result.status == 0, "\(result.stderr)")
        // Smaug-72B's config.json: 80 layers, 64 KV heads of 128; K and V in fp16.
        #expect(result.stdout.contains("KV cache/token f32 \(2 * 80 * 64 * 128 * 4) B, fp16 \(2 * 80 * 64 * 128 * 2) B,"), "\(result.stdout)")
        #expect(result.stdout.contains("shape          80 layers, hidden 8192, 64 heads, 64 KV heads, head_dim 128, FFN 24576, vocab 152064"))
        #expect(result.stdout.contains("parameters     "))
        #expect(!result.stdout.contains("\non disk "))
    }

    @Test func aTinySplitNamesTheReserve() throws {
        let result = try LoomProcess.run(["plan", "qwen2.5-0.5b", "--devices", "4090", "--split", "0.05", "-t", "2"])
        #expect(result.status == 2)
        #expect(result.stdout.contains("\n  - the 64 MiB reserve (--reserve) does not fit in the budget of gpu0 (0.05 GB)\n"), "\(result.stdout)")
    }

    @Test func badPlanValuesNameTheOptionAndWhatItTakes() throws {
        expectUsageError(try LoomProcess.run(["plan", "smaug-72b", "--bpw", "0"]),
                         "--bpw must be above 1 and at most 32 (bits per weight, such as 3.0), got 0", usage: "plan")
        expectUsageError(try LoomProcess.run(["plan", "smaug-72b", "--cache", "q3"]),
                         "--cache must be one of f32, fp16, q8, q6, q4, got 'q3'", usage: "plan")
    }

    @Test func planExitStatusSaysWhetherItFits() throws {
        let base = ["plan", "smaug-72b", "--bpw", "3.0", "--devices", "3x24GB", "--max-seq-len", "8192", "-t", "2"]
        #expect(try LoomProcess.run(base).status == 0)
        let over = try LoomProcess.run(base + ["--split", "10,14,23"])
        #expect(over.status == 2)
        #expect(over.stdout.contains("\nDOES NOT FIT\n"))
        #expect(try LoomProcess.run(["plan", missingPath()]).status == 1)
    }

    static let subcommands = ["inspect", "plan", "logits", "generate", "chat", "bench", "bench-sampling", "features", "bench-kernels",
                              "bench-memory", "template", "tokenize", "detokenize", "bench-tokenizer", "perplexity", "synthesize"]

    @Test(arguments: subcommands)
    func helpSaysEachDefaultOnce(_ subcommand: String) throws {
        let result = try LoomProcess.run([subcommand, "--help"])
        #expect(result.status == 0)
        // An option's help runs over several lines; its entries start at the option column.
        var entries: [String] = []
        for line in result.stdout.split(separator: "\n") {
            if line.hasPrefix("  -") || entries.isEmpty { entries.append(String(line)) } else { entries[entries.count - 1] += " " + line }
        }
        for entry in entries {
            #expect(entry.components(separatedBy: "(default").count <= 2, "\(subcommand): \(entry)")
        }
    }

    @Test func threadsHelpSaysAllCores() throws {
        #expect(try LoomProcess.run(["plan", "--help"]).stdout.contains("-t, --threads <threads> Threads (default: the cores this process may use).\n"))
    }

    @Test func oneThreadIsOneThread() throws {
        let memory = try LoomProcess.run(["bench-memory", "-t", "1", "--mib", "1", "--passes", "1"])
        #expect(memory.stdout.contains(" GB/s (1 thread, 1 MiB, best of 1)"), "\(memory.stdout)")
        let kernels = try LoomProcess.run(["bench-kernels", "--types", "q8_0", "--shape", "8x32", "--tokens", "1", "--batch", "0", "-t", "1"])
        #expect(kernels.stdout.contains(", 1 thread] "), "\(kernels.stdout)")
    }

    @Test func tokenizeTakesAGGUFFileAsTheModel() throws {
        // The GGUF export carries the vocabulary of the model's tokenizer.json.
        let text = "The history of 中国 is long."
        let fromGGUF = try LoomProcess.run(["tokenize", "--model", "Models/loom-demo/gguf/loom-demo-Q8_0.gguf", text])
        let fromJSON = try LoomProcess.run(["tokenize", "--model", "Models/loom-demo/hf", text])
        #expect(fromGGUF.status == 0, "\(fromGGUF.stderr)")
        #expect(fromJSON.status == 0, "\(fromJSON.stderr)")
        #expect(!fromJSON.stdout.isEmpty && fromGGUF.stdout == fromJSON.stdout)
    }

    @Test func generateJSONReportsPlannedAndPeakBytes() throws {
        let result = try LoomProcess.run(["generate", "--prompt", "The history of", "--max-tokens", "2", "--seed", "1", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let devices = try #require(object["devices"] as? [[String: Any]])
        #expect(!devices.isEmpty)
        for device in devices {
            let planned = try #require(device["planned_bytes"] as? Int), peak = try #require(device["peak_bytes"] as? Int)
            let budget = try #require(device["budget_bytes"] as? Int)
            #expect(planned > 0 && peak > 0 && peak <= budget, "\(device)")
        }
    }
}
