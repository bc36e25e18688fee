import ArgumentParser
import Foundation
import Hummingbird
import LanternAnalyzer
import LanternGRPC
import LanternServer
import LanternStore
import LanternYAML
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Take OTLP traces, metrics and logs over HTTP (protobuf or JSON, gzip or deflate) and gRPC into the store.",
        discussion: """
        A 200 is sent only after the spans are durable in the journal; spans that were rejected are counted \
        in the response's partial_success. 400 for an undecodable body, 401 without a valid ingest key (when \
        keys are configured), 413 past the body limit (also after decompression), 415 for other content types \
        or encodings, 503 with Retry-After when the queue or the in-flight request bytes are full. Prompt and \
        completion content is redacted before it is written; spans are tagged with their variant. \
        GET /healthz answers 'ok'; GET /metrics serves Prometheus metrics. OTLP/gRPC (TraceService, \
        MetricsService and LogsService Export, plaintext HTTP/2, gzip accepted) listens on 127.0.0.1:4317 with \
        the same semantics: UNAUTHENTICATED without a valid key (metadata authorization: Bearer <key> or \
        x-lantern-key), INVALID_ARGUMENT for an undecodable message, RESOURCE_EXHAUSTED past the body limit, \
        UNAVAILABLE with RetryInfo when full. SIGTERM or SIGINT stops taking \
        requests, finishes those in flight, seals full segments and exits 0. Settings come from --config \
        (see collectors/lantern.yaml); the options below override it. Point an OpenTelemetry SDK at it with \
        OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 (http/protobuf), or http://127.0.0.1:4317 with \
        OTEL_EXPORTER_OTLP_PROTOCOL=grpc.
        """
    )

    @Option(name: .long, help: "The database file (default: the config's database, $LANTERN_DB, or ./lantern.db).")
    var db: String?
    @Option(help: "A configuration file (default: $LANTERN_CONFIG if set).") var config: String?
    @OptionGroup var priceOptions: PriceOptions
    @Option(help: "A monitors file to evaluate while serving (overrides the config's monitors).") var monitors: String?
    @Option(help: "Address to listen on, for OTLP/HTTP and OTLP/gRPC (overrides the hosts of listen.http and listen.grpc).") var host: String?
    @Option(help: "Port for OTLP/HTTP (overrides listen.http).") var port: Int?
    @Option(help: "Port for OTLP/gRPC (overrides listen.grpc); 0 turns OTLP/gRPC off.") var grpcPort: Int?
    @Option(help: "Largest request body, compressed or decompressed, in MiB (overrides limits.max_body).") var maxBodyMib: Int?
    @Option(help: "Spans decoded and not yet durable before requests get 503 (overrides limits.max_queued_spans).") var maxQueuedSpans: Int?
    @Option(help: "Log format: text or json (overrides log.format).") var logFormat: String?
    @Flag(help: "Check the configuration, report every problem, and exit (2 when there are problems).") var checkConfig = false

    func run() async throws {
        let configPath = config ?? ProcessInfo.processInfo.environment["LANTERN_CONFIG"]
        var settings = ServerConfiguration()
        var problems: [String] = []
        if let configPath {
            let (loaded, fileProblems) = ConfigurationFile.load(path: configPath)
            settings = loaded
            problems += fileProblems.map(\.description)
        }
        if let host {
            settings.http.host = host
            settings.grpc?.host = host
        }
        if let port { settings.http.port = port }
        if let grpcPort {
            if grpcPort == 0 {
                settings.grpc = nil
            } else if (1...65535).contains(grpcPort) {
                settings.grpc = ServerConfiguration.Listener(host: settings.grpc?.host ?? host ?? "127.0.0.1", port: grpcPort)
            } else {
                problems.append("--grpc-port: \(grpcPort) is not between 1 and 65535 (or 0 to turn OTLP/gRPC off)")
            }
        }
        if let maxBodyMib { settings.limits.maxBodyBytes = maxBodyMib << 20 }
        if let maxQueuedSpans { settings.limits.maxQueuedSpans = maxQueuedSpans }
        if let logFormat {
            if let f = ServerConfiguration.Logging.Format(rawValue: logFormat) { settings.logging.format = f } else {
                problems.append("--log-format: '\(logFormat)' is not text or json")
            }
        }
        problems += settings.problems()
        do {
            _ = try SpanProcessors(configuration: settings)
        } catch {
            problems.append("\(error)")
        }
        if let monitors { settings.monitorsPath = monitors }
        var monitorConfiguration = MonitorConfiguration()
        if let path = settings.monitorsPath {
            let (loaded, monitorProblems) = MonitorFile.load(path: path)
            monitorConfiguration = loaded
            problems += monitorProblems.map(\.description)
        }
        let databasePath = db ?? settings.databasePath ?? ProcessInfo.processInfo.environment["LANTERN_DB"] ?? "lantern.db"
        if !problems.isEmpty {
            for p in problems { printError("configuration: \(p)") }
            throw ExitCode(2)
        }
        if checkConfig {
            print("""
            configuration is valid: \(configPath ?? "(defaults)")
              listen http   \(settings.http.host):\(settings.http.port)
              listen grpc   \(settings.grpc.map { "\($0.host):\($0.port)" } ?? "off")
              database      \(databasePath)
              ingest keys   \(settings.auth.ingestKeys.isEmpty ? "none (open on loopback)" : settings.auth.ingestKeys.map(\.name).joined(separator: ", "))
              admin token   \(settings.auth.adminToken == nil ? "none (admin routes closed)" : "configured")
              redaction     \(settings.redaction.builtins.joined(separator: ", "))\(settings.redaction.patterns.isEmpty ? "" : " + " + settings.redaction.patterns.map(\.name).joined(separator: ", "))
              variants      \(settings.variants.count) mapping(s)
              retention     \(settings.retention.isEnabled ? "on" : "off")
              monitors      \(settings.monitorsPath.map { "\(monitorConfiguration.rules.count) rule(s) from \($0)" } ?? "none")
              limits        body \(settings.limits.maxBodyBytes) B, queue \(settings.limits.maxQueuedSpans) spans, in flight \(settings.limits.maxInFlightBytes) B
            """)
            return
        }
        Observability.bootstrapLogging(settings.logging)
        let exposition = Observability.bootstrapPrometheus()
        var storeConfig = SQLiteSpanStore.Configuration()
        storeConfig.autoSeal = false
        storeConfig.checkpointInBackground = true
        let store = try SQLiteSpanStore(path: databasePath, configuration: storeConfig)
        let logger = Logger(label: "lantern")
        logger.info("lantern serve", metadata: [
            "address": "\(settings.http.host):\(settings.http.port)", "grpc": "\(settings.grpc.map { "\($0.host):\($0.port)" } ?? "off")",
            "database": "\(databasePath)",
            "ingest_keys": "\(settings.auth.ingestKeys.count)", "config": "\(configPath ?? "defaults")",
        ])
        let prices = try loadPrices(priceOptions.prices)
        let context = try ServerContext(store: store, configuration: settings, logger: logger, exposition: exposition, prices: prices,
                                        monitors: monitorConfiguration)
        let grpc: [any Service] = settings.grpc.map { [OTLPGRPCServer(context: context, listener: $0)] } ?? []
        try await buildApplication(context: context, services: grpc).runService()
        try store.compact()
        logger.info("lantern serve stopped")
    }
}
