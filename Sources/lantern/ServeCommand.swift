import ArgumentParser
import Foundation
import Hummingbird
import LanternServer
import LanternStore
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Take OTLP/HTTP traces (POST /v1/traces, protobuf or JSON, gzip or deflate) into the store.",
        discussion: """
        A 200 is sent only after the spans are durable in the journal; spans that were rejected are counted \
        in the response's partial_success. 400 for an undecodable body, 401 without a valid ingest key (when \
        keys are configured), 413 past the body limit (also after decompression), 415 for other content types \
        or encodings, 503 with Retry-After when the queue or the in-flight request bytes are full. Prompt and \
        completion content is redacted before it is written; spans are tagged with their variant. \
        GET /healthz answers 'ok'; GET /metrics serves Prometheus metrics. SIGTERM or SIGINT stops taking \
        requests, finishes those in flight, seals full segments and exits 0. Settings come from --config \
        (see collectors/lantern.yaml); the options below override it. Point an OpenTelemetry SDK at it with \
        OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318.
        """
    )

    @Option(name: .long, help: "The database file (default: the config's database, $LANTERN_DB, or ./lantern.db).")
    var db: String?
    @Option(help: "A configuration file (default: $LANTERN_CONFIG if set).") var config: String?
    @Option(help: "Address to listen on (overrides listen.http).") var host: String?
    @Option(help: "Port for OTLP/HTTP (overrides listen.http).") var port: Int?
    @Option(help: "Largest request body, compressed or decompressed, in MiB (overrides limits.max_body).") var maxBodyMib: Int?
    @Option(help: "Spans waiting for the journal before requests get 503 (overrides limits.max_queued_spans).") var maxQueuedSpans: Int?
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
        if let host { settings.http.host = host }
        if let port { settings.http.port = port }
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
        let databasePath = db ?? settings.databasePath ?? ProcessInfo.processInfo.environment["LANTERN_DB"] ?? "lantern.db"
        if !problems.isEmpty {
            for p in problems { printError("configuration: \(p)") }
            throw ExitCode(2)
        }
        if checkConfig {
            print("""
            configuration is valid: \(configPath ?? "(defaults)")
              listen http   \(settings.http.host):\(settings.http.port)
              database      \(databasePath)
              ingest keys   \(settings.auth.ingestKeys.isEmpty ? "none (open on loopback)" : settings.auth.ingestKeys.map(\.name).joined(separator: ", "))
              admin token   \(settings.auth.adminToken == nil ? "none (admin routes closed)" : "configured")
              redaction     \(settings.redaction.builtins.joined(separator: ", "))\(settings.redaction.patterns.isEmpty ? "" : " + " + settings.redaction.patterns.map(\.name).joined(separator: ", "))
              variants      \(settings.variants.count) mapping(s)
              retention     \(settings.retention.isEnabled ? "on" : "off")
              limits        body \(settings.limits.maxBodyBytes) B, queue \(settings.limits.maxQueuedSpans) spans, in flight \(settings.limits.maxInFlightBytes) B
            """)
            return
        }
        Observability.bootstrapLogging(settings.logging)
        let exposition = Observability.bootstrapPrometheus()
        var storeConfig = SQLiteSpanStore.Configuration()
        storeConfig.autoSeal = false
        let store = try SQLiteSpanStore(path: databasePath, configuration: storeConfig)
        let logger = Logger(label: "lantern")
        logger.info("lantern serve", metadata: [
            "address": "\(settings.http.host):\(settings.http.port)", "database": "\(databasePath)",
            "ingest_keys": "\(settings.auth.ingestKeys.count)", "config": "\(configPath ?? "defaults")",
        ])
        let context = try ServerContext(store: store, configuration: settings, logger: logger, exposition: exposition)
        try await buildApplication(context: context).runService()
        try store.compact()
        logger.info("lantern serve stopped")
    }
}
