import Foundation
import LanternCollector
import Logging

/// A swift-log handler that writes one JSON object per line to standard error:
/// `{"ts":"...","level":"info","label":"lantern","msg":"...", <metadata>}`, for log shippers.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private static let lock = NSLock()

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date())),
            ("level", event.level.rawValue), ("label", label), ("msg", "\(event.message)"),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() { fields.append((key, "\(merged[key]!)")) }
        let line = "{" + fields.map { "\(OTLPResponseEncoder.jsonString($0.0)):\(OTLPResponseEncoder.jsonString($0.1))" }.joined(separator: ",") + "}\n"
        Self.lock.lock()
        defer { Self.lock.unlock() }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
