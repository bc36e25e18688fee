import Foundation
import HTTPTypes
import LanternCollector
import Hummingbird
import LanternAnalyzer
import LanternModel
import LanternStore
import NIOCore

/// The JSON API under `/api/v1/` for the analyzer: reports, aggregate queries, comparisons, drift
/// tests, and scores and feedback. Reads need an ingest key or the admin token when either is
/// configured; posting scores and feedback needs an ingest key when keys are configured.
enum AnalysisRoutes {
    static func register(on router: Router<BasicRequestContext>, context: ServerContext) {
        router.get("/api/v1/report") { request, _ -> Response in
            try await answer(request, context) { p in
                try await ReportBuilder.build(try p.reportRequest(), store: context.store, prices: context.prices)
            }
        }
        router.get("/api/v1/query") { request, _ -> Response in
            try await answer(request, context) { p in
                try await context.store.query(try p.spanQuery(), prices: context.prices)
            }
        }
        router.get("/api/v1/compare") { request, _ -> Response in
            try await answer(request, context) { p in
                let (reference, candidate) = try p.sides()
                return try await Comparison.build(reference: reference, candidate: candidate, store: context.store, prices: context.prices,
                                                  quantiles: try p.quantiles())
            }
        }
        router.get("/api/v1/drift") { request, _ -> Response in
            try await answer(request, context) { p in
                let (reference, candidate) = try p.sides()
                let settings = try p.driftSettings()
                return try await DriftAnalysis.run(settings.subject, reference: reference, candidate: candidate, tests: settings.tests,
                                                   store: context.store, minimumSamples: settings.minimumSamples, alpha: settings.alpha)
            }
        }
        router.get("/api/v1/scores") { request, _ -> Response in
            try await answer(request, context) { p in
                guard let text = try p.single("trace_id") else { throw APIParameterError(parameter: "trace_id", message: "required") }
                guard let trace = TraceID(hex: text) else { throw APIParameterError(parameter: "trace_id", message: "expected 32 hex digits, got '\(text)'") }
                let store = context.store
                return try await withCheckedThrowingContinuation { (done: CheckedContinuation<[Score], any Error>) in
                    DispatchQueue.global(qos: .userInitiated).async { done.resume(with: Result { try store.scores(traceID: trace) }) }
                }
            }
        }
        router.get("/api/v1/monitors") { request, _ -> Response in
            try await answer(request, context) { _ in await MonitorStatusList.current(context.monitors) }
        }
        router.post("/api/v1/scores") { request, _ -> Response in try await receiveScores(request, kind: .score, context: context) }
        router.post("/api/v1/feedback") { request, _ -> Response in try await receiveScores(request, kind: .feedback, context: context) }
    }

    /// Largest scores or feedback body accepted.
    static let maxScoreBodyBytes = 1 << 20

    /// Authorizes a read, parses its parameters, runs it and encodes the answer as JSON; a bad
    /// parameter is a 400 naming it.
    static func answer<T: Encodable>(_ request: Request, _ context: ServerContext,
                                     _ body: (AnalysisParameters) async throws -> T) async throws -> Response {
        if let refusal = authorizeRead(request, context) { return refusal }
        let items = request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
        let parameters = AnalysisParameters(items, nowUnixNano: TimeExpression.nowUnixNano())
        do {
            return json(200, try await body(parameters))
        } catch let e as APIParameterError {
            return APIResponse.error(400, e.message, parameter: e.parameter)
        } catch let e as DriftError {
            return APIResponse.error(400, e.description)
        }
    }

    static func authorizeRead(_ request: Request, _ context: ServerContext) -> Response? {
        switch context.authenticator.reader(authorization: request.headers[.authorization], keyHeader: request.headers[lanternKeyHeader]) {
        case .allowed: return nil
        case .missing, .closed: return APIResponse.error(401, "send an ingest key or the admin token as Authorization: Bearer <secret>")
        case .invalid: return APIResponse.error(403, "the key is not valid")
        }
    }

    static func receiveScores(_ request: Request, kind: Score.Kind, context: ServerContext) async throws -> Response {
        switch context.authenticator.ingest(authorization: request.headers[.authorization], keyHeader: request.headers[lanternKeyHeader]) {
        case .allowed: break
        case .missing, .closed: return APIResponse.error(401, "an ingest key is required: send Authorization: Bearer <key>")
        case .invalid: return APIResponse.error(401, "the ingest key is not valid")
        }
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            return APIResponse.error(415, "send application/json, not \(type)")
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxScoreBodyBytes)
        } catch {
            return APIResponse.error(413, "the body exceeds the limit of \(maxScoreBodyBytes) bytes")
        }
        let scores: [Score]
        do {
            scores = try ScoreSubmission.parse(Array(buffer: body), kind: kind, nowUnixNano: TimeExpression.nowUnixNano())
        } catch {
            return APIResponse.error(400, error.message, parameter: error.path.isEmpty ? nil : error.path)
        }
        let outcomes = try await context.store.appendScores(scores)
        let results = zip(scores, outcomes).map { ScoreResult(id: $0.id, status: $1) }
        return json(outcomes.contains(.conflict) ? 409 : 200, ScoreResults(results: results))
    }

    struct ScoreResult: Encodable { var id: String; var status: ScoreWriteOutcome }
    struct ScoreResults: Encodable { var results: [ScoreResult] }

    static func json<T: Encodable>(_ status: Int, _ value: T) -> Response {
        APIResponse.json(status, value)
    }
}

/// `GET /api/v1/monitors`: every rule with the state of each of its groups.
struct MonitorStatusList: Encodable {
    struct Monitor: Encodable {
        var name: String
        var metric: String
        var groupBy: [GroupKey]
        var windowSeconds: Double
        var everySeconds: Double
        var lastEvaluated: Int64?
        var groups: [Group]
    }

    struct Group: Encodable {
        var group: [String: String]
        var state: MonitorState
        var since: Int64
        var evaluatedAt: Int64
        var value: Double?
        var sampleCount: Int
        var message: String
    }

    var monitors: [Monitor]

    static func current(_ runner: MonitorRunner?) async -> MonitorStatusList {
        guard let runner else { return MonitorStatusList(monitors: []) }
        let rules = await runner.configuration.rules
        let machine = await runner.machine
        return MonitorStatusList(monitors: rules.map { rule in
            let groups = machine.statuses.filter { $0.key.monitor == rule.name }
                .map { key, s in
                    Group(group: key.group, state: s.state, since: s.since, evaluatedAt: s.evaluatedAt, value: s.value,
                          sampleCount: s.sampleCount, message: s.message)
                }
                .sorted { MonitorEvaluator.describe($0.group) < MonitorEvaluator.describe($1.group) }
            return Monitor(name: rule.name, metric: rule.metric, groupBy: rule.groupBy, windowSeconds: Double(rule.windowNanos) / 1e9,
                           everySeconds: Double(rule.everyNanos) / 1e9, lastEvaluated: machine.lastEvaluated[rule.name], groups: groups)
        })
    }
}

/// JSON responses of the API.
enum APIResponse {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }()

    static func json<T: Encodable>(_ status: Int, _ value: T) -> Response {
        do {
            let data = try encoder.encode(value)
            return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        } catch {
            return self.error(500, "the answer could not be encoded: \(error)")
        }
    }

    /// `{"error": message, "parameter": name}`.
    static func error(_ status: Int, _ message: String, parameter: String? = nil) -> Response {
        var text = #"{"error":\#(OTLPResponseEncoder.jsonString(message))"#
        if let parameter { text += #","parameter":\#(OTLPResponseEncoder.jsonString(parameter))"# }
        text += "}"
        return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
