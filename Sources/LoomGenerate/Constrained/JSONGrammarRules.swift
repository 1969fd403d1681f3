/// The GBNF rules JSON grammars are built from (after llama.cpp's json-schema-to-grammar),
/// added to a grammar only when used.
///
/// Whitespace is bounded: `space` is at most two newlines and twenty indentation characters, so
/// a model cannot fill its budget with spaces between two tokens of JSON. String escapes leave
/// out UTF-16 surrogates, so every `char` is one code point, as `minLength` counts them.
enum JSONGrammarRules {
    /// name → (GBNF text defining it, the rules it uses).
    static let definitions: [String: (text: String, uses: [String])] = [
        "space": (#"space ::= | " " | "\n"{1,2} [ \t]{0,20}"#, []),
        "boolean": (#"boolean ::= ("true" | "false") space"#, ["space"]),
        "null": (#"null ::= "null" space"#, ["space"]),
        "integral-part": (#"integral-part ::= [0] | [1-9] [0-9]{0,15}"#, []),
        "decimal-part": (#"decimal-part ::= [0-9]{1,16}"#, []),
        "number": (#"number ::= ("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)? space"#, ["integral-part", "decimal-part", "space"]),
        "integer": (#"integer ::= ("-"? integral-part) space"#, ["integral-part", "space"]),
        "char": (#"char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" ([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))"#, []),
        "plain-char": (#"plain-char ::= [^"\\\x7F\x00-\x1F]"#, []),
        "string": (#"string ::= "\"" char* "\"" space"#, ["char", "space"]),
        "value": ("value ::= object | array | string | number | boolean | null", ["object", "array", "string", "number", "boolean", "null"]),
        "object": (#"object ::= "{" space ( string ":" space value ("," space string ":" space value)* )? "}" space"#, ["string", "space", "value"]),
        "array": (#"array ::= "[" space ( value ("," space value)* )? "]" space"#, ["value", "space"]),
        "uuid": (#"uuid ::= "\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\"" space"#, ["space"]),
        "date": (#"date ::= [0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] )"#, []),
        "time": (#"time ::= ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? ( "Z" | ( "+" | "-" ) ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )"#, []),
        "date-time": (#"date-time ::= date "T" time"#, ["date", "time"]),
        "date-string": (#"date-string ::= "\"" date "\"" space"#, ["date", "space"]),
        "time-string": (#"time-string ::= "\"" time "\"" space"#, ["time", "space"]),
        "date-time-string": (#"date-time-string ::= "\"" date-time "\"" space"#, ["date-time", "space"]),
    ]

    /// The `format` values with a rule, and the rule.
    static let formats = ["date": "date-string", "time": "time-string", "date-time": "date-time-string", "uuid": "uuid"]

    /// Rules `name` needs, itself included, each once, appended to `rules` unless in `added`.
    static func add(_ name: String, to rules: inout [GrammarRuleDefinition], added: inout Set<String>) {
        guard !added.contains(name), let definition = definitions[name] else { return }
        added.insert(name)
        // The texts are fixed and parse; a failure here is a bug in this table.
        rules += try! GBNFParser.parse(definition.text)
        for dependency in definition.uses { add(dependency, to: &rules, added: &added) }
    }
}

extension Grammar {
    /// Any JSON value, with bounded whitespace (OpenAI's `json_object` response format asks for
    /// an object: use `jsonSchema(#"{"type": "object"}"#)` for that).
    public static let anyJSON: Grammar = {
        var rules = [GrammarRuleDefinition(name: "root", body: .reference("value", line: 0, column: 0))]
        var added: Set<String> = []
        JSONGrammarRules.add("value", to: &rules, added: &added)
        return try! Grammar(compiled: CompiledGrammar(rules: rules, root: "root"))
    }()
}
