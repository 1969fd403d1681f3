/// Errors from opening and mapping files. Every case names the file.
public enum FileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, errno: Int32)
    case cannotMap(path: String, errno: Int32)
    case notARegularFile(path: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, code): return "\(path): cannot open (\(String(cString: strerror(code))))"
        case let .cannotMap(path, code): return "\(path): cannot memory-map (\(String(cString: strerror(code))))"
        case let .notARegularFile(path): return "\(path): not a regular file"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
