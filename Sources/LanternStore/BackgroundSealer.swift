import Foundation

/// Seals journal batches into segments on a thread of its own, so appends only pay for the
/// journal commit. `stop()` seals what is left of full segments and waits for the thread.
public final class BackgroundSealer: @unchecked Sendable {
    private let store: SQLiteSpanStore
    private let condition = NSCondition()
    private var stopping = false
    private var finished = false
    private var error: StoreError?

    /// The error of the last seal pass, if it failed (a later successful pass clears it).
    public var lastError: StoreError? {
        condition.lock()
        defer { condition.unlock() }
        return error
    }

    public init(store: SQLiteSpanStore) {
        self.store = store
        let thread = Thread { [self] in loop() }
        thread.name = "lantern-sealer"
        thread.start()
    }

    private func loop() {
        // With checkpoints left to the background, the sealer runs them after each pass.
        let checkpointer = store.configuration.checkpointInBackground ? try? WALCheckpointer(path: store.path) : nil
        var lastCheckpoint = Date()
        while true {
            condition.lock()
            let stop = stopping
            condition.unlock()
            do {
                let sealed = try store.seal(force: false)
                if let checkpointer, sealed > 0 || stop || Date().timeIntervalSince(lastCheckpoint) > 1 {
                    try checkpointer.checkpoint()
                    lastCheckpoint = Date()
                }
                condition.lock()
                error = nil
                condition.unlock()
                if sealed == 0 {
                    if stop { break }
                    condition.lock()
                    if !stopping { _ = condition.wait(until: Date().addingTimeInterval(0.02)) }
                    condition.unlock()
                }
            } catch let failure {
                condition.lock()
                error = failure
                if !stopping { _ = condition.wait(until: Date().addingTimeInterval(1)) }
                condition.unlock()
                if stop { break }
            }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Wakes the sealer early (after an append that filled a segment).
    public func nudge() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}
