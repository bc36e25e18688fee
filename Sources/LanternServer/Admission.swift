import Foundation

/// Back-pressure for the ingest routes: bounds the request bytes being read, decoded or waiting
/// to commit, and the spans waiting for the journal. A request that does not fit is refused
/// before its body is read (503 with Retry-After) instead of growing memory without bound.
public final class Admission: @unchecked Sendable {
    private let lock = NSLock()
    private var bytesInFlight = 0
    /// The most request bytes held at once.
    public let maxInFlightBytes: Int

    public init(maxInFlightBytes: Int) {
        self.maxInFlightBytes = maxInFlightBytes
    }

    /// A reservation of request bytes; give it back with `release`.
    public struct Ticket: Sendable {
        fileprivate(set) var bytes: Int
    }

    /// Reserves `bytes` (the declared Content-Length, or the body limit when it is unknown),
    /// or nil when that would pass the in-flight bound.
    public func admit(bytes: Int) -> Ticket? {
        lock.lock()
        defer { lock.unlock() }
        guard bytesInFlight + bytes <= maxInFlightBytes else { return nil }
        bytesInFlight += bytes
        return Ticket(bytes: bytes)
    }

    /// Shrinks a reservation to what the body turned out to need.
    public func shrink(_ ticket: inout Ticket, to bytes: Int) {
        guard bytes < ticket.bytes else { return }
        lock.lock()
        bytesInFlight -= ticket.bytes - bytes
        lock.unlock()
        ticket.bytes = bytes
    }

    /// Gives a reservation back.
    public func release(_ ticket: Ticket) {
        lock.lock()
        bytesInFlight -= ticket.bytes
        lock.unlock()
    }

    /// Request bytes held now.
    public var inFlightBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return bytesInFlight
    }

    /// Whether `incoming` more spans fit beside the `queued` ones already waiting. An empty queue
    /// takes any one request, so a request larger than the bound is not refused forever.
    public static func queueHasRoom(queued: Int, incoming: Int, limit: Int) -> Bool {
        queued == 0 || queued + incoming <= limit
    }
}
