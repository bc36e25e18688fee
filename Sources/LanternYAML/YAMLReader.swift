import Foundation
import LanternModel
import Yams

/// One problem in a YAML file Lantern reads (configuration, monitors), with the line it is on
/// (0 when it concerns the whole file).
public struct YAMLProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// Reads typed values out of YAML nodes, collecting every problem with its line instead of
/// stopping at the first.
public struct YAMLReader: Sendable {
    public let file: String
    public private(set) var problems: [YAMLProblem] = []

    public init(file: String) {
        self.file = file
    }

    public mutating func problem(_ node: Node, _ message: String) {
        problems.append(YAMLProblem(file: file, line: node.mark?.line ?? 0, message: message))
    }

    /// A mapping; with `keys`, every other key is a problem.
    public mutating func mapping(_ node: Node, _ what: String, keys: [String]?) -> Node.Mapping? {
        guard let m = node.mapping else {
            problem(node, "\(what) must be a mapping" + (keys.map { " with keys \($0.joined(separator: ", "))" } ?? ""))
            return nil
        }
        if let keys {
            for key in m.keys where !keys.contains(key.string ?? "") {
                problem(key, "unknown key '\(key.string ?? "?")' in \(what) (known: \(keys.joined(separator: ", ")))")
            }
        }
        return m
    }

    public mutating func string(_ node: Node, _ what: String) -> String? {
        guard let s = node.scalar?.string else {
            problem(node, "\(what): must be a single value")
            return nil
        }
        return s
    }

    /// A list of values, or one value.
    public mutating func strings(_ node: Node, _ what: String) -> [String] {
        (node.sequence.map(Array.init) ?? [node]).compactMap { string($0, what) }
    }

    public mutating func number(_ node: Node, _ what: String) -> Double? {
        guard let text = node.scalar?.string, let v = Double(text.replacingOccurrences(of: "_", with: "")), v.isFinite else {
            problem(node, "\(what): '\(node.scalar?.string ?? "?")' is not a number")
            return nil
        }
        return v
    }

    public mutating func positiveInt(_ node: Node, _ what: String) -> Int? {
        guard let v = node.int, v > 0 else {
            problem(node, "\(what): must be a positive whole number")
            return nil
        }
        return v
    }

    /// A size such as 64MiB, 500MB or 10GB, in bytes, more than zero.
    public mutating func size(_ node: Node, _ what: String) -> Int64? {
        guard let text = node.scalar?.string, let v = Quantity.bytes(text), v > 0 else {
            problem(node, "\(what): '\(node.scalar?.string ?? "?")' is not a size (e.g. 64MiB, 500MB, 10GB)")
            return nil
        }
        return v
    }

    /// A duration such as 250ms, 45s, 90m, 12h or 30d, in nanoseconds; with `positive`, zero is a problem too.
    public mutating func duration(_ node: Node, _ what: String, positive: Bool = false) -> Int64? {
        guard let text = node.scalar?.string, let v = Quantity.durationNanos(text), !positive || v > 0 else {
            problem(node, "\(what): '\(node.scalar?.string ?? "?")' is not a duration (e.g. 45s, 15m, 12h, 1d)")
            return nil
        }
        return v
    }
}
