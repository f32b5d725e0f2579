// Report renderers: terminal summary, report.json (schema pciesim-report/1), report.md, report.html.
import Foundation
import Sim

extension RunReport {
    static func gb(_ v: Double) -> String { String(format: "%.2f", v) }
    static func nsText(_ v: Double?) -> String {
        guard let v else { return "-" }
        return v >= 10_000 ? String(format: "%.1f us", v / 1000) : String(format: "%.0f ns", v)
    }
    static func pct(_ v: Double) -> String { String(format: "%.1f %%", v * 100) }

    var optionText: String { options.map { "\($0.0)=\($0.1)" }.joined(separator: " ") }

    /// IOMMU statistics, as every format prints them (nil when no IOMMU was used or faulted).
    var iommuTable: Table? {
        guard iommus.contains(where: { $0.lookups > 0 || $0.faultedTLPs > 0 }) else { return nil }
        return Table(title: "IOMMU", columns: ["unit", "lookups", "IOTLB hit rate", "walks", "walk faults", "faulted TLPs"],
                     rows: iommus.map { [$0.name, String($0.lookups), Self.pct($0.hitRate), String($0.walks), String($0.faults), String($0.faultedTLPs)] })
    }

    /// The acs-audit rows, as every format prints them (nil for other scenarios).
    var auditTable: Table? {
        guard !audit.isEmpty else { return nil }
        return Table(title: "ACS audit (\(audit.count) pairs; client -> provider)",
                     columns: ["client", "provider", "map type", "distance", "path", "fabric", "port", "fix", "map type after fix"],
                     rows: audit.map { [$0.client, $0.provider, $0.mapType, String($0.distance), $0.pathClass, $0.route, $0.port ?? "-", $0.fix ?? "-", $0.mapTypeAfterFix ?? "-"] })
    }

    // MARK: - Terminal

    /// The terminal summary: flows, busiest links, blocked and redirected P2P, the scenario's tables.
    public func terminalSummary(maxFlows: Int = 24, maxLinks: Int = 8) -> String {
        var s = "\(scenario) on \(topologyName) (\(topologyFile))  \(optionText)  seed=\(seed)\n"
        if !kernelCommandLine.isEmpty { s += "kernel: \(kernelCommandLine)\n" }
        for t in tables { s += "\n" + textTable(t) }
        if !flows.isEmpty {
            s += "\nFlows (\(flows.count))\n"
            let rows = flows.prefix(maxFlows).map { f in
                [f.label, f.operation, Self.gb(f.gigabytesPerSecond), Self.nsText(f.latencyP50ns), Self.nsText(f.latencyP99ns),
                 f.mapType ?? "-", f.status == "ok" ? "ok" : f.status + (f.blockedTLPs > 0 ? " (\(f.blockedTLPs) TLPs)" : ""),
                 f.limitedBy ?? "-"]
            }
            s += textTable(Table(title: "", columns: ["flow", "op", "GB/s", "p50", "p99", "map type", "status", "limited by"], rows: Array(rows)))
            if flows.count > maxFlows { s += "  ... \(flows.count - maxFlows) more in report.md\n" }
            if flowModelPhases > 0 {
                let all = flowModelPhases + tlpPhases
                s += "  \(flowModelPhases == all ? "every phase" : "\(flowModelPhases) of \(all) phases"): steady-state rates from the flow model, "
                    + "no latency percentiles (--mode tlp simulates TLP by TLP)\n"
            }
        }
        let busy = links.filter { $0.utilization > 0.0005 }.prefix(maxLinks)
        if !busy.isEmpty {
            s += "\nBusiest links\n"
            s += textTable(Table(title: "", columns: ["link", "gen/width", "utilization", "payload GB/s", "credit stall", "phase"],
                                 rows: busy.map { [$0.name, $0.genWidth, Self.pct($0.utilization), Self.gb($0.payloadGBps), Self.pct($0.creditStallFraction), $0.phase] }))
        }
        for t in [iommuTable, auditTable].compactMap({ $0 }) { s += "\n" + textTable(t) }
        if let machineFix { s += "\nFix for the machine: \(machineFix)\n" }
        s += "\n" + findingsText()
        return s
    }

    func findingsText() -> String {
        let blocked = findings.filter { $0.kind != "redirected" }
        let redirected = findings.filter { $0.kind == "redirected" }
        var s = ""
        if blocked.isEmpty {
            s += "Blocked P2P: none\n"
        } else {
            s += "Blocked P2P (\(blocked.count))\n"
            for f in blocked { s += findingText(f) }
        }
        if !redirected.isEmpty {
            s += "Redirected P2P (\(redirected.count)): works, through the root complex\n"
            for f in redirected { s += findingText(f) }
        }
        return s
    }

    func findingText(_ f: Finding) -> String {
        var s = "  \(f.requester) -> \(f.target): \(f.kind) at \(f.port)\(f.actedOn.map { ": \($0)" } ?? "")\(f.tlps > 0 ? " (\(f.tlps) TLPs)" : "")  [\(f.phases.joined(separator: "; "))]\n"
        s += "    rule:  \(f.rule)\n"
        for l in f.linuxLog { s += "    linux: \(l)\n" }
        s += "    fix:   \(f.fix)\n"
        return s
    }

    func textTable(_ t: Table) -> String {
        var widths = t.columns.map(\.count)
        for r in t.rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            "  " + cells.enumerated().map { i, c in i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ") + "\n"
        }
        var s = t.title.isEmpty ? "" : t.title + "\n"
        s += line(t.columns)
        for r in t.rows { s += line(r) }
        return s
    }

    // MARK: - JSON

    public var json: JSON {
        func str(_ a: [String]) -> JSON { .array(a.map { .string($0) }) }
        func num(_ v: Double?) -> JSON { v.map { .double($0) } ?? .null }
        return .object([
            ("schema", .string(Self.schema)),
            ("topology", .object([("name", .string(topologyName)), ("file", .string(topologyFile))])),
            ("scenario", .object([("name", .string(scenario)), ("options", .object(options.map { ($0.0, .string($0.1)) })),
                                  ("seed", .int(Int64(bitPattern: seed))), ("kernel_cmdline", .string(kernelCommandLine))])),
            ("flows", .array(flows.map { f in .object([
                ("phase", .string(f.phase)), ("phase_kind", .string(f.phaseKind)), ("label", .string(f.label)), ("requester", .string(f.requester)),
                ("requester_bdf", .string(f.requesterBDF)), ("target", .string(f.target)), ("operation", .string(f.operation)),
                ("bytes", .int(Int64(f.bytes))), ("delivered_bytes", .int(Int64(f.delivered))), ("gbps", .double(f.gigabytesPerSecond)),
                ("latency_ns", .object([("p50", num(f.latencyP50ns)), ("p99", num(f.latencyP99ns)), ("max", num(f.latencyMaxns))])),
                ("map_type", JSON(f.mapType)), ("path_class", JSON(f.pathClass)), ("status", .string(f.status)),
                ("blocked_tlps", .int(Int64(f.blockedTLPs))), ("redirected_at", str(f.redirectedAt)),
                ("through_root_complex", .bool(f.crossesRootComplex)), ("mapping_calls", str(f.mappingCalls)),
                ("histogram", .array(f.histogram.map { .array([.double($0.0), .int(Int64($0.1))]) })),
                ("limited_by", JSON(f.limitedBy)),
            ]) })),
            ("links", .array(links.map { l in .object([
                ("name", .string(l.name)), ("function", .string(l.function)), ("direction", .string(l.upstream ? "up" : "down")),
                ("generation", .int(Int64(l.generation))), ("width", .int(Int64(l.width))), ("utilization", .double(l.utilization)),
                ("phase", .string(l.phase)), ("payload_gbps", .double(l.payloadGBps)), ("credit_stall", .double(l.creditStallFraction)),
                ("max_queue_tlps", .int(Int64(l.maxQueueTLPs))), ("kind", .string(l.kind)),
            ]) })),
            ("findings", .array(findings.map { f in .object([
                ("kind", .string(f.kind)), ("requester", .string(f.requester)), ("target", .string(f.target)), ("port", .string(f.port)),
                ("rule", .string(f.rule)), ("linux_log", str(f.linuxLog)), ("fix", .string(f.fix)), ("tlps", .int(Int64(f.tlps))),
                ("phase", .string(f.phase)), ("phases", str(f.phases)), ("bit", JSON(f.bit)), ("tlp", JSON(f.tlpKind)),
            ]) })),
            ("iommu", .array(iommus.map { u in .object([
                ("name", .string(u.name)), ("lookups", .int(Int64(u.lookups))), ("hits", .int(Int64(u.hits))),
                ("hit_rate", .double(u.hitRate)), ("walks", .int(Int64(u.walks))), ("faults", .int(Int64(u.faults))),
                ("faulted_tlps", .int(Int64(u.faultedTLPs))),
            ]) })),
            ("audit", .array(audit.map { a in .object([
                ("client", .string(a.client)), ("provider", .string(a.provider)), ("map_type", .string(a.mapType)),
                ("distance", .int(Int64(a.distance))), ("path_class", .string(a.pathClass)), ("route", .string(a.route)),
                ("port", JSON(a.port)), ("fix", JSON(a.fix)), ("map_type_after_fix", JSON(a.mapTypeAfterFix)), ("warnings", str(a.warnings)),
            ]) })),
            ("machine_fix", JSON(machineFix)),
            ("tables", .array(tables.map { t in .object([
                ("title", .string(t.title)), ("columns", str(t.columns)), ("rows", .array(t.rows.map(str))),
            ]) })),
            ("boot_log", str(bootLog)),
            ("work", .object([("events", .int(Int64(events))), ("simulated_ns", .double(simulatedNanoseconds))])),
        ])
    }

    // MARK: - Markdown

    public var markdown: String {
        func row(_ cells: [String]) -> String { "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }
        func table(_ t: Table) -> String {
            var s = t.title.isEmpty ? "" : "**\(t.title)**\n\n"
            s += row(t.columns.map { $0.isEmpty ? " " : $0 }) + row(t.columns.map { _ in "---" })
            for r in t.rows { s += row(r) }
            return s + "\n"
        }
        var s = "# \(scenario) on \(topologyName)\n\n"
        s += "- topology: `\(topologyFile)`\n- options: `\(optionText)`\n- seed: \(seed)\n"
        if !kernelCommandLine.isEmpty { s += "- kernel command line: `\(kernelCommandLine)`\n" }
        s += "- simulated: \(events) events, \(String(format: "%.1f", simulatedNanoseconds / 1000)) us over all phases\n\n"
        for t in tables { s += table(t) }
        s += "## Blocked and redirected P2P\n\n"
        if findings.isEmpty { s += "None: every P2P transfer went straight.\n\n" }
        for f in findings {
            s += "### \(f.kind): \(f.requester) -> \(f.target)\n\n"
            s += "- port: `\(f.port)`\n"
            if let acted = f.actedOn { s += "- acted on: \(acted)\n" }
            s += "- rule: \(f.rule)\n- phase\(f.phases.count == 1 ? "" : "s"): \(f.phases.joined(separator: "; "))\n"
            if f.tlps > 0 { s += "- TLPs: \(f.tlps)\n" }
            s += "- fix: `\(f.fix)`\n"
            if !f.linuxLog.isEmpty { s += "- Linux logs:\n\n```\n" + f.linuxLog.joined(separator: "\n") + "\n```\n" }
            s += "\n"
        }
        if !flows.isEmpty {
            s += "## Flows\n\n"
            s += table(Table(title: "", columns: ["phase", "flow", "op", "bytes", "GB/s", "p50", "p99", "map type", "path", "status", "limited by"], rows: flows.map { f in
                [f.phase, f.label, f.operation, ByteSize.format(UInt64(f.bytes)), Self.gb(f.gigabytesPerSecond), Self.nsText(f.latencyP50ns),
                 Self.nsText(f.latencyP99ns), f.mapType ?? "-", f.pathClass ?? "-", f.status + (f.blockedTLPs > 0 ? " (\(f.blockedTLPs) TLPs)" : ""),
                 f.limitedBy ?? "-"]
            }))
        }
        let busy = links.filter { $0.utilization > 0.0005 }
        if !busy.isEmpty {
            s += "## Links\n\n"
            s += table(Table(title: "", columns: ["link", "gen/width", "peak utilization", "payload GB/s", "credit stall", "max queue", "phase"], rows: busy.map {
                [$0.name, $0.genWidth, Self.pct($0.utilization), Self.gb($0.payloadGBps), Self.pct($0.creditStallFraction), String($0.maxQueueTLPs), $0.phase]
            }))
        }
        for t in [iommuTable, auditTable].compactMap({ $0 }) { s += "## \(t.title)\n\n" + table(Table(title: "", columns: t.columns, rows: t.rows)) }
        if let machineFix { s += "Fix for the machine: `\(machineFix.prefix { $0 != " " })`\(machineFix.drop { $0 != " " })\n\n" }
        if !bootLog.isEmpty { s += "## Kernel log at boot\n\n```\n" + bootLog.joined(separator: "\n") + "\n```\n" }
        return s
    }
}
