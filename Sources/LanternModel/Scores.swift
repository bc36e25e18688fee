/// A quality signal tied to a trace or one span of it: an evaluator's score (from a
/// `gen_ai.evaluation.result` event or `POST /api/v1/scores`) or a user's feedback
/// (`POST /api/v1/feedback`). Stored once per `id`: posting the same id again changes nothing.
public struct Score: Sendable, Equatable, Codable {
    /// Whether an evaluator or a user gave it.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case score, feedback
    }

    /// The client's id (idempotency key); for scores from events, derived from the event.
    public var id: String
    public var kind: Kind
    public var traceID: TraceID
    /// The span it judges; nil judges the whole trace.
    public var spanID: SpanID?
    /// The score's name (`relevance`, `toxicity`, `user_feedback`, ...).
    public var name: String
    /// A numeric value, a label, or both; at least one is present.
    public var value: Double?
    public var label: String?
    /// An evaluator's explanation or a user's comment.
    public var comment: String?
    /// Where it came from: `event`, `api`, or `feedback`.
    public var source: String
    /// When it was given, Unix nanoseconds.
    public var timeUnixNano: Int64

    public init(id: String, kind: Kind, traceID: TraceID, spanID: SpanID?, name: String, value: Double?, label: String?,
                comment: String?, source: String, timeUnixNano: Int64) {
        self.id = id
        self.kind = kind
        self.traceID = traceID
        self.spanID = spanID
        self.name = name
        self.value = value
        self.label = label
        self.comment = comment
        self.source = source
        self.timeUnixNano = timeUnixNano
    }

    /// The same judgement, ignoring when it was received (for idempotency checks).
    public func sameContent(as other: Score) -> Bool {
        kind == other.kind && traceID == other.traceID && spanID == other.spanID && name == other.name
            && value == other.value && label == other.label && comment == other.comment
    }
}

/// What storing one score did.
public enum ScoreWriteOutcome: String, Sendable, Codable {
    /// Stored now.
    case stored
    /// A score with this id and the same content was already stored; nothing changed.
    case duplicate
    /// A score with this id but different content is stored; nothing changed.
    case conflict
}

/// The distribution of one score name within a group.
public struct ScoreSummary: Sendable, Equatable, Codable {
    public var name: String
    /// Scores of this name given to the group's spans (a score on a whole trace counts once per group).
    public var count: Int
    /// Numeric values: their distribution (nil when every score was a label only).
    public var values: Distribution?
    /// Label -> count, for scores that carried a label.
    public var labels: [String: Int]

    public init(name: String, count: Int, values: Distribution?, labels: [String: Int]) {
        self.name = name
        self.count = count
        self.values = values
        self.labels = labels
    }
}
