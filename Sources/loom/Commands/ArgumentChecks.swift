import ArgumentParser
import LoomKernels
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// Whether `validate()` checks run. ArgumentParser validates a command before it looks for
/// arguments that nothing consumed, so a misspelt option (`--promt hi`) would be reported as the
/// check it made fail ("give exactly one of --prompt and --tokens"). `Loom.main` parses a
/// second time with the checks off when parsing fails: if that parse fails too, its error (the
/// unknown option, with ArgumentParser's suggestion) is the one to report.
enum ArgumentCheck {
    @TaskLocal static var isOn = true
}

extension Loom {
    static func main() {
        // C stdio, which `print` writes through, buffers a pipe or a file in 4 KiB blocks: a
        // long command piped into `tee` or `grep` would show nothing until it ended.
        setvbuf(stdout, nil, _IOLBF, 0)
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            do {
                _ = try ArgumentCheck.$isOn.withValue(false) { try parseAsRoot(arguments) }
            } catch let structural {
                exit(withError: structural)
            }
            exit(withError: error)
        }
        if let problem = KernelPath.environmentChoice.problem {
            fputs("error: \(problem)\n", stderr)
            exit(withError: ExitCode(2))
        }
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Runs `checks`, turning any error into a ValidationError: ArgumentParser prints the
/// subcommand's usage only after a ValidationError.
func validating(_ checks: () throws -> Void) throws {
    do { try checks() } catch let error as ValidationError {
        throw error
    } catch {
        throw ValidationError("\(error)")
    }
}

/// "1 token", "2 tokens".
func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}

/// Throws "NAME must be at least MINIMUM, got VALUE" when `value` is below `minimum`.
func requireAtLeast(_ minimum: Int, _ value: Int, _ name: String) throws {
    guard value >= minimum else { throw ValidationError("\(name) must be at least \(minimum), got \(value)") }
}
