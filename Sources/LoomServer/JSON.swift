import Foundation
import LoomChatTemplate

/// JSON out: Foundation's serializer with sorted keys, so responses are byte-stable.
enum JSON {
    static func bytes(_ object: Any) -> [UInt8] {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            // Every object the server builds is JSON-serializable; this guards against a NaN slipping in.
            return Array(#"{"error":{"message":"the response could not be encoded as JSON","type":"server_error","param":null,"code":null}}"#.utf8)
        }
        return [UInt8](data)
    }

    static func string(_ object: Any) -> String { String(decoding: bytes(object), as: UTF8.self) }

    /// A template value as a Foundation JSON object (for echoing request fields back).
    static func foundation(_ value: JinjaValue) -> Any {
        switch value {
        case .none, .undefined: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .double(let d): return d
        case .string(let s), .markup(let s): return s
        case .array(let items), .tuple(let items), .generator(let items): return items.map(foundation)
        case .dict(let d):
            var out: [String: Any] = [:]
            for (key, item) in d.pairs { out[key.jsonText] = foundation(item) }
            return out
        case .namespace, .callable: return NSNull()
        }
    }
}

/// A JSON request body, read field by field: a missing field of the wrong type, or a value out
/// of range, is a 400 that names the field.
struct RequestFields {
    let fields: JinjaDict
    /// The field path prefix in error messages (`messages[2].`).
    let path: String

    init(fields: JinjaDict, path: String = "") {
        self.fields = fields
        self.path = path
    }

    /// Parses a body; it must be a UTF-8 JSON object.
    init(body: [UInt8]) throws(APIError) {
        guard !body.isEmpty else { throw .badRequest("the request body is empty; send a JSON object", code: "invalid_json") }
        guard let text = String(validating: body, as: UTF8.self) else {
            throw .badRequest("the request body is not valid UTF-8", code: "invalid_json")
        }
        let value: JinjaValue
        do {
            value = try JinjaJSON.parse(text)
        } catch let error as JinjaJSON.ParseError {
            throw .badRequest("the request body is not valid JSON: \(error.message) at byte \(error.offset)", code: "invalid_json")
        } catch {
            throw .badRequest("the request body is not valid JSON: \(error)", code: "invalid_json")
        }
        guard case .dict(let dict) = value else { throw .badRequest("the request body must be a JSON object", code: "invalid_json") }
        self.init(fields: dict)
    }

    func name(_ key: String) -> String { path + key }

    /// The raw value; JSON null counts as absent.
    func value(_ key: String) -> JinjaValue? {
        switch fields[key] {
        case nil, .none?, .undefined?: return nil
        case let v?: return v
        }
    }

    func has(_ key: String) -> Bool { value(key) != nil }

    func string(_ key: String) throws(APIError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw .invalid(name(key), "must be a string") }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw .invalid(name(key), "must be true or false") }
        return b
    }

    func int(_ key: String, atLeast minimum: Int? = nil, atMost maximum: Int? = nil) throws(APIError) -> Int? {
        guard let v = value(key) else { return nil }
        let n: Int
        switch v {
        case .int(let i): n = i
        case .double(let d) where d.rounded() == d && abs(d) < 9e15: n = Int(d)
        default: throw .invalid(name(key), "must be an integer")
        }
        if let minimum, n < minimum { throw .invalid(name(key), "must be at least \(minimum), got \(n)") }
        if let maximum, n > maximum { throw .invalid(name(key), "must be at most \(maximum), got \(n)") }
        return n
    }

    func number(_ key: String, atLeast minimum: Double? = nil, atMost maximum: Double? = nil) throws(APIError) -> Double? {
        guard let v = value(key) else { return nil }
        let x: Double
        switch v {
        case .int(let i): x = Double(i)
        case .double(let d): x = d
        default: throw .invalid(name(key), "must be a number")
        }
        guard x.isFinite else { throw .invalid(name(key), "must be a finite number") }
        if let minimum, x < minimum { throw .invalid(name(key), "must be at least \(minimum.formatted), got \(x.formatted)") }
        if let maximum, x > maximum { throw .invalid(name(key), "must be at most \(maximum.formatted), got \(x.formatted)") }
        return x
    }

    /// A string or a list of strings (`stop`).
    func strings(_ key: String, maxCount: Int) throws(APIError) -> [String]? {
        guard let v = value(key) else { return nil }
        let list: [String]
        switch v {
        case .string(let s): list = [s]
        case .array(let items):
            var out: [String] = []
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item else { throw .invalid("\(name(key))[\(i)]", "must be a string") }
                out.append(s)
            }
            list = out
        default: throw .invalid(name(key), "must be a string or a list of strings")
        }
        if list.count > maxCount { throw .invalid(name(key), "at most \(maxCount) strings, got \(list.count)") }
        if let i = list.firstIndex(where: \.isEmpty) { throw .invalid("\(name(key))[\(i)]", "must not be empty") }
        return list
    }

    func object(_ key: String) throws(APIError) -> RequestFields? {
        guard let v = value(key) else { return nil }
        guard case .dict(let d) = v else { throw .invalid(name(key), "must be an object") }
        return RequestFields(fields: d, path: name(key) + ".")
    }

    func array(_ key: String) throws(APIError) -> [JinjaValue]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else { throw .invalid(name(key), "must be a list") }
        return items
    }
}

extension JinjaKey {
    /// The key as JSON writes it.
    var jsonText: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        }
    }
}

extension Double {
    /// 0.5 as "0.5", 2 as "2": how a number reads in an error message.
    var formatted: String { rounded() == self && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}
