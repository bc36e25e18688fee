import Foundation
import LanternModel
import LanternStore

/// Group commit across concurrent requests: appends wait in a queue, and one writer thread
/// commits everything that is waiting in a single transaction (one fsync), then answers each
/// waiter. A request is answered only after its own spans are durable.
final class CommitQueue: @unchecked Sendable {
    private let store: SQLiteSpanStore
    private let condition = NSCondition()
    private var waiting: [(spans: SQLiteSpanStore.EncodedSpans, done: CheckedContinuation<Void, any Error>)] = []
    private var waitingSpans = 0
    private var stopped = false
    /// Spans per transaction at most; the rest wait for the next one.
    let maxSpansPerCommit: Int
    /// Told the size and duration of every successful commit.
    private let onCommit: @Sendable (_ spans: Int, _ nanoseconds: Int64) -> Void

    init(store: SQLiteSpanStore, maxSpansPerCommit: Int = 65_536,
         onCommit: @escaping @Sendable (_ spans: Int, _ nanoseconds: Int64) -> Void = { _, _ in }) {
        self.store = store
        self.maxSpansPerCommit = maxSpansPerCommit
        self.onCommit = onCommit
        let thread = Thread { [self] in run() }
        thread.name = "lantern-commit"
        thread.start()
    }

    /// Spans waiting to be committed (for back-pressure decisions).
    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return waitingSpans
    }

    /// Returns once the spans are durable, or throws what the commit threw.
    func append(_ spans: SQLiteSpanStore.EncodedSpans) async throws {
        guard spans.count > 0 else { return }
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
            condition.lock()
            if stopped {
                condition.unlock()
                done.resume(throwing: StoreError.invalidArgument("the server is shutting down"))
                return
            }
            waiting.append((spans, done))
            waitingSpans += spans.count
            condition.signal()
            condition.unlock()
        }
    }

    /// Commits what is waiting, then stops the writer thread.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while waiting.isEmpty && !stopped { condition.wait() }
            if waiting.isEmpty && stopped {
                condition.unlock()
                return
            }
            var taken = 0
            var count = 0
            for w in waiting {
                if count > 0 && taken + w.spans.count > maxSpansPerCommit { break }
                taken += w.spans.count
                count += 1
            }
            let batch = Array(waiting.prefix(count))
            waiting.removeFirst(count)
            waitingSpans -= taken
            condition.unlock()
            do {
                let started = DispatchTime.now().uptimeNanoseconds
                try store.appendNow(encoded: batch.map(\.spans))
                onCommit(taken, Int64(DispatchTime.now().uptimeNanoseconds - started))
                for w in batch { w.done.resume() }
            } catch {
                for w in batch { w.done.resume(throwing: error) }
            }
        }
    }
}
