import Foundation
import LanternModel

/// Renders a `Report` as one self-contained HTML page: inline CSS, charts as inline SVG, no script
/// and no external asset, so the file can be opened offline or attached to a ticket.
///
/// Every chart is an `<svg class="chart" id="chart-…" data-points="N">`, where N counts its data
/// marks (the `circle`/`rect` elements of class `mark`); a chart without data shows "no data" and
/// has `data-points="0"`. Text from the spans (model names, variants, finish reasons, score names)
/// is escaped. The output is deterministic: the same report gives the same bytes.
public enum ReportHTML {
    /// The ids of the charts a page holds, in page order.
    public static let chartIDs = ["chart-requests", "chart-ttft", "chart-ttft-rows", "chart-cost", "chart-finish"]

    /// The page of a report (pure).
    public static func render(_ report: Report, title: String = "Lantern report") -> String {
        var html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="Lantern">
        <title>\(esc(title))</title>
        <style>\(css)</style>
        </head>
        <body>

        """
        html += header(report, title: title)
        html += totals(report.total)
        html += table(report)
        html += "<section id=\"charts\">\n<h2>Charts</h2>\n"
        html += requestsChart(report)
        html += ttftChart(report)
        html += ttftRowsChart(report)
        html += costChart(report)
        html += finishChart(report.total)
        html += "</section>\n</body>\n</html>\n"
        return html
    }

    // MARK: - Sections

    private static func header(_ r: Report, title: String) -> String {
        let from = iso8601(r.from), until = iso8601(r.until)
        return """
        <header>
        <h1>\(esc(title))</h1>
        <p class="range">From <time datetime="\(from)">\(from)</time> until <time datetime="\(until)">\(until)</time> (UTC) \
        · timeline per \(esc(r.bucket.rawValue)) · rows by \(esc(dimensions(r)))</p>
        </header>

        """
    }

    /// The total's headline figures as cards.
    private static func totals(_ t: ReportRow) -> String {
        // (name, value as HTML, note as text)
        let cards: [(String, String, String)] = [
            ("Requests", int(t.requests), "\(int(t.modelCalls)) model calls"),
            ("Error rate", esc(rate(t.errorRate, base: t.requests)), "\(int(t.errors)) errors"),
            ("TTFT p50 / p95 / p99", esc(triple(t.ttft)), "coverage \(coverage(t.ttft?.coverage, base: t.modelCalls))"),
            ("Latency p50 / p95 / p99", esc(triple(t.latency)), t.latency.map { "\(int($0.count)) spans" } ?? "no spans"),
            ("TPOT p50", esc(t.tpot?.percentile(0.5).map(duration) ?? dash),
             "coverage \(coverage(t.tpot?.coverage, base: t.modelCalls))"),
            ("Tokens in / out", "\(int(t.tokens.input)) / \(int(t.tokens.output))",
             "coverage \(coverage(t.tokens.coverage, base: t.modelCalls))"),
            ("Cost (USD)", costHTML(t.cost), "priced \(coverage(t.cost.coverage, base: t.modelCalls)) of model calls"),
            ("Refusal rate", esc(rate(t.refusalRate, base: t.modelCalls)), "\(int(t.refusals)) refusals"),
            ("Feedback rate", esc(rate(t.feedbackRate, base: t.modelCalls)), "\(int(t.spansWithFeedback)) spans with feedback"),
        ]
        var s = "<section id=\"summary\">\n<h2>Totals</h2>\n<dl class=\"totals\">\n"
        for (name, value, note) in cards {
            s += "<div><dt>\(esc(name))</dt><dd>\(value)</dd><dd class=\"note\">\(esc(note))</dd></div>\n"
        }
        return s + "</dl>\n</section>\n"
    }

    /// One line per row, the total last; one column per score name.
    private static func table(_ r: Report) -> String {
        let scoreNames = Set((r.rows + [r.total]).flatMap { $0.scores.map(\.name) }).sorted()
        var s = "<section id=\"rows\">\n<h2>By \(esc(dimensions(r)))</h2>\n<div class=\"scroll\"><table>\n<thead><tr>"
        for d in r.groupBy { s += "<th>\(esc(d.rawValue))</th>" }
        if r.groupBy.isEmpty { s += "<th>group</th>" }
        for h in ["Requests", "Error rate", "TTFT p50", "TTFT p95", "TTFT p99", "TTFT cov.", "Latency p50", "Latency p95",
                  "Latency p99", "TPOT p50", "Tokens in", "Tokens out", "Cost (USD)", "Refusals", "Feedback"] {
            s += "<th class=\"num\">\(h)</th>"
        }
        for n in scoreNames { s += "<th class=\"num\">\(esc(n))<br><small>mean (n)</small></th>" }
        s += "</tr></thead>\n<tbody>\n"
        if r.rows.isEmpty {
            s += "<tr><td colspan=\"\(max(1, r.groupBy.count) + 15 + scoreNames.count)\" class=\"empty\">no rows</td></tr>\n"
        }
        for row in r.rows {
            s += "<tr>"
            for d in r.groupBy { s += "<td>\(keyCell(row.key[d.rawValue] ?? ""))</td>" }
            if r.groupBy.isEmpty { s += "<td>(all)</td>" }
            s += cells(row, scoreNames: scoreNames) + "</tr>\n"
        }
        s += "</tbody>\n<tfoot><tr><th colspan=\"\(max(1, r.groupBy.count))\">Total</th>"
        s += cells(r.total, scoreNames: scoreNames) + "</tr></tfoot>\n</table></div>\n</section>\n"
        return s
    }

    private static func cells(_ row: ReportRow, scoreNames: [String]) -> String {
        // Text first, escaped below; then the cells that are HTML already.
        var text = [int(row.requests), rate(row.errorRate, base: row.requests)]
        for q in [0.5, 0.95, 0.99] { text.append(row.ttft?.percentile(q).map(duration) ?? dash) }
        text.append(coverage(row.ttft?.coverage, base: row.modelCalls))
        for q in [0.5, 0.95, 0.99] { text.append(row.latency?.percentile(q).map(duration) ?? dash) }
        text.append(row.tpot?.percentile(0.5).map(duration) ?? dash)
        text += [int(row.tokens.input), int(row.tokens.output)]
        var html = text.map(esc)
        html.append(costHTML(row.cost))
        html += [rate(row.refusalRate, base: row.modelCalls), rate(row.feedbackRate, base: row.modelCalls)].map(esc)
        for name in scoreNames { html.append(scoreHTML(row.scores.first { $0.name == name })) }
        return html.map { "<td class=\"num\">\($0)</td>" }.joined()
    }

    /// A score's mean and count; for label-only scores, the label counts.
    private static func scoreHTML(_ s: ScoreSummary?) -> String {
        guard let s else { return dash }
        if let v = s.values { return "\(number(v.mean)) <small>(\(int(s.count)))</small>" }
        let labels = s.labels.sorted { $0.key < $1.key }.map { "\(esc($0.key)): \(int($0.value))" }.joined(separator: ", ")
        return labels.isEmpty ? "\(dash) <small>(\(int(s.count)))</small>" : "\(labels) <small>(\(int(s.count)))</small>"
    }

    // MARK: - Charts

    private static func requestsChart(_ r: Report) -> String {
        let series = timelineSeries(r) { Double($0.requests) }
        return lineChart(id: "chart-requests", title: "Requests per \(r.bucket.rawValue), by variant", series: series,
                         bucket: r.bucket, integerY: true, format: { int(Int($0.rounded())) }, unit: "requests")
    }

    private static func ttftChart(_ r: Report) -> String {
        let series = timelineSeries(r) { $0.ttftP95 }
        return lineChart(id: "chart-ttft", title: "TTFT p95 per \(r.bucket.rawValue), by variant", series: series,
                         bucket: r.bucket, integerY: false, format: duration, unit: "TTFT p95")
    }

    private static func ttftRowsChart(_ r: Report) -> String {
        let groups = r.rows.map { row in
            BarGroup(label: rowLabel(row, r), values: [0.5, 0.95, 0.99].map { row.ttft?.percentile($0) })
        }
        return barChart(id: "chart-ttft-rows", title: "TTFT p50 / p95 / p99 by \(dimensions(r))", groups: groups,
                        series: ["p50", "p95", "p99"], format: duration)
    }

    private static func costChart(_ r: Report) -> String {
        let groups = r.rows.map { row in
            BarGroup(label: rowLabel(row, r), values: [row.cost.usd], suffix: row.cost.isUpperBound ? " (upper bound)" : "")
        }
        return barChart(id: "chart-cost", title: "Cost (USD) by \(dimensions(r))", groups: groups, series: ["cost"],
                        format: usd)
    }

    /// The finish-reason mix of the total as one stacked bar, most frequent reason first.
    private static func finishChart(_ t: ReportRow) -> String {
        let id = "chart-finish", title = "Finish reasons (all requests)"
        let mix = t.finishReasons.filter { $0.value > 0 }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let sum = mix.reduce(0) { $0 + $1.value }
        guard sum > 0 else { return noData(id: id, title: title) }
        let legend = legendLayout(mix.map { "\(label($0.key)) \(int($0.value)) (\(percent(Double($0.value) / Double(sum))))" },
                                  top: 14)
        let plot = Plot(left: 16, top: legend.bottom + 8, width: Double(width - 32), height: 28)
        var body = legend.svg
        var x = plot.left
        for (i, (reason, count)) in mix.enumerated() {
            let w = max(1, plot.width * Double(count) / Double(sum))
            body += "<rect class=\"mark\" x=\"\(n(x))\" y=\"\(n(plot.top))\" width=\"\(n(w))\" height=\"\(n(plot.height))\" fill=\"\(color(i))\">"
            body += "<title>\(esc(label(reason))): \(int(count)) (\(esc(percent(Double(count) / Double(sum)))))</title></rect>\n"
            x += plot.width * Double(count) / Double(sum)
        }
        body += xAxis(plot, ticks: [0, 0.25, 0.5, 0.75, 1], max: 1, format: percent)
        return svg(id: id, title: title, height: plot.top + plot.height + 34, points: mix.count, body: body)
    }

    /// One line of the timeline per variant (variants sorted), points sorted by time, nil values skipped.
    private static func timelineSeries(_ r: Report, _ value: (TimelinePoint) -> Double?) -> [Series] {
        let byVariant = Dictionary(grouping: r.timeline, by: \.variant)
        return byVariant.keys.sorted().map { v in
            var points: [(time: Int64, value: Double)] = []
            for p in byVariant[v, default: []].sorted(by: { $0.time < $1.time }) {
                if let y = value(p), y.isFinite { points.append((p.time, y)) }
            }
            return Series(name: label(v), points: points)
        }
    }

    private struct Series {
        var name: String
        var points: [(time: Int64, value: Double)]
    }

    private struct BarGroup {
        var label: String
        var values: [Double?]
        var suffix = ""
    }

    /// The plotting area inside an svg, in svg units.
    private struct Plot {
        var left: Double, top: Double, width: Double, height: Double
        var right: Double { left + width }
        var bottom: Double { top + height }
    }

    private static let width = 720

    /// A time-series chart: one polyline with a circle per point for each series, a legend above.
    private static func lineChart(id: String, title: String, series: [Series], bucket: GroupKey, integerY: Bool,
                                  format: (Double) -> String, unit: String) -> String {
        let all = series.flatMap(\.points)
        guard !all.isEmpty else { return noData(id: id, title: title) }
        let legend = legendLayout(series.map(\.name), top: 14)
        let plot = Plot(left: 64, top: legend.bottom + 10, width: Double(width - 64 - 24), height: 200)
        let yTicks = ticks(upTo: all.map(\.value).max() ?? 0, integer: integerY)
        let yMax = yTicks.last ?? 1
        let times = Set(all.map(\.time)).sorted()
        let t0 = times.first!, t1 = times.last!
        func x(_ t: Int64) -> Double {
            t1 == t0 ? plot.left + plot.width / 2 : plot.left + plot.width * Double(t - t0) / Double(t1 - t0)
        }
        func y(_ v: Double) -> Double { plot.bottom - plot.height * min(max(v / yMax, 0), 1) }

        var body = legend.svg + yAxis(plot, ticks: yTicks, max: yMax, format: format)
        // Up to 6 time labels, evenly spread over the distinct bucket starts.
        let step = max(1, Int((Double(times.count) / 6).rounded(.up)))
        body += "<g class=\"axis\"><line x1=\"\(n(plot.left))\" y1=\"\(n(plot.bottom))\" x2=\"\(n(plot.right))\" y2=\"\(n(plot.bottom))\"/>"
        for t in stride(from: 0, to: times.count, by: step).map({ times[$0] }) {
            body += "<line x1=\"\(n(x(t)))\" y1=\"\(n(plot.bottom))\" x2=\"\(n(x(t)))\" y2=\"\(n(plot.bottom + 4))\"/>"
            body += "<text x=\"\(n(x(t)))\" y=\"\(n(plot.bottom + 16))\" text-anchor=\"middle\">\(tick(t, bucket: bucket))</text>"
        }
        body += "</g>\n"
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            if s.points.count > 1 {
                let pts = s.points.map { "\(n(x($0.time))),\(n(y($0.value)))" }.joined(separator: " ")
                body += "<polyline class=\"line\" points=\"\(pts)\" fill=\"none\" stroke=\"\(color(i))\" stroke-width=\"2\"/>\n"
            }
            for p in s.points {
                body += "<circle class=\"mark\" cx=\"\(n(x(p.time)))\" cy=\"\(n(y(p.value)))\" r=\"3.5\" fill=\"\(color(i))\">"
                body += "<title>\(esc(s.name)) · \(iso8601(p.time)): \(esc(format(p.value))) \(esc(unit))</title></circle>\n"
            }
        }
        return svg(id: id, title: title, height: plot.bottom + 30, points: all.count, body: body)
    }

    /// A horizontal bar chart: one group of bars per row (one bar per series), labels on the left.
    /// Zero and missing values draw no bar.
    private static func barChart(id: String, title: String, groups: [BarGroup], series: [String],
                                 format: (Double) -> String) -> String {
        let values = groups.flatMap { $0.values.compactMap { $0 } }.filter { $0.isFinite && $0 > 0 }
        guard !values.isEmpty else { return noData(id: id, title: title) }
        let legend = series.count > 1 ? legendLayout(series, top: 14) : (svg: "", bottom: 4.0)
        let labelChars = min(40, groups.map { $0.label.count }.max() ?? 0)
        let left = min(270, max(60, Double(labelChars) * 6.4 + 14))
        let barH = series.count > 1 ? 11.0 : 18.0, gap = 10.0
        let groupH = barH * Double(series.count)
        let plotTop = legend.bottom + 10
        let plot = Plot(left: left, top: plotTop, width: Double(width) - left - 110,
                        height: Double(groups.count) * (groupH + gap) + gap)
        let xTicks = ticks(upTo: values.max() ?? 0)
        let xMax = xTicks.last ?? 1
        var body = legend.svg + xAxis(plot, ticks: xTicks, max: xMax, format: format)
        body += "<line class=\"axis\" x1=\"\(n(plot.left))\" y1=\"\(n(plot.top))\" x2=\"\(n(plot.left))\" y2=\"\(n(plot.bottom))\"/>\n"
        var marks = 0
        for (g, group) in groups.enumerated() {
            let gTop = plot.top + gap + Double(g) * (groupH + gap)
            body += "<text class=\"label\" x=\"\(n(plot.left - 6))\" y=\"\(n(gTop + groupH / 2 + 4))\" text-anchor=\"end\">"
            body += "\(esc(truncate(group.label, 40)))<title>\(esc(group.label))</title></text>\n"
            if group.values.allSatisfy({ $0 == nil }) {
                body += "<text class=\"value\" x=\"\(n(plot.left + 4))\" y=\"\(n(gTop + groupH / 2 + 4))\">\(dash)</text>\n"
            }
            for (k, value) in group.values.enumerated() {
                let yTop = gTop + Double(k) * barH
                guard let v = value, v.isFinite else { continue }
                let w = v > 0 ? max(1, plot.width * min(v / xMax, 1)) : 0
                let name = series.count > 1 ? "\(series[k]) " : ""
                if w > 0 {
                    body += "<rect class=\"mark\" x=\"\(n(plot.left))\" y=\"\(n(yTop + 1))\" width=\"\(n(w))\" height=\"\(n(barH - 2))\" fill=\"\(color(k))\">"
                    body += "<title>\(esc(group.label)) · \(esc(name))\(esc(format(v)))\(esc(group.suffix))</title></rect>\n"
                    marks += 1
                }
                body += "<text class=\"value\" x=\"\(n(plot.left + w + 4))\" y=\"\(n(yTop + barH / 2 + 4))\">\(group.suffix.isEmpty ? "" : "≤ ")\(esc(format(v)))</text>\n"
            }
        }
        return svg(id: id, title: title, height: plot.bottom + 30, points: marks, body: body)
    }

    /// Legend entries laid out in rows across the top; returns the svg and the y below it.
    private static func legendLayout(_ names: [String], top: Double) -> (svg: String, bottom: Double) {
        var s = "<g class=\"legend\">"
        var x = 16.0, y = top
        for (i, name) in names.enumerated() {
            let shown = truncate(name, 40)
            let w = 14 + Double(shown.count) * 6.6 + 16
            if x + w > Double(width) - 16, x > 16 { x = 16; y += 16 }
            s += "<rect x=\"\(n(x))\" y=\"\(n(y - 9))\" width=\"10\" height=\"10\" fill=\"\(color(i))\"/>"
            s += "<text x=\"\(n(x + 14))\" y=\"\(n(y))\">\(esc(shown))</text>"
            x += w
        }
        return (s + "</g>\n", y + 4)
    }

    /// A y axis with grid lines and labels at `ticks`.
    private static func yAxis(_ p: Plot, ticks: [Double], max: Double, format: (Double) -> String) -> String {
        var s = "<g class=\"axis\"><line x1=\"\(n(p.left))\" y1=\"\(n(p.top))\" x2=\"\(n(p.left))\" y2=\"\(n(p.bottom))\"/>"
        for t in ticks {
            let y = p.bottom - p.height * (max > 0 ? t / max : 0)
            s += "<line class=\"grid\" x1=\"\(n(p.left))\" y1=\"\(n(y))\" x2=\"\(n(p.right))\" y2=\"\(n(y))\"/>"
            s += "<text x=\"\(n(p.left - 6))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(esc(format(t)))</text>"
        }
        return s + "</g>\n"
    }

    /// An x axis along the bottom of the plot with vertical grid lines and labels at `ticks`.
    private static func xAxis(_ p: Plot, ticks: [Double], max: Double, format: (Double) -> String) -> String {
        var s = "<g class=\"axis\"><line x1=\"\(n(p.left))\" y1=\"\(n(p.bottom))\" x2=\"\(n(p.right))\" y2=\"\(n(p.bottom))\"/>"
        for t in ticks {
            let x = p.left + p.width * (max > 0 ? t / max : 0)
            s += "<line class=\"grid\" x1=\"\(n(x))\" y1=\"\(n(p.top))\" x2=\"\(n(x))\" y2=\"\(n(p.bottom))\"/>"
            s += "<text x=\"\(n(x))\" y=\"\(n(p.bottom + 16))\" text-anchor=\"middle\">\(esc(format(t)))</text>"
        }
        return s + "</g>\n"
    }

    private static func svg(id: String, title: String, height: Double, points: Int, body: String) -> String {
        let h = Int(height.rounded(.up))
        return """
        <figure>
        <svg class="chart" id="\(id)" role="img" aria-labelledby="\(id)-title" data-points="\(points)" width="\(width)" height="\(h)" \
        viewBox="0 0 \(width) \(h)" xmlns="http://www.w3.org/2000/svg">
        <title id="\(id)-title">\(esc(title))</title>
        \(body)</svg>
        <figcaption>\(esc(title))</figcaption>
        </figure>

        """
    }

    private static func noData(id: String, title: String) -> String {
        svg(id: id, title: title, height: 80, points: 0,
            body: "<rect class=\"frame\" x=\"0.5\" y=\"0.5\" width=\"\(width - 1)\" height=\"79\"/>"
                + "<text class=\"nodata\" x=\"\(width / 2)\" y=\"44\" text-anchor=\"middle\">no data</text>\n")
    }

    /// 0, step, 2·step, … up to the first tick at or above `maxValue`, with a 1-2-5 step giving about `count` intervals.
    private static func ticks(upTo maxValue: Double, count: Int = 5, integer: Bool = false) -> [Double] {
        let top = maxValue.isFinite && maxValue > 0 ? maxValue : 1
        let raw = top / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let r = raw / magnitude
        var step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * magnitude
        if integer { step = max(1, step.rounded(.up)) }
        let intervals = max(1, Int((top / step - 1e-9).rounded(.up)))
        return (0...intervals).map { Double($0) * step }
    }

    /// Okabe–Ito colours (distinguishable with colour-blindness), cycled.
    private static func color(_ i: Int) -> String {
        let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
        return palette[i % palette.count]
    }

    // MARK: - Text

    private static let dash = "–"

    /// Escapes text for HTML content and attribute values.
    private static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A dimension value as shown ("" as "(none)"); not escaped.
    private static func label(_ value: String) -> String { value.isEmpty ? "(none)" : value }

    private static func keyCell(_ value: String) -> String { value.isEmpty ? "<em>(none)</em>" : esc(value) }

    private static func rowLabel(_ row: ReportRow, _ r: Report) -> String {
        r.groupBy.isEmpty ? "(all)" : r.groupBy.map { label(row.key[$0.rawValue] ?? "") }.joined(separator: " · ")
    }

    private static func dimensions(_ r: Report) -> String {
        r.groupBy.isEmpty ? "total" : r.groupBy.map(\.rawValue).joined(separator: " × ")
    }

    private static func truncate(_ s: String, _ limit: Int) -> String {
        s.count <= limit ? s : String(s.prefix(limit - 1)) + "…"
    }

    // MARK: - Numbers (never NaN or infinity)

    /// A coordinate for svg attributes.
    private static func n(_ x: Double) -> String { x.isFinite ? String(format: "%.1f", x) : "0" }

    private static func fixed(_ x: Double, _ decimals: Int) -> String {
        x.isFinite ? String(format: "%.\(decimals)f", x) : dash
    }

    /// A plain number with up to 3 decimals.
    private static func number(_ x: Double) -> String {
        guard x.isFinite else { return dash }
        var s = fixed(x, abs(x) >= 100 ? 1 : 3)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    /// Seconds, as ms below 1 s.
    private static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return dash }
        if seconds == 0 { return "0 ms" }
        let ms = seconds * 1000
        if abs(ms) < 1 { return fixed(ms, 2) + " ms" }
        if abs(ms) < 10 { return fixed(ms, 1) + " ms" }
        if abs(seconds) < 1 { return fixed(ms, 0) + " ms" }
        if abs(seconds) < 10 { return fixed(seconds, 2) + " s" }
        if abs(seconds) < 100 { return fixed(seconds, 1) + " s" }
        return fixed(seconds, 0) + " s"
    }

    private static func usd(_ x: Double) -> String {
        guard x.isFinite else { return dash }
        if x == 0 { return "$0" }
        if abs(x) >= 1 { return "$" + fixed(x, 2) }
        // Up to 4 decimals below $1 (6 below $0.0001), trailing zeros dropped down to cents.
        var s = fixed(x, abs(x) >= 0.0001 ? 4 : 6)
        while s.hasSuffix("0"), s.split(separator: ".").last.map({ $0.count > 2 }) == true { s.removeLast() }
        return "$" + s
    }

    private static func costHTML(_ c: ReportRow.Cost) -> String {
        guard c.isUpperBound else { return usd(c.usd) }
        let title = "\(c.upperBoundSpans) priced spans did not report cached input tokens: the cost is an upper bound"
        return "≤ \(usd(c.usd)) <span class=\"ub\" title=\"\(esc(title))\">upper bound</span>"
    }

    private static func percent(_ share: Double) -> String {
        guard share.isFinite else { return dash }
        if share > 0 && share < 0.001 { return "<0.1%" }
        return fixed(share * 100, 1) + "%"
    }

    /// A rate, or a dash when its base is 0.
    private static func rate(_ r: Double, base: Int) -> String { base == 0 ? dash : percent(r) }

    private static func coverage(_ c: Double?, base: Int) -> String {
        guard let c, base > 0 else { return dash }
        return percent(c)
    }

    private static func triple(_ f: ReportRow.Figure?) -> String {
        guard let f else { return dash }
        return [0.5, 0.95, 0.99].map { f.percentile($0).map(duration) ?? dash }.joined(separator: " / ")
    }

    /// An integer with thousands separators.
    private static func int<T: BinaryInteger>(_ v: T) -> String {
        let digits = Array(String(v.magnitude))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return v < 0 ? "-" + out : out
    }

    // MARK: - Time (UTC)

    /// Unix nanoseconds as `YYYY-MM-DDTHH:MM:SSZ` (floored to the second).
    private static func iso8601(_ nanos: Int64) -> String { UTCDateTime(unixNanos: nanos).iso8601() }

    /// A time axis label for a bucket start.
    private static func tick(_ nanos: Int64, bucket: GroupKey) -> String {
        let c = UTCDateTime(unixNanos: nanos)
        switch bucket {
        case .day: return String(format: "%04d-%02d-%02d", c.year, c.month, c.day)
        case .hour: return String(format: "%02d-%02d %02d:00", c.month, c.day, c.hour)
        default: return String(format: "%02d:%02d", c.hour, c.minute)
        }
    }

    // MARK: - Style

    private static let css = """

    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1b1f24;background:#fff}
    h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #d8dee4;padding-bottom:4px}
    .range{color:#57606a;margin:0}
    .totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:10px;margin:0}
    .totals div{border:1px solid #d8dee4;border-radius:6px;padding:8px 12px}
    .totals dt{color:#57606a;font-size:12px}.totals dd{margin:0;font-size:17px;font-variant-numeric:tabular-nums}
    .totals dd.note{font-size:12px;color:#57606a}
    .ub{font-size:11px;color:#9a6700;border:1px solid #d4a72c;border-radius:4px;padding:0 4px;vertical-align:middle}
    .scroll{overflow-x:auto}
    table{border-collapse:collapse;font-variant-numeric:tabular-nums;white-space:nowrap}
    th,td{border-bottom:1px solid #d8dee4;padding:4px 8px;text-align:left}th{background:#f6f8fa;font-weight:600}
    .num{text-align:right}tfoot th,tfoot td{font-weight:600;border-top:2px solid #8c959f}td.empty{color:#57606a;text-align:center}
    figure{margin:0 0 24px}figcaption{color:#57606a;font-size:12px}
    svg.chart{display:block;max-width:100%;height:auto;font:11px system-ui,sans-serif;background:#fff}
    svg.chart .axis line{stroke:#8c959f}svg.chart line.axis{stroke:#8c959f}svg.chart .grid{stroke:#eaeef2}
    svg.chart text{fill:#24292f}svg.chart .nodata{fill:#57606a;font-size:14px}
    svg.chart .frame{fill:#f6f8fa;stroke:#d8dee4}

    """
}
