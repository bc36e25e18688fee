import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LanternModel

/// The result of delivering one transition to one webhook.
public struct WebhookDelivery: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The receiver answered 2xx (or 3xx) on attempt `attempts`.
        case delivered(attempts: Int, status: Int)
        /// No attempt succeeded: the last error, or a status that is not retried (4xx other than 429).
        case gaveUp(attempts: Int, lastError: String)
    }

    public var webhook: String
    public var monitor: String
    public var group: [String: String]
    public var to: MonitorState
    public var outcome: Outcome

    public var isDelivered: Bool {
        if case .delivered = outcome { return true }
        return false
    }
}

/// Sends monitor transitions to webhooks as JSON POSTs, each delivery in a task of its own so a
/// slow or failing receiver never holds up evaluation. Retries connection errors, 5xx and 429 with
/// exponential backoff (initial, doubling, capped) up to the webhook's `maxAttempts`; other 4xx
/// are not retried. Sending and sleeping are injected.
public actor WebhookNotifier {
    /// Sends one request; returns the HTTP status or throws on a connection error or timeout.
    public typealias Send = @Sendable (URLRequest) async throws -> Int
    /// Waits; throws when cancelled.
    public typealias Sleep = @Sendable (Duration) async throws -> Void

    /// Finished deliveries kept for `waitForDeliveries` (the oldest are dropped beyond this).
    public static let keptResults = 1000

    private let webhooks: [String: Webhook]
    private let send: Send
    private let sleep: Sleep
    private let onResult: (@Sendable (WebhookDelivery) -> Void)?
    private var outstanding: [Int: Task<WebhookDelivery, Never>] = [:]
    private var finished: [WebhookDelivery] = []
    private var nextID = 0

    /// `onResult` is called once per finished delivery (e.g. to log the ones that gave up).
    public init(webhooks: [Webhook], send: @escaping Send = WebhookNotifier.urlSessionSend,
                sleep: @escaping Sleep = { try await Task.sleep(for: $0) },
                onResult: (@Sendable (WebhookDelivery) -> Void)? = nil) {
        self.webhooks = Dictionary(webhooks.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.send = send
        self.sleep = sleep
        self.onResult = onResult
    }

    /// Starts delivering `transition` to each named webhook and returns at once.
    public func notify(_ transition: MonitorTransition, webhooks names: [String]) {
        for name in names {
            let id = nextID
            nextID += 1
            let webhook = webhooks[name]
            let send = send, sleep = sleep
            // The task is isolated to this actor, so it is registered before it can finish; the
            // delivery itself (a nonisolated async function) runs off the actor.
            outstanding[id] = Task {
                let result: WebhookDelivery
                if let webhook {
                    result = await Self.deliver(transition, to: webhook, send: send, sleep: sleep)
                } else {
                    result = WebhookDelivery(webhook: name, monitor: transition.monitor, group: transition.group, to: transition.to,
                                             outcome: .gaveUp(attempts: 0, lastError: "no webhook named '\(name)'"))
                }
                finish(id, result)
                return result
            }
        }
    }

    /// Deliveries still running.
    public var outstandingCount: Int { outstanding.count }

    /// Waits until every delivery started so far has finished, and returns the results finished
    /// since the last call (at most `keptResults`), in the order they finished.
    public func waitForDeliveries() async -> [WebhookDelivery] {
        while let task = outstanding.values.first, !Task.isCancelled {
            _ = await task.value
        }
        defer { finished = [] }
        return finished
    }

    /// Cancels every running delivery (their waits throw, so they give up at once).
    public func cancelDeliveries() {
        for task in outstanding.values { task.cancel() }
    }

    private func finish(_ id: Int, _ result: WebhookDelivery) {
        outstanding[id] = nil
        finished.append(result)
        if finished.count > Self.keptResults { finished.removeFirst(finished.count - Self.keptResults) }
        onResult?(result)
    }

    /// Delivers one transition to one webhook, retrying as the webhook allows; returns when it was
    /// delivered or given up.
    public static func deliver(_ transition: MonitorTransition, to webhook: Webhook, send: Send, sleep: Sleep) async -> WebhookDelivery {
        let request = request(for: transition, to: webhook)
        let attempts = max(1, webhook.maxAttempts)
        var lastError = ""
        func result(_ outcome: WebhookDelivery.Outcome) -> WebhookDelivery {
            WebhookDelivery(webhook: webhook.name, monitor: transition.monitor, group: transition.group, to: transition.to, outcome: outcome)
        }
        for attempt in 1...attempts {
            if attempt > 1 {
                do {
                    try await sleep(backoff(afterAttempt: attempt - 1, initial: webhook.backoffInitial, max: webhook.backoffMax))
                } catch {
                    return result(.gaveUp(attempts: attempt - 1, lastError: "cancelled after: \(lastError)"))
                }
            }
            if Task.isCancelled { return result(.gaveUp(attempts: attempt - 1, lastError: "cancelled")) }
            do {
                let status = try await send(request)
                if (200..<400).contains(status) { return result(.delivered(attempts: attempt, status: status)) }
                lastError = "HTTP \(status)"
                if !isRetried(status: status) { return result(.gaveUp(attempts: attempt, lastError: lastError)) }
            } catch {
                lastError = "\(error)"
            }
        }
        return result(.gaveUp(attempts: attempts, lastError: lastError))
    }

    /// 5xx and 429 are retried; other statuses are final.
    public static func isRetried(status: Int) -> Bool { status == 429 || (500..<600).contains(status) }

    /// The wait after failed attempt `n` (1-based): `initial × 2^(n−1)`, at most `max`.
    public static func backoff(afterAttempt n: Int, initial: Duration, max cap: Duration) -> Duration {
        var wait = initial
        for _ in 1..<Swift.max(1, n) {
            wait *= 2
            if wait >= cap { return cap }
        }
        return Swift.min(wait, cap)
    }

    /// The POST of a transition: JSON body, `Content-Type: application/json`, the webhook's headers and timeout.
    public static func request(for transition: MonitorTransition, to webhook: Webhook) -> URLRequest {
        var request = URLRequest(url: webhook.url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("lantern", forHTTPHeaderField: "User-Agent")
        for (name, value) in webhook.headers { request.setValue(value, forHTTPHeaderField: name) }
        let (seconds, attoseconds) = webhook.timeout.components
        request.timeoutInterval = Double(seconds) + Double(attoseconds) / 1e18
        request.httpBody = body(for: transition)
        return request
    }

    /// `{"monitor","group","from","to","at","value","samples","message"}`: `at` in ISO-8601 UTC with
    /// milliseconds, `from` and `value` null when absent. Keys sorted, so bodies are reproducible.
    public static func body(for transition: MonitorTransition) -> Data {
        let value: Any = transition.value.flatMap { $0.isFinite ? $0 : nil } ?? NSNull()
        let object: [String: Any] = [
            "monitor": transition.monitor,
            "group": transition.group,
            "from": transition.from?.rawValue ?? NSNull(),
            "to": transition.to.rawValue,
            "at": iso8601(unixNanos: transition.at),
            "value": value,
            "samples": transition.sampleCount,
            "message": transition.message,
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }

    /// `2025-01-31T12:00:00.000Z` (UTC, milliseconds truncated).
    public static func iso8601(unixNanos: Int64) -> String { UTCDateTime(unixNanos: unixNanos).iso8601(milliseconds: true) }

    /// Sends with `URLSession.shared`; the status of the response.
    public static let urlSessionSend: Send = { request in
        let (_, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        return http.statusCode
    }
}
