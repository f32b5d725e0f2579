// Sweeps: every point (or a seeded sample) of a plan's grid, each a machine built from the base and the axes'
// values, run with the plan's scenario; results journaled one line per point so that a sweep resumes, shards
// merge, and the same plan and seed give byte-identical files.
import Dispatch
import Foundation
import Sim

/// Which points a sweep runs: the whole grid or a seeded sample of it, and which shard of those.
public struct SweepSelection: Sendable, Hashable {
    public var sample: Int?
    public var seed: UInt64
    public var shard: (index: Int, count: Int)?
    public init(sample: Int? = nil, seed: UInt64 = 1, shard: (Int, Int)? = nil) {
        self.sample = sample
        self.seed = seed
        self.shard = shard
    }
    public static func == (a: SweepSelection, b: SweepSelection) -> Bool {
        a.sample == b.sample && a.seed == b.seed && a.shard?.index == b.shard?.index && a.shard?.count == b.shard?.count
    }
    public func hash(into h: inout Hasher) { h.combine(sample); h.combine(seed) }

    /// The selected grid indices in ascending order (before sharding).
    public func points(gridSize: Int) -> [Int] {
        guard let sample, sample < gridSize else { return Array(0..<gridSize) }
        // A partial Fisher-Yates shuffle with SplitMix64: the same seed picks the same points on every machine.
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        var picked: [Int: Int] = [:]
        var out: [Int] = []
        for i in 0..<sample {
            let j = i + Int(next() % UInt64(gridSize - i))
            let vj = picked[j] ?? j
            picked[j] = picked[i] ?? i
            out.append(vj)
        }
        return out.sorted()
    }

    /// This shard's points: every count-th of the selection, starting at index.
    public func shardPoints(gridSize: Int) -> [Int] {
        let all = points(gridSize: gridSize)
        guard let shard else { return all }
        return all.enumerated().filter { $0.offset % shard.count == shard.index }.map(\.element)
    }

    var descriptor: String { sample.map { "sample \($0) seed \(seed)" } ?? "grid" }
}

/// One point's outcome, as journaled.
public struct SweepRow: Sendable, Hashable {
    public var point: Int
    /// `flow`, `tlp` or `mixed` (auto mode ran some phases at TLP level).
    public var mode: String
    public var metrics: [Double]
    public var cost: Double?
    /// Why the point has no results (the machine cannot be built, the scenario does not apply).
    public var error: String?
    public init(point: Int, mode: String, metrics: [Double], cost: Double?, error: String?) {
        self.point = point; self.mode = mode; self.metrics = metrics; self.cost = cost; self.error = error
    }
}

public struct SweepError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The folder could not be created or written (out of disk, a file in the way): the sweep failed (exit 2),
    /// as opposed to bad input (exit 1).
    public var isWriteFailure = false
    public init(_ message: String, isWriteFailure: Bool = false) {
        self.message = message
        self.isWriteFailure = isWriteFailure
    }
    public var description: String { "error: " + message }
}

/// Runs a plan's points; deterministic whatever the number of threads.
public struct SweepRunner: @unchecked Sendable {
    public let plan: Plan
    public let mode: SimulationMode
    let baseTopology: Topology?
    /// Each point's work budget (its phases' events and simulated time, its phases and flows).
    public var limits = WorkLimits()

    public init(plan: Plan, mode: SimulationMode = .auto) throws(DiagnosticError) {
        self.plan = plan
        self.mode = mode
        if case .file(let path) = plan.base {
            baseTopology = try LoadedTopology.load(path: path).topology
        } else {
            baseTopology = nil
        }
    }

    /// The axis value labels of a point.
    public func labels(_ point: Int) -> [String] {
        zip(plan.axes, plan.coordinates(point)).map { $0.values[$1].label }
    }

    // MARK: One point

    public func evaluate(_ point: Int) -> SweepRow {
        let coordinates = plan.coordinates(point)
        var topology: Topology
        switch plan.base {
        case .file:
            topology = baseTopology!
        case .generate(var p):
            for (a, axis) in plan.axes.enumerated() where axis.kind == .generate {
                _ = Plan.setGenerate(&p, axis.param ?? "", axis.values[coordinates[a]].value)
            }
            do { topology = try TopologyGenerator.generate(p) } catch {
                return SweepRow(point: point, mode: "-", metrics: [], cost: nil, error: oneLine("\(error)"))
            }
        }
        var options = plan.options
        var cmdline = plan.cmdline
        for (a, axis) in plan.axes.enumerated() {
            let value = axis.values[coordinates[a]].value
            switch axis.kind {
            case .pageSize: options.pageBytes = ByteSize.parse(value).map { Int($0) }
            case .cmdline: cmdline = value
            case .generate: break
            default:
                if let problem = apply(axis, value, to: &topology) {
                    return SweepRow(point: point, mode: "-", metrics: [], cost: nil, error: "axis \(axis.name)=\(axis.values[coordinates[a]].label): \(problem)")
                }
            }
        }
        let loaded: LoadedTopology
        do { loaded = try LoadedTopology(topology: topology) } catch {
            return SweepRow(point: point, mode: "-", metrics: [], cost: nil, error: oneLine("\(error)"))
        }
        var semantics = SemanticsOptions()
        if let cmdline { semantics.kernel = KernelConfiguration(commandLine: cmdline, version: topology.kernel.version) }
        do throws(ScenarioError) {
            var runner = try WorkloadRunner(loaded, options: semantics, seed: 1, jobs: 1)
            runner.mode = mode
            runner.limits = limits
            let workload = try plan.scenario.workload(runner.fabric, options)
            let result = try runner.run(workload)
            let modes = Set(result.phases.filter { $0.transport != nil }.map(\.simulatedBy))
            let used = modes.count > 1 ? "mixed" : (modes.first?.rawValue ?? mode.rawValue)
            return SweepRow(point: point, mode: used, metrics: plan.metrics.map { measure($0, result, runner.fabric) },
                            cost: plan.costs.isEmpty ? nil : cost(topology), error: nil)
        } catch {
            return SweepRow(point: point, mode: "-", metrics: [], cost: nil, error: oneLine(error.problems.joined(separator: "; ")))
        }
    }

    func oneLine(_ s: String) -> String {
        s.replacingOccurrences(of: "\n", with: "; ").replacingOccurrences(of: "\t", with: " ")
    }

    /// Devices an axis's `select` names: device names, or `switch-uplinks`, `root-ports` (their links), `ports`
    /// (root and downstream ports), `switches`, an endpoint class, `endpoints`, `all`. Empty: the axis's default.
    func selected(_ axis: Plan.Axis, _ t: Topology, default fallback: String) -> (Set<Int>, [String]) {
        var out = Set<Int>()
        var unknown: [String] = []
        for token in axis.select.isEmpty ? [fallback] : axis.select {
            let before = out.count
            for (i, d) in t.devices.enumerated() {
                let matches: Bool = switch token {
                case "all": d.parent != nil || d.kind == .rootPort
                case "switch-uplinks", "switches": d.kind == .switchUpstreamPort
                case "root-ports": d.kind == .rootPort
                case "ports": d.kind == .rootPort || d.kind == .switchDownstreamPort
                case "endpoints": d.kind == .endpoint
                default: d.name == token || d.endpoint.map { $0.endpointClass.rawValue == token } == true
                }
                if matches { out.insert(i) }
            }
            if out.count == before, !["all", "switches", "switch-uplinks", "root-ports", "ports", "endpoints"].contains(token) {
                unknown.append(token)
            }
        }
        return (out, unknown)
    }

    /// Applies one axis value to the machine; the problem in words, or nil.
    func apply(_ axis: Plan.Axis, _ value: String, to t: inout Topology) -> String? {
        switch axis.kind {
        case .linkGen, .linkWidth:
            let (devices, unknown) = selected(axis, t, default: "all")
            if !unknown.isEmpty { return "select names no device or class: \(unknown.joined(separator: ", "))" }
            // Capabilities are inherited down the tree when a device leaves them out: pin every device's own first,
            // so that changing a switch's uplink does not change the links below it.
            let original = t
            func capability(_ i: Int) -> (LinkGeneration, Int) {
                let d = original.devices[i]
                let inherited = d.parent.map(capability)
                    ?? (original.rootComplexes[d.rootComplex].defaultLink.generation, original.rootComplexes[d.rootComplex].defaultLink.width)
                return (d.linkGeneration ?? inherited.0, d.linkWidth ?? inherited.1)
            }
            for i in t.devices.indices where t.devices[i].isPCIe {
                (t.devices[i].linkGeneration, t.devices[i].linkWidth) = capability(i)
            }
            // The link above each selected device (a root port: the link below it); both ends get the capability.
            var ends = Set<Int>()
            for i in devices {
                if t.devices[i].kind == .rootPort {
                    ends.insert(i)
                    for (j, d) in t.devices.enumerated() where d.parent == i { ends.insert(j) }
                } else {
                    ends.insert(i)
                    if let p = t.devices[i].parent, t.devices[p].kind.isDownstreamPort { ends.insert(p) }
                }
            }
            for i in ends {
                if axis.kind == .linkGen {
                    let g = Plan.generation(value)!
                    t.devices[i].linkGeneration = g
                    if t.devices[i].trainedGeneration != nil { t.devices[i].trainedGeneration = g }
                } else {
                    let w = Int(value)!
                    t.devices[i].linkWidth = w
                    if t.devices[i].trainedWidth != nil { t.devices[i].trainedWidth = w }
                }
            }
        case .switchLatency:
            let (devices, unknown) = selected(axis, t, default: "switches")
            if !unknown.isEmpty { return "select names no device or class: \(unknown.joined(separator: ", "))" }
            let latency = Duration.parse(value)!
            for i in devices where t.devices[i].kind == .switchUpstreamPort {
                if t.devices[i].switchInfo == nil { t.devices[i].switchInfo = SwitchInfo() }
                t.devices[i].switchInfo!.latency = latency
            }
        case .acsCtrl:
            let (devices, unknown) = selected(axis, t, default: "ports")
            if !unknown.isEmpty { return "select names no device or class: \(unknown.joined(separator: ", "))" }
            let flags = ACSFlags(value)!
            for i in devices where t.devices[i].kind.isDownstreamPort {
                guard var acs = t.devices[i].acs else { return "'\(t.devices[i].name)' has no ACS capability to control" }
                acs.control = flags.intersection(acs.capability)
                t.devices[i].acs = acs
            }
        case .iommuMode:
            let mode = IOMMUMode(rawValue: value)!
            for u in t.iommus.indices { t.iommus[u].mode = mode }
        case .iotlbEntries:
            let entries = Int(value)!
            for u in t.iommus.indices {
                t.iommus[u].iotlbEntries = entries
                if entries % t.iommus[u].iotlbWays != 0 { t.iommus[u].iotlbWays = min(entries, t.iommus[u].iotlbWays) }
                if entries % t.iommus[u].iotlbWays != 0 { return "\(entries) IOTLB entries are not a multiple of \(t.iommus[u].iotlbWays) ways" }
            }
        case .mps, .mrrs:
            let (devices, unknown) = selected(axis, t, default: "all")
            if !unknown.isEmpty { return "select names no device or class: \(unknown.joined(separator: ", "))" }
            let bytes = Int(ByteSize.parse(value)!)
            for i in devices {
                if axis.kind == .mps { t.devices[i].maxPayloadSupported = bytes } else if t.devices[i].kind == .endpoint { t.devices[i].maxReadRequest = bytes }
            }
        case .generate, .pageSize, .cmdline:
            break
        }
        return nil
    }

    // MARK: Metrics and cost

    func matches(_ token: String, function: Int?, _ fabric: Fabric) -> Bool {
        if token == "any" { return true }
        guard let f = function else { return token == "host" }
        if fabric.name(f) == token { return true }
        let owner = fabric.enumeration.functions[f].physicalFunction ?? f
        guard let d = fabric.enumeration.functions[owner].device, let ep = fabric.topology.devices[d].endpoint else { return false }
        return ep.endpointClass.rawValue == token
    }

    func measure(_ metric: Plan.Metric, _ result: WorkloadResult, _ fabric: Fabric) -> Double {
        var values: [Double] = []
        var blocked = 0.0
        var utilization = 0.0
        for p in result.phases where metric.phaseKind == nil || p.phase.kind == metric.phaseKind {
            if metric.quantity == .maxLinkUtilization, let t = p.transport {
                for l in t.links { utilization = max(utilization, l.utilization) }
            }
            for op in p.operations {
                let target: Int? = switch op.operation.target {
                case .hostMemory: nil
                case .peerBAR(let d): d
                case .p2pmem(let d): d
                }
                let (from, to) = op.operation.operation == .write ? (Optional(op.operation.requester), target) : (target, Optional(op.operation.requester))
                guard matches(metric.from, function: from, fabric), matches(metric.to, function: to, fabric) else { continue }
                let flow = op.flowIndex.flatMap { p.transport?.flows[$0] }
                if flow == nil || (flow?.blockedTLPs ?? 0) > 0 { blocked += 1 }
                values.append((flow?.throughput.bytesPerSecond ?? 0) / 1e9)
            }
        }
        switch metric.quantity {
        case .blockedFlows: return blocked
        case .maxLinkUtilization: return utilization
        case .throughput:
            guard !values.isEmpty else { return .nan }
            switch metric.aggregate {
            case .min: return values.min()!
            case .max: return values.max()!
            case .sum: return values.reduce(0, +)
            case .mean: return values.reduce(0, +) / Double(values.count)
            }
        }
    }

    /// The machine's parts at the plan's prices: each switch, root complex and endpoint pays the first `<cost>`
    /// that matches it (a device name, `switch`, `root-complex`, an endpoint class), with `gen` matching its link.
    func cost(_ t: Topology) -> Double {
        var total = 0.0
        for r in t.rootComplexes {
            if let c = plan.costs.first(where: { $0.match == "root-complex" || $0.match == r.name }) { total += c.each }
        }
        for d in t.devices where d.kind == .switchUpstreamPort || d.kind == .endpoint {
            let kind = d.kind == .switchUpstreamPort ? "switch" : (d.endpoint?.endpointClass.rawValue ?? "")
            if d.kind == .endpoint, d.functionNumber.map({ $0 > 0 }) == true, t.devices.contains(where: { $0.parent == d.parent && $0.deviceNumber == d.deviceNumber && $0.functionNumber == 0 && $0.kind == .endpoint }) {
                continue   // a further function of a multifunction device is not another part
            }
            if let c = plan.costs.first(where: { ($0.match == d.name || $0.match == kind) && ($0.generation == nil || $0.generation == d.linkGeneration) }) {
                total += c.each
            }
        }
        return total
    }

    // MARK: Running many points

    /// Evaluates `points` on `jobs` threads, handing each row to `done` as it finishes (in any order).
    public func run(_ points: [Int], jobs: Int, done: @escaping @Sendable (SweepRow) -> Void) {
        let next = Counter()
        let threads = max(1, min(jobs, points.count))
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while true {
                let k = next.take()
                guard k < points.count else { return }
                done(self.evaluate(points[k]))
            }
        }
    }
}

final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func take() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value - 1 }
}
