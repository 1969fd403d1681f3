/// A frame of variables. `for` bodies, macro calls and block bodies get a child frame, so that
/// `{% set %}` inside them does not leak out (the reason templates use `namespace()`); `if`
/// does not. Macros keep their defining frame as parent and so see its latest values, like
/// jinja2's closures.
final class JinjaScope {
    private var variables: [String: JinjaValue] = [:]
    let parent: JinjaScope?

    init(parent: JinjaScope?, variables: [String: JinjaValue] = [:]) {
        self.parent = parent
        self.variables = variables
    }

    /// The value bound to `name` here or in an enclosing frame, or undefined.
    func lookup(_ name: String) -> JinjaValue {
        var scope: JinjaScope? = self
        while let s = scope {
            if let v = s.variables[name] { return v }
            scope = s.parent
        }
        return .undefinedName(name)
    }

    /// Binds `name` in this frame.
    func assign(_ name: String, _ value: JinjaValue) { variables[name] = value }
}
