import LanternCollector
import LanternModel

/// Everything `lantern serve` can be configured with, from `collectors/lantern.yaml` and the
/// command line. Defaults are safe: loopback only, no keys, default redaction on.
public struct ServerConfiguration: Sendable {
    /// A host and port to listen on.
    public struct Listener: Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// True for 127.0.0.0/8, ::1 and localhost.
        public var isLoopback: Bool {
            host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
        }
    }

    /// Bounds on what one request, and all requests together, may hold.
    public struct Limits: Sendable {
        /// Largest body accepted, compressed or not (the OTLP spec recommends 64 MiB).
        public var maxBodyBytes = 64 << 20
        /// Spans decoded and waiting for the journal; past this, requests get 503 + Retry-After.
        public var maxQueuedSpans = 65_536
        /// Request bytes being read, decoded or waiting to commit; past this, 503 + Retry-After.
        public var maxInFlightBytes = 64 << 20
        /// Per-value bounds applied while decoding.
        public var decoding = DecodingLimits.default
        public init() {}
    }

    /// Who may send spans and who may run admin actions. Secrets are kept only as SHA-256 digests.
    public struct Auth: Sendable {
        /// Named ingest keys; when there is at least one, every OTLP request needs one of them.
        public var ingestKeys: [NamedDigest] = []
        /// The admin token's digest; admin routes are closed when it is absent.
        public var adminToken: SecretDigest?
        public init() {}

        public var requiresIngestKey: Bool { !ingestKeys.isEmpty }
    }

    /// Which redaction detectors run and which extra patterns apply.
    public struct Redaction: Sendable {
        /// Built-in detectors by name (`email`, `phone`, `card`, `api_key`); empty turns them off.
        public var builtins: [String] = ["email", "phone", "card", "api_key"]
        /// Extra patterns: a name and a regular expression.
        public var patterns: [(name: String, regex: String)] = []
        public init() {}
    }

    /// Age and size bounds, applied by the server every `interval`.
    public struct Retention: Sendable {
        public var maxAgeNanos: Int64?
        public var maxBytes: Int64?
        public var intervalNanos: Int64 = 600_000_000_000
        public init() {}
        public var isEnabled: Bool { maxAgeNanos != nil || maxBytes != nil }
    }

    /// How the server logs.
    public struct Logging: Sendable {
        public enum Format: String, Sendable { case text, json }
        public var level = "info"
        public var format = Format.text
        public init() {}
    }

    /// The database file, when the configuration names one.
    public var databasePath: String?
    public var http = Listener(host: "127.0.0.1", port: 4318)
    /// OTLP/gRPC (served by the `lantern` executable through the `LanternGRPC` target); nil turns it off.
    public var grpc: Listener? = Listener(host: "127.0.0.1", port: 4317)
    public var limits = Limits()
    public var auth = Auth()
    public var redaction = Redaction()
    /// Variant tagging for spans that carry no `lantern.variant`; the first matching rule wins.
    public var variants: [VariantRule] = []
    public var retention = Retention()
    /// A monitors file (`collectors/monitors.yaml` is the example) evaluated inside `lantern serve`.
    public var monitorsPath: String?
    public var logging = Logging()

    public init() {}

    private static func isWildcard(_ host: String) -> Bool { host == "0.0.0.0" || host == "::" || host == "[::]" }

    /// Every problem with the configuration as a whole, at once (empty when it is valid).
    public func problems() -> [String] {
        var out: [String] = []
        if !(0...65535).contains(http.port) { out.append("listen.http: port \(http.port) is not between 0 and 65535") }
        if !http.isLoopback && !auth.requiresIngestKey {
            out.append("listen.http: refusing to listen on non-loopback address \(http.host) without ingest keys (auth.ingest_keys)")
        }
        if let grpc {
            if !(1...65535).contains(grpc.port) { out.append("listen.grpc: port \(grpc.port) is not between 1 and 65535 (use off to turn gRPC off)") }
            if !grpc.isLoopback && !auth.requiresIngestKey {
                out.append("listen.grpc: refusing to listen on non-loopback address \(grpc.host) without ingest keys (auth.ingest_keys)")
            }
            if grpc.port == http.port && grpc.port != 0 && (grpc.host == http.host || Self.isWildcard(grpc.host) || Self.isWildcard(http.host)) {
                out.append("listen.grpc: port \(grpc.port) is also listen.http's; give OTLP/gRPC a port of its own (default 4317)")
            }
        }
        if limits.maxBodyBytes <= 0 { out.append("limits.max_body: must be positive") }
        if limits.maxQueuedSpans <= 0 { out.append("limits.max_queued_spans: must be positive") }
        if limits.decoding.maxDepth > 63 {
            out.append("limits.max_depth: \(limits.decoding.maxDepth) is more than 63, the deepest nesting the store keeps; spans nested deeper could not be stored")
        }
        if limits.maxInFlightBytes < limits.maxBodyBytes {
            out.append("limits.max_in_flight: must be at least limits.max_body (\(limits.maxBodyBytes) bytes), or no full-size request could ever be taken")
        }
        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        if !levels.contains(logging.level) { out.append("log.level: '\(logging.level)' is not one of \(levels.joined(separator: ", "))") }
        var names = Set<String>()
        for key in auth.ingestKeys where !names.insert(key.name).inserted {
            out.append("auth.ingest_keys: the name '\(key.name)' is used twice")
        }
        if let admin = auth.adminToken, auth.ingestKeys.contains(where: { $0.digest == admin }) {
            out.append("auth.admin_token: the admin token must differ from every ingest key")
        }
        return out
    }
}
