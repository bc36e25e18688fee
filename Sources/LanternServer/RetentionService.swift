import Foundation
import LanternModel
import LanternStore
import Logging
import ServiceLifecycle

/// Applies the configured retention every `interval` while the server runs (first pass at start).
/// Each deleted segment is its own short transaction, so ingest is never blocked for long.
struct RetentionService: Service {
    let store: SQLiteSpanStore
    let retention: ServerConfiguration.Retention
    let logger: Logger

    func run() async throws {
        let policy = RetentionPolicy(maxAgeNanos: retention.maxAgeNanos, maxBytes: retention.maxBytes)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let result = try store.applyRetentionNow(policy, nowUnixNano: Int64(Date().timeIntervalSince1970 * 1e9))
                if result.segmentsDeleted > 0 || result.spansDeleted > 0 {
                    logger.info("retention deleted old data", metadata: [
                        "segments": "\(result.segmentsDeleted)", "spans": "\(result.spansDeleted)", "bytes": "\(result.bytesDeleted)",
                    ])
                }
            } catch {
                logger.error("retention failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(nanoseconds: UInt64(retention.intervalNanos))
            }
        }
    }
}
