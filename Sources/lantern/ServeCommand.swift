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
        in the response's partial_success. 400 for an undecodable body, 413 past the body limit (also after \
        decompression), 415 for other content types or encodings. GET /healthz answers 'ok'. SIGTERM or \
        SIGINT stops taking requests, seals full segments and exits 0. Listens on loopback only (ingest \
        keys are not built yet). Point an OpenTelemetry SDK at it with \
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:4318/v1/traces.
        """
    )

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Address to listen on (loopback only).") var host = "127.0.0.1"
    @Option(help: "Port for OTLP/HTTP.") var port = 4318
    @Option(help: "Largest request body, compressed or decompressed, in MiB.") var maxBodyMib = 64
    @Flag(help: "Check the configuration, report every problem, and exit.") var checkConfig = false

    func run() async throws {
        var config = ServerConfiguration()
        config.host = host
        config.port = port
        config.ingest.maxBodyBytes = maxBodyMib << 20
        let problems = config.problems()
        if !problems.isEmpty {
            for p in problems { printError("configuration: \(p)") }
            throw ExitCode(2)
        }
        if checkConfig {
            print("configuration is valid: \(host):\(port), body limit \(maxBodyMib) MiB, database \(database.path)")
            return
        }
        var storeConfig = SQLiteSpanStore.Configuration()
        storeConfig.autoSeal = false
        let store = try SQLiteSpanStore(path: database.path, configuration: storeConfig)
        var logger = Logger(label: "lantern")
        logger.logLevel = .info
        logger.info("lantern serve", metadata: ["address": "\(host):\(port)", "database": "\(database.path)"])
        try await buildApplication(store: store, configuration: config, logger: logger).runService()
        try store.compact()
    }
}
