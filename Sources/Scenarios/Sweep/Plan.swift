// What-if plans (plans/plan.xsd): a base machine, axes that vary it, a scenario, metrics, constraints and part
// costs. Read with the hardened reader and `file:line: error:` messages like every other input; docs/SWEEPS.md.
import Sim

public struct Plan: Sendable {
    public enum Base: Sendable {
        case file(String)
        case generate(GeneratorParameters)
    }

    public struct Axis: Sendable {
        public enum Kind: String, Sendable, CaseIterable {
            case linkGen = "link-gen", linkWidth = "link-width", switchLatency = "switch-latency", generate
            case acsCtrl = "acs-ctrl", cmdline, iommuMode = "iommu-mode", iotlbEntries = "iotlb-entries"
            case pageSize = "page-size", mps, mrrs
        }
        public var name: String
        public var kind: Kind
        public var select: [String]
        public var param: String?
        /// (label, value text), in the plan's order.
        public var values: [(label: String, value: String)]
        public var line: Int
    }

    public struct Metric: Sendable {
        public enum Quantity: String, Sendable { case throughput, blockedFlows = "blocked-flows", maxLinkUtilization = "max-link-utilization" }
        public enum Aggregate: String, Sendable { case min, mean, max, sum }
        public var name: String
        public var quantity: Quantity
        /// Where the bytes come from and go to: an endpoint class (`gpu`), a device name, `host`, or `any`.
        public var from: String
        public var to: String
        public var phaseKind: String?
        public var aggregate: Aggregate
        /// GB/s for throughput, a count for blocked flows, a fraction (0-1) for link utilization.
        public var unit: String { quantity == .throughput ? "GB/s" : (quantity == .blockedFlows ? "flows" : "") }
    }

    public struct Constraint: Sendable {
        public enum Comparison: String, Sendable { case ge = ">=", le = "<=", gt = ">", lt = "<", eq = "==" }
        public var metric: String
        public var comparison: Comparison
        public var value: Double
        public var text: String
        public func holds(_ v: Double) -> Bool {
            switch comparison {
            case .ge: v >= value
            case .le: v <= value
            case .gt: v > value
            case .lt: v < value
            case .eq: v == value
            }
        }
    }

    public struct Cost: Sendable {
        /// `switch`, `root-complex`, an endpoint class, or a device name.
        public var match: String
        public var generation: LinkGeneration?
        public var each: Double
    }

    public var name: String
    public var file: String
    public var base: Base
    public var axes: [Axis]
    public var scenario: BuiltInScenario
    public var options: ScenarioOptions
    public var cmdline: String?
    public var metrics: [Metric]
    public var constraints: [Constraint]
    public var costs: [Cost]
    public var rankBy: String?
    /// FNV-1a of the plan's bytes: a results folder records it so that resuming or merging another plan's
    /// results is refused.
    public var digest: UInt64

    /// Points in the full grid: the product of the axes' value counts (first axis slowest).
    public var gridSize: Int { axes.reduce(1) { $0 * $1.values.count } }

    /// Value index per axis of grid point `index`.
    public func coordinates(_ index: Int) -> [Int] {
        var rest = index
        var out = [Int](repeating: 0, count: axes.count)
        for a in axes.indices.reversed() {
            out[a] = rest % axes[a].values.count
            rest /= axes[a].values.count
        }
        return out
    }

    public static func read(path: String) throws(DiagnosticError) -> Plan {
        let bytes = try SafeXML.readFile(path)
        return try parse(bytes, file: path)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws(DiagnosticError) -> Plan {
        let root = try SafeXML.load(bytes, file: file, schema: .plan)
        var bag = DiagnosticBag(file: file)
        let dir = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : (dir == "." ? p : dir + "/" + p) }

        // Base machine.
        let baseElement = root.children(named: "base").first!
        var base: Base = .file("")
        if let g = baseElement.children(named: "generate").first {
            if baseElement["topology"] != nil { bag.error(baseElement.line, "<base> takes a topology file or <generate>, not both") }
            var p = GeneratorParameters()
            p.name = root["name"].map { String($0.prefix(60)) } ?? "generated"
            for (key, value) in g.attributes {
                if let problem = Self.setGenerate(&p, key, value) { bag.error(g.line, problem) }
            }
            base = .generate(p)
        } else if let t = baseElement["topology"] {
            base = .file(resolve(t))
        } else {
            bag.error(baseElement.line, "<base> needs topology=\"FILE\" or a <generate> element")
        }
        var generateBase = false
        if case .generate = base { generateBase = true }

        // Axes.
        var axes: [Axis] = []
        var axisNames = Set<String>()
        for a in root.children(named: "axis") {
            let name = a["name"] ?? ""
            if !axisNames.insert(name).inserted { bag.error(a.line, "duplicate axis name '\(name)'") }
            let kind = Axis.Kind(rawValue: a["kind"] ?? "")!
            let select = (a["select"] ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            var values: [(String, String)] = []
            var labels = Set<String>()
            for v in a.children(named: "value") {
                let text = String(v.text.trimmingSpaces)
                let label = v["label"] ?? text
                if !labels.insert(label).inserted { bag.error(v.line, "axis '\(name)': duplicate value '\(label)'") }
                if let problem = Self.checkValue(kind, param: a["param"], text) { bag.error(v.line, "axis '\(name)': \(problem)") }
                values.append((label, text))
            }
            if kind == .generate {
                if !generateBase { bag.error(a.line, "axis '\(name)': kind=\"generate\" needs a <generate> base") }
                if a["param"] == nil { bag.error(a.line, "axis '\(name)': kind=\"generate\" needs param=\"NAME\"") }
            }
            axes.append(Axis(name: name, kind: kind, select: select, param: a["param"], values: values, line: a.line))
        }
        // Saturating: 64 axes of 1024 values overflow Int long before the product is compared.
        if axes.reduce(1, { min($0.multipliedReportingOverflow(by: max(1, $1.values.count)).partialValue, 1_000_001) }) > 1_000_000 {
            bag.error(root.line, "the grid has more than 1,000,000 points; use fewer values or simrun sweep --sample N")
        }

        // Scenario.
        let s = root.children(named: "scenario").first!
        var options = ScenarioOptions()
        let scenarioName = s["name"] ?? ""
        let scenario = BuiltInScenario(rawValue: scenarioName)
        if scenario == nil {
            bag.error(s.line, "unknown scenario '\(scenarioName)' (built-in: \(BuiltInScenario.allCases.map(\.rawValue).joined(separator: ", ")))\(DidYouMean.hint(scenarioName, among: BuiltInScenario.allCases.map(\.rawValue)))")
        }
        if scenario == .acsAudit { bag.error(s.line, "acs-audit moves no data; a sweep needs a scenario with DMA") }
        if let t = s["size"] {
            switch ByteSize.parseChecked(t, maximum: 1 << 40) {
            case .success(let b) where b > 0: options.size = Int(b)
            case .success: bag.error(s.line, "size '\(t)' is not a size (e.g. 64MiB)")
            case .failure(let why): bag.error(s.line, why.message(attribute: "size", value: t, expected: "a size (e.g. 64MiB)"))
            }
        }
        if let t = s["page-size"] {
            if let b = ByteSize.parse(t), [4096, 2 << 20, 1 << 30].contains(b) { options.pageBytes = Int(b) } else { bag.error(s.line, "page-size '\(t)' is not 4K, 2M or 1G") }
        }
        options.devices = s["devices"].map { $0.split(separator: ",").map { String($0.trimmingSpaces) } }
        if let q = s["queue-depth"] {
            switch parseCount(q, maximum: 1 << 16) {
            case .success(let v) where v >= 1: options.queueDepth = v
            case .success: bag.error(s.line, "queue-depth must be at least 1")
            case .failure(let why): bag.error(s.line, why.message(attribute: "queue-depth", value: q, expected: "a positive integer"))
            }
        }
        switch s["operation"] {
        case nil, "write": break
        case "read": options.operation = .read
        case let other?: bag.error(s.line, "operation '\(other)' is not write or read")
        }

        // Metrics and constraints.
        var metrics: [Metric] = []
        var metricNames = Set<String>()
        for m in root.children(named: "metric") {
            let name = m["name"] ?? ""
            if !metricNames.insert(name).inserted { bag.error(m.line, "duplicate metric name '\(name)'") }
            let q = Metric.Quantity(rawValue: m["quantity"] ?? "throughput")!
            metrics.append(Metric(name: name, quantity: q, from: m["from"] ?? "any", to: m["to"] ?? "any", phaseKind: m["phase-kind"],
                                  aggregate: Metric.Aggregate(rawValue: m["aggregate"] ?? (q == .throughput ? "min" : "max"))!))
        }
        var constraints: [Constraint] = []
        for c in root.children(named: "constraint") {
            let metric = c["metric"] ?? ""
            if !metricNames.contains(metric) { bag.error(c.line, "constraint names metric '\(metric)', which the plan does not define") }
            let text = c["value"] ?? ""
            var number = text
            for suffix in ["GB/s", "%"] where number.hasSuffix(suffix) { number = String(String(number.dropLast(suffix.count)).trimmingSpaces) }
            var value = Double(number) ?? 0
            if text.hasSuffix("%") { value /= 100 }
            constraints.append(Constraint(metric: metric, comparison: Constraint.Comparison(rawValue: c["op"] ?? ">=")!, value: value,
                                          text: "\(metric) \(c["op"] ?? ">=") \(text)"))
        }
        var costs: [Cost] = []
        for c in root.children(named: "cost") {
            var generation: LinkGeneration? = nil
            if let g = c["gen"] {
                generation = Self.generation(g)
                if generation == nil { bag.error(c.line, "gen '\(g)' is not a link generation (gen1-gen6)") }
            }
            costs.append(Cost(match: c["match"] ?? "", generation: generation, each: Double(c["each"] ?? "0") ?? 0))
        }
        let rankBy = root["rank-by"]
        if let r = rankBy, !metricNames.contains(r) { bag.error(root.line, "rank-by names metric '\(r)', which the plan does not define") }
        if rankBy != nil, costs.isEmpty { bag.error(root.line, "rank-by needs <cost> elements to rank by cost per unit") }
        if !bag.diagnostics.isEmpty { throw DiagnosticError(bag.diagnostics) }
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { digest = (digest ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Plan(name: root["name"] ?? "plan", file: file, base: base, axes: axes, scenario: scenario!, options: options,
                    cmdline: s["cmdline"], metrics: metrics, constraints: constraints, costs: costs, rankBy: rankBy, digest: digest)
    }

    static func generation(_ t: String) -> LinkGeneration? {
        let digits = t.lowercased().hasPrefix("gen") ? String(t.dropFirst(3)) : t
        return Int(digits).flatMap { LinkGeneration(rawValue: $0) }
    }

    static let generateParameters = ["name", "sockets", "root-complexes", "root-ports", "switch-levels", "fanout", "gpus", "nics", "nvme",
                                     "fpgas", "generic", "gen", "width", "acs", "iommu-mode", "cpu-vendor", "seed"]

    /// Sets one `simrun generate` parameter; the problem in words, or nil.
    static func setGenerate(_ p: inout GeneratorParameters, _ key: String, _ value: String) -> String? {
        func int() -> Int? { Int(value) }
        switch key {
        case "name": p.name = value
        case "sockets": guard let v = int() else { return "sockets '\(value)' is not a number" }; p.sockets = v
        case "root-complexes": guard let v = int() else { return "root-complexes '\(value)' is not a number" }; p.rootComplexesPerSocket = v
        case "root-ports": guard let v = int() else { return "root-ports '\(value)' is not a number" }; p.rootPortsPerRootComplex = v
        case "switch-levels": guard let v = int() else { return "switch-levels '\(value)' is not a number" }; p.switchLevels = v
        case "fanout": guard let v = int() else { return "fanout '\(value)' is not a number" }; p.fanout = v
        case "gpus": guard let v = int() else { return "gpus '\(value)' is not a number" }; p.gpusPerSwitch = v
        case "nics": guard let v = int() else { return "nics '\(value)' is not a number" }; p.nicsPerSwitch = v
        case "nvme": guard let v = int() else { return "nvme '\(value)' is not a number" }; p.nvmePerSwitch = v
        case "fpgas": guard let v = int() else { return "fpgas '\(value)' is not a number" }; p.fpgasPerSwitch = v
        case "generic": guard let v = int() else { return "generic '\(value)' is not a number" }; p.genericPerSwitch = v
        case "gen": guard let g = generation(value) else { return "gen '\(value)' is not a link generation (gen1-gen6)" }; p.generation = g
        case "width": guard let v = int() else { return "width '\(value)' is not a number" }; p.width = v
        case "acs":
            switch value { case "true", "1", "on": p.acs = true; case "false", "0", "off": p.acs = false
            default: return "acs '\(value)' is not true or false" }
        case "iommu-mode": guard let m = IOMMUMode(rawValue: value) else { return "iommu-mode '\(value)' is not off, passthrough, dma or dma-fq" }; p.iommuMode = m
        case "cpu-vendor": guard let v = CPUVendor(rawValue: value) else { return "cpu-vendor '\(value)' is not intel, amd, arm, zhaoxin or other" }; p.cpuVendor = v
        case "seed": guard let v = UInt64(value) else { return "seed '\(value)' is not a number" }; p.seed = v
        default: return "unknown generate parameter '\(key)' (known: \(generateParameters.joined(separator: ", ")))"
        }
        return nil
    }

    /// Checks an axis value's syntax once, when the plan is read.
    static func checkValue(_ kind: Axis.Kind, param: String?, _ text: String) -> String? {
        switch kind {
        case .linkGen: return generation(text) == nil ? "'\(text)' is not a link generation (gen1-gen6)" : nil
        case .linkWidth: return [1, 2, 4, 8, 16, 32].contains(Int(text) ?? 0) ? nil : "'\(text)' is not a link width (1, 2, 4, 8, 16, 32)"
        case .switchLatency:
            switch Duration.parseChecked(text) {
            case .success: return nil
            case .failure(.outOfRange(let max)): return "\(text) is out of range (max \(max))"
            case .failure: return "'\(text)' is not a time (e.g. 105ns)"
            }
        case .generate:
            guard let param else { return nil }
            var p = GeneratorParameters()
            return setGenerate(&p, param, text)
        case .acsCtrl: return ACSFlags(text) == nil ? "'\(text)' is not ACS control bits (e.g. 'SV RR CR UF', 'none', 0x001d)" : nil
        case .cmdline: return nil
        case .iommuMode: return IOMMUMode(rawValue: text) == nil ? "'\(text)' is not off, passthrough, dma or dma-fq" : nil
        case .iotlbEntries:
            // The topology schema's bound (IOTLBEntries): an IOTLB is an array the model allocates.
            switch parseCount(text, maximum: 1 << 20) {
            case .success(let v): return v > 0 ? nil : "'\(text)' is not a positive number of entries"
            case .failure(.outOfRange(let max)): return "\(text) is out of range (max \(max))"
            case .failure: return "'\(text)' is not a positive number of entries"
            }
        case .pageSize:
            guard let b = ByteSize.parse(text), [4096, 2 << 20, 1 << 30].contains(b) else { return "'\(text)' is not 4K, 2M or 1G" }
            return nil
        case .mps, .mrrs:
            guard let b = ByteSize.parse(text), [128, 256, 512, 1024, 2048, 4096].contains(b) else {
                return "'\(text)' is not 128, 256, 512, 1024, 2048 or 4096 bytes"
            }
            return nil
        }
    }
}
