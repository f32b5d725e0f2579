// The built-in scenarios (docs/SCENARIOS.md): each expands into a workload of mapped DMA operations.
import Sim

/// Options shared by the built-in scenarios (`simrun TOPOLOGY SCENARIO --size 256MiB --devices gpu0,gpu1`).
public struct ScenarioOptions: Sendable, Hashable {
    /// Bytes per flow (default per scenario).
    public var size: Int?
    /// Devices to use, by name or BDF (default: per scenario, e.g. every GPU).
    public var devices: [String]?
    /// Read requests in flight per flow.
    public var queueDepth: Int?
    /// Page size the buffers are mapped with (4 KiB or 2 MiB).
    public var pageBytes: Int?
    /// iotlb-thrash working sets.
    public var workingSets: [Int]?
    /// Use ATS for device-issued DMA where the device supports it.
    public var ats: Bool
    /// pcie-bench-sizes: the transfer sizes swept; pcie-bench-window and the latency probes: the first is the
    /// transfer size.
    public var transferSizes: [Int]? = nil
    /// Operation for h2d/d2h-like scenarios is fixed; for p2p ones: `write` (default) or `read`.
    public var operation: TransportFlow.Operation

    public init(size: Int? = nil, devices: [String]? = nil, queueDepth: Int? = nil, pageBytes: Int? = nil,
                workingSets: [Int]? = nil, ats: Bool = false, operation: TransportFlow.Operation = .write) {
        self.size = size
        self.devices = devices
        self.queueDepth = queueDepth
        self.pageBytes = pageBytes
        self.workingSets = workingSets
        self.ats = ats
        self.operation = operation
    }

    /// The options as the report header lists them.
    func described(defaultSize: Int) -> [(String, String)] {
        var o: [(String, String)] = [("size", ByteSize.format(UInt64(size ?? defaultSize)))]
        if let devices { o.append(("devices", devices.joined(separator: ","))) }
        if let queueDepth { o.append(("queue-depth", String(queueDepth))) }
        if let pageBytes { o.append(("page-size", ByteSize.format(UInt64(pageBytes)))) }
        if let workingSets { o.append(("working-sets", workingSets.map { ByteSize.format(UInt64($0)) }.joined(separator: ","))) }
        if ats { o.append(("ats", "on")) }
        if operation == .read { o.append(("operation", "read")) }
        if let transferSizes { o.append(("transfer-sizes", transferSizes.map { ByteSize.format(UInt64($0)) }.joined(separator: ","))) }
        return o
    }
}

/// The built-in scenario library.
public enum BuiltInScenario: String, Sendable, CaseIterable {
    case p2pMatrix = "p2p-matrix"
    case h2d
    case d2h
    case nvmeCMBToGPU = "nvme-cmb-to-gpu"
    case nvmeToNIC = "nvme-to-nic"
    case gpudirectRDMA = "gpudirect-rdma"
    case allToAll = "all-to-all"
    case iotlbThrash = "iotlb-thrash"
    case acsAudit = "acs-audit"
    case p2pBandwidthLatency = "p2p-bandwidth-latency"
    case pcieBenchSizes = "pcie-bench-sizes"
    case pcieBenchWindow = "pcie-bench-window"
    case nvbandwidth

    public var summary: String {
        switch self {
        case .p2pMatrix: "every pair of GPUs (or --devices): unidirectional and bidirectional bandwidth, P2P read latency"
        case .h2d: "host to device: each device reads host memory alone, then all at once"
        case .d2h: "device to host: each device writes host memory alone, then all at once"
        case .nvmeCMBToGPU: "a GPU (else an FPGA/accelerator, else any other endpoint) reads an NVMe drive's CMB through p2pdma"
        case .nvmeToNIC: "NVMe-oF target offload: the NIC writes into an NVMe CMB, another drive reads it, then both"
        case .gpudirectRDMA: "every NIC writes into and reads from every GPU's BAR (GPUDirect RDMA)"
        case .allToAll: "every device writes to every other at once"
        case .iotlbThrash: "a device reads host memory over growing working sets, with 4 KiB and 2 MiB pages"
        case .acsAudit: "every endpoint pair: does P2P work, which port blocks or redirects it, what would change it"
        case .p2pBandwidthLatency: "CUDA p2pBandwidthLatencyTest: uni/bidirectional bandwidth with P2P on and off (staged through host memory), one-way write latency"
        case .pcieBenchSizes: "pcie-bench BW_RD, BW_WR, BW_RW and LAT_RD over transfer sizes 64 B..8 KiB at a fixed window"
        case .pcieBenchWindow: "pcie-bench BW_RD of 64-byte DMAs at random offsets over windows 4 KiB..64 MiB (the IOTLB-reach knee), 4 KiB and 2 MiB pages"
        case .nvbandwidth: "nvbandwidth: each GPU's host_to_device and device_to_host copy-engine bandwidth alone, bidirectional, and all GPUs at once"
        }
    }

    /// Default bytes per flow.
    public var defaultSize: Int {
        switch self {
        case .iotlbThrash: 64 << 20
        case .acsAudit: 4096
        case .pcieBenchSizes, .pcieBenchWindow: 1 << 20
        default: 64 << 20
        }
    }

    /// Expands the scenario for a machine.
    public func workload(_ fabric: Fabric, _ options: ScenarioOptions) throws(ScenarioError) -> Workload {
        let b = Builder(fabric: fabric, options: options, scenario: self)
        let phases: [WorkloadPhase]
        switch self {
        case .p2pMatrix: phases = try b.p2pMatrix()
        case .h2d: phases = try b.hostTransfers(.read)
        case .d2h: phases = try b.hostTransfers(.write)
        case .nvmeCMBToGPU: phases = try b.nvmeCMBToGPU()
        case .nvmeToNIC: phases = try b.nvmeToNIC()
        case .gpudirectRDMA: phases = try b.gpudirectRDMA()
        case .allToAll: phases = try b.allToAll()
        case .iotlbThrash: phases = try b.iotlbThrash()
        case .acsAudit: phases = []
        case .p2pBandwidthLatency: phases = try b.p2pBandwidthLatency()
        case .pcieBenchSizes: phases = try b.pcieBenchSizes()
        case .pcieBenchWindow: phases = try b.pcieBenchWindow()
        case .nvbandwidth: phases = try b.nvbandwidth()
        }
        return Workload(scenario: rawValue, options: options.described(defaultSize: defaultSize), phases: phases,
                        auditAllPairs: self == .acsAudit)
    }
}

struct Builder {
    let fabric: Fabric
    let options: ScenarioOptions
    let scenario: BuiltInScenario
    var size: Int { options.size ?? scenario.defaultSize }
    var page: Int { options.pageBytes ?? 4096 }

    func name(_ f: Int) -> String { fabric.name(f) }

    func endpoints(_ classes: Set<EndpointClass>) -> [Int] {
        fabric.enumeration.functions.indices.filter { f in
            let fn = fabric.enumeration.functions[f]
            // Requesters need a PCIe link to the port above (root-bus integrated endpoints are not modelled).
            guard fn.physicalFunction == nil, fabric.enumeration.links[f] != nil, let d = fn.device,
                  let ep = fabric.topology.devices[d].endpoint else { return false }
            return classes.contains(ep.endpointClass)
        }
    }

    func hasBAR(_ f: Int) -> Bool { fabric.defaultTargetAddress(function: f) != nil }
    func supportsATS(_ f: Int) -> Bool {
        fabric.enumeration.functions[f].device.flatMap { fabric.topology.devices[$0].endpoint?.supportsATS } ?? false
    }
    func hasP2PMem(_ f: Int) -> Bool { fabric.hasP2PMem(f) }

    /// `--devices`, resolved; or the default set.
    func devices(default classes: Set<EndpointClass>, minimum: Int, what: String) throws(ScenarioError) -> [Int] {
        if let names = options.devices {
            var out: [Int] = []
            var problems: [String] = []
            for n in names {
                if let f = fabric.enumeration.lookup(n) { out.append(f) } else { problems.append("--devices: no device '\(n)' in topology '\(fabric.topology.name)'\(fabric.enumeration.didYouMean(n))") }
            }
            if !problems.isEmpty { throw ScenarioError(problems) }
            if out.count < minimum { throw ScenarioError("\(scenario.rawValue) needs at least \(minimum) devices, --devices names \(out.count)") }
            return out
        }
        let found = endpoints(classes)
        if found.count < minimum {
            throw ScenarioError("\(scenario.rawValue) needs at least \(minimum) \(what); topology '\(fabric.topology.name)' has \(found.count) (name devices with --devices)")
        }
        return found
    }

    func op(_ label: String, _ requester: Int, _ target: DMATarget, _ operation: TransportFlow.Operation, bytes: Int? = nil,
            queueDepth: Int? = nil, buffer: Int? = nil) -> DMAOperation {
        DMAOperation(label: label, requester: requester, target: target, operation: operation, bytes: bytes ?? size,
                     bufferBytes: buffer, queueDepth: queueDepth ?? options.queueDepth, pageBytes: page,
                     usesATS: options.ats && supportsATS(requester))
    }

    /// p2pBandwidthLatencyTest's three matrices: unidirectional (a writes b's memory), bidirectional (both at
    /// once), and latency (a 64-byte read of b's memory, queue depth 1, 16 times).
    func p2pMatrix() throws(ScenarioError) -> [WorkloadPhase] {
        var devs = try devices(default: [.gpu], minimum: 0, what: "GPUs")
        if options.devices == nil, devs.count < 2 {
            devs = endpoints([.gpu, .fpga, .accelerator, .nvme, .nic]).filter(hasBAR)
        }
        guard devs.count >= 2 else { throw ScenarioError("p2p-matrix needs two devices with a BAR; topology '\(fabric.topology.name)' has \(devs.count)") }
        let verb = options.operation
        var phases: [WorkloadPhase] = []
        for a in devs { for b in devs where a != b {
            phases.append(WorkloadPhase(name: "\(name(a)) -> \(name(b))", kind: "uni",
                                        operations: [op("\(name(a)) -> \(name(b))", a, .peerBAR(device: b), verb)]))
        } }
        for (i, a) in devs.enumerated() { for b in devs[(i + 1)...] {
            phases.append(WorkloadPhase(name: "\(name(a)) <-> \(name(b))", kind: "bidi", operations: [
                op("\(name(a)) -> \(name(b))", a, .peerBAR(device: b), verb),
                op("\(name(b)) -> \(name(a))", b, .peerBAR(device: a), verb)]))
        } }
        for a in devs { for b in devs where a != b {
            phases.append(WorkloadPhase(name: "latency \(name(a)) -> \(name(b))", kind: "latency", operations: [
                DMAOperation(label: "latency \(name(a)) -> \(name(b))", requester: a, target: .peerBAR(device: b), operation: .read,
                             bytes: 64 * 16, bufferBytes: 4096, queueDepth: 1, pageBytes: 4096)]))
        } }
        return phases
    }

    func hostTransfers(_ operation: TransportFlow.Operation) throws(ScenarioError) -> [WorkloadPhase] {
        var devs = try devices(default: [.gpu], minimum: 0, what: "devices")
        if options.devices == nil, devs.isEmpty { devs = endpoints([.nvme, .nic, .fpga, .accelerator, .generic]) }
        guard !devs.isEmpty else { throw ScenarioError("\(scenario.rawValue): topology '\(fabric.topology.name)' has no endpoints") }
        let arrow = operation == .read ? "host -> " : ""
        let suffix = operation == .read ? "" : " -> host"
        var phases = devs.map { d in
            WorkloadPhase(name: "\(arrow)\(name(d))\(suffix)", kind: "each", operations: [op("\(arrow)\(name(d))\(suffix)", d, .hostMemory, operation)])
        }
        if devs.count > 1 {
            phases.append(WorkloadPhase(name: "all at once", kind: "all",
                                        operations: devs.map { d in op("\(arrow)\(name(d))\(suffix)", d, .hostMemory, operation) }))
        }
        return phases
    }

    func cmbProviders() throws(ScenarioError) -> [Int] {
        let p = endpoints([.nvme]).filter(hasP2PMem)
        if let names = options.devices {
            let named = names.compactMap { fabric.enumeration.lookup($0) }.filter(hasP2PMem)
            if !named.isEmpty { return named }
        }
        guard !p.isEmpty else {
            throw ScenarioError("\(scenario.rawValue) needs an NVMe drive with a CMB (<p2pmem>); topology '\(fabric.topology.name)' has none")
        }
        return p
    }

    func nvmeCMBToGPU() throws(ScenarioError) -> [WorkloadPhase] {
        let providers = try cmbProviders()
        // GPUs; without one, FPGAs and accelerators; without those, every other endpoint (the report names them).
        var consumers = endpoints([.gpu])
        if consumers.isEmpty { consumers = endpoints([.fpga, .accelerator]) }
        if consumers.isEmpty { consumers = endpoints(Set(EndpointClass.allCases).subtracting([.hostBridge])).filter { !providers.contains($0) } }
        if let names = options.devices {
            let named = names.compactMap { fabric.enumeration.lookup($0) }.filter { !providers.contains($0) }
            if !named.isEmpty { consumers = named }
        }
        guard !consumers.isEmpty else {
            throw ScenarioError("nvme-cmb-to-gpu needs a GPU, FPGA or accelerator to read the CMB; topology '\(fabric.topology.name)' has none")
        }
        var phases: [WorkloadPhase] = []
        for p in providers { for c in consumers {
            let label = "\(name(p)) CMB -> \(name(c))"
            phases.append(WorkloadPhase(name: label, kind: "pair", operations: [op(label, c, .p2pmem(provider: p), .read, buffer: min(size, 16 << 20))]))
        } }
        return phases
    }

    /// nvmet-rdma with p2pmem: the NIC's RDMA WRITEs land in the CMB, the backing drive reads them from it.
    func nvmeToNIC() throws(ScenarioError) -> [WorkloadPhase] {
        let providers = try cmbProviders()
        let nics = endpoints([.nic])
        guard !nics.isEmpty else { throw ScenarioError("nvme-to-nic needs a NIC; topology '\(fabric.topology.name)' has none") }
        let drives = endpoints([.nvme])
        var phases: [WorkloadPhase] = []
        let buffer = min(size, 16 << 20)
        for p in providers {
            for n in nics {
                let w = "\(name(n)) -> \(name(p)) CMB"
                phases.append(WorkloadPhase(name: w, kind: "nic", operations: [op(w, n, .p2pmem(provider: p), .write, buffer: buffer)]))
                let backing = drives.filter { $0 != p }
                for d in backing {
                    let r = "\(name(p)) CMB -> \(name(d))"
                    phases.append(WorkloadPhase(name: r, kind: "drive", operations: [op(r, d, .p2pmem(provider: p), .read, buffer: buffer)]))
                    phases.append(WorkloadPhase(name: "\(w) + \(r)", kind: "both", operations: [
                        op(w, n, .p2pmem(provider: p), .write, buffer: buffer), op(r, d, .p2pmem(provider: p), .read, buffer: buffer)]))
                }
            }
        }
        return phases
    }

    func gpudirectRDMA() throws(ScenarioError) -> [WorkloadPhase] {
        let nics = endpoints([.nic])
        let gpus = endpoints([.gpu])
        guard !nics.isEmpty, !gpus.isEmpty else {
            throw ScenarioError("gpudirect-rdma needs a NIC and a GPU; topology '\(fabric.topology.name)' has \(nics.count) NICs and \(gpus.count) GPUs")
        }
        var phases: [WorkloadPhase] = []
        for n in nics { for g in gpus {
            let w = "\(name(n)) -> \(name(g))"
            let r = "\(name(g)) -> \(name(n))"
            phases.append(WorkloadPhase(name: w, kind: "write", operations: [op(w, n, .peerBAR(device: g), .write)]))
            phases.append(WorkloadPhase(name: r, kind: "read", operations: [op(r, n, .peerBAR(device: g), .read)]))
        } }
        return phases
    }

    func allToAll() throws(ScenarioError) -> [WorkloadPhase] {
        var devs = try devices(default: [.gpu], minimum: 0, what: "GPUs")
        if options.devices == nil, devs.count < 2 { devs = endpoints([.gpu, .fpga, .accelerator, .nvme, .nic]).filter(hasBAR) }
        guard devs.count >= 2 else { throw ScenarioError("all-to-all needs two devices with a BAR; topology '\(fabric.topology.name)' has \(devs.count)") }
        let per = max(4096, size / (devs.count - 1))
        var ops: [DMAOperation] = []
        for a in devs { for b in devs where a != b { ops.append(op("\(name(a)) -> \(name(b))", a, .peerBAR(device: b), .write, bytes: per)) } }
        return [WorkloadPhase(name: "all-to-all (\(devs.count) devices)", kind: "all", operations: ops)]
    }

    /// Reads stream through a buffer of each working-set size: once it passes the IOTLB's reach (entries x page
    /// size) every page costs a walk; 2 MiB pages extend the reach 512-fold.
    func iotlbThrash() throws(ScenarioError) -> [WorkloadPhase] {
        let all = try devices(default: [.gpu, .nic, .nvme, .fpga, .accelerator, .generic], minimum: 1, what: "endpoints")
        let d = all[0]
        let sets = options.workingSets ?? [256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20]
        var phases: [WorkloadPhase] = []
        let pages = options.pageBytes.map { [$0] } ?? [4096, 2 << 20]
        for p in pages {
            for ws in sets {
                let buffer = max(ws, p)
                let bytes = max(size, 2 * buffer)
                let label = "\(name(d)) reads \(ByteSize.format(UInt64(buffer))) (\(ByteSize.format(UInt64(p))) pages)"
                phases.append(WorkloadPhase(name: label, kind: "ws=\(buffer) page=\(p)", operations: [
                    DMAOperation(label: label, requester: d, target: .hostMemory, operation: .read, bytes: bytes, bufferBytes: buffer,
                                 queueDepth: options.queueDepth, pageBytes: p)]))
            }
        }
        return phases
    }
}

extension Fabric {
    /// The function's topology device declares `<p2pmem>` (a p2pdma provider once its driver registers it).
    func hasP2PMem(_ f: Int) -> Bool {
        enumeration.functions[f].device.flatMap { topology.devices[$0].endpoint.map { !$0.p2pmem.isEmpty } } ?? false
    }
}
