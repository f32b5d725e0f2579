// report.html: one self-contained page (no scripts, no external resources), well-formed XHTML so that tests
// can parse it: the topology tree, throughput bars, latency histograms (one SVG per figure), findings, tables.
import Foundation
import Sim

extension RunReport {
    /// Figures drawn as SVG, in page order (tests count them).
    public var figureCount: Int { 1 + (flows.isEmpty ? 0 : 1) + histogramFlows.count }

    var histogramFlows: [Flow] { Array(flows.filter { !$0.histogram.isEmpty }.prefix(12)) }

    public var html: String {
        var s = """
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
        <head>
        <meta charset="utf-8"/>
        <title>\(escapeXML("\(scenario) on \(topologyName)"))</title>
        <style>
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d1d1f; }
        h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; font-size: 12px; margin: 8px 0 16px; }
        th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; }
        th { background: #f4f4f6; }
        code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
        pre { background: #f6f6f8; padding: 8px; overflow-x: auto; }
        .finding { border-left: 4px solid #d62828; padding: 4px 12px; margin: 10px 0; background: #fff7f7; }
        .finding.redirected { border-color: #e08a00; background: #fffaf0; }
        .figure { overflow-x: auto; } .legend { font-size: 12px; color: #555; }
        .hist { display: inline-block; margin: 4px 12px 4px 0; vertical-align: top; }
        </style>
        </head>
        <body>
        <h1>\(escapeXML(scenario)) on \(escapeXML(topologyName))</h1>
        <p>Topology <code>\(escapeXML(topologyFile))</code>, options <code>\(escapeXML(optionText))</code>, seed \(seed)\(kernelCommandLine.isEmpty ? "" : ", kernel <code>\(escapeXML(kernelCommandLine))</code>"). \(events) events simulated.</p>

        """
        s += "<h2>Topology</h2>\n<div class=\"figure\">\n" + tree.svg + "\n</div>\n"
        s += "<p class=\"legend\">Links are coloured by the highest utilization either direction reached in any phase (grey: idle, green to red: 0 to 100 %); red boxes mark ports where P2P TLPs were blocked or refused, orange boxes ACS redirects.</p>\n"
        for t in tables { s += htmlTable(t) }
        s += "<h2>Blocked and redirected P2P</h2>\n"
        if findings.isEmpty { s += "<p>None: every P2P transfer went straight.</p>\n" }
        for f in findings {
            s += "<div class=\"finding\(f.kind == "redirected" ? " redirected" : "")\">\n"
            s += "<p><b>\(escapeXML(f.kind))</b>: \(escapeXML(f.requester)) → \(escapeXML(f.target)) at <code>\(escapeXML(f.port))</code>\(f.actedOn.map { ": " + escapeXML($0) } ?? "")\(f.tlps > 0 ? " (\(f.tlps) TLPs)" : "") — phase\(f.phases.count == 1 ? "" : "s") \(escapeXML(f.phases.joined(separator: "; ")))</p>\n"
            s += "<p>Rule: \(escapeXML(f.rule))</p>\n"
            if !f.linuxLog.isEmpty { s += "<pre>\(escapeXML(f.linuxLog.joined(separator: "\n")))</pre>\n" }
            s += "<p>Fix: <code>\(escapeXML(f.fix))</code></p>\n</div>\n"
        }
        if !flows.isEmpty {
            s += "<h2>Throughput</h2>\n<div class=\"figure\">\n" + throughputSVG + "\n</div>\n"
            s += htmlTable(Table(title: "Flows", columns: ["phase", "flow", "op", "GB/s", "p50", "p99", "map type", "path", "status", "limited by"], rows: flows.map { f in
                [f.phase, f.label, f.operation, Self.gb(f.gigabytesPerSecond), Self.nsText(f.latencyP50ns), Self.nsText(f.latencyP99ns),
                 f.mapType ?? "-", f.pathClass ?? "-", f.status + (f.blockedTLPs > 0 ? " (\(f.blockedTLPs) TLPs)" : ""), f.limitedBy ?? "-"]
            }))
        }
        let hists = histogramFlows
        if !hists.isEmpty {
            s += "<h2>Latency histograms</h2>\n<p class=\"legend\">Per request TLP: writes from issue to delivery, reads from issue to the last completion (log-scale buckets, 1/8 octave).</p>\n"
            for f in hists { s += "<div class=\"hist\">" + histogramSVG(f) + "</div>\n" }
        }
        let busy = links.filter { $0.utilization > 0.0005 }
        if !busy.isEmpty {
            s += htmlTable(Table(title: "Links", columns: ["link", "gen/width", "peak utilization", "payload GB/s", "credit stall", "phase"], rows: busy.map {
                [$0.name, $0.genWidth, Self.pct($0.utilization), Self.gb($0.payloadGBps), Self.pct($0.creditStallFraction), $0.phase]
            }))
        }
        for t in [iommuTable, auditTable].compactMap({ $0 }) { s += htmlTable(t) }
        if let machineFix { s += "<p>Fix for the machine: <code>\(escapeXML(String(machineFix.prefix { $0 != " " })))</code>\(escapeXML(String(machineFix.drop { $0 != " " })))</p>\n" }
        if !bootLog.isEmpty { s += "<h2>Kernel log at boot</h2>\n<pre>\(escapeXML(bootLog.joined(separator: "\n")))</pre>\n" }
        s += "</body>\n</html>\n"
        return s
    }

    func htmlTable(_ t: Table) -> String {
        var s = t.title.isEmpty ? "" : "<h2>\(escapeXML(t.title))</h2>\n"
        s += "<table>\n<tr>" + t.columns.map { "<th>\(escapeXML($0))</th>" }.joined() + "</tr>\n"
        for r in t.rows { s += "<tr>" + r.map { "<td>\(escapeXML($0))</td>" }.joined() + "</tr>\n" }
        return s + "</table>\n"
    }

    /// Horizontal bars, one per flow (at most 64), GB/s.
    var throughputSVG: String {
        let shown = Array(flows.prefix(64))
        let top = max(shown.map(\.gigabytesPerSecond).max() ?? 1, 0.001)
        let labelWidth = 260.0, barWidth = 420.0, row = 18.0
        let h = Double(shown.count) * row + 30
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"throughput\" width=\"\(fmt(labelWidth + barWidth + 80))\" height=\"\(fmt(h))\" role=\"img\" aria-label=\"throughput per flow\">\n"
        for (i, f) in shown.enumerated() {
            let y = Double(i) * row + 4
            let w = barWidth * f.gigabytesPerSecond / top
            let colour = f.status == "ok" ? (f.redirectedAt.isEmpty ? "#3b78c4" : "#e08a00") : "#d62828"
            s += "<text x=\"\(fmt(labelWidth - 6))\" y=\"\(fmt(y + 12))\" text-anchor=\"end\" font-size=\"11\">\(escapeXML(String((f.phase == f.label ? f.label : f.phase + ": " + f.label).prefix(44))))</text>"
            s += "<rect x=\"\(fmt(labelWidth))\" y=\"\(fmt(y))\" width=\"\(fmt(max(w, 0.5)))\" height=\"\(fmt(row - 5))\" fill=\"\(colour)\"/>"
            s += "<text x=\"\(fmt(labelWidth + max(w, 0.5) + 4))\" y=\"\(fmt(y + 12))\" font-size=\"11\">\(Self.gb(f.gigabytesPerSecond))\(f.status == "ok" ? "" : " " + f.status)</text>\n"
        }
        s += "<text x=\"\(fmt(labelWidth))\" y=\"\(fmt(h - 6))\" font-size=\"10\" fill=\"#555555\">GB/s (steady state); blue: direct, orange: ACS-redirected, red: blocked or refused</text>\n"
        return s + "</svg>"
    }

    /// One flow's latency histogram: bars per bucket, log-spaced x axis.
    func histogramSVG(_ f: Flow) -> String {
        let w = 300.0, h = 130.0, left = 36.0, bottom = 28.0
        let buckets = f.histogram
        let maxCount = Double(buckets.map(\.1).max() ?? 1)
        let lo = log2(max(buckets.first?.0 ?? 1, 1)), hi = log2(max(buckets.last?.0 ?? 2, 2)) + 0.125
        let span = max(hi - lo, 0.5)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"histogram\" width=\"\(fmt(w))\" height=\"\(fmt(h))\" role=\"img\" aria-label=\"latency histogram\">\n"
        s += "<text x=\"4\" y=\"12\" font-size=\"11\" font-weight=\"bold\">\(escapeXML(String(f.label.prefix(40))))</text>\n"
        for (lower, count) in buckets {
            let x0 = left + (log2(max(lower, 1)) - lo) / span * (w - left - 8)
            let bw = max(1.5, 0.125 / span * (w - left - 8))
            let bh = Double(count) / maxCount * (h - bottom - 20)
            s += "<rect x=\"\(fmt(x0))\" y=\"\(fmt(h - bottom - bh))\" width=\"\(fmt(bw))\" height=\"\(fmt(bh))\" fill=\"#3b78c4\"/>"
        }
        s += "\n<line x1=\"\(fmt(left))\" y1=\"\(fmt(h - bottom))\" x2=\"\(fmt(w - 8))\" y2=\"\(fmt(h - bottom))\" stroke=\"#555555\"/>\n"
        s += "<text x=\"\(fmt(left))\" y=\"\(fmt(h - bottom + 12))\" font-size=\"9\">\(Self.nsText(buckets.first?.0))</text>"
        s += "<text x=\"\(fmt(w - 8))\" y=\"\(fmt(h - bottom + 12))\" font-size=\"9\" text-anchor=\"end\">\(Self.nsText(buckets.last?.0))</text>"
        s += "<text x=\"\(fmt(left))\" y=\"\(fmt(h - 4))\" font-size=\"9\" fill=\"#555555\">p50 \(Self.nsText(f.latencyP50ns)), p99 \(Self.nsText(f.latencyP99ns)), \(buckets.reduce(0) { $0 + $1.1 }) TLPs</text>\n"
        return s + "</svg>"
    }
}
