import Foundation

/// What parsing and rendering one template may spend. A chat template comes with the model
/// file, so it is code from a stranger: each bound turns a runaway template (`range(10**9)`, a
/// macro that calls itself, `'x' * 10**9`, a loop that grows a list) into
/// `ChatTemplateError.limitExceeded` within bounded time and memory, instead of a hang, a stack
/// overflow or an out-of-memory kill.
public struct ChatTemplateLimits: Sendable, Equatable {
    /// Statements rendered and expressions evaluated in one render, where an operation that
    /// builds a string or list also counts one per 64 bytes of it, so the bound follows the work.
    public var steps: Int
    /// How deeply statements, expressions, values and macro calls may nest, in the parsed
    /// template and while rendering: recursion, and with it stack use, stays below this.
    public var depth: Int
    /// Bytes of the rendered text, and of any block or macro output captured on the way.
    public var outputBytes: Int
    /// Bytes of any one string or list the template builds (a list counts 16 bytes an item),
    /// checked before the operations that multiply sizes (`*`, `join`, `replace`, widths) allocate.
    public var valueBytes: Int

    /// The standard bounds: 2M steps is about 1.5 s of the busiest loop on one core and 700
    /// times what the longest of the 70 real templates takes over the test conversations; 500
    /// levels is 12 times their deepest nesting; 64 MiB is far more text than any context holds.
    public init(steps: Int = 2_000_000, depth: Int = 500, outputBytes: Int = 64 << 20, valueBytes: Int = 64 << 20) {
        self.steps = steps
        self.depth = depth
        self.outputBytes = outputBytes
        self.valueBytes = valueBytes
    }

    /// The bounds used unless a caller gives others; real templates stay far inside them.
    public static let standard = ChatTemplateLimits()
}

/// The spending of one render against its limits. Operations outside the evaluator (filters,
/// operators, methods) find it through `JinjaBudget.current`, which the render sets.
final class JinjaBudget: @unchecked Sendable {
    let limits: ChatTemplateLimits
    private(set) var steps = 0
    private(set) var depth = 0
    /// The deepest nesting reached, for tests and for choosing the limit.
    private(set) var deepest = 0

    init(limits: ChatTemplateLimits) { self.limits = limits }

    @TaskLocal static var current: JinjaBudget?

    /// One statement or expression.
    @inline(__always) func step() throws {
        try charge(1)
    }

    /// Enters one level of nesting; `leave()` must follow.
    @inline(__always) func enter() throws {
        depth += 1
        if depth > deepest { deepest = depth }
        if depth > limits.depth {
            depth -= 1
            throw JinjaLimitError(limit: "depth", value: limits.depth)
        }
    }

    @inline(__always) func leave() { depth -= 1 }

    /// Counts `work` steps against the limit.
    @inline(__always) private func charge(_ work: Int) throws {
        steps += work
        if steps > limits.steps { throw JinjaLimitError(limit: "steps", value: limits.steps) }
    }

    /// `a × b`, or `Int.max` where that overflows: a size no limit allows.
    static func product(_ a: Int, _ b: Int) -> Int {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int.max : value
    }

    /// `a + b`, or `Int.max` where that overflows.
    static func sum(_ a: Int, _ b: Int) -> Int {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : value
    }

    /// Allows a value of `bytes` bytes about to be built, charging its work to the steps.
    func allocate(bytes: Int) throws {
        guard bytes <= limits.valueBytes else { throw JinjaLimitError(limit: "value bytes", value: limits.valueBytes) }
        try charge(bytes >> 6)
    }

    /// Allows a list of `count` items about to be built.
    func allocate(items count: Int) throws {
        try allocate(bytes: Self.product(count, 16))
    }

    /// Checks the length of a rendered buffer.
    @inline(__always) func written(_ out: String) throws {
        if out.utf8.count > limits.outputBytes { throw JinjaLimitError(limit: "output bytes", value: limits.outputBytes) }
    }

    /// Checks that `value` nests no deeper than the limit, charging the items visited. Stored
    /// into one of the namespaces `targets`, a value that holds it would make it endlessly deep.
    func checkNesting(_ value: JinjaValue, into targets: [JinjaNamespace] = []) throws {
        var visited = 0
        func visit(_ v: JinjaValue, _ level: Int) throws {
            visited += 1
            guard level <= limits.depth else { throw JinjaLimitError(limit: "depth", value: limits.depth) }
            switch v {
            case .array(let items), .tuple(let items), .generator(let items): for item in items { try visit(item, level + 1) }
            case .dict(let d): for key in d.keys { try visit(d[key]!, level + 1) }
            case .namespace(let ns):
                if targets.contains(where: { $0 === ns }) { throw JinjaLimitError(limit: "depth", value: limits.depth) }
                for key in ns.attributes.keys { try visit(ns.attributes[key]!, level + 1) }
            default: break
            }
        }
        try visit(value, 1)
        try charge(visited >> 2)
    }

    /// Allows a string or list of `bytes` bytes in the render that is running, if any.
    static func allocate(bytes: Int) throws { try current?.allocate(bytes: bytes) }
    static func allocate(items: Int) throws { try current?.allocate(items: items) }
}

/// A limit reached, before the evaluator attaches the line.
struct JinjaLimitError: Error {
    let limit: String
    let value: Int
}

/// Parsing and rendering recurse once per level of nesting, and a level of expression costs
/// about 2 KB of stack (measured on x86-64, release). They run on a thread of their own, whose
/// stack holds `ChatTemplateLimits.depth` levels many times over, so a template at the limit
/// cannot overflow the caller's stack (a secondary thread has 512 KiB on macOS).
enum TemplateThread {
    static let stackBytes = 16 << 20

    static func run<T>(_ body: () throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            let work = Handoff<(() throws -> T)?>(body), result = Handoff<Result<T, any Error>?>(nil)
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                result.value = Result { try work.value!() }
                // The thread object outlives this call: it must not keep `body`.
                work.value = nil
                done.signal()
            }
            thread.stackSize = stackBytes
            thread.start()
            done.wait()
            return try result.value!.get()
        }
    }

    /// A value handed to the template thread and back; only one thread touches it at a time.
    private final class Handoff<Value>: @unchecked Sendable {
        var value: Value
        init(_ value: Value) { self.value = value }
    }
}
