/// The syntax tree of a parsed template.

/// An expression. `line` on calls, filters and tests lets errors name where they happened.
indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String)
    case list([JinjaExpr])
    case tuple([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
    case getattr(JinjaExpr, String)
    case getitem(JinjaExpr, JinjaExpr)
    case slice(JinjaExpr, start: JinjaExpr?, stop: JinjaExpr?, step: JinjaExpr?)
    case call(JinjaExpr, JinjaArguments)
    case filter(JinjaExpr, name: String, JinjaArguments, line: Int)
    case test(JinjaExpr, name: String, JinjaArguments, negated: Bool, line: Int)
    case unary(String, JinjaExpr)
    case binary(String, JinjaExpr, JinjaExpr)
    case and(JinjaExpr, JinjaExpr)
    case or(JinjaExpr, JinjaExpr)
    case not(JinjaExpr)
    case compare(JinjaExpr, [(String, JinjaExpr)])
    case conditional(test: JinjaExpr, then: JinjaExpr, otherwise: JinjaExpr?)
    /// `a ~ b ~ c`: string concatenation of `str()` of each part.
    case concat([JinjaExpr])
}

/// Positional and keyword arguments of a call, filter or test.
struct JinjaArguments {
    var positional: [JinjaExpr] = []
    var keyword: [(String, JinjaExpr)] = []
}

/// The left side of `set` and `for`.
indirect enum JinjaTarget {
    case name(String)
    /// `ns.attr`: assigns to a namespace attribute.
    case attribute(String, String)
    case tuple([JinjaTarget])
}

/// A filter application in `{% filter %}` blocks and `{% set x | f %}`.
struct JinjaFilterCall {
    let name: String
    let arguments: JinjaArguments
    let line: Int
}

/// A statement or piece of output. Every case that can fail carries its line.
indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr, line: Int)
    case ifElse(branches: [(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode], line: Int)
    case forLoop(JinjaForLoop)
    case set(JinjaTarget, JinjaExpr, line: Int)
    case setBlock(JinjaTarget, filters: [JinjaFilterCall], body: [JinjaNode], line: Int)
    case macro(JinjaMacroDefinition)
    case filterBlock(filters: [JinjaFilterCall], body: [JinjaNode], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}

struct JinjaForLoop {
    let target: JinjaTarget
    let iterable: JinjaExpr
    let condition: JinjaExpr?
    let body: [JinjaNode]
    let otherwise: [JinjaNode]
    let line: Int
}

struct JinjaMacroDefinition {
    let name: String
    let parameters: [(String, JinjaExpr?)]
    let body: [JinjaNode]
    let line: Int
}
