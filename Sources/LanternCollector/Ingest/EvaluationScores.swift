import LanternModel

/// Quality scores carried by OTLP log records: the GenAI `gen_ai.evaluation.result` event
/// (`gen_ai.evaluation.name`, `gen_ai.evaluation.score.value`, `gen_ai.evaluation.score.label`,
/// `gen_ai.evaluation.explanation`), parented to the span it judges by trace and span id.
public enum EvaluationScores {
    public static let eventName = "gen_ai.evaluation.result"

    /// One score per evaluation event that names its evaluation, carries a value or a label, and
    /// belongs to a trace. Its id is derived from the event (trace, span, name, time), so an
    /// exporter's retry of the same event stores it once.
    public static func scores(_ export: LogsExport) -> [Score] {
        export.entries.compactMap { entry in score(entry.record) }
    }

    static func score(_ r: LogRecord) -> Score? {
        guard r.resolvedEventName == eventName, let trace = r.traceID else { return nil }
        func attribute(_ key: String) -> AttributeValue? { r.attributes.first { $0.key == key }?.value }
        guard let name = attribute("gen_ai.evaluation.name")?.stringValue, !name.isEmpty else { return nil }
        let value = attribute("gen_ai.evaluation.score.value")?.lenientDouble.flatMap { $0.isFinite ? $0 : nil }
        let label = attribute("gen_ai.evaluation.score.label")?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        guard value != nil || label != nil else { return nil }
        let time = Int64(clamping: r.effectiveTimeUnixNano)
        let id = "event:\(trace.hex):\(r.spanID?.hex ?? "-"):\(name):\(time)"
        return Score(id: id, kind: .score, traceID: trace, spanID: r.spanID, name: name, value: value, label: label,
                     comment: attribute("gen_ai.evaluation.explanation")?.stringValue, source: "event", timeUnixNano: time)
    }
}
