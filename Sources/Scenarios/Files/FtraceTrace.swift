// Linux ftrace text output of the iommu:map, iommu:unmap and iommu:io_page_fault events (include/trace/events/
// iommu.h), as /sys/kernel/tracing/trace or `trace-cmd report` print them (docs/SCENARIOS.md has the commands):
//
//   kworker/u8:2-123 [001] ..... 1234.567890: map: IOMMU: iova=0x00000000fffc0000 - 0x00000000fffd0000 paddr=0x0000000104a00000 size=65536
//   kworker/u8:2-123 [001] ..... 1234.567901: unmap: IOMMU: iova=0x00000000fffc0000 - 0x00000000fffd0000 size=65536 unmapped_size=65536
//   <idle>-0         [000] d.h1. 1234.600000: io_page_fault: IOMMU:nvme 0000:03:00.0 iova=0x00000000deadb000 flags=0x0000
import Foundation
import Sim

public struct TraceEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case map(iova: UInt64, physical: UInt64, size: UInt64)
        case unmap(iova: UInt64, size: UInt64, unmappedSize: UInt64)
        case pageFault(driver: String, device: String, iova: UInt64, flags: UInt32)
    }
    public var line: Int
    /// Seconds, as ftrace prints them.
    public var timestamp: Double
    public var kind: Kind
}

public struct FtraceTrace: Sendable, Hashable {
    public var file: String
    public var events: [TraceEvent]
    /// Lines of other events, skipped.
    public var otherEvents: Int

    /// At most this many bytes are read.
    public static let maxBytes = 256 << 20

    public static func read(path: String, limits: WorkLimits = .default) throws(DiagnosticError) -> FtraceTrace {
        let bytes = try SafeXML.readFile(path, limits: XMLLimits(maxBytes: maxBytes, maxDepth: 1))
        return try parse(String(decoding: bytes, as: UTF8.self), file: path, limits: limits)
    }

    /// Parses the capture; every malformed line is reported with its number. A capture of more than
    /// `limits.maxTraceLines` lines stops at the first line past the limit.
    public static func parse(_ text: String, file: String, limits: WorkLimits = .default) throws(DiagnosticError) -> FtraceTrace {
        var bag = DiagnosticBag(file: file)
        var events: [TraceEvent] = []
        var other = 0
        var n = 0
        var mappedPages = 0   // 4 KiB pages the replay's iommu_map calls create at most: its work
        lines: for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            n += 1
            if n > limits.maxTraceLines {
                bag.error(n, "the capture has more than \(limits.maxTraceLines) lines, the limit (raise with --max-trace-lines)")
                break
            }
            let line = raw.trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("CPU ") || line.hasPrefix("cpus=") { continue }
            // "<task>-<pid> [cpu] <flags> <timestamp>: <event>: <fields>"
            guard let close = line.firstIndex(of: "]"), line[..<close].contains("[") else {
                bag.error(n, "not an ftrace event line (expected 'TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: ...')")
                continue
            }
            let rest = line[line.index(after: close)...]
            guard let colon = rest.range(of: ": ") else {
                bag.error(n, "no 'TIMESTAMP: EVENT:' after the CPU field")
                continue
            }
            let head = rest[..<colon.lowerBound].split(separator: " ")
            guard let ts = head.last.flatMap({ Double($0) }) else {
                bag.error(n, "timestamp '\(head.last ?? "")' is not a number of seconds")
                continue
            }
            let afterTS = rest[colon.upperBound...]
            guard let eventEnd = afterTS.range(of: ": ") else {
                bag.error(n, "no event name")
                continue
            }
            let event = String(afterTS[..<eventEnd.lowerBound])
            let body = afterTS[eventEnd.upperBound...]
            let fields = keyValues(body)
            func hexField(_ k: String) -> UInt64? {
                guard let v = fields[k], v.hasPrefix("0x") else { return nil }
                return UInt64(v.dropFirst(2), radix: 16)
            }
            switch event {
            case "map":
                guard body.hasPrefix("IOMMU:"), let iova = hexField("iova"), let pa = hexField("paddr"), let size = fields["size"].flatMap({ UInt64($0) }) else {
                    bag.error(n, "iommu:map needs 'IOMMU: iova=0x... - 0x... paddr=0x... size=N'")
                    continue
                }
                guard size > 0, iova & 0xfff == 0, pa & 0xfff == 0 else {
                    bag.error(n, "iommu:map of size \(size) at iova 0x\(hex(iova, 1)) paddr 0x\(hex(pa, 1)): not page aligned")
                    continue
                }
                let (pages, overflow) = mappedPages.addingReportingOverflow(Int(min(size / 4096, UInt64(Int.max))))
                if overflow || pages > limits.maxEvents {
                    bag.error(n, "iommu:map size=\(size): the capture maps more than \(limits.maxEvents) 4K pages in all, over the limit of \(limits.maxEvents) events (raise with --max-events)")
                    break lines
                }
                mappedPages = pages
                events.append(TraceEvent(line: n, timestamp: ts, kind: .map(iova: iova, physical: pa, size: size)))
            case "unmap":
                guard body.hasPrefix("IOMMU:"), let iova = hexField("iova"), let size = fields["size"].flatMap({ UInt64($0) }),
                      let unmapped = fields["unmapped_size"].flatMap({ UInt64($0) }) else {
                    bag.error(n, "iommu:unmap needs 'IOMMU: iova=0x... - 0x... size=N unmapped_size=N'")
                    continue
                }
                events.append(TraceEvent(line: n, timestamp: ts, kind: .unmap(iova: iova, size: size, unmappedSize: unmapped)))
            case "io_page_fault":
                // "IOMMU:<driver> <device> iova=0x... flags=0x...."
                let words = body.split(separator: " ")
                guard words.count >= 4, words[0].hasPrefix("IOMMU:"), let iova = hexField("iova"),
                      let flags = fields["flags"].flatMap({ $0.hasPrefix("0x") ? UInt32($0.dropFirst(2), radix: 16) : nil }) else {
                    bag.error(n, "iommu:io_page_fault needs 'IOMMU:DRIVER DEVICE iova=0x... flags=0x...'")
                    continue
                }
                events.append(TraceEvent(line: n, timestamp: ts, kind: .pageFault(driver: String(words[0].dropFirst(6)), device: String(words[1]), iova: iova, flags: flags)))
            default:
                other += 1
            }
        }
        if !bag.diagnostics.isEmpty { throw DiagnosticError(bag.diagnostics) }
        if events.isEmpty { throw DiagnosticError(file: file, "no iommu:map, iommu:unmap or iommu:io_page_fault events in the capture") }
        return FtraceTrace(file: file, events: events, otherEvents: other)
    }

    static func keyValues(_ s: Substring) -> [String: String] {
        var out: [String: String] = [:]
        for word in s.split(separator: " ") {
            guard let eq = word.firstIndex(of: "=") else { continue }
            let k = String(word[..<eq])
            if out[k] == nil { out[k] = String(word[word.index(after: eq)...]) }
        }
        return out
    }
}

/// A trace to replay against one device's IOMMU domain.
public struct TraceReplayRequest: Sendable, Hashable {
    public var trace: FtraceTrace
    public var device: Int
    public init(trace: FtraceTrace, device: Int) {
        self.trace = trace
        self.device = device
    }
}

extension WorkloadRunner {
    /// Replays the map/unmap stream against the device's DMA domain in order, checks each unmap's size and each
    /// recorded page fault against the model (the model must fault there too), then streams DMA writes through
    /// the mappings that were alive together at the trace's peak (its working set) to measure the IOTLB.
    public func replay(_ request: TraceReplayRequest) throws(ScenarioError) -> WorkloadResult {
        var backend = booted
        let fabric = backend.fabric
        let dev = request.device
        guard let domain = backend.iommuGetDomainForDev(dev), backend.domains[domain].type.isPaging else {
            throw ScenarioError("trace replay needs \(fabric.name(dev)) behind an IOMMU in a DMA domain; this topology gives it \(backend.iommuGetDomainForDev(dev) == nil ? "no IOMMU" : "an identity domain")")
        }
        // The live set at the peak is rebuilt afterwards from the event index where the peak was reached: copying
        // the live set at every new peak made a long trace quadratic (issue #19).
        let start = backend   // the domain is allocated: the second pass starts here
        var live: [UInt64: (physical: UInt64, size: UInt64, line: Int)] = [:]
        var liveBytes: UInt64 = 0, peakBytes: UInt64 = 0, peakEvent = -1
        var maps = 0, unmaps = 0, faults = 0, mismatches: [[String]] = []
        var faultResults: [OperationResult] = []
        let router = Router(fabric)
        for (index, ev) in request.trace.events.enumerated() {
            switch ev.kind {
            case .map(let iova, let pa, let size):
                maps += 1
                do {
                    try backend.iommuMap(domain: domain, iova: iova, physical: pa, size: size, prot: [.read, .write])
                    live[iova] = (pa, size, ev.line)
                    liveBytes &+= size
                    if liveBytes > peakBytes { peakBytes = liveBytes; peakEvent = index }
                } catch {
                    mismatches.append(["\(ev.line)", "iommu_map(iova=0x\(hex(iova, 1)), size=\(size))", "kernel: mapped", "model: \(error.errno) (\(error.reason))"])
                }
            case .unmap(let iova, let size, let unmappedSize):
                unmaps += 1
                let got = backend.iommuUnmap(domain: domain, iova: iova, size: size)
                if got != unmappedSize {
                    mismatches.append(["\(ev.line)", "iommu_unmap(iova=0x\(hex(iova, 1)), size=\(size))", "kernel: unmapped_size=\(unmappedSize)", "model: \(got)"])
                }
                liveBytes -= min(liveBytes, Self.release(&live, iova: iova, size: max(got, size)))
            case .pageFault(_, let device, let iova, let flags):
                faults += 1
                let requester = fabric.enumeration.lookup(device) ?? dev
                let isWrite = flags & 0x20 != 0
                let route = router.route(TLPRequest(kind: isWrite ? .memoryWrite : .memoryRead, requester: requester, address: iova),
                                         translator: DomainTranslator(backend))
                if route.isDelivered {
                    mismatches.append(["\(ev.line)", "io_page_fault at iova 0x\(hex(iova, 1)) (\(device))", "kernel: fault", "model: mapped, no fault"])
                }
                let op = DMAOperation(label: "io_page_fault (line \(ev.line))", requester: requester, target: .hostMemory,
                                      operation: isWrite ? .write : .read, bytes: 4096)
                faultResults.append(OperationResult(operation: op, mapping: MappingOutcome(calls: ["(trace line \(ev.line): \(device) accessed iova 0x\(hex(iova, 1)))"], dmaAddress: iova, mapType: nil, error: nil, kernelLog: []), flow: nil, route: route, flowIndex: nil))
            }
        }
        var peak: [UInt64: (physical: UInt64, size: UInt64, line: Int)] = [:]
        if peakEvent >= 0 {
            var probe = start
            for ev in request.trace.events[...peakEvent] {
                switch ev.kind {
                case .map(let iova, let pa, let size):
                    if (try? probe.iommuMap(domain: domain, iova: iova, physical: pa, size: size, prot: [.read, .write])) != nil {
                        peak[iova] = (pa, size, ev.line)
                    }
                case .unmap(let iova, let size, _):
                    let got = probe.iommuUnmap(domain: domain, iova: iova, size: size)
                    _ = Self.release(&peak, iova: iova, size: max(got, size))
                case .pageFault: break
                }
            }
        }
        // The peak working set, streamed: one write flow per mapping alive at the peak (the 64 largest).
        let ranges = peak.sorted { $0.value.size != $1.value.size ? $0.value.size > $1.value.size : $0.key < $1.key }.prefix(64).sorted { $0.key < $1.key }
        var ops: [DMAOperation] = []
        var flows: [TransportFlow] = []
        for (iova, m) in ranges {
            // Mapping sizes come from the trace: bounded (1 TiB) before they become Int byte counts.
            let bytes = Int(min(max(m.size, 4096), 1 << 40)) * 4
            ops.append(DMAOperation(label: "iova 0x\(hex(iova, 1)) (\(ByteSize.format(m.size)), line \(m.line))", requester: dev,
                                    target: .hostMemory, operation: .write, bytes: bytes, bufferBytes: Int(min(m.size, 1 << 40)), pageBytes: 4096))
            flows.append(TransportFlow(requester: dev, target: .memory(iova), operation: .write, bytes: bytes, workingSetBytes: Int(min(m.size, 1 << 40))))
        }
        var replayBackend = booted
        if let d = replayBackend.iommuGetDomainForDev(dev) {
            for (iova, m) in ranges { try? replayBackend.iommuMap(domain: d, iova: iova, physical: m.physical, size: m.size, prot: [.read, .write]) }
        }
        var transport: TransportResult?
        if !flows.isEmpty {
            do {
                var sim = try TransportSimulation(fabric: fabric, flows: flows, parameters: parameters, translator: DomainTranslator(replayBackend), seed: seed)
                transport = try sim.run(within: limits)
            } catch let e as TransportError { throw ScenarioError(e.problems) } catch let e as ScenarioError { throw e } catch { throw ScenarioError("\(error)") }
        }
        let streamed = ops.indices.map { k in
            OperationResult(operation: ops[k], mapping: MappingOutcome(calls: ["iommu_map(iova=0x\(hex(flows[k].target.address, 1))) replayed from the trace"], dmaAddress: nil, mapType: nil, error: nil, kernelLog: []),
                            flow: transport?.flows[k], route: nil, flowIndex: k)
        }
        var phases = [PhaseResult(phase: WorkloadPhase(name: "peak working set (\(ByteSize.format(peakBytes)) in \(peak.count) mappings)", kind: "trace", operations: ops), operations: streamed, transport: transport)]
        if !faultResults.isEmpty {
            phases.append(PhaseResult(phase: WorkloadPhase(name: "recorded page faults", kind: "faults", operations: faultResults.map(\.operation)), operations: faultResults, transport: nil))
        }
        var workload = Workload(scenario: "trace", options: [("trace", request.trace.file), ("device", fabric.name(dev))], phases: [])
        workload.trace = request
        let summary = RunReport.Table(title: "Trace replay (\(request.trace.events.count) events, \(request.trace.otherEvents) other events skipped)",
                                      columns: ["maps", "unmaps", "page faults", "peak mapped", "peak mappings", "disagreements"],
                                      rows: [["\(maps)", "\(unmaps)", "\(faults)", ByteSize.format(peakBytes), "\(peak.count)", "\(mismatches.count)"]])
        var tables = [summary]
        if !mismatches.isEmpty {
            tables.append(RunReport.Table(title: "Where the model and the kernel disagree", columns: ["line", "event", "kernel", "model"], rows: mismatches))
        }
        return WorkloadResult(workload: workload, phases: phases, bootLog: booted.semantics.kernelLog + booted.kernelLog, tables: tables)
    }
}

extension WorkloadRunner {
    /// Removes the live mappings that start inside `[iova, iova + size)` and returns their bytes. Live mappings
    /// never overlap (iommu_map refuses that), so an unmap of exactly one mapping needs no scan.
    static func release(_ live: inout [UInt64: (physical: UInt64, size: UInt64, line: Int)], iova: UInt64, size: UInt64) -> UInt64 {
        if let m = live[iova], m.size >= size {
            live[iova] = nil
            return m.size
        }
        var freed: UInt64 = 0
        for (a, m) in live where a >= iova && a < iova &+ size { freed &+= m.size; live[a] = nil }
        return freed
    }
}

extension TransportFlow.Target {
    var address: UInt64 {
        switch self {
        case .memory(let a), .address(let a): a
        case .peer(_, _, let o): o
        }
    }
}
