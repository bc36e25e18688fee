import GRPCCore
import GRPCNIOTransportHTTP2
import LanternServer
import Logging
import NIOCore
import ServiceLifecycle

/// The OTLP/gRPC server (`OTLPGRPCService` over plaintext HTTP/2) as a ServiceLifecycle service:
/// `lantern serve` adds it to the application's services. A graceful shutdown stops taking new
/// RPCs and lets those in flight finish; a listener that cannot bind fails the service (and so the
/// server), like the HTTP listener.
public struct OTLPGRPCServer: Service {
    let context: LanternServer.ServerContext
    let listener: ServerConfiguration.Listener

    public init(context: LanternServer.ServerContext, listener: ServerConfiguration.Listener) {
        self.context = context
        self.listener = listener
    }

    /// The transport's settings: gzip and deflate messages accepted (the OTLP exporters' `gzip`
    /// compression), and each message bounded by `transportLimit`, compressed and inflated.
    static func transportConfig(limits: ServerConfiguration.Limits) -> HTTP2ServerTransport.Posix.Config {
        .defaults(configure: { config in
            config.compression.enabledAlgorithms = [.gzip, .deflate]
            config.rpc.maxRequestPayloadSize = transportLimit(limits)
        })
    }

    /// The largest message the transport reads: twice `limits.max_body`, at most `limits.max_in_flight`.
    /// grpc-swift-nio-transport answers a message past its own bound by resetting the stream (the client
    /// sees CANCELLED, which OTLP exporters retry), not with a status, so the transport's bound sits above
    /// the body limit: a message between the two reaches `OTLPGRPCService`, which refuses it with
    /// RESOURCE_EXHAUSTED and no RetryInfo (not retried). The transport checks the length prefix before
    /// buffering and stops inflating at its bound, so no request holds more than this.
    static func transportLimit(_ limits: ServerConfiguration.Limits) -> Int {
        let doubled = limits.maxBodyBytes > Int.max / 2 ? Int.max : 2 * limits.maxBodyBytes
        return max(limits.maxBodyBytes, min(doubled, limits.maxInFlightBytes))
    }

    public func run() async throws {
        let address = try Self.socketAddress(listener)
        let transport = HTTP2ServerTransport.Posix(address: address, transportSecurity: .plaintext,
                                                   config: Self.transportConfig(limits: context.configuration.limits))
        let server = GRPCServer(transport: transport, services: [OTLPGRPCService(context: context)])
        let logger = context.logger
        // Announces the bound address once the transport listens (a bind failure throws from serve()).
        let announce = Task {
            if let bound = try? await transport.listeningAddress { logger.info("OTLP/gRPC listening", metadata: ["address": "\(bound)"]) }
        }
        defer { announce.cancel() }
        do {
            try await withGracefulShutdownHandler {
                try await server.serve()
            } onGracefulShutdown: {
                server.beginGracefulShutdown()
            }
        } catch where Task.isShuttingDownGracefully {
            // Asked to stop before the server had started: nothing was served, nothing to report.
        }
        logger.info("OTLP/gRPC stopped")
    }

    /// The listener's host as an IP address: literals as they are, names (`localhost`) resolved.
    static func socketAddress(_ listener: ServerConfiguration.Listener) throws -> GRPCNIOTransportCore.SocketAddress {
        var host = listener.host
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let resolved = try NIOCore.SocketAddress.makeAddressResolvingHost(host, port: listener.port)
        guard let ip = resolved.ipAddress else {
            throw RPCError(code: .invalidArgument, message: "listen.grpc: '\(listener.host)' is not an IP address or a host name")
        }
        switch resolved.protocol {
        case .inet6: return .ipv6(host: ip, port: listener.port)
        default: return .ipv4(host: ip, port: listener.port)
        }
    }
}
