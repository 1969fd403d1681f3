import Foundation

/// The global functions of transformers' template environment: jinja2's `range`, `dict`,
/// `namespace`, plus transformers' `raise_exception` and `strftime_now`.
enum JinjaGlobals {
    static func make(now: Date, timeZone: TimeZone) -> [String: JinjaValue] {
        func function(_ name: String, _ body: @escaping (JinjaArgs) throws -> JinjaValue) -> JinjaValue {
            .callable(JinjaCallable(name: name) { a, k in try body(JinjaArgs(positional: a, keyword: k)) })
        }
        var globals: [String: JinjaValue] = [:]
        globals["range"] = function("range") { a in
            guard !a.positional.isEmpty, a.positional.count <= 3, a.keyword.isEmpty else {
                throw JinjaRuntimeError.type("range expected 1 to 3 integer arguments")
            }
            let ints = try a.positional.map { v -> Int in
                switch v {
                case .int(let i): return i
                case .bool(let b): return b ? 1 : 0
                case .undefined(let hint): throw JinjaRuntimeError.undefined(hint)
                default: throw JinjaRuntimeError.type("'\(v.pythonTypeName)' object cannot be interpreted as an integer")
                }
            }
            let (start, stop, step) = ints.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], ints.count == 3 ? ints[2] : 1)
            guard step != 0 else { throw JinjaRuntimeError.value("range() arg 3 must not be zero") }
            // jinja2's sandbox refuses ranges above MAX_RANGE; counted before anything is built.
            let (span, overflow) = step > 0 ? stop.subtractingReportingOverflow(start) : start.subtractingReportingOverflow(stop)
            let magnitude = step.magnitude
            let count = overflow ? UInt.max : span <= 0 ? 0 : (UInt(span) + magnitude - 1) / magnitude
            guard count <= 100_000 else {
                throw JinjaRuntimeError(kind: "OverflowError", message: "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
            }
            try JinjaBudget.allocate(items: Int(count))
            return .array(stride(from: start, to: stop, by: step).map { .int($0) })
        }
        globals["dict"] = function("dict") { a in .dict(try mapping(from: a, "dict")) }
        globals["namespace"] = function("namespace") { a in
            let d = try mapping(from: a, "namespace")
            if let bad = d.keys.map(\.text).first(where: { $0.hasPrefix("_") }) {
                throw JinjaRuntimeError.security("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(bad)'. Please rename the attribute.")
            }
            return .namespace(JinjaNamespace(d))
        }
        globals["raise_exception"] = function("raise_exception") { a in
            throw JinjaRaisedError(message: a.value(0, "message")?.pythonStr ?? "")
        }
        globals["strftime_now"] = function("strftime_now") { a in
            guard case .string(let format)? = a.value(0, "format") else {
                throw JinjaRuntimeError.type("strftime() argument 1 must be str")
            }
            return .string(try strftime(format, now, timeZone))
        }
        return globals
    }

    /// Python `dict(mapping, **kwargs)`, which both `dict()` and `namespace()` accept.
    private static func mapping(from a: JinjaArgs, _ function: String) throws -> JinjaDict {
        var d = JinjaDict()
        if let first = a.positional.first {
            guard case .dict(let base) = first, a.positional.count == 1 else {
                throw JinjaUnsupportedError(feature: "\(function)() from a non-mapping argument")
            }
            d = base
        }
        for (k, v) in a.keyword { d[k] = v }
        return d
    }

    /// C `strftime` for the directives chat templates use, in the C locale.
    static func strftime(_ format: String, _ date: Date, _ timeZone: TimeZone) throws -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        let (year, month, day) = (c.year!, c.month!, c.day!)
        let (hour, minute, second, weekday) = (c.hour!, c.minute!, c.second!, c.weekday! - 1)
        func pad(_ v: Int, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var out = ""
        var chars = format.makeIterator()
        while let ch = chars.next() {
            guard ch == "%" else { out.append(ch); continue }
            guard var d = chars.next() else { out.append("%"); break }
            var noPad = false
            if d == "-", let next = chars.next() { noPad = true; d = next }
            func num(_ v: Int) -> String { noPad ? String(v) : pad(v) }
            switch d {
            case "Y": out += String(year)
            case "y": out += pad(year % 100)
            case "m": out += num(month)
            case "d": out += num(day)
            case "e": out += noPad ? String(day) : (day < 10 ? " \(day)" : String(day))
            case "H": out += num(hour)
            case "I": out += num(hour % 12 == 0 ? 12 : hour % 12)
            case "M": out += num(minute)
            case "S": out += num(second)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "B": out += months[month - 1]
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "A": out += days[weekday]
            case "a": out += String(days[weekday].prefix(3))
            case "j":
                let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
                out += noPad ? String(dayOfYear) : pad(dayOfYear, 3)
            case "%": out += "%"
            default: throw JinjaUnsupportedError(feature: "strftime directive %\(d)")
            }
        }
        return out
    }
}
