/// The columns of a segment. Raw values are stored on disk: never renumber, only add.
public enum ColumnID: Int, CaseIterable, Sendable {
    case traceID = 1, spanID = 2, parentSpanID = 3, name = 4, kind = 5, startTime = 6, duration = 7
    case statusCode = 8, statusMessage = 9, flags = 10, traceState = 11, droppedCounts = 12, origin = 13
    case serviceName = 20, serviceVersion = 21, environment = 22
    case operation = 30, provider = 31, requestModel = 32, responseModel = 33, finishReason = 34, errorType = 35
    case conversationID = 36, userID = 37, promptName = 38, promptVersion = 39, variant = 40, rollout = 41
    case inputTokens = 50, outputTokens = 51, cacheReadTokens = 52, cacheCreationTokens = 53, reasoningTokens = 54
    case timeToFirstToken = 60, reportedCost = 61
    case provenance = 70, attributeShape = 71, attributeValues = 72, events = 73, links = 74


    /// Columns whose chunks are worth zstd-compressing when sealed.
    var compressible: Bool {
        switch self {
        case .traceID, .spanID, .startTime, .duration, .kind, .statusCode, .flags, .inputTokens, .outputTokens: return false
        default: return true
        }
    }
}
