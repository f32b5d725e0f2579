// `simrun fix`: one ACS change for the whole machine (ACSRedirectFix), with what it costs: the IOMMU groups that
// merge and the required pairs' throughput before and after, run through the flow model.
import Foundation
import Sim

/// The machine-wide fix and its cost, as `simrun fix` prints it.
public struct MachineFix: Sendable {
    public struct Throughput: Sendable {
        public var label: String
        public var mapTypeBefore: String
        public var mapTypeAfter: String?
        public var gbpsBefore: Double
        public var statusBefore: String
        public var gbpsAfter: Double?
        public var statusAfter: String?
    }

    public let fix: ACSRedirectFix
    public let fabric: Fabric
    /// The pairs were the default (every pair that could map BUS_ADDR).
    public let defaultPairs: Bool
    public let throughput: [Throughput]
    public let bytesPerPair: Int

    /// Solves and measures. Each required pair runs alone (one phase each), the client writing the provider's
    /// p2pmem (where it has some: the mapping p2pdma judges) or its BAR, in flow mode, before and after the change.
    public init(_ loaded: LoadedTopology, options: SemanticsOptions, need: [ACSRedirectFix.Pair]?, isolate: [Int],
                bytesPerPair: Int = 64 << 20) throws(ScenarioError) {
        let before = Semantics(loaded, options: options)
        let baseFabric = Fabric(loaded, acsControl: before.acsControl)
        defaultPairs = need == nil
        // By default every pair that could map BUS_ADDR, except those of a device to isolate (it is passed through).
        let pairs = need ?? ACSRedirectFix.defaultPairs(before, fabric: baseFabric).filter { !isolate.contains($0.provider) && !isolate.contains($0.client) }
        fix = ACSRedirectFix(loaded, options: options, required: pairs, isolated: isolate)
        fabric = baseFabric
        self.bytesPerPair = bytesPerPair
        guard !pairs.isEmpty else {
            throughput = []
            return
        }
        let phases = pairs.map { p in
            let label = "\(baseFabric.name(p.client)) -> \(baseFabric.name(p.provider))"
            let target: DMATarget = baseFabric.hasP2PMem(p.provider) ? .p2pmem(provider: p.provider) : .peerBAR(device: p.provider)
            return WorkloadPhase(name: label, kind: "pair", operations: [
                DMAOperation(label: label, requester: p.client, target: target, operation: .write, bytes: bytesPerPair,
                             bufferBytes: min(bytesPerPair, 16 << 20))])
        }
        let workload = Workload(scenario: "fix", phases: phases)
        func measure(_ o: SemanticsOptions) throws(ScenarioError) -> [(String, Double, String)] {
            var runner = try WorkloadRunner(loaded, options: o, seed: 1, jobs: 1)
            runner.mode = .flow
            let result = try runner.run(workload)
            return result.phases.map { ph in
                let f = RunReport.flow(ph.operations[0], ph.phase, runner.fabric)
                return (f.mapType ?? "-", f.gigabytesPerSecond, f.status)
            }
        }
        let b = try measure(options)
        var a: [(String, Double, String)]?
        if let line = fix.chosen?.commandLine {
            var o = options
            o.kernel = KernelConfiguration(commandLine: line, version: (options.kernel ?? loaded.topology.kernel).version)
            a = try measure(o)
        }
        throughput = phases.indices.map { i in
            Throughput(label: phases[i].name, mapTypeBefore: b[i].0, mapTypeAfter: a?[i].0, gbpsBefore: b[i].1, statusBefore: b[i].2,
                       gbpsAfter: a?[i].1, statusAfter: a?[i].2)
        }
    }

    /// Exit status for the CLI: 0 when the requirements hold (already, or with the fix), 1 when they conflict or a
    /// required pair cannot be fixed by any ACS change.
    public var holds: Bool { fix.conflicts.isEmpty && fix.unfixable.isEmpty && (fix.ports.isEmpty || fix.chosen != nil) }

    func name(_ f: Int) -> String { "\(fabric.bdf(f)) \(fabric.name(f))" }
    func pairText(_ p: ACSRedirectFix.Pair) -> String { "\(fabric.name(p.client)) -> \(fabric.name(p.provider))" }

    /// The conflicts in words: which pair, which port, which isolated device.
    /// One line per (pair of devices, port, isolated device): both directions of a pair need the same ports.
    public var conflictLines: [String] {
        var out: [String] = []
        for c in fix.conflicts {
            let devices = [c.pair.client, c.pair.provider].sorted().map { fabric.name($0) }
            let line = "conflict: P2P between \(devices[0]) and \(devices[1]) needs ACS redirect off at \(name(c.port)), but \(fabric.name(c.isolated)) must stay isolated and its IOMMU group depends on that port (it would gain \(c.mergedWith.map(\.description).joined(separator: ", ")))"
            if !out.contains(line) { out.append(line) }
        }
        return out + fix.unfixable.map { u in "cannot fix: \(pairText(u.pair)) stays \(u.reason)" }
    }

    public func text(topologyFile: String) -> String {
        let kernel = fix.before.options.kernel ?? fix.before.loaded.topology.kernel
        var s = "fix for \(fabric.topology.name) (\(topologyFile)), kernel \(kernel.version.rawValue)\(kernel.commandLine.isEmpty ? "" : ": \(kernel.commandLine)")\n"
        s += "need: \(fix.required.count) pair\(fix.required.count == 1 ? "" : "s")\(defaultPairs ? " (every pair that could map BUS_ADDR)" : "")"
        s += "; isolate: \(fix.isolated.isEmpty ? "none" : fix.isolated.map { fabric.name($0) }.joined(separator: ", "))\n"
        if !conflictLines.isEmpty {
            for l in conflictLines { s += l + "\n" }
            return s
        }
        if fix.ports.isEmpty {
            s += "fix: none needed: every required pair is already PCI_P2PDMA_MAP_BUS_ADDR\n"
            return s
        }
        s += "ACS redirect (RR/CR/EC) must go on: \(fix.ports.map(name).joined(separator: ", "))\n"
        guard let chosen = fix.chosen, let line = chosen.commandLine else {
            s += "no command line found that holds:\n"
            for c in fix.candidates { s += "  \(c.change): \(c.failures.joined(separator: "; "))\n" }
            return s
        }
        s += "fix: \(chosen.change)\n"
        s += "  boot with: \(line)\n"
        s += "  checked: booted through the semantics, every required pair is PCI_P2PDMA_MAP_BUS_ADDR\(fix.isolated.isEmpty ? "" : " and every isolated device keeps its IOMMU group")\n"
        for r in fix.rejected { s += "  not \(r.change): \(r.reason)\n" }
        for c in fix.candidates where c != chosen {
            let label = c.kind == .firmware ? "firmware instead" : "also"
            let cost = c.groupsMerged != chosen.groupsMerged ? "; \(c.groupsMerged) IOMMU group\(c.groupsMerged == 1 ? "" : "s") merge instead of \(chosen.groupsMerged)" : ""
            s += c.holds ? "\(label): \(c.change)\(c.kind == .configACS ? " (mainline kernels)" : "")\(cost.isEmpty ? "" : " (" + cost.dropFirst(2) + ")")\n"
                : "\(label), not enough: \(c.change): \(c.failures.joined(separator: "; "))\n"
        }
        s += "cost:\n"
        let merged = fix.mergedGroups
        if fix.before.iommuGroups().isEmpty {
            s += "  IOMMU groups: none merge (no IOMMU is active, so Linux forms no groups)\n"
        } else if merged.isEmpty {
            s += "  IOMMU groups: none merge\n"
        } else {
            for m in merged {
                s += "  IOMMU groups \(m.before.map { "\($0.number) [\($0.names.joined(separator: " "))]" }.joined(separator: " + ")) -> group \(m.after.number) [\(m.after.names.joined(separator: " "))]\n"
            }
        }
        if !throughput.isEmpty {
            s += "  throughput (flow model, \(ByteSize.format(UInt64(bytesPerPair))) written per pair, each pair alone):\n"
            let rows = throughput.map { t in
                ["    " + t.label, t.mapTypeBefore, RunReport.gb(t.gbpsBefore) + (t.statusBefore == "ok" ? "" : " \(t.statusBefore)"),
                 t.mapTypeAfter ?? "-", t.gbpsAfter.map { RunReport.gb($0) + (t.statusAfter == "ok" ? "" : " \(t.statusAfter ?? "")") } ?? "-"]
            }
            let header = ["    pair", "before", "GB/s", "after", "GB/s"]
            var widths = header.map(\.count)
            for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
            for r in [header] + rows {
                s += r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ") + "\n"
            }
            let sb = throughput.reduce(0) { $0 + $1.gbpsBefore }
            let sa = throughput.reduce(0) { $0 + ($1.gbpsAfter ?? 0) }
            s += "    sum of the pairs alone: \(RunReport.gb(sb)) -> \(RunReport.gb(sa)) GB/s\n"
        }
        return s
    }

    public var json: JSON {
        let kernel = fix.before.options.kernel ?? fix.before.loaded.topology.kernel
        func pairJSON(_ p: ACSRedirectFix.Pair) -> JSON { .object([("client", .string(fabric.name(p.client))), ("provider", .string(fabric.name(p.provider)))]) }
        return .object([
            ("topology", .string(fabric.topology.name)),
            ("kernel_version", .string(kernel.version.rawValue)),
            ("command_line_before", .string(kernel.commandLine)),
            ("pairs", .array(fix.required.map(pairJSON))),
            ("isolate", .array(fix.isolated.map { .string(fabric.name($0)) })),
            ("holds", .bool(holds)),
            ("ports", .array(fix.ports.map { .string(name($0)) })),
            ("line", JSON(fix.chosen?.change)),
            ("command_line_after", JSON(fix.chosen?.commandLine)),
            ("candidates", .array(fix.candidates.map { c in .object([
                ("kind", .string(c.kind.rawValue)), ("change", .string(c.change)), ("command_line", JSON(c.commandLine)),
                ("holds", .bool(c.holds)), ("groups_merged", .int(Int64(c.groupsMerged))),
                ("failures", .array(c.failures.map { .string($0) }))]) })),
            ("rejected", .array(fix.rejected.map { .object([("change", .string($0.change)), ("reason", .string($0.reason))]) })),
            ("conflicts", .array(fix.conflicts.map { c in .object([
                ("pair", pairJSON(c.pair)), ("port", .string(name(c.port))), ("isolated", .string(fabric.name(c.isolated))),
                ("merged_with", .array(c.mergedWith.map { .string($0.description) }))]) })),
            ("unfixable", .array(fix.unfixable.map { u in .object([("pair", pairJSON(u.pair)), ("reason", .string(u.reason))]) })),
            ("merged_groups", .array(fix.mergedGroups.map { m in .object([
                ("before", .array(m.before.map { g in .array(g.names.map { .string($0) }) })),
                ("after", .array(m.after.names.map { .string($0) }))]) })),
            ("throughput", .array(throughput.map { t in .object([
                ("pair", .string(t.label)), ("map_type_before", .string(t.mapTypeBefore)), ("gbps_before", .double(t.gbpsBefore)),
                ("status_before", .string(t.statusBefore)), ("map_type_after", JSON(t.mapTypeAfter)),
                ("gbps_after", t.gbpsAfter.map { .double($0) } ?? .null), ("status_after", JSON(t.statusAfter))]) })),
        ])
    }
}
