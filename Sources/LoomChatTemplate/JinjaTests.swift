/// jinja2's tests (`x is defined`, `x is string`, ...).
enum JinjaTests {
    /// Every test jinja2 knows; see `JinjaFilters.names` for how unknown names fail.
    static let names: Set<String> = [
        "!=", "<", "<=", "==", ">", ">=", "boolean", "callable", "defined", "divisibleby", "eq", "equalto",
        "escaped", "even", "false", "filter", "float", "ge", "greaterthan", "gt", "in", "integer", "iterable",
        "le", "lessthan", "lower", "lt", "mapping", "ne", "none", "number", "odd", "sameas", "sequence",
        "string", "test", "true", "undefined", "upper",
    ]

    static func apply(_ name: String, to input: JinjaValue, args: JinjaArgs) throws -> Bool {
        let value = input.plain
        let other = args.value(0, "other") ?? .none
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": if case .bool(true) = value { return true } else { return false }
        case "false": if case .bool(false) = value { return true } else { return false }
        case "number": return value.numericValue != nil
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "string": if case .string = value { return true } else { return false }
        case "mapping": if case .dict = value { return true } else { return false }
        case "callable": if case .callable = value { return true } else { return false }
        case "iterable":
            switch value {
            case .array, .dict, .string, .generator, .undefined: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .array, .dict, .string, .undefined: return true
            default: return false
            }
        case "odd", "even", "divisibleby":
            let divisor = name == "divisibleby" ? other : .int(2)
            let remainder = try JinjaOperators.binary("%", value, divisor)
            return name == "odd" ? remainder.pythonEquals(.int(1)) : remainder.pythonEquals(.int(0))
        case "eq", "equalto", "==": return value.pythonEquals(other)
        case "ne", "!=": return !value.pythonEquals(other)
        case "lt", "lessthan", "<": return try JinjaOperators.compare("<", value, other)
        case "le", "<=": return try JinjaOperators.compare("<=", value, other)
        case "gt", "greaterthan", ">": return try JinjaOperators.compare(">", value, other)
        case "ge", ">=": return try JinjaOperators.compare(">=", value, other)
        case "in": return try JinjaOperators.contains(args.value(0, "seq") ?? .none, value)
        case "lower": let s = value.pythonStr; return s == s.lowercased() && s != s.uppercased()
        case "upper": let s = value.pythonStr; return s == s.uppercased() && s != s.lowercased()
        case "sameas":
            switch (value, other) {
            case (.none, .none): return true
            case let (.bool(a), .bool(b)): return a == b
            case let (.namespace(a), .namespace(b)): return a === b
            case (.int, .int), (.string, .string): return value.pythonEquals(other)
            default: return false
            }
        case "escaped": return false
        case "filter": return JinjaFilters.names.contains(value.pythonStr)
        case "test": return names.contains(value.pythonStr)
        default:
            throw JinjaRuntimeError.runtime("No test named '\(name)' found.")
        }
    }
}
