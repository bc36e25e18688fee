/// An OTLP `AnyValue`: every kind the protocol carries, so nothing a client sent is lost.
public enum AttributeValue: Sendable, CustomStringConvertible {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case bytes([UInt8])
    case array([AttributeValue])
    case kvlist([Attribute])
    /// An `AnyValue` with no value set (`{}` in JSON).
    case empty

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int64? {
        if case .int(let v) = self { return v }
        return nil
    }

    public var doubleValue: Double? {
        if case .double(let v) = self { return v }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    /// An integer read leniently: ints as they are, doubles that are whole, decimal strings.
    public var lenientInt: Int64? {
        switch self {
        case .int(let v): return v
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: return Int64(d)
        case .string(let s): return Int64(s.trimmingSpaces)
        default: return nil
        }
    }

    /// A number read leniently: doubles, ints, decimal strings.
    public var lenientDouble: Double? {
        switch self {
        case .double(let d): return d
        case .int(let v): return Double(v)
        case .string(let s): return Double(s.trimmingSpaces)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return String(b)
        case .int(let v): return String(v)
        case .double(let d): return String(d)
        case .bytes(let b): return "0x" + hexString(b)
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .kvlist(let kv): return "{" + kv.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .empty: return "<empty>"
        }
    }
}

extension AttributeValue: Equatable {
    /// Doubles compare by bit pattern, so a stored NaN equals the NaN that was sent.
    public static func == (a: AttributeValue, b: AttributeValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.kvlist(let x), .kvlist(let y)): return x == y
        case (.empty, .empty): return true
        default: return false
        }
    }
}

/// An OTLP `KeyValue`.
public struct Attribute: Sendable, Equatable {
    public var key: String
    public var value: AttributeValue

    public init(_ key: String, _ value: AttributeValue) {
        self.key = key
        self.value = value
    }
}

extension Array where Element == Attribute {
    /// The value of the first attribute with this key.
    public subscript(key key: String) -> AttributeValue? {
        for a in self where a.key == key { return a.value }
        return nil
    }

    /// The index of the first attribute with this key.
    public func index(ofKey key: String) -> Int? {
        firstIndex { $0.key == key }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" || f == "\n" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" { s = s.dropLast() }
        return s
    }
}
