/// Why a store operation failed.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// SQLite reported an error: the result code and its message, with the statement when known.
    case sqlite(code: Int32, message: String)
    /// Stored bytes do not decode: the file was damaged or written by an incompatible version.
    case corrupt(String)
    /// The database was written by a newer Lantern whose schema this one does not know.
    case schemaTooNew(found: Int, supported: Int)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .sqlite(let code, let message): return "SQLite error \(code): \(message)"
        case .corrupt(let why): return "store data is corrupt: \(why)"
        case .schemaTooNew(let found, let supported):
            return "database schema version \(found) is newer than this lantern supports (\(supported)); upgrade lantern"
        case .invalidArgument(let why): return why
        }
    }
}
