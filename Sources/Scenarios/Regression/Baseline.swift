// A case's baseline (reports/baselines/*.json, schema pciesim-baseline/1): per flow its status, map type,
// distance, throughput and p99, plus the facts of every device on the flows' paths, so that a difference can
// be explained by what changed on the path ("ACS ReqRedir now set on 0000:02:00.0"). Keys and rows are in a
// fixed order and numbers are rounded, so an accepted change is a small, readable diff.
import Foundation
import Sim

public struct Baseline: Sendable {
    public struct Flow: Sendable {
        var phase: String
        var label: String
        var requester: String
        var peer: String?
        var status: String
        var mapType: String?
        var distance: Int?
        var gbps: Double
        var p50ns: Double?
        var p99ns: Double?
        /// `kind at port: rule` of the findings on this flow.
        var findings: [String]
        var key: String { phase + "|" + label }
    }
    var header: [(String, String)]
    var flows: [Flow]
    var devices: [String: DeviceFacts]
    /// The machine-wide inputs (kernel line, CPUs, socket links, IOMMUs, root complexes); nil in a baseline written
    /// before they were recorded.
    var inputs: [MachineInput]?

    init(_ c: SuiteCase, _ report: RunReport, _ facts: MachineFacts) {
        header = [("case", c.name), ("topology", URL(fileURLWithPath: c.topology).lastPathComponent), ("scenario", URL(fileURLWithPath: c.scenario).lastPathComponent),
                  ("seed", String(c.seed))] + c.optionText
        var devices: [String: DeviceFacts] = [:]
        flows = report.flows.map { f in
            var distance: Int?
            if let peer = f.peer, let cell = facts.p2p[peer + "|" + f.requester] { distance = cell.distance }
            for name in [f.requester] + (f.peer.map { [$0] } ?? []) {
                guard let d = facts.devices[name] else { continue }
                for n in [name] + d.ancestors { devices[n] = facts.devices[n] }
            }
            let findings = report.findings.filter { x in x.phases.contains(f.phase) && x.requester.hasPrefix(f.requester + " ") && (f.peer.map { x.target.hasPrefix($0 + " ") } ?? true) }
                .map { "\($0.kind) at \($0.port): \($0.rule)" }
            return Flow(phase: f.phase, label: f.label, requester: f.requester, peer: f.peer, status: f.status, mapType: f.mapType,
                        distance: distance, gbps: (f.gigabytesPerSecond * 1000).rounded() / 1000,
                        p50ns: f.latencyP50ns.map { $0.rounded() }, p99ns: f.latencyP99ns.map { $0.rounded() }, findings: findings)
        }
        // acs-audit: each pair's verdicts are the case's results.
        for a in report.audit {
            for name in [a.client, a.provider] {
                guard let d = facts.devices[name] else { continue }
                for n in [name] + d.ancestors { devices[n] = facts.devices[n] }
            }
            flows.append(Flow(phase: "audit", label: "\(a.client) -> \(a.provider)", requester: a.client, peer: a.provider, status: a.route,
                              mapType: a.mapType, distance: a.distance, gbps: 0, p50ns: nil, p99ns: nil,
                              findings: a.port.map { ["\(a.route) at \($0)"] } ?? []))
        }
        self.devices = devices
        inputs = facts.inputs
    }

    init(header: [(String, String)], flows: [Flow], devices: [String: DeviceFacts], inputs: [MachineInput]?) {
        self.header = header
        self.flows = flows
        self.devices = devices
        self.inputs = inputs
    }

    var json: JSON {
        func opt(_ s: String?) -> JSON { JSON(s) }
        return .object([
            ("schema", .string(Regression.baselineSchema)),
            ("case", .object(header.map { ($0.0, .string($0.1)) })),
            ("flows", .array(flows.map { f in .object([
                ("phase", .string(f.phase)), ("label", .string(f.label)), ("requester", .string(f.requester)), ("peer", opt(f.peer)),
                ("status", .string(f.status)), ("map_type", opt(f.mapType)), ("distance", JSON(f.distance)), ("gbps", .double(f.gbps)),
                ("p50_ns", f.p50ns.map { .double($0) } ?? .null), ("p99_ns", f.p99ns.map { .double($0) } ?? .null), ("findings", .array(f.findings.map { .string($0) })),
            ]) })),
            ("devices", .array(devices.keys.sorted { (devices[$0]!.bdf, $0) < (devices[$1]!.bdf, $1) }.map { n in
                let d = devices[n]!
                return .object([
                    ("name", .string(d.name)), ("bdf", .string(d.bdf)), ("kind", .string(d.kind)), ("parent", opt(d.parent)),
                    ("root_complex", .string(d.rootComplex)), ("socket", .int(Int64(d.socket))), ("link", opt(d.link)),
                    ("acs_cap", opt(d.acsCapability.map { "0x" + hex($0, 4) })), ("acs_ctrl", opt(d.acsControl.map { "0x" + hex($0, 4) })),
                    ("ancestors", .array(d.ancestors.map { .string($0) })), ("tuning", opt(d.tuning)),
                ])
            })),
            ("inputs", .array((inputs ?? []).map { i in
                .object([("name", .string(i.name)), ("kind", .string(i.kind)), ("scope", .string(i.scope.description)), ("value", .string(i.value))])
            })),
        ])
    }

    static func read(_ path: String) -> Result<Baseline, ScenarioError> {
        guard let data = FileManager.default.contents(atPath: path), data.count < 64 << 20 else { return .failure(ScenarioError("cannot read the baseline")) }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return .failure(ScenarioError("not JSON")) }
        guard root["schema"] as? String == Regression.baselineSchema else { return .failure(ScenarioError("not a \(Regression.baselineSchema) baseline")) }
        guard let flows = root["flows"] as? [[String: Any]], let devices = root["devices"] as? [[String: Any]] else { return .failure(ScenarioError("no flows or devices")) }
        func num(_ v: Any?) -> Double? { (v as? NSNumber)?.doubleValue }
        func word(_ v: Any?) -> UInt16? { (v as? String).flatMap { $0.hasPrefix("0x") ? UInt16($0.dropFirst(2), radix: 16) : nil } }
        var out: [Flow] = []
        for f in flows {
            guard let phase = f["phase"] as? String, let label = f["label"] as? String, let req = f["requester"] as? String,
                  let status = f["status"] as? String, let gbps = num(f["gbps"]) else { return .failure(ScenarioError("a flow lacks phase, label, requester, status or gbps")) }
            out.append(Flow(phase: phase, label: label, requester: req, peer: f["peer"] as? String, status: status, mapType: f["map_type"] as? String,
                            distance: num(f["distance"]).flatMap { Int(exactly: $0.rounded()) }, gbps: gbps, p50ns: num(f["p50_ns"]), p99ns: num(f["p99_ns"]),
                            findings: f["findings"] as? [String] ?? []))
        }
        var facts: [String: DeviceFacts] = [:]
        for d in devices {
            guard let name = d["name"] as? String, let bdf = d["bdf"] as? String, let rc = d["root_complex"] as? String else { return .failure(ScenarioError("a device lacks name, bdf or root_complex")) }
            facts[name] = DeviceFacts(name: name, bdf: bdf, kind: d["kind"] as? String ?? "", parent: d["parent"] as? String, rootComplex: rc,
                                      socket: num(d["socket"]).flatMap { Int(exactly: $0.rounded()) } ?? 0, link: d["link"] as? String, acsCapability: word(d["acs_cap"]),
                                      acsControl: word(d["acs_ctrl"]), ancestors: d["ancestors"] as? [String] ?? [], groupPartners: nil,
                                      tuning: d["tuning"] as? String)
        }
        var inputs: [MachineInput]?
        if let list = root["inputs"] as? [[String: Any]] {
            inputs = []
            for i in list {
                guard let name = i["name"] as? String, let kind = i["kind"] as? String, let value = i["value"] as? String,
                      let scope = (i["scope"] as? String).flatMap(MachineInput.Scope.init) else {
                    return .failure(ScenarioError("an input lacks name, kind, value or a scope (machine, socket:N, socket-link:A-B, root-complex:NAME, iommu:NAME)"))
                }
                inputs!.append(MachineInput(name: name, scope: scope, value: value, kind: kind))
            }
        }
        return .success(Baseline(header: [], flows: out, devices: facts, inputs: inputs))
    }

    /// Differences from this baseline to `now`, each with its cause; and the largest throughput change.
    /// `after` is the whole machine now (a device missing from it was removed).
    func compare(with now: Baseline, machine after: MachineFacts, tolerance: Double) -> ([String], String) {
        var lines: [String] = []
        var biggest: (Double, String)? = nil
        let before = MachineFacts(devices: devices, inputs: inputs)
        let current = Dictionary(now.flows.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let old = Set(flows.map(\.key))
        func causes(_ f: Flow) -> [String] { before.pathCauses(f.requester, f.peer ?? f.requester, after) }
        // Flows whose own path changed, by phase: a flow with an unchanged path that moved shares links with them.
        var changedInPhase: [String: [String]] = [:]
        for f in flows where !causes(f).isEmpty { changedInPhase[f.phase, default: []].append(f.label) }
        func because(_ f: Flow) -> String {
            let c = causes(f)
            if !c.isEmpty { return ": " + c.joined(separator: "; ") }
            if let others = changedInPhase[f.phase] {
                return " (its path is unchanged; it shares phase '\(f.phase)' with flows whose paths changed: \(others.joined(separator: ", ")))"
            }
            guard before.hasInputs else {
                return " (nothing recorded on its path changed, but this baseline predates the machine-wide inputs (kernel line,"
                    + " CPUs, socket links, IOMMUs, root complexes): rewrite it with --update-baselines to compare them)"
            }
            return " (no input on its path changed: devices, links, ACS, kernel line, CPUs, socket links, IOMMUs, root complexes"
                + " and tuning are as in the baseline, so the simulator's result moved)"
        }
        for f in flows {
            let name = f.phase == f.label ? f.label : "\(f.label) [\(f.phase)]"
            guard let n = current[f.key] else {
                lines.append("\(name): flow gone" + because(f))
                continue
            }
            if f.mapType != n.mapType || f.distance != n.distance {
                func m(_ x: Flow) -> String { "\(x.mapType ?? "-")" + (x.distance.map { " distance \($0)" } ?? "") }
                lines.append("\(name): \(m(f)) -> \(m(n))" + because(f))
            }
            if f.status != n.status {
                let why = n.findings.first.map { " (\($0))" } ?? ""
                lines.append("\(name): \(f.status) -> \(n.status)\(why)" + because(f))
            }
            let rel = f.gbps > 0 ? n.gbps / f.gbps - 1 : (n.gbps > 0 ? 1 : 0)
            if abs(rel) > (biggest.map { abs($0.0) } ?? 0) { biggest = (rel, f.label) }
            if f.status == n.status, abs(rel) > tolerance {
                lines.append("\(name): \(RunReport.gb(f.gbps)) -> \(RunReport.gb(n.gbps)) GB/s (" + String(format: "%+.1f %%, tolerance %.1f %%", rel * 100, tolerance * 100) + ")" + because(f))
            }
            for (what, was, now) in [("p50", f.p50ns, n.p50ns), ("p99", f.p99ns, n.p99ns)] {
                guard f.status == n.status, let a = was, let b = now, a > 0, abs(b / a - 1) > tolerance else { continue }
                lines.append("\(name): \(what) latency \(RunReport.nsText(a)) -> \(RunReport.nsText(b)) (" + String(format: "%+.1f %%", (b / a - 1) * 100) + ")" + because(f))
            }
        }
        for n in now.flows where !old.contains(n.key) {
            lines.append("\(n.phase == n.label ? n.label : "\(n.label) [\(n.phase)]"): new flow, not in the baseline")
        }
        let change = biggest.map { String(format: "%+.1f %% ", $0.0 * 100) + $0.1 } ?? "0.0 %"
        return (lines, change)
    }
}

extension MachineFacts {
    /// Facts of the given devices only (a baseline's path devices).
    init(devices: [String: DeviceFacts], inputs: [MachineInput]?) {
        self.devices = devices
        self.inputs = inputs ?? []
        hasInputs = inputs != nil
        order = devices.keys.sorted { (devices[$0]!.bdf, $0) < (devices[$1]!.bdf, $1) }
        p2p = [:]
        endpoints = []
    }
}
