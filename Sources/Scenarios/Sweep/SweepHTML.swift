// sweep.html: a self-contained XHTML page with SVG plots: each metric against each axis (every point, and the
// mean per value), and cost against the rank-by metric with its Pareto front.
import Foundation
import Sim

struct SweepHTML {
    let results: SweepResults
    init(_ results: SweepResults) { self.results = results }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    func metricAgainstAxis(_ m: Int, _ a: Int) -> String {
        let plan = results.plan
        let axis = plan.axes[a]
        let w = 360.0, h = 220.0, left = 56.0, bottom = 40.0, top = 24.0, right = 12.0
        var points: [(Int, Double, Int)] = []
        for row in results.rows where row.error == nil && m < row.metrics.count && row.metrics[m].isFinite {
            points.append((plan.coordinates(row.point)[a], row.metrics[m], row.point))
        }
        let scale = NiceScale(points.map(\.1))
        let (lo, hi) = (scale.lo, scale.hi)
        let n = axis.values.count
        func x(_ v: Int, jitter: Int = 0) -> Double {
            let slot = (w - left - right) / Double(n)
            return left + slot * (Double(v) + 0.5) + Double(jitter % 7 - 3) * min(3, slot / 20)
        }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)) }
        let metric = plan.metrics[m]
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\">"
        s += "<text x=\"\(Self.f(w / 2))\" y=\"14\" text-anchor=\"middle\" font-size=\"12\">\(Self.esc(metric.name)) against \(Self.esc(axis.name))</text>"
        s += "<line x1=\"\(left)\" y1=\"\(Self.f(h - bottom))\" x2=\"\(Self.f(w - right))\" y2=\"\(Self.f(h - bottom))\" stroke=\"#444\"/>"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(Self.f(h - bottom))\" stroke=\"#444\"/>"
        for v in scale.ticks {
            s += "<text x=\"\(Self.f(left - 4))\" y=\"\(Self.f(y(v) + 4))\" text-anchor=\"end\" font-size=\"10\">\(scale.label(v))</text>"
            s += "<line x1=\"\(left)\" y1=\"\(Self.f(y(v)))\" x2=\"\(Self.f(w - right))\" y2=\"\(Self.f(y(v)))\" stroke=\"#eee\"/>"
        }
        for (v, value) in axis.values.enumerated() {
            s += "<text x=\"\(Self.f(x(v)))\" y=\"\(Self.f(h - bottom + 14))\" text-anchor=\"middle\" font-size=\"10\">\(Self.esc(value.label))</text>"
        }
        s += "<text x=\"12\" y=\"\(Self.f((h - bottom + top) / 2))\" font-size=\"10\" transform=\"rotate(-90 12 \(Self.f((h - bottom + top) / 2)))\" text-anchor=\"middle\">\(Self.esc(metric.name))\(metric.unit.isEmpty ? "" : " (" + Self.esc(metric.unit) + ")")</text>"
        for (v, value, point) in points {
            s += "<circle cx=\"\(Self.f(x(v, jitter: point)))\" cy=\"\(Self.f(y(value)))\" r=\"2.5\" fill=\"#4a78b5\" fill-opacity=\"0.5\"><title>point \(point): \(String(format: "%.3f", value))</title></circle>"
        }
        var means: [(Int, Double)] = []
        for v in 0..<n {
            let vs = points.filter { $0.0 == v }.map(\.1)
            if !vs.isEmpty { means.append((v, vs.reduce(0, +) / Double(vs.count))) }
        }
        if means.count > 1 {
            s += "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"" + means.map { "\(Self.f(x($0.0))),\(Self.f(y($0.1)))" }.joined(separator: " ") + "\"/>"
        }
        return s + "</svg>"
    }

    func pareto() -> String? {
        let plan = results.plan
        guard let r = plan.rankBy, let m = plan.metrics.firstIndex(where: { $0.name == r }) else { return nil }
        let pts = results.rows.compactMap { row -> (Double, Double, Int, Bool)? in
            guard let c = row.cost, m < row.metrics.count, row.metrics[m].isFinite else { return nil }
            return (c, row.metrics[m], row.point, results.ok(row))
        }
        guard !pts.isEmpty else { return nil }
        let w = 560.0, h = 300.0, left = 60.0, bottom = 40.0, top = 24.0, right = 28.0
        let yScale = NiceScale(pts.map(\.1)), xScale = NiceScale(pts.map(\.0))
        let (ylo, yhi) = (yScale.lo, yScale.hi)
        let (xlo, xhi) = (xScale.lo, xScale.hi)
        let unit = plan.metrics[m].unit
        func x(_ v: Double) -> Double { left + (w - left - right) * (v - xlo) / (xhi - xlo) }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - ylo) / (yhi - ylo)) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\">"
        s += "<text x=\"\(Self.f(w / 2))\" y=\"14\" text-anchor=\"middle\" font-size=\"12\">cost against \(Self.esc(r)): Pareto front in red, hollow points miss a constraint</text>"
        s += "<line x1=\"\(left)\" y1=\"\(Self.f(h - bottom))\" x2=\"\(Self.f(w - right))\" y2=\"\(Self.f(h - bottom))\" stroke=\"#444\"/>"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(Self.f(h - bottom))\" stroke=\"#444\"/>"
        for v in yScale.ticks {
            s += "<text x=\"\(Self.f(left - 4))\" y=\"\(Self.f(y(v) + 4))\" text-anchor=\"end\" font-size=\"10\">\(yScale.label(v))</text>"
            s += "<line x1=\"\(left)\" y1=\"\(Self.f(y(v)))\" x2=\"\(Self.f(w - right))\" y2=\"\(Self.f(y(v)))\" stroke=\"#eee\"/>"
        }
        for c in xScale.ticks {
            s += "<text x=\"\(Self.f(x(c)))\" y=\"\(Self.f(h - bottom + 14))\" text-anchor=\"middle\" font-size=\"10\">\(xScale.label(c))</text>"
            s += "<line x1=\"\(Self.f(x(c)))\" y1=\"\(top)\" x2=\"\(Self.f(x(c)))\" y2=\"\(Self.f(h - bottom))\" stroke=\"#eee\"/>"
        }
        s += "<text x=\"\(Self.f((w + left - right) / 2))\" y=\"\(Self.f(h - 6))\" text-anchor=\"middle\" font-size=\"10\">cost (the plan's &lt;cost&gt; prices summed)</text>"
        s += "<text x=\"12\" y=\"\(Self.f((h - bottom + top) / 2))\" font-size=\"10\" transform=\"rotate(-90 12 \(Self.f((h - bottom + top) / 2)))\" text-anchor=\"middle\">\(Self.esc(r))\(unit.isEmpty ? "" : " (" + Self.esc(unit) + ")")</text>"
        for (c, v, point, ok) in pts {
            s += "<circle cx=\"\(Self.f(x(c)))\" cy=\"\(Self.f(y(v)))\" r=\"3\" fill=\"\(ok ? "#4a78b5" : "none")\" stroke=\"#4a78b5\"><title>point \(point): cost \(String(format: "%.2f", c)), \(String(format: "%.3f", v))</title></circle>"
        }
        let front = results.paretoFront.map { ($0.cost!, $0.metrics[m]) }
        if !front.isEmpty {
            s += "<polyline fill=\"none\" stroke=\"#c0392b\" stroke-width=\"2\" points=\"" + front.map { "\(Self.f(x($0.0))),\(Self.f(y($0.1)))" }.joined(separator: " ") + "\"/>"
            for (c, v) in front {
                s += "<circle class=\"pareto\" cx=\"\(Self.f(x(c)))\" cy=\"\(Self.f(y(v)))\" r=\"4.5\" fill=\"#c0392b\" stroke=\"#ffffff\"><title>Pareto front: cost \(xScale.label(c)), \(String(format: "%.3f", v))</title></circle>"
            }
        }
        return s + "</svg>"
    }

    var html: String {
        let plan = results.plan
        var h = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"UTF-8\"/>"
        h += "<title>Sweep \(Self.esc(plan.name))</title><style>body{font-family:sans-serif;margin:24px;color:#222}"
        h += "svg{margin:6px;border:1px solid #ddd;background:#fff}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}</style></head><body>"
        h += "<h1>Sweep: \(Self.esc(plan.name))</h1><p>Scenario <code>\(Self.esc(plan.scenario.rawValue))</code>, mode <code>\(results.runner.mode.rawValue)</code>, "
        h += "\(results.rows.count) points (\(Self.esc(results.selection.descriptor)) of \(plan.gridSize)); \(results.rows.filter(results.ok).count) meet every constraint.</p>"
        if let p = pareto() { h += "<h2>Cost and throughput</h2>" + p }
        for m in plan.metrics.indices {
            h += "<h2>\(Self.esc(plan.metrics[m].name))</h2><div>"
            for a in plan.axes.indices { h += metricAgainstAxis(m, a) }
            h += "</div>"
        }
        h += "<h2>Points</h2><table><tr><th>point</th>" + plan.axes.map { "<th>\(Self.esc($0.name))</th>" }.joined()
            + plan.metrics.map { "<th>\(Self.esc($0.name))</th>" }.joined() + (plan.costs.isEmpty ? "" : "<th>cost</th>") + "<th>ok</th></tr>"
        for row in results.rows.prefix(500) {
            h += "<tr><td>\(row.point)</td>" + results.runner.labels(row.point).map { "<td>\(Self.esc($0))</td>" }.joined()
            h += plan.metrics.indices.map { "<td>\(SweepResults.number($0 < row.metrics.count && row.metrics[$0].isFinite ? row.metrics[$0] : nil))</td>" }.joined()
            if !plan.costs.isEmpty { h += "<td>\(SweepResults.number(row.cost))</td>" }
            h += "<td>\(results.ok(row) ? "yes" : "no")</td></tr>"
        }
        h += "</table>" + (results.rows.count > 500 ? "<p>First 500 points; results.csv has them all.</p>" : "") + "</body></html>\n"
        return h
    }
}
