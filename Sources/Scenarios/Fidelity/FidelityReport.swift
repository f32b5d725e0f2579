// A fidelity run as a terminal table, JSON, Markdown (docs/FIDELITY.md's table) and a self-contained HTML page with
// a simulated-vs-published plot.
import Foundation
import Sim

public struct FidelityReport: Sendable {
    public var suite: FidelitySuite
    public var results: [FidelityResult]
    public init(suite: FidelitySuite, results: [FidelityResult]) {
        self.suite = suite
        self.results = results
    }

    public var withinCount: Int { results.filter(\.isWithinBand).count }
    public var machineCount: Int { Set(results.map(\.machine.id)).count }
    /// `N of M within band`: the line the suite ends with.
    public var closingLine: String { "\(withinCount) of \(results.count) within band" }
    /// The cases no default was derived from: the independent check of the defaults.
    public var checkResults: [FidelityResult] { results.filter { $0.fidelityCase.derives == nil } }
    public var checkLine: String {
        "check cases (no default derived from them): \(checkResults.filter(\.isWithinBand).count) of \(checkResults.count) within band"
    }

    static func figure(_ v: Double?, _ c: FidelityCase) -> String {
        guard let v else { return "-" }
        let x = c.printed(v)
        return String(format: x >= 100 ? "%.1f" : x >= 10 ? "%.2f" : "%.3f", x)
    }
    static func percent(_ e: Double?) -> String { e.map { String(format: "%+.1f%%", $0 * 100) } ?? "-" }

    /// case, metric, published, simulated, error %, band, within, then the failures and the closing line.
    public func table() -> String {
        var rows: [[String]] = [["case", "machine", "metric", "published", "simulated", "error", "band", "within"]]
        for r in results {
            let c = r.fidelityCase
            let within: String = switch r.verdict {
            case .within: "yes"
            case .knownOutside: "no (known)"
            case .outside: "NO"
            case .stale: "yes (marked outside)"
            case .error: "ERROR"
            }
            rows.append([c.id + (c.derives == nil ? "" : " (d)"), r.machine.id, "\(c.metric.rawValue) \(c.unit)", Self.figure(c.published, c), Self.figure(r.simulated, c),
                         Self.percent(r.error), String(format: "±%.0f%%", c.tolerance * 100), within])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for row in rows {
            out += row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ").trimmingTrailingSpaces + "\n"
        }
        let notes = results.filter { $0.verdict != .within }
        if !notes.isEmpty { out += "\n" }
        for r in notes {
            let c = r.fidelityCase
            switch r.verdict {
            case .knownOutside: out += "known outside band: \(c.id): \(c.outsideBandReason ?? "")\n"
            case .outside: out += "FAIL \(c.id): \(Self.figure(r.simulated, c)) \(c.unit) is \(Self.percent(r.error)) from the published \(Self.figure(c.published, c)) (band ±\(Int((c.tolerance * 100).rounded()))%)\n"
            case .stale: out += "FAIL \(c.id): marked outside band (\(c.outsideBandReason ?? "")) but now within: remove the mark\n"
            case .error: out += "ERROR \(c.id): " + r.problems.joined(separator: "; ") + "\n"
            case .within: break
            }
        }
        out += "\n\(results.count) cases, \(machineCount) machines; \(checkLine)\n"
        out += closingLine + "\n"
        return out
    }

    public var json: JSON {
        .object([
            ("schema", .string("pciesim-fidelity/1")),
            ("suite", .string(suite.name)),
            ("cases", .array(results.map { r in
                let c = r.fidelityCase
                return .object([
                    ("id", .string(c.id)), ("machine", .string(r.machine.id)), ("metric", .string(c.metric.rawValue)),
                    ("unit", .string(c.metric == .throughput ? "GB/s" : "ns")),
                    ("published", .double(c.published)), ("simulated", r.simulated.map { .double($0) } ?? .null),
                    ("error", r.error.map { .double($0) } ?? .null), ("tolerance", .double(c.tolerance)),
                    ("verdict", .string(r.verdict.rawValue)), ("flows", .int(Int64(r.flows))),
                    ("tool", .string(c.tool)), ("source", .string(c.source)), ("location", JSON(c.location)),
                    ("outside_band_reason", JSON(c.outsideBandReason)), ("derives", JSON(c.derives)),
                    ("problems", .array(r.problems.map { .string($0) })),
                ])
            })),
            ("machines", .array(suite.machines.filter { m in results.contains { $0.machine.id == m.id } }.map { m in
                .object([("id", .string(m.id)), ("cpu", .string(m.cpu)), ("cpu_vendor", .string(m.cpuVendor)), ("gen", .int(Int64(m.generation))),
                         ("switch", .string(m.switchChip)), ("iommu", .string(m.iommu)), ("source", .string(m.source))])
            })),
            ("within", .int(Int64(withinCount))), ("total", .int(Int64(results.count))),
        ])
    }

    /// The Markdown table docs/FIDELITY.md carries.
    public func markdown() -> String {
        var out = "| Case | Machine | Tool | Metric | Published | Simulated | Error | Within ±band | Source |\n|---|---|---|---|---|---|---|---|---|\n"
        for r in results {
            let c = r.fidelityCase
            let within = r.isWithinBand ? "yes" : (r.verdict == .error ? "error" : "**no**")
            out += "| \(c.id)\(c.derives == nil ? "" : " (d)") | \(r.machine.id) | \(c.tool) | \(c.metric.rawValue) \(c.unit) | \(Self.figure(c.published, c)) | \(Self.figure(r.simulated, c)) | \(Self.percent(r.error)) | \(within) (±\(Int((c.tolerance * 100).rounded()))%) | [link](\(c.source)) |\n"
        }
        out += "\n**\(closingLine)** (\(results.count) cases, \(machineCount) machines); \(checkLine). (d): a default was derived from this case.\n"
        let outside = results.filter { !$0.isWithinBand }
        if !outside.isEmpty {
            out += "\nOutside the band:\n\n"
            for r in outside {
                out += "- `\(r.fidelityCase.id)` (\(Self.percent(r.error))): \(r.fidelityCase.outsideBandReason ?? r.problems.joined(separator: "; "))\n"
            }
        }
        return out
    }

    /// A self-contained page: the simulated-vs-published plot (log-log, one panel per metric, the band drawn around
    /// y = x) and the table.
    public func html() -> String {
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>PCIeSim fidelity: \(escapeXML(suite.name))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1300px}
        table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
        td:first-child,td:nth-child(2),td:nth-child(3){text-align:left}
        tr.out td{background:#fde2e2}tr.known td{background:#fff3cd}
        .panels{display:flex;flex-wrap:wrap;gap:24px}svg text{font-size:11px}
        </style></head><body>
        <h1>Fidelity: \(escapeXML(suite.name))</h1>
        <p><b>\(closingLine)</b> — \(results.count) published measurements from \(machineCount) machines. Each point is one
        case: published figure (x) against the simulated one (y); the grey band is the case's tolerance.</p>
        <div class="panels">
        """
        for metric in [FidelityCase.Metric.throughput, .latency] {
            let rs = results.filter { $0.fidelityCase.metric == metric && $0.simulated != nil }
            if !rs.isEmpty { page += plot(rs, metric) }
        }
        page += "</div>\n<table><tr><th>case</th><th>machine</th><th>tool</th><th>metric</th><th>published</th><th>simulated</th><th>error</th><th>band</th><th>verdict</th><th>source</th></tr>\n"
        for r in results {
            let c = r.fidelityCase
            let cls = r.verdict == .knownOutside ? " class=\"known\"" : r.fails ? " class=\"out\"" : ""
            let why = c.outsideBandReason ?? r.problems.joined(separator: "; ")
            page += "<tr\(cls)><td>\(escapeXML(c.id))</td><td>\(escapeXML(r.machine.id))</td><td>\(escapeXML(c.tool))</td><td>\(c.metric.rawValue) (\(c.unit))</td>"
                + "<td>\(Self.figure(c.published, c))</td><td>\(Self.figure(r.simulated, c))</td><td>\(Self.percent(r.error))</td>"
                + "<td>±\(Int((c.tolerance * 100).rounded()))%</td><td title=\"\(escapeXML(why))\">\(r.verdict.rawValue)</td>"
                + "<td><a href=\"\(escapeXML(c.source))\">source</a></td></tr>\n"
        }
        page += "</table>\n</body></html>\n"
        return page
    }

    private func plot(_ rs: [FidelityResult], _ metric: FidelityCase.Metric) -> String {
        let size = 420.0, pad = 50.0
        let values = rs.flatMap { [$0.fidelityCase.printed($0.fidelityCase.published), $0.fidelityCase.printed($0.simulated!)] }.filter { $0 > 0 }
        let lo = pow(10, floor(log10(values.min()! * 0.8))), hi = pow(10, ceil(log10(values.max()! * 1.25)))
        func px(_ v: Double) -> Double { pad + (log10(max(v, lo)) - log10(lo)) / (log10(hi) - log10(lo)) * (size - 2 * pad) }
        func py(_ v: Double) -> Double { size - px(v) }
        let unit = metric == .throughput ? "GB/s" : "µs"
        var svg = "<svg width=\"\(Int(size))\" height=\"\(Int(size))\" viewBox=\"0 0 \(Int(size)) \(Int(size))\" role=\"img\" aria-label=\"\(metric.rawValue): simulated vs published\">\n"
        svg += "<text x=\"\(pad)\" y=\"16\" font-weight=\"bold\">\(metric.rawValue) (\(unit)), log scale</text>\n"
        // The band around y = x (each case has its own tolerance; the widest is drawn).
        let tol = rs.map(\.fidelityCase.tolerance).max() ?? 0.07
        var band = "M\(px(lo)),\(py(lo * (1 + tol))) L\(px(hi)),\(py(hi * (1 + tol))) L\(px(hi)),\(py(hi * (1 - tol))) L\(px(lo)),\(py(lo * (1 - tol))) Z"
        band = band.replacingOccurrences(of: "nan", with: "0")
        svg += "<path d=\"\(band)\" fill=\"#e8e8e8\"/>\n"
        svg += "<line x1=\"\(px(lo))\" y1=\"\(py(lo))\" x2=\"\(px(hi))\" y2=\"\(py(hi))\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n"
        svg += "<rect x=\"\(pad)\" y=\"\(pad)\" width=\"\(size - 2 * pad)\" height=\"\(size - 2 * pad)\" fill=\"none\" stroke=\"#444\"/>\n"
        // Ticks at 1, 2 and 5 per decade; a label closer than 30 px to the previous one is left out.
        var tick = lo
        var lastLabel = -Double.infinity
        while tick <= hi * 1.0001 {
            for t in [tick, tick * 2, tick * 5] where t <= hi * 1.0001 {
                guard px(t) - lastLabel >= 30 else { continue }
                lastLabel = px(t)
                let label = String(format: "%g", t)
                svg += "<text x=\"\(px(t))\" y=\"\(size - pad + 14)\" text-anchor=\"middle\">\(label)</text>"
                svg += "<text x=\"\(pad - 4)\" y=\"\(py(t) + 4)\" text-anchor=\"end\">\(label)</text>\n"
            }
            tick *= 10
        }
        svg += "<text x=\"\(size / 2)\" y=\"\(size - 8)\" text-anchor=\"middle\">published</text>"
        svg += "<text x=\"12\" y=\"\(size / 2)\" transform=\"rotate(-90 12 \(size / 2))\" text-anchor=\"middle\">simulated</text>\n"
        for r in rs {
            let c = r.fidelityCase
            let colour = r.isWithinBand ? "#2a7" : (r.verdict == .knownOutside ? "#e9a100" : "#d33")
            svg += "<circle cx=\"\(px(c.printed(c.published)))\" cy=\"\(py(c.printed(r.simulated!)))\" r=\"4\" fill=\"\(colour)\" fill-opacity=\"0.8\"><title>\(escapeXML(c.id)): published \(Self.figure(c.published, c)), simulated \(Self.figure(r.simulated, c)) \(c.unit) (\(Self.percent(r.error)))</title></circle>\n"
        }
        svg += "</svg>\n"
        return svg
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
