import Foundation
import Testing
@testable import LoomChatTemplate

/// Hostile templates end with a `ChatTemplateError` that names the limit, in bounded time and
/// memory, and without overflowing a small thread stack; real templates stay far inside the
/// standard limits.
/// A result handed from the thread that made it to the one that waits for it.
final class ResultBox<T>: @unchecked Sendable { var value: T? }

@Suite struct LimitTests {
    /// Runs `body` on a thread with the stack a secondary thread gets on macOS (512 KiB), so
    /// recursion that a larger main-thread stack would absorb still shows as a crash.
    static func onSmallStack<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T {
        let box = ResultBox<T>(), done = DispatchSemaphore(value: 0)
        let thread = Thread { box.value = body(); done.signal() }
        thread.stackSize = 512 << 10
        thread.start()
        done.wait()
        return box.value!
    }

    /// The limit a template stops at (nil when it renders), parsed and rendered on a small stack.
    static func limitReached(_ source: String, limits: ChatTemplateLimits = .standard,
                             context: [String: JinjaValue] = [:]) -> String? {
        onSmallStack {
            do {
                _ = try ChatTemplate(source: source, limits: limits).renderContext(context)
                return nil
            } catch let ChatTemplateError.limitExceeded(limit, value, _) {
                return "\(limit) \(value)"
            } catch {
                return "other: \(error)"
            }
        }
    }

    static let standard = ChatTemplateLimits.standard

    @Test func nestedLoopsStopAtTheStepLimit() {
        let start = Date()
        let source = "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}"
        #expect(Self.limitReached(source) == "steps \(Self.standard.steps)")
        print("nested loops: stopped at \(Self.standard.steps) steps after \(Date().timeIntervalSince(start)) s")
    }

    @Test func aMacroThatCallsItselfStopsAtTheDepthLimit() {
        #expect(Self.limitReached("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}") == "depth \(Self.standard.depth)")
        // Mutual recursion, through a filter's argument.
        let mutual = "{% macro a(x) %}{{ b(x)|trim }}{% endmacro %}{% macro b(x) %}{{ a(x ~ '.') }}{% endmacro %}{{ a('') }}"
        #expect(Self.limitReached(mutual) == "depth \(Self.standard.depth)")
    }

    @Test func repetitionIsRefusedBeforeItIsBuilt() {
        #expect(Self.limitReached("{{ 'x' * 10**9 }}") == "value bytes \(Self.standard.valueBytes)")
        #expect(Self.limitReached("{{ 'x' * 10**18 * 10**18 }}") != nil)
        #expect(Self.limitReached("{{ ([1, 2, 3] * 10**8)|length }}") == "value bytes \(Self.standard.valueBytes)")
        #expect(Self.limitReached("{{ 'ab' * 3 }}") == nil)
    }

    @Test func aListGrownInALoopStops() {
        let source = "{% set ns = namespace(items=[]) %}{% for i in range(100000) %}{% for j in range(100000) %}"
            + "{% set ns.items = ns.items + [j] %}{% endfor %}{% endfor %}{{ ns.items|length }}"
        #expect(Self.limitReached(source) == "steps \(Self.standard.steps)")
        let doubling = "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
        // The steps its copies cost stop it first under the standard limits; without them, its size.
        #expect(Self.limitReached(doubling) == "steps \(Self.standard.steps)")
        #expect(Self.limitReached(doubling, limits: .init(steps: .max)) == "value bytes \(Self.standard.valueBytes)")
    }

    @Test func aValueNestedInALoopStopsAtTheDepthLimit() {
        let source = "{% set ns = namespace(x=1) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}"
        #expect(Self.limitReached(source) == "depth \(Self.standard.depth)")
        // A namespace that holds itself would print forever.
        for cycle in ["{% set ns.me = ns %}", "{% set ns.l = [1, [ns]] %}", "{% set other = namespace(x=ns) %}{% set ns.y = other %}"] {
            #expect(Self.limitReached("{% set ns = namespace(x=1) %}" + cycle + "{{ ns }}") == "depth \(Self.standard.depth)", "\(cycle)")
        }
    }

    @Test func outputStopsAtTheOutputLimit() {
        let source = "{% for i in range(100000) %}{% for j in range(100000) %}" + String(repeating: "x", count: 1000) + "{% endfor %}{% endfor %}"
        #expect(Self.limitReached(source) == "output bytes \(Self.standard.outputBytes)")
    }

    @Test func growingOperationsAreRefusedBeforeTheyAllocate() {
        let long = "{% set s = 'a' * 1000000 %}"
        #expect(Self.limitReached(long + "{{ s.replace('a', 'b' * 1000) }}") == "value bytes \(Self.standard.valueBytes)")
        #expect(Self.limitReached(long + "{{ s|replace('a', 'b' * 1000) }}") == "value bytes \(Self.standard.valueBytes)")
        #expect(Self.limitReached(long + "{{ s|replace('', 'b' * 1000) }}") == "value bytes \(Self.standard.valueBytes)")
        #expect(Self.limitReached("{% set l = ['x'] * 1000 %}{{ ('y' * 1000000).join(l) }}") == "value bytes \(Self.standard.valueBytes)")
        #expect(Self.limitReached("{% set l = ['x'] * 1000 %}{{ l|join('y' * 1000000) }}") == "value bytes \(Self.standard.valueBytes)")
        #expect(Self.limitReached("{{ (('x\n' * 100000))|indent(1000) }}") == "value bytes \(Self.standard.valueBytes)")
        #expect(Self.limitReached("{{ range(100)|list|tojson(indent=10**8) }}") == "value bytes \(Self.standard.valueBytes)")
    }

    @Test func hugeRangesFailAsJinja2sSandboxDoesWithoutBuildingThem() {
        for arguments in ["10**9", "10**18", "0, 0 - 10**18, -1", "-(2**62), 2**62, 3"] {
            let result = Self.limitReached("{% for i in range(\(arguments)) %}{% endfor %}")
            #expect(result?.contains("Range too big") == true, "\(arguments): \(result ?? "rendered")")
        }
        #expect(try! ChatTemplate(source: "{{ range(10, 0, -3)|list }}").renderContext([:]) == "[10, 7, 4, 1]")
    }

    @Test func powersOfHugeExponentsTakeNoTime() throws {
        // Wrapping, as every Loom integer operation does; Python would build a bignum.
        #expect(try ChatTemplate(source: "{{ 2 ** 10 }} {{ 3 ** 4 }} {{ 1 ** (10**18) }}").renderContext([:]) == "1024 81 1")
    }

    /// Templates nested past the limit are refused while parsing, before a tree that deep exists.
    @Test func deeplyNestedTemplatesAreRefusedAtParse() {
        let n = 100_000
        let depth = "depth \(Self.standard.depth)"
        #expect(Self.limitReached("{{ " + String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n) + " }}") == depth)
        #expect(Self.limitReached("{{ " + String(repeating: "[", count: n) + String(repeating: "]", count: n) + " }}") == depth)
        #expect(Self.limitReached("{{ 1" + String(repeating: " + 1", count: n) + " }}") == depth)
        #expect(Self.limitReached("{{ " + String(repeating: "not ", count: n) + "x }}") == depth)
        #expect(Self.limitReached("{{ " + String(repeating: "-", count: n) + "1 }}") == depth)
        #expect(Self.limitReached("{{ x" + String(repeating: ".a", count: n) + " }}") == depth)
        #expect(Self.limitReached("{{ x" + String(repeating: "|trim", count: n) + " }}") == depth)
        #expect(Self.limitReached(String(repeating: "{% if true %}", count: n) + String(repeating: "{% endif %}", count: n)) == depth)
        #expect(Self.limitReached("{{ 1" + String(repeating: " + 1", count: 100) + " }}") == nil)
    }

    /// Each limit can be set, and the error says which one stopped the render.
    @Test func everyLimitIsConfigurable() {
        #expect(Self.limitReached("{% for i in range(100) %}{{ i }}{% endfor %}", limits: .init(steps: 50)) == "steps 50")
        #expect(Self.limitReached("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", limits: .init(depth: 20)) == "depth 20")
        #expect(Self.limitReached("{{ x" + String(repeating: ".a", count: 30) + " }}", limits: .init(depth: 20)) == "depth 20")
        #expect(Self.limitReached("{{ 'x' * 11 }}", limits: .init(outputBytes: 10)) == "output bytes 10")
        #expect(Self.limitReached("{{ 'x' * 11 }}", limits: .init(valueBytes: 10)) == "value bytes 10")
        #expect(Self.limitReached("{{ 'x' * 10 }}", limits: .init(outputBytes: 10, valueBytes: 10)) == nil)
    }

    @Test func theErrorNamesTheLimitAndTheLine() {
        let error = ChatTemplateError.limitExceeded(limit: "steps", value: 50, line: 3)
        #expect(error.description == "chat template line 3: stopped at the limit of 50 steps (ChatTemplateLimits)")
        do {
            _ = try ChatTemplate(source: "a\nb\n{% for i in range(100) %}{{ i }}{% endfor %}", limits: .init(steps: 50)).renderContext([:])
            Issue.record("rendered")
        } catch {
            #expect(error as? ChatTemplateError == .limitExceeded(limit: "steps", value: 50, line: 3))
        }
    }

    /// The 70 real templates over the fixture's conversations: the most steps and the deepest
    /// nesting any of them takes, which the standard limits exceed many times over.
    @Test func realTemplatesStayFarInsideTheLimits() throws {
        var (steps, depth) = (0, 0)
        for c in RealTemplateFixture.cases where c.output != nil {
            let source = try String(contentsOf: RealTemplateFixture.templatesDirectory.appendingPathComponent(c.template), encoding: .utf8)
            let conversation = try #require(RealTemplateFixture.conversations[c.conversation])
            let context = ChatTemplate.chatContext(messages: conversation.messages, addGenerationPrompt: conversation.addGenerationPrompt,
                                                   bosToken: "<s>", eosToken: "</s>", tools: conversation.tools)
            let result = try ChatTemplate(source: source).renderMeasured(context, now: RealTemplateFixture.fixedNow)
            #expect(result.text == c.output, "\(c.template) / \(c.conversation)")
            steps = max(steps, result.steps)
            depth = max(depth, result.depth)
        }
        print("real templates: at most \(steps) steps and nesting \(depth); limits \(Self.standard.steps) and \(Self.standard.depth)")
        #expect(steps * 100 < Self.standard.steps)
        #expect(depth * 4 < Self.standard.depth)
    }
}
