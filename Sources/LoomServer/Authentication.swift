import HTTPTypes
import Hummingbird

/// API keys, compared in constant time (the time a comparison takes says nothing about how much
/// of a key was right).
struct KeyRing: Sendable {
    private let keys: [[UInt8]]

    init(_ keys: [String]) { self.keys = keys.map { Array($0.utf8) } }

    var isOpen: Bool { keys.isEmpty }

    /// Whether the request carries one of the keys, as a bearer token or in `x-api-key`.
    func admits(_ request: Request) -> Bool {
        if isOpen { return true }
        var presented: [UInt8]?
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { presented = Array(parts[1].utf8) }
        }
        if presented == nil, let name = HTTPField.Name("x-api-key"), let key = request.headers[name] { presented = Array(key.utf8) }
        guard let presented else { return false }
        var match = false
        for key in keys { match = Self.constantTimeEqual(presented, key) || match }
        return match
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt(a.count ^ b.count)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= UInt(x ^ y)
        }
        return difference == 0
    }
}
