// Built-ins named after the tools people measure with: CUDA samples' p2pBandwidthLatencyTest, pcie-bench's size and
// window sweeps, nvbandwidth's copy-engine host transfers. docs/SCENARIOS.md says what each mirrors and how.
import Sim

extension Builder {
    /// One DMA operation of `count` DMAs of `transfer` bytes each inside a `window`-byte buffer.
    func perDMA(_ label: String, _ requester: Int, _ target: DMATarget, _ operation: TransportFlow.Operation, transfer: Int,
                count: Int, window: Int, access: TransportFlow.Access = .sequential, queueDepth: Int?, page: Int? = nil) -> DMAOperation {
        var o = DMAOperation(label: label, requester: requester, target: target, operation: operation, bytes: transfer * count,
                             bufferBytes: window, queueDepth: queueDepth, pageBytes: page ?? self.page,
                             usesATS: options.ats && supportsATS(requester))
        o.transferBytes = transfer
        o.access = access
        return o
    }

    /// p2pBandwidthLatencyTest (NVIDIA cuda-samples, Samples/5_Domain_Specific/p2pBandwidthLatencyTest): for every
    /// ordered pair, a copy of `size` bytes with P2P enabled (the row's copy engine writes the column's memory) and
    /// disabled (staged through host memory: the row writes a host buffer while the column reads it, pipelined, so
    /// the slower leg sets the rate); both directions at once for the bidirectional matrices; and the latency
    /// matrices: 100 copies of 16 bytes (one int4), each waiting for the previous one to land, as the sample times
    /// them (`repeat = 100`, `numElems = 4`). With --read the P2P=Enabled copies read the peer (`--p2p_read`).
    func p2pBandwidthLatency() throws(ScenarioError) -> [WorkloadPhase] {
        var devs = try devices(default: [.gpu], minimum: 0, what: "GPUs")
        if options.devices == nil, devs.count < 2 {
            devs = endpoints([.gpu, .fpga, .accelerator, .nvme, .nic]).filter(hasBAR)
        }
        guard devs.count >= 2 else {
            throw ScenarioError("p2p-bandwidth-latency needs two devices with a BAR; topology '\(fabric.topology.name)' has \(devs.count)")
        }
        let verb = options.operation
        let probe = options.transferSizes?.first ?? 16
        func p2p(_ a: Int, _ b: Int) -> DMAOperation {
            verb == .write ? op("\(name(a)) -> \(name(b))", a, .peerBAR(device: b), .write)
                : op("\(name(a)) <- \(name(b))", a, .peerBAR(device: b), .read)
        }
        func staged(_ a: Int, _ b: Int) -> [DMAOperation] {
            [op("\(name(a)) -> host", a, .hostMemory, .write), op("host -> \(name(b))", b, .hostMemory, .read)]
        }
        var phases: [WorkloadPhase] = []
        for a in devs { for b in devs where a != b {
            phases.append(WorkloadPhase(name: "\(name(a)) -> \(name(b))", kind: "uni p2p", operations: [p2p(a, b)]))
            phases.append(WorkloadPhase(name: "\(name(a)) -> \(name(b))", kind: "uni staged", operations: staged(a, b)))
        } }
        for (i, a) in devs.enumerated() { for b in devs[(i + 1)...] {
            phases.append(WorkloadPhase(name: "\(name(a)) <-> \(name(b))", kind: "bidi p2p", operations: [p2p(a, b), p2p(b, a)]))
            phases.append(WorkloadPhase(name: "\(name(a)) <-> \(name(b))", kind: "bidi staged", operations: staged(a, b) + staged(b, a)))
        } }
        for a in devs { for b in devs where a != b {
            phases.append(WorkloadPhase(name: "\(name(a)) -> \(name(b))", kind: "latency p2p", operations: [
                perDMA("\(name(a)) \(verb == .write ? "->" : "<-") \(name(b))", a, .peerBAR(device: b), verb, transfer: probe, count: 100,
                       window: 4096, queueDepth: 1)]))
            phases.append(WorkloadPhase(name: "\(name(a)) -> \(name(b))", kind: "latency staged", operations: [
                perDMA("\(name(a)) -> host", a, .hostMemory, .write, transfer: probe, count: 100, window: 4096, queueDepth: 1),
                perDMA("host -> \(name(b))", b, .hostMemory, .read, transfer: probe, count: 100, window: 4096, queueDepth: 1)]))
        } }
        return phases
    }

    /// The requester of the pcie-bench sweeps: the first of --devices, else the first GPU, NIC, NVMe drive, FPGA,
    /// accelerator or other endpoint (pcie-bench runs on the NIC or FPGA whose DMA engine it drives).
    func benchDevice() throws(ScenarioError) -> Int {
        try devices(default: [.gpu, .nic, .nvme, .fpga, .accelerator, .generic], minimum: 1, what: "endpoints")[0]
    }

    /// pcie-bench's bandwidth and latency experiments over transfer sizes (Neugebauer et al., "Understanding PCIe
    /// performance for end host networking", SIGCOMM 2018; github.com/pcie-bench): for each size S, `size / S` DMAs
    /// of S bytes at sequential offsets in a fixed window against host memory: BW_RD (DMA reads), BW_WR (DMA writes),
    /// BW_RW (reads and writes at once, each `size / S` DMAs) and LAT_RD (reads one at a time, 256 of them).
    func pcieBenchSizes() throws(ScenarioError) -> [WorkloadPhase] {
        let d = try benchDevice()
        let sizes = options.transferSizes ?? [64, 128, 256, 512, 1024, 2048, 4096, 8192]
        let window = options.workingSets?.first ?? 64 << 10
        var problems: [String] = []
        if window % 4096 != 0 { problems.append("pcie-bench-sizes: the window (--working-sets) \(window) is not a multiple of 4 KiB") }
        for s in sizes where s > window { problems.append("pcie-bench-sizes: transfer size \(s) is larger than the window \(window)") }
        if !problems.isEmpty { throw ScenarioError(problems) }
        let dev = name(d)
        var phases: [WorkloadPhase] = []
        for s in sizes {
            let count = max(1, size / s)
            let read = perDMA("\(dev) BW_RD \(s)", d, .hostMemory, .read, transfer: s, count: count, window: window, queueDepth: options.queueDepth)
            let write = perDMA("\(dev) BW_WR \(s)", d, .hostMemory, .write, transfer: s, count: count, window: window, queueDepth: options.queueDepth)
            phases.append(WorkloadPhase(name: "BW_RD \(s)", kind: "bw_rd \(s)", operations: [read]))
            phases.append(WorkloadPhase(name: "BW_WR \(s)", kind: "bw_wr \(s)", operations: [write]))
            phases.append(WorkloadPhase(name: "BW_RW \(s)", kind: "bw_rw \(s)", operations: [read, write]))
            phases.append(WorkloadPhase(name: "LAT_RD \(s)", kind: "lat_rd \(s)", operations: [
                perDMA("\(dev) LAT_RD \(s)", d, .hostMemory, .read, transfer: s, count: 256, window: window, queueDepth: 1)]))
        }
        return phases
    }

    /// pcie-bench's window experiment: `size / S` DMA reads of S bytes (64 by default) at random offsets inside windows
    /// of 4 KiB to 64 MiB, with 4 KiB and 2 MiB pages. Once the window's pages outnumber the IOTLB's entries, most
    /// DMAs need a page walk (the IOTLB-reach knee); 2 MiB pages move the knee 512-fold. A window smaller than the
    /// page is a page.
    func pcieBenchWindow() throws(ScenarioError) -> [WorkloadPhase] {
        let d = try benchDevice()
        let s = options.transferSizes?.first ?? 64
        let windows = options.workingSets ?? [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20]
        let pages = options.pageBytes.map { [$0] } ?? [4096, 2 << 20]
        var problems: [String] = []
        for w in windows where w % 4096 != 0 || w < s { problems.append("pcie-bench-window: window \(w) is not a multiple of 4 KiB of at least one \(s)-byte DMA") }
        if !problems.isEmpty { throw ScenarioError(problems) }
        let count = max(1, size / s)
        var phases: [WorkloadPhase] = []
        for p in pages {
            var seen: Set<Int> = []
            for w in windows {
                let window = max(w, p)
                guard seen.insert(window).inserted else { continue }
                let label = "\(name(d)) BW_RD \(s) B random in \(ByteSize.format(UInt64(window))) (\(ByteSize.format(UInt64(p))) pages)"
                phases.append(WorkloadPhase(name: label, kind: "window=\(window) page=\(p)", operations: [
                    perDMA(label, d, .hostMemory, .read, transfer: s, count: count, window: window, access: .random(seed: 1),
                           queueDepth: options.queueDepth, page: p)]))
            }
        }
        return phases
    }

    /// nvbandwidth (github.com/NVIDIA/nvbandwidth) copy-engine tests: host_to_device_memcpy_ce (the GPU's copy engine
    /// reads host memory) and device_to_host_memcpy_ce (it writes host memory) for each GPU alone, both at once
    /// (the *_bidirectional_memcpy_ce tests), and every GPU at once (host_to_all / all_to_host).
    func nvbandwidth() throws(ScenarioError) -> [WorkloadPhase] {
        var devs = try devices(default: [.gpu], minimum: 0, what: "GPUs")
        if options.devices == nil, devs.isEmpty { devs = endpoints([.fpga, .accelerator, .nic, .nvme, .generic]) }
        guard !devs.isEmpty else { throw ScenarioError("nvbandwidth: topology '\(fabric.topology.name)' has no endpoints") }
        func h2d(_ d: Int) -> DMAOperation { op("host -> \(name(d))", d, .hostMemory, .read) }
        func d2h(_ d: Int) -> DMAOperation { op("\(name(d)) -> host", d, .hostMemory, .write) }
        var phases: [WorkloadPhase] = []
        for d in devs {
            phases.append(WorkloadPhase(name: "host_to_device \(name(d))", kind: "h2d", operations: [h2d(d)]))
            phases.append(WorkloadPhase(name: "device_to_host \(name(d))", kind: "d2h", operations: [d2h(d)]))
            phases.append(WorkloadPhase(name: "bidirectional \(name(d))", kind: "bidir", operations: [h2d(d), d2h(d)]))
        }
        if devs.count > 1 {
            phases.append(WorkloadPhase(name: "host_to_all", kind: "h2d all", operations: devs.map(h2d)))
            phases.append(WorkloadPhase(name: "all_to_host", kind: "d2h all", operations: devs.map(d2h)))
        }
        return phases
    }
}
