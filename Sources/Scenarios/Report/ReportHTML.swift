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
        table { border-collapse: collapse; font-size: 12px; margin: 8px 0 16px; max-width: 100%; }
        th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; overflow-wrap: anywhere; }
        table.heat td, table.topo td { text-align: right; min-width: 44px; font-variant-numeric: tabular-nums; }
        table.topo td { text-align: center; } table.heat th, table.topo th, table.heat td, table.topo td { white-space: nowrap; overflow-wrap: normal; }
        table.dense { font-size: 10px; } table.dense td, table.dense th { padding: 2px 3px; min-width: 0; }
        table.denser { font-size: 8.5px; } table.denser td, table.denser th { padding: 1px 1px; min-width: 0; }
        td.blocked { background: repeating-linear-gradient(45deg, #fde2e2 0 4px, #ffffff 4px 8px); color: #a40000; font-weight: bold; }
        td.na { background: #f0f0f2; color: #555555; } td.self { background: #f7f7f9; color: #555555; }
        .scale { font-size: 12px; color: #333; margin: -8px 0 16px; display: flex; flex-wrap: wrap; gap: 4px; align-items: center; }
        .scale span.sw { display: inline-block; padding: 1px 6px; border: 1px solid #ccc; }
        th { background: #f4f4f6; }
        code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
        pre { background: #f6f6f8; padding: 8px; overflow-x: auto; }
        .finding { border-left: 4px solid #d62828; padding: 4px 12px; margin: 10px 0; background: #fff7f7; }
        .finding.redirected { border-color: #e08a00; background: #fffaf0; }
        .figure { overflow-x: auto; max-width: 100%; } svg { max-width: 100%; height: auto; } .legend { font-size: 12px; color: #555; }
        .hist { display: inline-block; margin: 4px 12px 4px 0; vertical-align: top; }
        </style>
        </head>
        <body>
        <h1>\(escapeXML(scenario)) on \(escapeXML(topologyName))</h1>
        <p>Topology <code>\(escapeXML(topologyFile))</code>, options <code>\(escapeXML(optionText))</code>, seed \(seed)\(kernelCommandLine.isEmpty ? "" : ", kernel <code>\(escapeXML(kernelCommandLine))</code>"). \(events) events simulated.</p>

        """
        s += "<h2>Topology</h2>\n<div class=\"figure\">\n" + tree.svg + "\n</div>\n"
        s += "<p class=\"legend\">One block per socket (\(tree.arrangement)\(tree.shownWidth < tree.width ? String(format: ", drawn at %.0f %%", tree.shownWidth / tree.width * 100) : "")), socket links between the socket headers. Links are coloured by the highest utilization either direction reached in any phase (grey: idle, green to red: 0 to 100 %); red boxes mark ports where P2P TLPs were blocked or refused, orange boxes ACS redirects.</p>\n"
        if let m = topoMatrix { s += topoMatrixHTML(m) }
        for t in tables { s += t.heat == nil ? htmlTable(t) : heatmapTable(t) }
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
        if !devices.isEmpty {
            s += htmlTable(Table(title: "Devices", columns: ["device", "BDF", "kind", "ID", "name (pci.ids)"],
                                 rows: devices.map { [$0.name, $0.bdf, $0.kind, $0.id, $0.pciName ?? "-"] }))
            s += "<p class=\"legend\">" + (pciIDsSource.map { "Vendor and device names from <code>\(escapeXML($0))</code>, as lspci reads them." }
                ?? "No pci.ids file was found (\(PCINames.systemPaths.map { "<code>\($0)</code>" }.joined(separator: ", ")), or PCIESIM_PCI_IDS): devices are shown by vendor:device ID.") + "</p>\n"
        }
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
        // Labels of up to 42 characters (longer ones end in …) fit in 300 px at 11 px; values and status to the right.
        let labelWidth = 300.0, barWidth = 420.0, row = 18.0
        let h = Double(shown.count) * row + 30
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"throughput\" width=\"\(fmt(labelWidth + barWidth + 130))\" height=\"\(fmt(h))\" role=\"img\" aria-label=\"throughput per flow\">\n"
        for (i, f) in shown.enumerated() {
            let y = Double(i) * row + 4
            let w = barWidth * f.gigabytesPerSecond / top
            let colour = f.status == "ok" ? (f.redirectedAt.isEmpty ? "#3b78c4" : "#e08a00") : "#d62828"
            s += "<text x=\"\(fmt(labelWidth - 6))\" y=\"\(fmt(y + 12))\" text-anchor=\"end\" font-size=\"11\">\(escapeXML(Self.clipped(f.phase == f.label ? f.label : f.phase + ": " + f.label, 42)))<title>\(escapeXML(f.phase + ": " + f.label))</title></text>"
            s += "<rect x=\"\(fmt(labelWidth))\" y=\"\(fmt(y))\" width=\"\(fmt(max(w, 0.5)))\" height=\"\(fmt(row - 5))\" fill=\"\(colour)\"/>"
            s += "<text x=\"\(fmt(labelWidth + max(w, 0.5) + 4))\" y=\"\(fmt(y + 12))\" font-size=\"11\">\(Self.gb(f.gigabytesPerSecond))\(f.status == "ok" ? "" : " " + f.status)</text>\n"
        }
        s += "<text x=\"\(fmt(labelWidth))\" y=\"\(fmt(h - 6))\" font-size=\"10\" fill=\"#555555\">GB/s (steady state); blue: direct, orange: ACS-redirected, red: blocked or refused</text>\n"
        return s + "</svg>"
    }

    /// `text` cut to `n` characters, the last one `…` when cut.
    static func clipped(_ text: String, _ n: Int) -> String { text.count <= n ? text : String(text.prefix(n - 1)) + "…" }

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

// MARK: - Heatmaps and the topo -m matrix

extension RunReport {
    /// A matrix cell as a heatmap reads it.
    enum HeatCell: Equatable {
        case value(Double)
        case blocked(Double)
        case none(String)
    }

    static func heatCell(_ text: String) -> HeatCell {
        if text.hasPrefix("X "), let v = Double(text.dropFirst(2)) { return .blocked(v) }
        if let v = Double(text) { return .value(v) }
        return .none(text)
    }

    /// Background and text colour for a fraction 0...1 of the scale: light to dark blue (bandwidth: darker is
    /// faster) or light to dark orange (latency: darker is slower); the text is whichever of black and white
    /// contrasts more with the background (WCAG 2 contrast ratio).
    public static func heatColours(_ fraction: Double, heat: String) -> (background: String, text: String) {
        let (lo, hi): ((Double, Double, Double), (Double, Double, Double)) = heat == "latency"
            ? ((253, 241, 228), (166, 54, 3)) : ((239, 245, 252), (8, 69, 148))
        let k = min(1, max(0, fraction))
        let rgb = (lo.0 + (hi.0 - lo.0) * k, lo.1 + (hi.1 - lo.1) * k, lo.2 + (hi.2 - lo.2) * k)
        let bg = "#" + [rgb.0, rgb.1, rgb.2].map { hex(Int($0.rounded()), 2) }.joined()
        // Black, not the page's near-black: between the two, black keeps 4.58:1 at the scale's middle grey.
        let dark = "#000000", light = "#ffffff"
        return (bg, contrast(bg, dark) >= contrast(bg, light) ? dark : light)
    }

    /// WCAG 2 contrast ratio of two `#rrggbb` colours.
    public static func contrast(_ a: String, _ b: String) -> Double {
        func luminance(_ c: String) -> Double {
            let v = Int(c.dropFirst(), radix: 16) ?? 0
            func channel(_ x: Int) -> Double {
                let s = Double(x) / 255
                return s <= 0.03928 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
            }
            return 0.2126 * channel(v >> 16 & 255) + 0.7152 * channel(v >> 8 & 255) + 0.0722 * channel(v & 255)
        }
        let (x, y) = (luminance(a), luminance(b))
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    /// A p2p matrix as a heatmap: each value's cell coloured on a scale from the matrix's lowest to its highest
    /// value, blocked or refused pairs hatched red with ✖, and a legend with the scale's values.
    func heatmapTable(_ t: Table) -> String {
        let heat = t.heat ?? "bandwidth"
        let values = t.rows.flatMap { $0.dropFirst() }.compactMap { if case .value(let v) = Self.heatCell($0) { v } else { nil } }
        let lo = values.min() ?? 0, hi = values.max() ?? 0
        func fraction(_ v: Double) -> Double { hi > lo ? (v - lo) / (hi - lo) : 0.5 }  // one value: the middle shade
        let unit = heat == "latency" ? "ns" : "GB/s"
        var s = t.title.isEmpty ? "" : "<h2>\(escapeXML(t.title))</h2>\n"
        s += "<table class=\"heat \(heat)\(Self.density(t.columns.count))\">\n<tr>" + t.columns.map { "<th>\(escapeXML($0))</th>" }.joined() + "</tr>\n"
        for r in t.rows {
            s += "<tr>" + (r.first.map { "<th>\(escapeXML($0))</th>" } ?? "")
            for c in r.dropFirst() {
                switch Self.heatCell(c) {
                case .value(let v):
                    let (bg, fg) = Self.heatColours(fraction(v), heat: heat)
                    s += "<td style=\"background: \(bg); color: \(fg)\">\(escapeXML(c))</td>"
                case .blocked(let v):
                    s += "<td class=\"blocked\" title=\"blocked or refused\">✖ \(escapeXML(Self.heatNumber(v, heat)))</td>"
                case .none(let text):
                    s += "<td class=\"\(text == "-" ? "self" : "na")\">\(escapeXML(text))</td>"
                }
            }
            s += "</tr>\n"
        }
        s += "</table>\n<div class=\"scale\"><span>Scale (\(unit), \(heat == "latency" ? "darker is slower" : "darker is faster")):</span>"
        let stops = hi > lo ? 5 : 1
        for k in 0..<stops {
            let f = stops == 1 ? 0.5 : Double(k) / Double(stops - 1)
            let (bg, fg) = Self.heatColours(f, heat: heat)
            s += "<span class=\"sw\" style=\"background: \(bg); color: \(fg)\">\(escapeXML(Self.heatNumber(lo + (hi - lo) * f, heat)))</span>"
        }
        s += "<span class=\"sw blocked\" style=\"background: repeating-linear-gradient(45deg, #fde2e2 0 4px, #ffffff 4px 8px); color: #a40000\">✖ blocked or refused</span>"
        s += "<span class=\"sw\" style=\"background: #f0f0f2; color: #555555\">n/a: not measured</span></div>\n"
        return s
    }

    /// Matrices of many devices get smaller type so that 40 columns fit in 1,400 px.
    static func density(_ columns: Int) -> String { columns > 24 ? " denser" : columns > 12 ? " dense" : "" }

    static func heatNumber(_ v: Double, _ heat: String) -> String { heat == "latency" ? String(format: "%.0f", v) : String(format: "%.2f", v) }

    /// Background of a topo -m class, from the closest (NV#, PIX) in green to the farthest (SYS) in red.
    static func topoColour(_ cell: String) -> String {
        switch cell {
        case "X": "#f0f0f2"
        case "PIX": "#d9f0d3"
        case "PXB": "#eef6d0"
        case "PHB": "#fff3c4"
        case "NODE": "#ffe0bd"
        case "SYS", "SOC": "#ffd3cf"
        default: cell.hasPrefix("NV") ? "#c7e9c0" : "#ffffff"
        }
    }

    /// The GPU/NIC matrix with nvidia-smi's names and legend (TopoMatrix.from: the cells `simrun p2p --format topo-m` prints).
    func topoMatrixHTML(_ m: TopoMatrix) -> String {
        var s = "<h2>GPU and NIC paths (as nvidia-smi topo -m)</h2>\n<table class=\"topo\(Self.density(m.names.count + 1))\">\n<tr><th></th>" + m.names.map { "<th>\(escapeXML($0))</th>" }.joined() + "</tr>\n"
        for (i, row) in m.cells.enumerated() {
            s += "<tr><th>\(escapeXML(m.names[i]))</th>" + row.map { "<td style=\"background: \(Self.topoColour($0))\">\(escapeXML($0))</td>" }.joined() + "</tr>\n"
        }
        s += "</table>\n<div class=\"scale\">"
        s += "<span class=\"sw\" style=\"background: \(Self.topoColour("X"))\">X = Self</span>"
        for p in [PathClass.pix, .pxb, .phb, .node, .sys] {
            s += "<span class=\"sw\" style=\"background: \(Self.topoColour(p.rawValue))\">\(p.rawValue) = \(escapeXML(TopoMatrix.legendText(p)))</span>"
        }
        s += "<span class=\"sw\" style=\"background: \(Self.topoColour("NV1"))\">NV# = Connection traversing a bonded set of # NVLinks</span></div>\n"
        // Which device each row is, in nvidia-smi's order (PCI address).
        s += "<p class=\"legend\">" + zip(m.names, topoMatrixDevices).map { "\($0): \(escapeXML($1))" }.joined(separator: ", ") + "</p>\n"
        return s
    }
}
