// Scenario files (scenarios/scenario.xsd): read with the topology reader's hardened libxml2 and the same
// `file:line: error:` messages; device names are resolved against the machine with their line numbers.
import Foundation
import Sim

public enum ScenarioFile {
    /// Reads, validates and resolves a scenario file for a machine. Every problem is reported at once.
    public static func read(path: String, fabric: Fabric) throws(DiagnosticError) -> Workload {
        let bytes = try SafeXML.readFile(path)
        return try parse(bytes, file: path, fabric: fabric)
    }

    public static func parse(_ bytes: [UInt8], file: String, fabric: Fabric) throws(DiagnosticError) -> Workload {
        let root = try SafeXML.load(bytes, file: file, schema: .scenario)
        var bag = DiagnosticBag(file: file)
        var phases: [WorkloadPhase] = []
        let e = fabric.enumeration
        for p in root.children(named: "phase") {
            var ops: [DMAOperation] = []
            for d in p.children(named: "dma") {
                func size(_ name: String, _ fallback: UInt64? = nil) -> Int? {
                    guard let text = d[name] else { return fallback.map { Int($0) } }
                    guard let v = ByteSize.parse(text), v <= 1 << 40 else {
                        bag.error(d.line, "<dma> \(name)=\"\(text)\" is not a size of at most 1T")
                        return nil
                    }
                    return Int(v)
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
                guard let bytes = size("size"), bytes > 0 else {
                    if size("size") == 0 { bag.error(d.line, "<dma> size must be more than 0") }
                    continue
                }
                let repeatCount = Int(d["repeat"] ?? "1") ?? 1
                let count = Int(d["count"] ?? "1") ?? 1
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
                    if let seed = UInt64(seedText) { access = .random(seed: seed) } else {
                        bag.error(d.line, "<dma> seed=\"\(seedText)\" is not a number")
                    }
                default: bag.error(d.line, "<dma> access=\"\(accessName)\" must be stream, sequential or random")
                }
                if d["seed"] != nil, accessName != "random" { bag.error(d.line, "<dma> seed applies only to access=\"random\"") }
                let perDMA = accessName == "sequential" || accessName == "random"
                // The default window holds every DMA once (whole 4 KiB pages), at most the default buffer.
                let buffer = size("buffer") ?? (perDMA ? min((bytes * repeatCount + 4095) / 4096 * 4096, Workload.defaultBufferBytes)
                                                       : min(bytes, Workload.defaultBufferBytes))
                if !perDMA, buffer > bytes * repeatCount { bag.error(d.line, "<dma> buffer (\(buffer) bytes) is larger than size x repeat") }
                if perDMA {
                    if buffer < bytes { bag.error(d.line, "<dma> buffer (the window, \(buffer) bytes) is smaller than one \(bytes)-byte DMA") }
                    if buffer % 4096 != 0, buffer > 4096 { bag.error(d.line, "<dma> buffer (the window) must be a multiple of 4K with access=\"\(accessName)\"") }
                }
                guard let start = Duration.parse(d["start"] ?? "0ns") else {
                    bag.error(d.line, "<dma> start=\"\(d["start"] ?? "")\" is not a time")
                    continue
                }
                let op: TransportFlow.Operation = d["op"] == "read" ? .read : .write
                let label = d["label"] ?? "\(e.functions[from].name) \(op == .write ? "->" : "<-") \(toName)"
                for k in 0..<count {
                    var o = DMAOperation(label: count > 1 ? "\(label) #\(k + 1)" : label, requester: from, target: target, operation: op,
                                         bytes: bytes * repeatCount, bufferBytes: max(buffer, 4096),
                                         queueDepth: d["queue-depth"].flatMap { Int($0) }, pageBytes: page,
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
    public static func workload(_ argument: String, fabric: Fabric, options: ScenarioOptions, device: String?) throws(ScenarioError) -> Workload {
        if let builtIn = BuiltInScenario(rawValue: argument) { return try builtIn.workload(fabric, options) }
        guard FileManager.default.fileExists(atPath: argument) else {
            let names = BuiltInScenario.allCases.map(\.rawValue)
            throw ScenarioError("'\(argument)' is neither a built-in scenario (\(names.joined(separator: ", "))) nor a file\(DidYouMean.hint(argument, among: names))")
        }
        if argument.hasSuffix(".xml") {
            do { return try ScenarioFile.read(path: argument, fabric: fabric) } catch {
                throw ScenarioError(error.diagnostics.map(\.description))
            }
        }
        guard let device else { throw ScenarioError("trace replay of '\(argument)' needs --device (the device the trace's iommu:map events belong to)") }
        guard let f = fabric.enumeration.lookup(device) else { throw ScenarioError("--device: no device '\(device)' in topology '\(fabric.topology.name)'\(fabric.enumeration.didYouMean(device))") }
        let trace: FtraceTrace
        do { trace = try FtraceTrace.read(path: argument) } catch { throw ScenarioError(error.diagnostics.map(\.description)) }
        return Workload(scenario: "trace", options: [("trace", argument), ("device", fabric.name(f))], phases: [], trace: TraceReplayRequest(trace: trace, device: f))
    }
}
