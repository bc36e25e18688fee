import ArgumentParser
import Foundation
import Hummingbird
import LanternModel
import LanternServer
import LanternStore
import Logging
import ServiceLifecycle
import UnixSignals

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run `lantern serve` and feed it realistic LLM traffic over OTLP/HTTP, to see Lantern work in one command.",
        discussion: """
        The traffic is a support assistant: service support-bot, version v1 on gpt-4o-mini (80% of requests) and \
        v2 on gpt-4.1-mini (20%), streaming chat spans with tokens, cached tokens, TTFT, finish reasons and a few \
        rate-limit and server errors, each under an HTTP server span. While it runs, try in another terminal: \
        `lantern query --by service_version,model` or `lantern query --by model,minute`. The server also takes \
        your own apps' spans on the same port. Stops on SIGINT/SIGTERM or after --duration.
        """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var priceOptions: PriceOptions
    @Option(help: "Port for OTLP/HTTP.") var port = 4318
    @Option(help: "Demo requests per second (each is two spans).") var rate = 20
    @Option(help: "Stop after this many seconds (default: run until stopped).") var duration: Double?

    func validate() throws {
        guard rate > 0 && rate <= 100_000 else { throw ValidationError("--rate must be between 1 and 100000") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
    }

    func run() async throws {
        var settings = ServerConfiguration()
        settings.http.port = port
        Observability.bootstrapLogging(settings.logging)
        let exposition = Observability.bootstrapPrometheus()
        var storeConfig = SQLiteSpanStore.Configuration()
        storeConfig.autoSeal = false
        storeConfig.checkpointInBackground = true
        let store = try SQLiteSpanStore(path: database.path, configuration: storeConfig)
        let logger = Logger(label: "lantern")
        let context = try ServerContext(store: store, configuration: settings, logger: logger, exposition: exposition,
                                        prices: try loadPrices(priceOptions.prices))
        let app = buildApplication(context: context, withBackgroundServices: false)
        let traffic = DemoTrafficService(endpoint: URL(string: "http://127.0.0.1:\(port)/v1/traces")!, rate: rate, duration: duration, logger: logger)
        logger.info("lantern demo", metadata: ["address": "127.0.0.1:\(port)", "database": "\(database.path)", "requests_per_second": "\(rate)"])
        let services = [ServiceGroupConfiguration.ServiceConfiguration(service: app)]
            + backgroundServices(context: context).map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
            + [ServiceGroupConfiguration.ServiceConfiguration(service: traffic, successTerminationBehavior: .gracefullyShutdownGroup)]
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try store.compact()
        let stats = try store.statsNow()
        print("demo stopped: \(stats.totalSpans) spans in \(database.path); try `lantern query --db \(database.path) --by service_version,model`")
    }
}
