// Scenario files (scenarios/scenario.xsd): read with the topology reader's hardened libxml2 and the same
// `file:line: error:` messages; device names are resolved against the machine with their line numbers.
import Foundation
import Sim

public enum ScenarioFile {
    /// Reads, validates and resolves a scenario file for a machine. Every problem is reported at once.
    public static func read(path: String, fabric: Fabric, limits: WorkLimits = .default) throws(DiagnosticError) -> Workload {
        let bytes = try SafeXML.readFile(path)
        return try parse(bytes, file: path, fabric: fabric, limits: limits)
    }

    /// Every number is range-checked before it is used (`<attribute> <value> is out of range (max …)`), and the work
    /// the file asks for is checked against `limits` before anything is built: a file asking for 10^12 TLPs stops
    /// here, at once, naming its line.
    public static func parse(_ bytes: [UInt8], file: String, fabric: Fabric, limits: WorkLimits = .default) throws(DiagnosticError) -> Workload {
        let root = try SafeXML.load(bytes, file: file, schema: .scenario)
        var bag = DiagnosticBag(file: file)
        var phases: [WorkloadPhase] = []
        let e = fabric.enumeration
        let phaseElements = root.children(named: "phase")
        if phaseElements.count > limits.maxPhases {
            bag.error(phaseElements[limits.maxPhases].line, "\(phaseElements.count) phases, over the limit of \(limits.maxPhases) (raise with --max-phases)")
            throw DiagnosticError(bag.diagnostics)
        }
        for p in phaseElements {
            var ops: [DMAOperation] = []
            var flowsInPhase = 0
            for d in p.children(named: "dma") {
                func size(_ name: String, _ fallback: UInt64? = nil) -> Int? {
                    guard let text = d[name] else { return fallback.map { Int($0) } }
                    switch ByteSize.parseChecked(text, maximum: 1 << 40) {
                    case .success(let v): return Int(v)
                    case .failure(let why):
                        bag.error(d.line, "<dma> " + why.message(attribute: name, value: text, expected: "a size of at most 1T"))
                        return nil
                    }
                }
                func count(_ name: String, maximum: Int) -> Int? {
                    guard let text = d[name] else { return 1 }
                    switch parseCount(text, maximum: maximum) {
                    case .success(let v) where v >= 1: return v
                    case .success: bag.error(d.line, "<dma> \(name) must be at least 1"); return nil
                    case .failure(let why):
                        bag.error(d.line, "<dma> " + why.message(attribute: name, value: text, expected: "a positive integer"))
                        return nil
                    }
                }
                guard let from = e.lookup(d["from"] ?? "") else {
                    bag.error(d.line, "<dma> from=\"\(d["from"] ?? "")\": no such device in topology '\(fabric.topology.name)'\(fabric.enumeration.didYouMean(d["from"] ?? ""))")
                    continue
                }
                let toName = d["to"] ?? ""
                let target: DMATarget
                if toName == "host" {
                    target = .hostMemory
                } else if let to = e.lookup(toName) {
                    if to == from { bag.error(d.line, "<dma> from and to name the same device '\(toName)'") }
                    if d["memory"] == "p2pmem" {
                        if !fabric.hasP2PMem(to) { bag.error(d.line, "<dma> to=\"\(toName)\" memory=\"p2pmem\": \(toName) has no <p2pmem> region") }
                        target = .p2pmem(provider: to)
                    } else {
                        if fabric.defaultTargetAddress(function: to) == nil { bag.error(d.line, "<dma> to=\"\(toName)\": \(toName) has no BAR") }
                        target = .peerBAR(device: to)
                    }
                } else {
                    bag.error(d.line, "<dma> to=\"\(toName)\": no such device in topology '\(fabric.topology.name)' (use \"host\" for system memory)\(fabric.enumeration.didYouMean(toName))")
                    continue
                }
                let sizeBytes = size("size")
                guard let bytes = sizeBytes, bytes > 0 else {
                    if sizeBytes == 0 { bag.error(d.line, "<dma> size must be more than 0") }
                    continue
                }
                // repeat x size is one flow's bytes; count copies of it run at once. Both are bounded before any
                // product is formed, and the product is checked (Int.max bytes at most).
                guard let repeatCount = count("repeat", maximum: Int.max), let count = count("count", maximum: limits.maxFlows) else { continue }
                let (totalBytes, overflow) = bytes.multipliedReportingOverflow(by: repeatCount)
                if overflow {
                    bag.error(d.line, "<dma> size x repeat (\(bytes) x \(repeatCount) bytes) is out of range (max \(Int.max) bytes)")
                    continue
                }
                flowsInPhase += count
                if flowsInPhase > limits.maxFlows {
                    bag.error(d.line, "<dma> count=\"\(count)\" makes \(flowsInPhase) DMA operations in phase '\(p["name"] ?? "")', over the limit of \(limits.maxFlows) (raise with --max-flows)")
                    continue
                }
                let tlps = WorkLimits.minimumTLPs(bytes: totalBytes)
                let (allTLPs, tooMany) = tlps.multipliedReportingOverflow(by: count)
                if tooMany || allTLPs > limits.maxEvents {
                    bag.error(d.line, "<dma> size=\"\(d["size"] ?? "")\" x repeat=\"\(repeatCount)\" x count=\"\(count)\" needs at least "
                              + "\(tooMany ? "\(Int.max)" : "\(allTLPs)") TLPs, over the limit of \(limits.maxEvents) events (raise with --max-events)")
                    continue
                }
                let page = size("page", 4096) ?? 4096
                if ![4096, 2 << 20, 1 << 30].contains(page) { bag.error(d.line, "<dma> page=\"\(d["page"] ?? "")\" must be 4K, 2M or 1G") }
                let offset = size("offset", 0) ?? 0
                if offset >= 4096 { bag.error(d.line, "<dma> offset must be below 4K (an offset into the first page)") }
                // access: stream (one stream of size x repeat through the buffer), or pcie-bench's DMAs of `size`
                // bytes each at sequential or seeded-random offsets inside the buffer (the window).
                let accessName = d["access"] ?? "stream"
                var access: TransportFlow.Access? = nil
                switch accessName {
                case "stream": access = nil
                case "sequential": access = .sequential
                case "random":
                    let seedText = d["seed"] ?? "1"
                    switch parseInteger(seedText, maximum: .max) {
                    case .success(let seed) where !seedText.hasPrefix("0x"): access = .random(seed: seed)
                    case .success: bag.error(d.line, "<dma> seed=\"\(seedText)\" is not a number")
                    case .failure(let why): bag.error(d.line, "<dma> " + why.message(attribute: "seed", value: seedText, expected: "a number"))
                    }
                default: bag.error(d.line, "<dma> access=\"\(accessName)\" must be stream, sequential or random")
                }
                if d["seed"] != nil, accessName != "random" { bag.error(d.line, "<dma> seed applies only to access=\"random\"") }
                let perDMA = accessName == "sequential" || accessName == "random"
                // The default window holds every DMA once (whole 4 KiB pages), at most the default buffer.
                let buffer = size("buffer") ?? (perDMA ? min(totalBytes / 4096 * 4096 + (totalBytes % 4096 == 0 ? 0 : 4096), Workload.defaultBufferBytes)
                                                       : min(bytes, Workload.defaultBufferBytes))
                if !perDMA, buffer > totalBytes { bag.error(d.line, "<dma> buffer (\(buffer) bytes) is larger than size x repeat") }
                if perDMA {
                    if buffer < bytes { bag.error(d.line, "<dma> buffer (the window, \(buffer) bytes) is smaller than one \(bytes)-byte DMA") }
                    if buffer % 4096 != 0, buffer > 4096 { bag.error(d.line, "<dma> buffer (the window) must be a multiple of 4K with access=\"\(accessName)\"") }
                }
                let startText = d["start"] ?? "0ns"
                let start: Picoseconds
                switch Duration.parseChecked(startText) {
                case .success(let t) where t <= limits.maxSimulatedTime: start = t
                case .success:
                    bag.error(d.line, "<dma> start \(startText) is past the simulated-time limit of \(WorkLimits.describe(time: limits.maxSimulatedTime)) (raise with --max-sim-time)")
                    continue
                case .failure(let why):
                    bag.error(d.line, "<dma> " + why.message(attribute: "start", value: startText, expected: "a time"))
                    continue
                }
                var queueDepth: Int?
                if let q = d["queue-depth"] {
                    switch parseCount(q, maximum: 1 << 16) {
                    case .success(let v) where v >= 1: queueDepth = v
                    case .success: bag.error(d.line, "<dma> queue-depth must be at least 1")
                    case .failure(let why): bag.error(d.line, "<dma> " + why.message(attribute: "queue-depth", value: q, expected: "a positive integer"))
                    }
                }
                let op: TransportFlow.Operation = d["op"] == "read" ? .read : .write
                let label = d["label"] ?? "\(e.functions[from].name) \(op == .write ? "->" : "<-") \(toName)"
                for k in 0..<count {
                    var o = DMAOperation(label: count > 1 ? "\(label) #\(k + 1)" : label, requester: from, target: target, operation: op,
                                         bytes: totalBytes, bufferBytes: max(buffer, 4096),
                                         queueDepth: queueDepth, pageBytes: page,
                                         usesATS: d["ats"] == "true" || d["ats"] == "1",
                                         mapping: d["mapping"] == "unmapped" ? .unmapped : .map, start: start)
                    o.offset = offset
                    if perDMA, let access {
                        o.transferBytes = bytes
                        o.access = access
                    }
                    ops.append(o)
                }
            }
            phases.append(WorkloadPhase(name: p["name"] ?? "", kind: "file", operations: ops))
        }
        if !bag.diagnostics.isEmpty { throw DiagnosticError(bag.diagnostics) }
        return Workload(scenario: root["name"] ?? "scenario", options: [("file", file)], phases: phases)
    }
}

/// Resolves the SCENARIO argument: a built-in name, a scenario file, or an ftrace capture.
public enum ScenarioSource {
    public static func workload(_ argument: String, fabric: Fabric, options: ScenarioOptions, device: String?,
                                limits: WorkLimits = .default) throws(ScenarioError) -> Workload {
        if let builtIn = BuiltInScenario(rawValue: argument) { return try builtIn.workload(fabric, options) }
        guard FileManager.default.fileExists(atPath: argument) else {
            let names = BuiltInScenario.allCases.map(\.rawValue)
            throw ScenarioError("'\(argument)' is neither a built-in scenario (\(names.joined(separator: ", "))) nor a file\(DidYouMean.hint(argument, among: names))")
        }
        if argument.hasSuffix(".xml") {
            do { return try ScenarioFile.read(path: argument, fabric: fabric, limits: limits) } catch {
                throw ScenarioError(error.diagnostics.map(\.description))
            }
        }
        guard let device else { throw ScenarioError("trace replay of '\(argument)' needs --device (the device the trace's iommu:map events belong to)") }
        guard let f = fabric.enumeration.lookup(device) else { throw ScenarioError("--device: no device '\(device)' in topology '\(fabric.topology.name)'\(fabric.enumeration.didYouMean(device))") }
        let trace: FtraceTrace
        do { trace = try FtraceTrace.read(path: argument, limits: limits) } catch { throw ScenarioError(error.diagnostics.map(\.description)) }
        return Workload(scenario: "trace", options: [("trace", argument), ("device", fabric.name(f))], phases: [], trace: TraceReplayRequest(trace: trace, device: f))
    }
}
