/// Renders a parsed template: statements write to the output, expressions evaluate with
/// Python semantics. Runtime errors are tagged with the line of the statement being rendered.
final class JinjaEvaluator {
    /// How a statement list ended: normally or by `{% break %}` / `{% continue %}`.
    enum Flow { case normal, breakLoop, continueLoop }

    /// What this render may still spend.
    let budget: JinjaBudget

    init(budget: JinjaBudget) { self.budget = budget }

    // MARK: Statements

    func render(_ nodes: [JinjaNode], scope: JinjaScope, into out: inout String) throws -> Flow {
        for node in nodes {
            let flow = try attachingLine(of: node) {
                try budget.step()
                try budget.enter()
                defer { budget.leave() }
                let flow = try render(node, scope: scope, into: &out)
                try budget.written(out)
                return flow
            }
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func line(of node: JinjaNode) -> Int {
        switch node {
        case .text: return 0
        case .output(_, let line), .ifElse(_, _, let line), .set(_, _, let line), .setBlock(_, _, _, let line),
             .filterBlock(_, _, let line), .breakLoop(let line), .continueLoop(let line):
            return line
        case .forLoop(let loop): return loop.line
        case .macro(let m): return m.line
        }
    }

    /// Converts an error without a line (raised by a value operation) into a `ChatTemplateError`.
    private func attachingLine<T>(of node: JinjaNode, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as JinjaRuntimeError {
            throw ChatTemplateError.runtime(kind: e.kind, message: e.message, line: line(of: node))
        } catch let e as JinjaRaisedError {
            throw ChatTemplateError.raised(message: e.message, line: line(of: node))
        } catch let e as JinjaUnsupportedError {
            throw ChatTemplateError.unsupportedFeature(feature: e.feature, line: line(of: node))
        } catch let e as JinjaLimitError {
            throw ChatTemplateError.limitExceeded(limit: e.limit, value: e.value, line: line(of: node))
        }
    }

    private func render(_ node: JinjaNode, scope: JinjaScope, into out: inout String) throws -> Flow {
        switch node {
        case .text(let text):
            out += text
        case .output(let expr, _):
            out += try eval(expr, scope).pythonStr
        case .ifElse(let branches, let otherwise, _):
            for (test, body) in branches {
                if try eval(test, scope).isTruthy { return try render(body, scope: scope, into: &out) }
            }
            return try render(otherwise, scope: scope, into: &out)
        case .forLoop(let loop):
            return try renderFor(loop, scope: scope, into: &out)
        case .set(let target, let expr, _):
            // Only assignments carry values from one statement to the next, so checking them
            // bounds how deeply any value can nest (`{% set ns.x = [ns.x] %}` in a loop).
            let value = try eval(expr, scope)
            try budget.checkNesting(value, into: namespaces(assignedBy: target, in: scope))
            try assign(target, value, in: scope)
        case .setBlock(let target, let filters, let body, _):
            var captured = ""
            _ = try render(body, scope: JinjaScope(parent: scope), into: &captured)
            try assign(target, try applyFilters(filters, to: .string(captured), scope: scope), in: scope)
        case .macro(let definition):
            scope.assign(definition.name, .callable(makeMacro(definition, scope: scope)))
        case .filterBlock(let filters, let body, _):
            var captured = ""
            _ = try render(body, scope: JinjaScope(parent: scope), into: &captured)
            out += try applyFilters(filters, to: .string(captured), scope: scope).pythonStr
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        }
        return .normal
    }

    private func applyFilters(_ filters: [JinjaFilterCall], to value: JinjaValue, scope: JinjaScope) throws -> JinjaValue {
        var v = value
        for f in filters { v = try JinjaFilters.apply(f.name, to: v, args: try evalArgs(f.arguments, scope)) }
        return v
    }

    private func renderFor(_ loop: JinjaForLoop, scope: JinjaScope, into out: inout String) throws -> Flow {
        var items = try JinjaFilters.iterate(try eval(loop.iterable, scope))
        if let condition = loop.condition {
            items = try items.filter { item in
                let s = JinjaScope(parent: scope)
                try assign(loop.target, item, in: s)
                return try eval(condition, s).isTruthy
            }
        }
        if items.isEmpty {
            _ = try render(loop.otherwise, scope: JinjaScope(parent: scope), into: &out)
            return .normal
        }
        let count = items.count
        for (i, item) in items.enumerated() {
            let s = JinjaScope(parent: scope)
            try assign(loop.target, item, in: s)
            var info = JinjaDict()
            info["index"] = .int(i + 1)
            info["index0"] = .int(i)
            info["revindex"] = .int(count - i)
            info["revindex0"] = .int(count - i - 1)
            info["first"] = .bool(i == 0)
            info["last"] = .bool(i == count - 1)
            info["length"] = .int(count)
            info["depth"] = .int(1)
            info["depth0"] = .int(0)
            if i > 0 { info["previtem"] = items[i - 1] }
            if i + 1 < count { info["nextitem"] = items[i + 1] }
            info["cycle"] = .callable(JinjaCallable(name: "loop.cycle") { args, _ in
                guard !args.isEmpty else { throw JinjaRuntimeError.type("no items for cycling given") }
                return args[i % args.count]
            })
            s.assign("loop", .dict(info))
            if try render(loop.body, scope: s, into: &out) == .breakLoop { break }
        }
        return .normal
    }

    /// The namespaces whose attributes `target` sets.
    private func namespaces(assignedBy target: JinjaTarget, in scope: JinjaScope) -> [JinjaNamespace] {
        switch target {
        case .name: return []
        case .attribute(let object, _):
            if case .namespace(let ns) = scope.lookup(object) { return [ns] }
            return []
        case .tuple(let targets): return targets.flatMap { namespaces(assignedBy: $0, in: scope) }
        }
    }

    private func assign(_ target: JinjaTarget, _ value: JinjaValue, in scope: JinjaScope) throws {
        switch target {
        case .name(let name):
            scope.assign(name, value)
        case .attribute(let object, let attribute):
            guard case .namespace(let ns) = scope.lookup(object) else {
                throw JinjaRuntimeError.runtime("cannot assign attribute on non-namespace object")
            }
            if attribute.hasPrefix("_") {
                throw JinjaRuntimeError.security("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(attribute)'. Please rename the attribute.")
            }
            ns.attributes[attribute] = value
        case .tuple(let targets):
            let items = try JinjaFilters.iterate(value)
            guard items.count == targets.count else {
                throw JinjaRuntimeError.value(items.count > targets.count
                    ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, v) in zip(targets, items) { try assign(t, v, in: scope) }
        }
    }

    /// A macro closes over its defining scope; each call renders the body in a fresh child frame.
    private func makeMacro(_ definition: JinjaMacroDefinition, scope: JinjaScope) -> JinjaCallable {
        JinjaCallable(name: definition.name) { [unowned self] args, kwargs in
            let frame = JinjaScope(parent: scope)
            let params = definition.parameters
            if args.count > params.count {
                throw JinjaRuntimeError.type("macro '\(definition.name)' takes not more than \(params.count) argument(s)")
            }
            for (key, _) in kwargs where !params.contains(where: { $0.0 == key }) {
                throw JinjaRuntimeError.type("macro '\(definition.name)' takes no keyword argument '\(key)'")
            }
            // A recursive macro could otherwise deepen a value at every call.
            for value in args + kwargs.map(\.1) { try self.budget.checkNesting(value) }
            for (i, (name, defaultExpr)) in params.enumerated() {
                if i < args.count {
                    frame.assign(name, args[i])
                } else if let kw = kwargs.first(where: { $0.0 == name }) {
                    frame.assign(name, kw.1)
                } else if let defaultExpr {
                    frame.assign(name, try self.eval(defaultExpr, frame))
                } else {
                    frame.assign(name, .undefined(hint: "parameter '\(name)' was not provided"))
                }
            }
            var out = ""
            _ = try self.render(definition.body, scope: frame, into: &out)
            return .string(out)
        }
    }

    // MARK: Expressions

    func evalArgs(_ args: JinjaArguments, _ scope: JinjaScope) throws -> JinjaArgs {
        JinjaArgs(positional: try args.positional.map { try eval($0, scope) },
                  keyword: try args.keyword.map { ($0.0, try eval($0.1, scope)) })
    }

    func eval(_ expr: JinjaExpr, _ scope: JinjaScope) throws -> JinjaValue {
        try budget.step()
        try budget.enter()
        defer { budget.leave() }
        return try evalNode(expr, scope)
    }

    private func evalNode(_ expr: JinjaExpr, _ scope: JinjaScope) throws -> JinjaValue {
        switch expr {
        case .literal(let v): return v
        case .name(let n): return scope.lookup(n)
        case .list(let items): return .array(try items.map { try eval($0, scope) })
        case .tuple(let items): return .tuple(try items.map { try eval($0, scope) })
        case .dict(let pairs):
            var d = JinjaDict()
            for (k, v) in pairs {
                let key = try eval(k, scope)
                guard let dictKey = JinjaKey(key) else {
                    throw JinjaUnsupportedError(feature: "dict literal with a \(key.pythonTypeName) key")
                }
                d[dictKey] = try eval(v, scope)
            }
            return .dict(d)
        case .getattr(let object, let name):
            return try JinjaAccess.getattr(try eval(object, scope), name)
        case .getitem(let object, let key):
            return try JinjaAccess.getitem(try eval(object, scope), try eval(key, scope))
        case .slice(let object, let start, let stop, let step):
            let bound = { (e: JinjaExpr?) throws -> JinjaValue in try e.map { try self.eval($0, scope) } ?? .none }
            return try JinjaAccess.slice(try eval(object, scope), start: try bound(start), stop: try bound(stop), step: try bound(step))
        case .call(let callee, let arguments):
            let function = try eval(callee, scope)
            let args = try evalArgs(arguments, scope)
            guard case .callable(let c) = function else {
                if case .undefined(let hint) = function { throw JinjaRuntimeError.undefined(hint) }
                throw JinjaRuntimeError.type("'\(function.pythonTypeName)' object is not callable")
            }
            return try c.call(args.positional, args.keyword)
        case .filter(let value, let name, let arguments, _):
            return try JinjaFilters.apply(name, to: try eval(value, scope), args: try evalArgs(arguments, scope))
        case .test(let value, let name, let arguments, let negated, _):
            let result = try JinjaTests.apply(name, to: try eval(value, scope), args: try evalArgs(arguments, scope))
            return .bool(result != negated)
        case .unary(let op, let operand):
            return try JinjaOperators.unary(op, try eval(operand, scope))
        case .binary(let op, let left, let right):
            return try JinjaOperators.binary(op, try eval(left, scope), try eval(right, scope))
        case .and(let left, let right):
            let l = try eval(left, scope)
            return l.isTruthy ? try eval(right, scope) : l
        case .or(let left, let right):
            let l = try eval(left, scope)
            return l.isTruthy ? l : try eval(right, scope)
        case .not(let operand):
            return .bool(!(try eval(operand, scope).isTruthy))
        case .compare(let first, let ops):
            var left = try eval(first, scope)
            for (op, rightExpr) in ops {
                let right = try eval(rightExpr, scope)
                if !(try JinjaOperators.compare(op, left, right)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .conditional(let test, let then, let otherwise):
            if try eval(test, scope).isTruthy { return try eval(then, scope) }
            guard let otherwise else {
                return .undefined(hint: "the inline if-expression on line evaluated to false and no else section was defined.")
            }
            return try eval(otherwise, scope)
        case .concat(let parts):
            let strings = try parts.map { try eval($0, scope).pythonStr }
            try budget.allocate(bytes: strings.reduce(0) { $0 + $1.utf8.count })
            return .string(strings.joined())
        }
    }
}
