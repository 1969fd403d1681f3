/// A recursive-descent parser that follows jinja2's `Parser` production by production, so that
/// precedence, implicit tuples and the `for ... if` filter parse as jinja2 parses them.
struct JinjaParser {
    private let tokens: [JinjaToken]
    private var index = 0
    /// Filters and tests named in the template, for jinja2's rule that an unknown one is a
    /// compile-time error unless it sits inside an `if` statement or `... if ... else ...`.
    private var dependencies: [(name: String, isFilter: Bool, line: Int, conditional: Bool)] = []

    /// The deepest nesting of blocks, and of expressions, the template may have.
    private let maxDepth: Int
    /// Blocks open around the current token.
    private var blockDepth = 0
    /// Nested expressions being parsed.
    private var recursion = 0

    init(tokens: [JinjaToken], maxDepth: Int = ChatTemplateLimits.standard.depth) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    static func parse(_ source: String, limits: ChatTemplateLimits = .standard) throws -> [JinjaNode] {
        var parser = JinjaParser(tokens: try JinjaLexer.tokenize(source), maxDepth: limits.depth)
        let nodes = try parser.subparse(endTokens: [])
        if parser.index < parser.tokens.count {
            throw parser.error("unexpected '\(parser.describe(parser.current))'")
        }
        for dep in parser.dependencies where !dep.conditional {
            let known = dep.isFilter ? JinjaFilters.names.contains(dep.name) : JinjaTests.names.contains(dep.name)
            if !known {
                throw ChatTemplateError.syntax(message: "No \(dep.isFilter ? "filter" : "test") named '\(dep.name)'.", line: dep.line)
            }
        }
        return nodes
    }

    // MARK: Token stream

    private var current: JinjaToken? { index < tokens.count ? tokens[index] : nil }
    private func peek(_ offset: Int = 1) -> JinjaToken? { index + offset < tokens.count ? tokens[index + offset] : nil }
    private var line: Int { current?.line ?? tokens.last?.line ?? 1 }

    private func error(_ message: String) -> ChatTemplateError { .syntax(message: message, line: line) }

    /// `expr`, once it is known to nest no deeper than the limit. Every node that wraps others is
    /// checked as it is built, so no deeper tree ever exists: evaluating one, and freeing it,
    /// recurses once per level.
    private func bounded(_ expr: JinjaExpr) throws -> JinjaExpr {
        if Self.depth(of: expr) > maxDepth { throw ChatTemplateError.limitExceeded(limit: "depth", value: maxDepth, line: line) }
        return expr
    }

    /// Levels of `expr` (a leaf is 1).
    private static func depth(of expr: JinjaExpr) -> Int {
        func most(_ exprs: [JinjaExpr]) -> Int { exprs.reduce(0) { max($0, depth(of: $1)) } }
        func arguments(_ a: JinjaArguments) -> Int { max(most(a.positional), most(a.keyword.map(\.1))) }
        switch expr {
        case .literal, .name: return 1
        case .list(let items), .tuple(let items), .concat(let items): return 1 + most(items)
        case .dict(let pairs): return 1 + max(most(pairs.map(\.0)), most(pairs.map(\.1)))
        case .getattr(let e, _), .unary(_, let e), .not(let e): return 1 + depth(of: e)
        case .getitem(let a, let b), .binary(_, let a, let b), .and(let a, let b), .or(let a, let b): return 1 + max(depth(of: a), depth(of: b))
        case .slice(let e, let start, let stop, let step): return 1 + most([e] + [start, stop, step].compactMap { $0 })
        case .call(let e, let args), .filter(let e, _, let args, _), .test(let e, _, let args, _, _): return 1 + max(depth(of: e), arguments(args))
        case .compare(let first, let ops): return 1 + max(depth(of: first), most(ops.map(\.1)))
        case .conditional(let test, let then, let otherwise): return 1 + most([test, then] + (otherwise.map { [$0] } ?? []))
        }
    }

    private func describe(_ token: JinjaToken?) -> String {
        guard let token else { return "end of template" }
        switch token.kind {
        case .data: return "template data"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name(let n): return n
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .float(let d): return String(d)
        case .op(let o): return o
        }
    }

    private func isOp(_ op: String, _ token: JinjaToken? = nil) -> Bool {
        if case .op(let o) = (token ?? current)?.kind { return o == op }
        return false
    }

    private func isName(_ name: String, _ token: JinjaToken? = nil) -> Bool {
        if case .name(let n) = (token ?? current)?.kind { return n == name }
        return false
    }

    private mutating func skipOp(_ op: String) -> Bool {
        if isOp(op) { index += 1; return true }
        return false
    }

    private mutating func skipName(_ name: String) -> Bool {
        if isName(name) { index += 1; return true }
        return false
    }

    private mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw error("expected token '\(op)', got '\(describe(current))'") }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let n) = current?.kind else { throw error("expected token 'name', got '\(describe(current))'") }
        index += 1
        return n
    }

    private mutating func expectKind(_ kind: JinjaToken.Kind) throws {
        guard current?.kind == kind else { throw error("expected '\(describe(JinjaToken(kind: kind, line: 0)))', got '\(describe(current))'") }
        index += 1
    }

    // MARK: Statements

    /// Nodes up to one of `endTokens` (a block tag whose name is in the list), which is left unconsumed
    /// with the stream positioned on the tag name.
    private mutating func subparse(endTokens: Set<String>) throws -> [JinjaNode] {
        var body: [JinjaNode] = []
        while let token = current {
            switch token.kind {
            case .data(let text):
                body.append(.text(text))
                index += 1
            case .variableBegin:
                index += 1
                let expr = try parseTuple()
                body.append(.output(expr, line: token.line))
                try expectKind(.variableEnd)
            case .blockBegin:
                index += 1
                if case .name(let n) = current?.kind, endTokens.contains(n) { return body }
                body.append(contentsOf: try parseStatement())
                try expectKind(.blockEnd)
            default:
                throw error("unexpected '\(describe(token))'")
            }
        }
        if !endTokens.isEmpty {
            throw error("Unexpected end of template. Jinja was looking for the following tags: "
                + endTokens.sorted().map { "'\($0)'" }.joined(separator: " or ") + ".")
        }
        return body
    }

    /// The body of a block statement after its opening tag, up to an end tag, which is consumed
    /// when `dropNeedle` (the caller then expects the closing `%}`).
    private mutating func parseStatements(_ endTokens: Set<String>, dropNeedle: Bool = false) throws -> [JinjaNode] {
        _ = skipOp(":")
        try expectKind(.blockEnd)
        blockDepth += 1
        defer { blockDepth -= 1 }
        if blockDepth > maxDepth { throw ChatTemplateError.limitExceeded(limit: "depth", value: maxDepth, line: line) }
        let body = try subparse(endTokens: endTokens)
        if dropNeedle { index += 1 }
        return body
    }

    private mutating func parseStatement() throws -> [JinjaNode] {
        let line = self.line
        guard case .name(let keyword) = current?.kind else { throw error("tag name expected") }
        switch keyword {
        case "for": return [try parseFor()]
        case "if": return [try parseIf()]
        case "set": return [try parseSet()]
        case "macro": return [try parseMacro()]
        case "filter":
            index += 1
            let filters = try parseFilterChain(startInline: true)
            let body = try parseStatements(["endfilter"], dropNeedle: true)
            return [.filterBlock(filters: filters, body: body, line: line)]
        case "generation":
            // transformers' AssistantTracker tag: renders its body in a call-block scope.
            index += 1
            let body = try parseStatements(["endgeneration"], dropNeedle: true)
            return [.filterBlock(filters: [], body: body, line: line)]
        case "break": index += 1; return [.breakLoop(line: line)]
        case "continue": index += 1; return [.continueLoop(line: line)]
        case "block", "extends", "include", "import", "from", "with", "autoescape", "call", "print", "do":
            throw ChatTemplateError.unsupportedFeature(feature: "{% \(keyword) %} statement", line: line)
        default:
            throw error("Encountered unknown tag '\(keyword)'.")
        }
    }

    private mutating func parseFor() throws -> JinjaNode {
        let line = self.line
        index += 1
        let target = try parseAssignTarget(extraEnd: ["in"])
        guard skipName("in") else { throw error("expected token 'in', got '\(describe(current))'") }
        let iterable = try parseTuple(withConditional: false, extraEnd: ["recursive"])
        var condition: JinjaExpr? = nil
        if skipName("if") { condition = try parseExpression() }
        if isName("recursive") {
            throw ChatTemplateError.unsupportedFeature(feature: "recursive for loop", line: line)
        }
        let body = try parseStatements(["endfor", "else"])
        var otherwise: [JinjaNode] = []
        if case .name("else") = current?.kind {
            index += 1
            otherwise = try parseStatements(["endfor"], dropNeedle: true)
        } else {
            index += 1
        }
        return .forLoop(JinjaForLoop(target: target, iterable: iterable, condition: condition,
                                     body: body, otherwise: otherwise, line: line))
    }

    private mutating func parseIf() throws -> JinjaNode {
        let line = self.line
        let firstDependency = dependencies.count
        index += 1
        var branches: [(JinjaExpr, [JinjaNode])] = []
        var otherwise: [JinjaNode] = []
        while true {
            let test = try parseTuple(withConditional: false)
            let body = try parseStatements(["elif", "else", "endif"])
            branches.append((test, body))
            let tag = try expectName()
            if tag == "elif" { continue }
            if tag == "else" { otherwise = try parseStatements(["endif"], dropNeedle: true) }
            break
        }
        markConditional(from: firstDependency)
        return .ifElse(branches: branches, otherwise: otherwise, line: line)
    }

    private mutating func markConditional(from start: Int) {
        for i in start..<dependencies.count { dependencies[i].conditional = true }
    }

    private mutating func parseSet() throws -> JinjaNode {
        let line = self.line
        index += 1
        let target = try parseAssignTarget(withNamespace: true)
        if skipOp("=") {
            return .set(target, try parseTuple(), line: line)
        }
        let filters = try parseFilterChain(startInline: false)
        let body = try parseStatements(["endset"], dropNeedle: true)
        return .setBlock(target, filters: filters, body: body, line: line)
    }

    private mutating func parseMacro() throws -> JinjaNode {
        let line = self.line
        index += 1
        let name = try expectName()
        try expectOp("(")
        var parameters: [(String, JinjaExpr?)] = []
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            let param = try expectName()
            if skipOp("=") {
                parameters.append((param, try parseExpression()))
            } else {
                if parameters.contains(where: { $0.1 != nil }) { throw error("non-default argument follows default argument") }
                parameters.append((param, nil))
            }
        }
        try expectOp(")")
        let body = try parseStatements(["endmacro"], dropNeedle: true)
        if case .name(let closing) = current?.kind, closing == name { index += 1 }
        return .macro(JinjaMacroDefinition(name: name, parameters: parameters, body: body, line: line))
    }

    private mutating func parseAssignTarget(extraEnd: Set<String> = [], withNamespace: Bool = false) throws -> JinjaTarget {
        if withNamespace, isOp(".", peek()) {
            let ns = try expectName()
            index += 1
            return .attribute(ns, try expectName())
        }
        var targets: [JinjaTarget] = []
        var isTuple = false
        while true {
            if !targets.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            if skipOp("(") {
                targets.append(try parseAssignTarget(extraEnd: extraEnd))
                try expectOp(")")
            } else {
                let name = try expectName()
                if ["true", "false", "none", "True", "False", "None"].contains(name) {
                    throw error("can't assign to 'Const'")
                }
                targets.append(.name(name))
            }
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple, let only = targets.first { return only }
        if targets.isEmpty { throw error("Expected an expression, got '\(describe(current))'") }
        return .tuple(targets)
    }

    private func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        guard let token = current else { return true }
        switch token.kind {
        case .variableEnd, .blockEnd: return true
        case .op(")"): return true
        case .name(let n): return extraEnd.contains(n)
        default: return false
        }
    }

    // MARK: Expressions

    private mutating func parseTuple(withConditional: Bool = true, extraEnd: Set<String> = [],
                                     explicitParentheses: Bool = false) throws -> JinjaExpr {
        var items: [JinjaExpr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            items.append(try parseExpression(withConditional: withConditional))
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParentheses { throw error("Expected an expression, got '\(describe(current))'") }
        }
        return try bounded(.tuple(items))
    }

    private mutating func parseExpression(withConditional: Bool = true) throws -> JinjaExpr {
        try nested { withConditional ? try $0.parseConditional() : try $0.parseOr() }
    }

    /// Runs one level of the parser's own recursion (a nested expression, `not`, a sign), which
    /// `bounded` cannot see: `((((x))))` and `not not x` recurse without building a node a level.
    private mutating func nested(_ parse: (inout JinjaParser) throws -> JinjaExpr) throws -> JinjaExpr {
        recursion += 1
        defer { recursion -= 1 }
        if recursion > maxDepth { throw ChatTemplateError.limitExceeded(limit: "depth", value: maxDepth, line: line) }
        return try parse(&self)
    }

    private mutating func parseConditional() throws -> JinjaExpr {
        let firstDependency = dependencies.count
        var expr = try parseOr()
        while skipName("if") {
            let test = try parseOr()
            let otherwise: JinjaExpr? = skipName("else") ? try parseConditional() : nil
            expr = try bounded(.conditional(test: test, then: expr, otherwise: otherwise))
            markConditional(from: firstDependency)
        }
        return expr
    }

    private mutating func parseOr() throws -> JinjaExpr {
        var left = try parseAnd()
        while skipName("or") { left = try bounded(.or(left, try parseAnd())) }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpr {
        var left = try parseNot()
        while skipName("and") { left = try bounded(.and(left, try parseNot())) }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpr {
        if skipName("not") { return try bounded(.not(try nested { try $0.parseNot() })) }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpr {
        let first = try parseMath1()
        var ops: [(String, JinjaExpr)] = []
        while true {
            if case .op(let o) = current?.kind, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                index += 1
                ops.append((o, try parseMath1()))
            } else if skipName("in") {
                ops.append(("in", try parseMath1()))
            } else if isName("not"), isName("in", peek()) {
                index += 2
                ops.append(("not in", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? first : try bounded(.compare(first, ops))
    }

    private mutating func parseMath1() throws -> JinjaExpr {
        var left = try parseConcat()
        while case .op(let o) = current?.kind, o == "+" || o == "-" {
            index += 1
            left = try bounded(.binary(o, left, try parseConcat()))
        }
        return left
    }

    private mutating func parseConcat() throws -> JinjaExpr {
        var parts = [try parseMath2()]
        while skipOp("~") { parts.append(try parseMath2()) }
        return parts.count == 1 ? parts[0] : try bounded(.concat(parts))
    }

    private mutating func parseMath2() throws -> JinjaExpr {
        var left = try parsePow()
        while case .op(let o) = current?.kind, ["*", "/", "//", "%"].contains(o) {
            index += 1
            left = try bounded(.binary(o, left, try parsePow()))
        }
        return left
    }

    private mutating func parsePow() throws -> JinjaExpr {
        var left = try parseUnary()
        while skipOp("**") { left = try bounded(.binary("**", left, try parseUnary())) }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> JinjaExpr {
        var node: JinjaExpr
        if skipOp("-") {
            node = try bounded(.unary("-", try nested { try $0.parseUnary(withFilter: false) }))
        } else if skipOp("+") {
            node = try bounded(.unary("+", try nested { try $0.parseUnary(withFilter: false) }))
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpression(node) }
        return node
    }

    private mutating func parsePrimary() throws -> JinjaExpr {
        guard let token = current else { throw error("unexpected end of template") }
        switch token.kind {
        case .name(let n):
            index += 1
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n)
            }
        case .string(var s):
            index += 1
            while case .string(let more) = current?.kind { s += more; index += 1 }
            return .literal(.string(s))
        case .integer(let i): index += 1; return .literal(.int(i))
        case .float(let d): index += 1; return .literal(.double(d))
        case .op("("):
            index += 1
            let expr = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return expr
        case .op("["):
            index += 1
            var items: [JinjaExpr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return try bounded(.list(items))
        case .op("{"):
            index += 1
            var items: [(JinjaExpr, JinjaExpr)] = []
            while !isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                items.append((key, try parseExpression()))
            }
            try expectOp("}")
            return try bounded(.dict(items))
        default:
            throw error("unexpected '\(describe(token))'")
        }
    }

    private mutating func parsePostfix(_ start: JinjaExpr) throws -> JinjaExpr {
        var node = start
        while true {
            if isOp(".") || isOp("[") {
                node = try bounded(try parseSubscript(node))
            } else if isOp("(") {
                node = try bounded(.call(node, try parseCallArguments()))
            } else {
                return node
            }
        }
    }

    private mutating func parseFilterExpression(_ start: JinjaExpr) throws -> JinjaExpr {
        var node = start
        while true {
            if isOp("|") {
                for f in try parseFilterChain(startInline: false) {
                    node = try bounded(.filter(node, name: f.name, f.arguments, line: f.line))
                }
            } else if isName("is") {
                node = try bounded(try parseTest(node))
            } else if isOp("(") {
                node = try bounded(.call(node, try parseCallArguments()))
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ node: JinjaExpr) throws -> JinjaExpr {
        if skipOp(".") {
            switch current?.kind {
            case .name(let n): index += 1; return .getattr(node, n)
            case .integer(let i): index += 1; return .getitem(node, .literal(.int(i)))
            default: throw error("expected name or number")
            }
        }
        try expectOp("[")
        var args: [JinjaExpr] = []
        while !isOp("]") {
            if !args.isEmpty { try expectOp(",") }
            args.append(try parseSubscribed())
        }
        try expectOp("]")
        if args.count == 1 { 
            if case let .slice(_, start, stop, step) = args[0] { return .slice(node, start: start, stop: stop, step: step) }
            return .getitem(node, args[0])
        }
        return .getitem(node, .tuple(args))
    }

    /// One subscript: an expression or a `start:stop:step` slice (returned as a slice of a
    /// placeholder, which the caller re-targets).
    private mutating func parseSubscribed() throws -> JinjaExpr {
        var parts: [JinjaExpr?] = []
        if skipOp(":") {
            parts.append(nil)
        } else {
            let expr = try parseExpression()
            if !skipOp(":") { return expr }
            parts.append(expr)
        }
        if isOp(":") {
            parts.append(nil)
        } else if !isOp("]"), !isOp(",") {
            parts.append(try parseExpression())
        } else {
            parts.append(nil)
        }
        if skipOp(":") {
            parts.append(!isOp("]") && !isOp(",") ? try parseExpression() : nil)
        } else {
            parts.append(nil)
        }
        return .slice(.literal(.none), start: parts[0], stop: parts[1], step: parts[2])
    }

    private mutating func parseCallArguments() throws -> JinjaArguments {
        try expectOp("(")
        var args = JinjaArguments()
        while !isOp(")") {
            if !args.positional.isEmpty || !args.keyword.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            if isOp("*") || isOp("**") {
                throw ChatTemplateError.unsupportedFeature(feature: "*args/**kwargs in a call", line: line)
            }
            if case .name(let key) = current?.kind, isOp("=", peek()) {
                index += 2
                args.keyword.append((key, try parseExpression()))
            } else {
                if !args.keyword.isEmpty { throw error("invalid syntax for function call expression") }
                args.positional.append(try parseExpression())
            }
        }
        try expectOp(")")
        return args
    }

    /// `| name(args) | name ...`; with `startInline` the first filter has no leading `|`.
    private mutating func parseFilterChain(startInline: Bool) throws -> [JinjaFilterCall] {
        var filters: [JinjaFilterCall] = []
        var inline = startInline
        while isOp("|") || inline {
            if !inline { index += 1 }
            inline = false
            let line = self.line
            var name = try expectName()
            while skipOp(".") { name += "." + (try expectName()) }
            let args = isOp("(") ? try parseCallArguments() : JinjaArguments()
            dependencies.append((name, true, line, false))
            filters.append(JinjaFilterCall(name: name, arguments: args, line: line))
        }
        return filters
    }

    private mutating func parseTest(_ node: JinjaExpr) throws -> JinjaExpr {
        let line = self.line
        index += 1
        let negated = skipName("not")
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        var args = JinjaArguments()
        if isOp("(") {
            args = try parseCallArguments()
        } else if let token = current {
            var startsArgument = false
            switch token.kind {
            case .name(let n): startsArgument = !["else", "or", "and"].contains(n)
            case .string, .integer, .float, .op("("), .op("["), .op("{"): startsArgument = true
            default: break
            }
            if startsArgument {
                if isName("is") { throw error("You cannot chain multiple tests with is") }
                args.positional = [try parsePostfix(try parsePrimary())]
            }
        }
        dependencies.append((name, false, line, false))
        return .test(node, name: name, args, negated: negated, line: line)
    }
}
