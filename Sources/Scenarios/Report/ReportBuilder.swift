// Builds a RunReport from a workload's results: flows, hottest links, findings (blocked, refused, redirected
// P2P transfers with the port, the rule, the kernel's words and the fix), IOMMU statistics, scenario tables.
import Foundation
import Sim

extension RunReport {
    /// `pciNames`: the pci.ids names for the Devices table and the tree (default: the system's, PCINames.shared).
    public init(result: WorkloadResult, runner: WorkloadRunner, topologyFile: String, pciNames: PCINames? = PCINames.shared) {
        let fabric = runner.fabric
        let semantics = runner.booted.semantics
        topologyName = fabric.topology.name
        self.topologyFile = topologyFile
        scenario = result.workload.scenario
        options = result.workload.options
        seed = runner.seed
        kernelCommandLine = (runner.options.kernel ?? fabric.topology.kernel).commandLine
        bootLog = result.bootLog
        var flows: [Flow] = []
        var linkByName: [String: Link] = [:]
        var linkOrder: [String] = []
        var findings: [Finding] = []
        var iommuByName: [String: IOMMU] = [:]
        var iommuOrder: [String] = []
        var events = 0
        var simulated = 0.0
        for phase in result.phases {
            for r in phase.operations {
                flows.append(Self.flow(r, phase.phase, fabric))
                findings += Self.findings(r, phase.phase, fabric, semantics, phase.transport, runner.parameters)
            }
            guard let t = phase.transport else { continue }
            events += t.eventsHandled
            simulated += Double(t.endTime) / 1000
            for l in t.links {
                let stall = Double(l.creditStallTime) / Double(max(t.endTime, 1))
                let link = Link(name: l.name, function: fabric.bdf(l.function).description, upstream: l.isUpstream,
                                generation: Int(l.generation.rawValue), width: l.width, utilization: l.utilization, phase: phase.phase.name,
                                payloadGBps: l.payloadRate.gigabytesPerSecond, creditStallFraction: stall, maxQueueTLPs: l.maxQueueTLPs)
                if let old = linkByName[l.name] {
                    if link.utilization > old.utilization + 1e-12 { linkByName[l.name] = link }
                } else {
                    linkByName[l.name] = link
                    linkOrder.append(l.name)
                }
            }
            for r in t.shared where r.busyTime > 0 {
                let link = Link(name: r.name, function: "", upstream: false, generation: 0, width: 0, utilization: r.utilization,
                                phase: phase.phase.name, payloadGBps: r.payloadRate.gigabytesPerSecond, creditStallFraction: 0,
                                maxQueueTLPs: 0, kind: "shared")
                if let old = linkByName[r.name] {
                    if link.utilization > old.utilization + 1e-12 { linkByName[r.name] = link }
                } else {
                    linkByName[r.name] = link
                    linkOrder.append(r.name)
                }
            }
            for u in t.iommus {
                if iommuByName[u.name] == nil { iommuOrder.append(u.name) }
                var s = iommuByName[u.name] ?? IOMMU(name: u.name, lookups: 0, hits: 0, walks: 0, faults: 0)
                s.lookups += u.lookups
                s.hits += u.hits
                s.walks += u.walks
                s.faults += u.faults
                iommuByName[u.name] = s
            }
            for c in t.blockCounts {
                guard case .iommuFault = c.reason, case .rootComplex(let r) = c.location,
                      let unit = fabric.topology.rootComplexes[r].iommu, iommuByName[unit] != nil else { continue }
                iommuByName[unit]!.faultedTLPs += c.count
            }
        }
        self.flows = flows
        // Busiest first; ties in the fabric's order.
        let order = Dictionary(uniqueKeysWithValues: linkOrder.enumerated().map { ($1, $0) })
        links = linkOrder.compactMap { linkByName[$0] }.sorted {
            $0.utilization != $1.utilization ? $0.utilization > $1.utilization : order[$0.name]! < order[$1.name]!
        }
        self.findings = Self.merged(findings)
        iommus = iommuOrder.compactMap { iommuByName[$0] }
        self.events = events
        simulatedNanoseconds = simulated
        let audited: (rows: [AuditRow], machineFix: String?) = result.workload.auditAllPairs ? Self.audit(runner) : ([], nil)
        audit = audited.rows
        machineFix = audited.machineFix
        flowModelPhases = result.phases.filter { $0.transport != nil && $0.simulatedBy == .flow }.count
        tlpPhases = result.phases.filter { $0.transport != nil && $0.simulatedBy != .flow }.count
        tables = result.tables + Self.tables(result.workload.scenario, flows)
        tree = TopologyDrawing(fabric: fabric, links: links, findings: self.findings, names: pciNames)
        let topo = TopoMatrix.from(fabric)
        topoMatrix = topo.matrix.names.count >= 2 ? topo.matrix : nil
        topoMatrixDevices = topoMatrix == nil ? [] : topo.functions.map { fabric.name($0) }
        pciIDsSource = pciNames?.source
        let e = fabric.enumeration
        devices = e.functions.indices.filter { e.functions[$0].physicalFunction == nil }
            .sorted { e.functions[$0].bdf < e.functions[$1].bdf }
            .compactMap { f in
                let fn = e.functions[f]
                guard let d = fn.device else { return nil }
                let id = fabric.topology.devices[d].id
                return Device(name: fn.name, bdf: fn.bdf.description, id: id.description, kind: fn.kind.rawValue,
                              pciName: pciNames?.name(vendor: id.vendor, device: id.device))
            }
    }

    static func ns(_ ps: Picoseconds) -> Double { Double(ps) / 1000 }

    /// One finding per (pair, port, rule): the phases it happened in are listed, their TLPs summed, and the TLP kinds
    /// (and ACS bits) it acted on joined (`MWr, MRd` where a root complex drops a pair's writes and its reads alike;
    /// redirects name the TLP kind in their rule, so each kind stays its own finding there).
    static func merged(_ findings: [Finding]) -> [Finding] {
        var out: [Finding] = []
        var index: [String: Int] = [:]
        func join(_ a: String?, _ b: String?) -> String? {
            guard let b else { return a }
            guard let a else { return b }
            return a.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains(b) ? a : a + ", " + b
        }
        for f in findings {
            let key = [f.kind, f.requester, f.target, f.port, f.rule].joined(separator: "\u{1}")
            if let k = index[key] {
                for p in f.phases where !out[k].phases.contains(p) { out[k].phases.append(p) }
                out[k].tlps += f.tlps
                out[k].tlpKind = join(out[k].tlpKind, f.tlpKind)
                out[k].bit = join(out[k].bit, f.bit)
                for line in f.linuxLog where !out[k].linuxLog.contains(line) { out[k].linuxLog.append(line) }
            } else {
                index[key] = out.count
                out.append(f)
            }
        }
        return out
    }

    static func targetName(_ op: DMAOperation, _ fabric: Fabric) -> String {
        switch op.target {
        case .hostMemory: "host memory"
        case .peerBAR(let d): "\(fabric.name(d)) BAR"
        case .p2pmem(let p): "\(fabric.name(p)) p2pmem"
        }
    }

    static func peer(_ op: DMAOperation) -> Int? {
        switch op.target {
        case .hostMemory: nil
        case .peerBAR(let d): d
        case .p2pmem(let p): p
        }
    }

    static func flow(_ r: OperationResult, _ phase: WorkloadPhase, _ fabric: Fabric) -> Flow {
        let op = r.operation
        var f = Flow(phase: phase.name, phaseKind: phase.kind, label: op.label, requester: fabric.name(op.requester),
                     requesterBDF: fabric.bdf(op.requester).description, target: targetName(op, fabric),
                     peer: peer(op).map { fabric.name($0) }, operation: op.operation == .write ? "write" : "read", bytes: op.bytes, delivered: 0, gigabytesPerSecond: 0,
                     latencyP50ns: nil, latencyP99ns: nil, latencyMaxns: nil, mapType: r.mapping.mapType.map(\.description),
                     pathClass: peer(op).map { fabric.pathClass(op.requester, $0).rawValue }, status: "ok", blockedTLPs: 0,
                     mappingCalls: r.mapping.calls, histogram: [],
                     redirectedAt: r.route?.redirectedAt.map { fabric.bdf($0).description } ?? [],
                     crossesRootComplex: r.route?.throughRootComplex ?? false)
        guard let t = r.flow else {
            f.status = "refused"
            return f
        }
        f.delivered = t.bytes
        f.gigabytesPerSecond = t.bytes > 0 ? t.steadyStateThroughput.gigabytesPerSecond : 0
        if f.gigabytesPerSecond == 0, t.bytes > 0 { f.gigabytesPerSecond = t.throughput.gigabytesPerSecond }
        if t.latency.count > 0 {
            f.latencyP50ns = ns(t.latency.value(atQuantile: 0.5))
            f.latencyP99ns = ns(t.latency.value(atQuantile: 0.99))
            f.latencyMaxns = ns(t.latency.max)
            f.latencyMeanns = Double(t.latency.mean) / 1000
            f.histogram = t.latency.buckets.filter { $0.count > 0 }.map { (ns($0.lowerBound), $0.count) }
        }
        f.blockedTLPs = t.blockedTLPs
        f.limitedBy = t.limitedBy
        if t.blockedTLPs > 0 { f.status = "blocked" } else if t.completionTime == nil { f.status = "incomplete" }
        return f
    }

    static func place(_ location: HopLocation, _ fabric: Fabric) -> String { fabric.describe(location) }

    /// The kernel's own `pci=disable_acs_redir=` hint for a pair (from its warning lines), else one built from
    /// the redirecting devices `calc_map_type_and_dist` listed.
    static func disableRedirectHint(_ p2p: P2PDMAResult, _ fabric: Fabric, fallback: [Int]) -> String {
        for w in p2p.warnings { if let at = w.range(of: "pci=disable_acs_redir=") { return String(w[at.lowerBound...]) } }
        let devices = p2p.acsRedirectDevices.isEmpty ? fallback : p2p.acsRedirectDevices
        return "pci=disable_acs_redir=" + devices.map { fabric.bdf($0).description }.joined(separator: ";")
    }

    /// Where, why, what Linux logs, and the fix, for one operation.
    static func findings(_ r: OperationResult, _ phase: WorkloadPhase, _ fabric: Fabric, _ semantics: Semantics,
                         _ transport: TransportResult?, _ parameters: TransportParameters) -> [Finding] {
        let op = r.operation
        let requester = "\(fabric.name(op.requester)) (\(fabric.bdf(op.requester)))"
        let target = targetName(op, fabric)
        var out: [Finding] = []
        if r.flow == nil, let route = r.route, case .blocked(let at, let reason) = route.outcome {
            // A single access the run recorded (a trace's io_page_fault): where the model stops it.
            out.append(Finding(kind: "blocked", requester: requester, target: "iova 0x\(hex(route.request.address, 1))", port: place(at, fabric),
                               rule: reason.rule, linuxLog: linuxLog(reason, at, requester: op.requester, address: route.request.address,
                                                                     isRead: route.request.kind.isRead, fabric),
                               fix: reason.remedy(at: at, fabric: fabric), tlps: 1, phase: phase.name,
                               bit: reason.acsBit, tlpKind: route.request.kind.mnemonic))
            return out
        }
        if r.flow == nil, let error = r.mapping.error {
            // The kernel refused the mapping: dma_map_sgtable -EREMOTEIO after pci_p2pdma_map_type said NOT_SUPPORTED.
            var port = "host bridge"
            var rule = error
            var fix = "place the devices under one PCIe switch with ACS redirect off, or use a host bridge on the p2pdma whitelist"
            if let p = peer(op) {
                let p2p = semantics.p2pdma(provider: p, client: op.requester, verbose: true)
                if let d = p2p.acsRedirectDevices.first {
                    port = "\(fabric.bdf(d)) \(fabric.name(d))"
                    rule = "p2pdma \(p2p.mapType.kernelName): ACS redirect (RR/CR/EC) set on \(p2p.acsRedirectDevices.map { fabric.bdf($0).description }.joined(separator: ", ")) sends the traffic through the host bridge, which is not on the p2pdma whitelist"
                    fix = disableRedirectHint(p2p, fabric, fallback: [])
                } else {
                    let rc = fabric.enumeration.functions[p].rootComplex
                    port = "root complex \(fabric.topology.rootComplexes[rc].name)"
                    rule = "p2pdma \(p2p.mapType.kernelName): provider and client share no upstream bridge and the host bridge is not on the p2pdma whitelist (drivers/pci/p2pdma.c)"
                }
            }
            out.append(Finding(kind: "refused", requester: requester, target: target, port: port, rule: rule,
                               linuxLog: r.mapping.kernelLog, fix: fix, tlps: 0, phase: phase.name))
            return out
        }
        if let route = r.route, route.isDelivered, !route.redirectedAt.isEmpty, let p = peer(op) {
            // One finding per port and bit, from the same verdicts `simrun route` prints (Route.verdicts).
            let p2p = semantics.p2pdma(provider: p, client: op.requester, verbose: true)
            for v in route.verdicts where v.isRedirect {
                let count = v.leg == .request ? (r.flow?.requestTLPs ?? 0) : (r.flow == nil ? 0 : completionTLPs(op, completer: p, fabric, parameters))
                out.append(Finding(kind: "redirected", requester: requester, target: target, port: place(v.location, fabric),
                                   rule: v.explanation, linuxLog: p2p.warnings,
                                   fix: disableRedirectHint(p2p, fabric, fallback: route.redirectedAt),
                                   tlps: count, phase: phase.name, bit: v.bit, tlpKind: v.tlpKind.mnemonic))
            }
        }
        guard let t = transport, let flow = r.flow, flow.blockedTLPs > 0 else { return out }
        let index = r.flowIndex ?? -1
        var groups: [(HopLocation, BlockReason, Int, UInt64, TLPKind)] = []
        for b in t.blocked where b.flow == index {
            if let k = groups.firstIndex(where: { $0.0 == b.location && $0.1 == b.reason && $0.4 == b.kind }) { groups[k].2 += 1 } else {
                groups.append((b.location, b.reason, 1, b.address, b.kind))
            }
        }
        if groups.isEmpty, let route = r.route, case .blocked(let at, let reason) = route.outcome {
            groups.append((at, reason, flow.blockedTLPs, route.request.address, route.request.kind))
        }
        for (location, reason, count, address, kind) in groups {
            let tlps = groups.count == 1 ? flow.blockedTLPs : count
            out.append(Finding(kind: "blocked", requester: requester, target: target, port: place(location, fabric), rule: reason.rule,
                               linuxLog: linuxLog(reason, location, requester: op.requester, address: address, isRead: kind.isRead, fabric),
                               fix: reason.remedy(at: location, fabric: fabric), tlps: tlps, phase: phase.name,
                               bit: reason.acsBit, tlpKind: kind.mnemonic))
        }
        return out
    }

    /// The completion TLPs (CplD) a read operation's requests bring back: each DMA's reads split at MRRS, each
    /// read's completions at MPS or RCB (TLPWireSplit, PCIe Base §2.3.1.1), as the transport splits them.
    static func completionTLPs(_ op: DMAOperation, completer: Int, _ fabric: Fabric, _ parameters: TransportParameters) -> Int {
        guard op.operation == .read else { return 0 }
        let e = fabric.enumeration
        let per = op.transferBytes ?? op.bytes
        let count = op.transferBytes.map { op.bytes / max($0, 1) } ?? 1
        let n = TLPWireSplit.completionCount(transferAddress: UInt64(op.offset), lengthBytes: per,
                                             maxReadRequestSizeBytes: e.maxReadRequest[op.requester],
                                             maxPayloadSizeBytes: min(e.maxPayload[op.requester], e.maxPayload[completer]),
                                             readCompletionBoundaryBytes: e.readCompletionBoundary[completer],
                                             size: parameters.completionSize)
        return n * count
    }

    /// What the kernel prints when this happens: the IOMMU driver's fault line, or AER's error lines.
    static func linuxLog(_ reason: BlockReason, _ location: HopLocation, requester: Int, address: UInt64, isRead: Bool,
                         _ fabric: Fabric) -> [String] {
        let rid = fabric.bdf(requester)
        let short = "\(hex(rid.bus, 2)):\(hex(rid.device, 2)).\(rid.function)"
        switch reason {
        case .iommuFault:
            let rc = fabric.enumeration.functions[requester].rootComplex
            let kind = fabric.topology.rootComplexes[rc].iommu.flatMap { n in fabric.topology.iommus.first { $0.name == n }?.kind }
            switch kind {
            case .amdVi?:
                // drivers/iommu/amd/iommu.c amd_iommu_report_page_fault
                return ["AMD-Vi: Event logged [IO_PAGE_FAULT device=\(rid) domain=0x0000 address=0x\(hex(address, 1)) flags=0x\(isRead ? "0000" : "0020")]"]
            case .smmuv3?:
                // drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c arm_smmu_evtq_thread (F_TRANSLATION)
                return ["arm-smmu-v3: event 0x10 received:", "arm-smmu-v3: \tF_TRANSLATION sid 0x\(hex(UInt64(rid.requesterID), 1)) iova 0x\(hex(address, 1)) \(isRead ? "read" : "write")"]
            default:
                // drivers/iommu/intel/dmar.c dmar_fault_do_one: a non-present PTE reads as a permission fault.
                return ["DMAR: [\(isRead ? "DMA Read" : "DMA Write") NO_PASID] Request device [\(short)] fault addr 0x\(hex(address, 1)) [fault reason 0x\(isRead ? "06" : "05")] \(isRead ? "PTE Read access is not set" : "PTE Write access is not set")"]
            }
        case .acsViolation, .upstreamForwardingDisabled:
            guard case .function(let p) = location else { return [] }
            // drivers/pci/pcie/aer.c: aer_print_error, aer_uncorrectable_error_string[21] = "ACSViol"
            return ["pcieport \(fabric.bdf(p)): AER: Uncorrected (Non-Fatal) error received: \(fabric.bdf(p))",
                    "pcieport \(fabric.bdf(p)): PCIe Bus Error: severity=Uncorrected (Non-Fatal), type=Transaction Layer, (Requester ID)",
                    "pcieport \(fabric.bdf(p)):    [21] ACSViol                (First)"]
        case .rootComplexUnsupported, .unclaimed:
            // The requester gets an Unsupported Request completion (reads) and logs it if it reports AER.
            return ["pci \(rid): AER: Uncorrected (Non-Fatal) error received: \(rid)",
                    "pci \(rid):    [20] UnsupReq               (First)"]
        case .rootComplexWritesOnly, .rootComplexDrops:
            return ["(nothing: the root complex \(reason == .rootComplexDrops ? "drops the TLPs silently; reads return all ones" : "completes the reads with all ones"))"]
        }
    }

    /// acs-audit: every ordered pair of endpoints, both the kernel's p2pdma verdict and the fabric's route.
    static func audit(_ runner: WorkloadRunner) -> (rows: [AuditRow], machineFix: String?) {
        let fabric = runner.fabric
        let semantics = runner.booted.semantics
        // One line for the machine (`simrun fix`): every pair that could map BUS_ADDR.
        let fix = ACSRedirectFix(runner.loaded, options: runner.options,
                                 required: ACSRedirectFix.defaultPairs(semantics, fabric: fabric), isolated: [])
        var machineFix: String?
        if let chosen = fix.chosen {
            let covered = fix.required.filter { semantics.p2pdma(provider: $0.provider, client: $0.client, verbose: false).mapType != .busAddress }.count
            machineFix = "\(chosen.change) (makes all \(covered) pairs above that could map PCI_P2PDMA_MAP_BUS_ADDR do so, checked by booting it; cost and throughput: simrun fix)"
        } else if !fix.ports.isEmpty {
            machineFix = "no single kernel line makes every pair BUS_ADDR: " + fix.candidates.flatMap(\.failures).joined(separator: "; ")
        }
        let router = Router(fabric)
        let eps = fabric.enumeration.functions.indices.filter { f in
            let fn = fabric.enumeration.functions[f]
            guard fn.physicalFunction == nil, let d = fn.device, let ep = fabric.topology.devices[d].endpoint else { return false }
            return ep.endpointClass != .hostBridge
        }
        var rows: [AuditRow] = []
        var fixed: [String: Semantics] = [:]
        for p in eps where fabric.defaultTargetAddress(function: p) != nil {
            for c in eps where c != p {
                let r = semantics.p2pdma(provider: p, client: c, verbose: true)
                let addr = fabric.defaultTargetAddress(function: p)!
                let route = router.route(TLPRequest(kind: .memoryWrite, requester: c, address: addr), translator: ConfiguredTranslator(fabric))
                var row = AuditRow(provider: fabric.name(p), client: fabric.name(c), mapType: r.mapType.description, distance: r.distance,
                                   pathClass: fabric.pathClass(c, p).rawValue, route: "direct", port: nil, fix: nil, mapTypeAfterFix: nil,
                                   warnings: r.warnings)
                switch route.outcome {
                case .blocked(let at, let reason):
                    row.route = "blocked"
                    row.port = place(at, fabric)
                    row.fix = reason.remedy(at: at, fabric: fabric)
                case .delivered:
                    if !route.redirectedAt.isEmpty {
                        row.route = "redirected"
                        row.port = route.redirectedAt.map { place(.function($0), fabric) }.joined(separator: ", ")
                    } else if route.throughRootComplex {
                        row.route = "via root complex"
                    }
                }
                if r.mapType == .notSupported, r.acsRedirectDevices.isEmpty {
                    row.fix = "no kernel parameter: put both under one PCIe switch, or use a host bridge on the p2pdma whitelist"
                }
                if !r.acsRedirectDevices.isEmpty, let chosen = fix.chosen, let after = fix.after,
                   fix.required.contains(ACSRedirectFix.Pair(provider: p, client: c)) {
                    // The machine's one line, not a per-pair string.
                    row.fix = chosen.change
                    row.mapTypeAfterFix = after.p2pdma(provider: p, client: c, verbose: false).mapType.description
                } else if !r.acsRedirectDevices.isEmpty {
                    let param = disableRedirectHint(r, fabric, fallback: [])
                    row.fix = param
                    let after: Semantics
                    if let cached = fixed[param] { after = cached } else {
                        var options = runner.options
                        var k = options.kernel ?? fabric.topology.kernel
                        k.commandLine = String((k.commandLine + " " + param).trimmingSpaces)
                        options.kernel = k
                        after = Semantics(runner.loaded, options: options)
                        fixed[param] = after
                    }
                    row.mapTypeAfterFix = after.p2pdma(provider: p, client: c, verbose: false).mapType.description
                }
                rows.append(row)
            }
        }
        return (rows, machineFix)
    }

    /// The scenario's own tables: the p2p matrices, the IOTLB sweep, each-vs-all host bandwidth.
    static func tables(_ scenario: String, _ flows: [Flow]) -> [Table] {
        func gb(_ v: Double) -> String { String(format: "%.2f", v) }
        switch scenario {
        case "p2p-matrix":
            var names: [String] = []
            for f in flows where !names.contains(f.requester) { names.append(f.requester) }
            func matrix(_ title: String, _ kind: String, _ value: (Flow) -> Double?, _ agg: ([Double]) -> Double, _ fmt: (Double) -> String) -> Table {
                var rows: [[String]] = []
                for a in names {
                    var row = [a]
                    for b in names {
                        if a == b { row.append("-"); continue }
                        let cells = flows.filter { $0.phaseKind == kind && phasePair($0.phase, a, b, kind: kind) }
                        let values = cells.compactMap(value)
                        row.append(values.isEmpty ? "n/a" : (cells.contains { $0.status != "ok" } ? "X " : "") + fmt(agg(values)))
                    }
                    rows.append(row)
                }
                return Table(title: title, columns: ["GB/s, ns"] + names, rows: rows)
            }
            return [
                matrix("Unidirectional P2P write bandwidth (GB/s), row writes column", "uni", { $0.gigabytesPerSecond }, { $0[0] }, gb),
                matrix("Bidirectional P2P bandwidth (GB/s, sum of both directions)", "bidi", { $0.gigabytesPerSecond }, { $0.reduce(0, +) }, gb),
                matrix("P2P read latency (ns, p50 of 64-byte reads at queue depth 1)", "latency", { $0.latencyP50ns }, { $0[0] }, { String(format: "%.0f", $0) }),
            ].enumerated().map { i, t in var t = t; t.columns[0] = ""; t.heat = i < 2 ? "bandwidth" : "latency"; return t }
        case "iotlb-thrash":
            let rows = flows.map { f -> [String] in
                let parts = f.phaseKind.split(separator: " ")
                let ws = parts.first.map { String($0.dropFirst(3)) }.flatMap { UInt64($0) }.map(ByteSize.format) ?? "?"
                let page = parts.dropFirst().first.map { String($0.dropFirst(5)) }.flatMap { UInt64($0) }.map(ByteSize.format) ?? "?"
                return [ws, page, gb(f.gigabytesPerSecond), f.latencyP50ns.map { String(format: "%.0f", $0) } ?? "-",
                        f.latencyP99ns.map { String(format: "%.0f", $0) } ?? "-"]
            }
            return [Table(title: "IOTLB working-set sweep (DMA reads from host memory)", columns: ["working set", "page", "GB/s", "p50 ns", "p99 ns"], rows: rows)]
        case "h2d", "d2h":
            var rows: [[String]] = []
            for f in flows where f.phaseKind == "each" {
                let together = flows.first { $0.phaseKind == "all" && $0.label == f.label }
                rows.append([f.requester, gb(f.gigabytesPerSecond), together.map { gb($0.gigabytesPerSecond) } ?? "-"])
            }
            let total = flows.filter { $0.phaseKind == "all" }.reduce(0) { $0 + $1.gigabytesPerSecond }
            if flows.contains(where: { $0.phaseKind == "all" }) { rows.append(["all (sum)", "-", gb(total)]) }
            return [Table(title: scenario == "h2d" ? "Host to device (GB/s)" : "Device to host (GB/s)", columns: ["device", "alone", "all at once"], rows: rows)]
        default:
            return MeasurementTables.tables(scenario, flows)  // BuiltIn/MeasurementTables.swift
        }
    }

    static func phasePair(_ phase: String, _ a: String, _ b: String, kind: String) -> Bool {
        switch kind {
        case "uni": return phase == "\(a) -> \(b)"
        case "bidi": return phase == "\(a) <-> \(b)" || phase == "\(b) <-> \(a)"
        default: return phase == "latency \(a) -> \(b)"
        }
    }
}
