// Runs a workload: boots the machine once (Semantics: ACS enable, groups), sets up p2pdma providers as their
// drivers do, then for each phase maps every buffer through the mapping API, streams the DMA through the TLP
// transport model (the router's paths, the backend's IOMMU domains as the translator), and unmaps.
import Dispatch
import Sim

/// What one operation's mapping call answered.
public struct MappingOutcome: Sendable, Hashable {
    /// The calls as a driver made them, with their answers (`dma_map_sgtable(gpu0, 64M) = 0: IOVA 0xfc000000`).
    public var calls: [String]
    /// The DMA address the device was given; nil when the mapping failed.
    public var dmaAddress: UInt64?
    /// For P2P targets: what `pci_p2pdma_map_type` answers for (provider, client).
    public var mapType: P2PMapType?
    /// The errno of a failed call (`-EREMOTEIO`), with the call's reason.
    public var error: String?
    /// Kernel log lines the calls printed.
    public var kernelLog: [String]
}

/// One operation after its run.
public struct OperationResult: Sendable {
    public var operation: DMAOperation
    public var mapping: MappingOutcome
    /// The transport model's flow; nil when the mapping failed and no DMA was issued.
    public var flow: TransportResult.Flow?
    /// The route of the first request TLP (the router's hops and verdicts), when a DMA was issued.
    public var route: Route?
    /// Index of the flow in the phase's transport run.
    public var flowIndex: Int?
}

public struct PhaseResult: Sendable {
    public var phase: WorkloadPhase
    public var operations: [OperationResult]
    /// The transport run (nil when no operation could be issued).
    public var transport: TransportResult?
    /// Which model produced `transport`.
    public var simulatedBy: SimulationMode = .tlp
    /// Flow mode: per transport flow, what may make its answer inaccurate (empty: covered).
    public var flowLimits: [[FlowModelLimit]] = []
    /// Flow mode: per transport flow, the resource that set its rate.
    public var flowBottlenecks: [String] = []
}

/// How phases are simulated: TLP by TLP, by steady-state max-min rates, or by rates where the flow model claims
/// its answer and TLP by TLP elsewhere.
public enum SimulationMode: String, Sendable, Hashable, CaseIterable {
    case tlp, flow, auto
}

/// A workload's run.
public struct WorkloadResult: Sendable {
    public var workload: Workload
    public var phases: [PhaseResult]
    /// Kernel log at boot (ACS enable, groups, quirks) and provider setup.
    public var bootLog: [String]
    /// Tables the run itself produced (trace replay's summary and disagreements).
    public var tables: [RunReport.Table] = []
}

/// Immutable after init (phases copy `booted`), so sharing it across phase threads is safe.
public struct WorkloadRunner: @unchecked Sendable {
    public let loaded: LoadedTopology
    public let options: SemanticsOptions
    public var parameters: TransportParameters
    public var seed: UInt64
    /// Phases run in parallel on this many threads (results do not depend on it).
    public var jobs: Int
    /// TLP, flow or auto (flow where it is covered, TLP elsewhere).
    public var mode: SimulationMode = .tlp
    /// The work budget of each phase's run (events, simulated time) and of the workload (phases, flows).
    public var limits = WorkLimits()
    /// Called every few million events of a TLP-level phase with the events it has handled (progress of long runs).
    public var eventProgress: (@Sendable (Int) -> Void)?
    /// Called before a phase is simulated TLP by TLP with the phase's name, why the flow model did not answer it
    /// (empty under `--mode tlp`) and about how many TLPs its flows carry (256 B of payload each, a request per 512 B read),
    /// so a long run can say so before it starts.
    public var tlpNotice: (@Sendable (_ phase: String, _ reasons: [String], _ tlps: Int) -> Void)?
    /// The machine after boot with its providers registered; each phase starts from a copy.
    public let booted: SimulatedBackend

    /// Where operation `slot`'s host buffer lives: DRAM from 4 GiB up, one naturally aligned slot (at least 4 GiB)
    /// per operation, skipping anything a root complex's MMIO aperture or a BAR claims (64-bit BARs can sit
    /// anywhere above the 32-bit hole, so no fixed address is safe).
    func hostMemory(slot: Int, size: UInt64) -> UInt64? {
        var stride: UInt64 = 1 << 32
        while stride < size { stride <<= 1 }
        let apertures = fabric.enumeration.rootComplexes.flatMap { [$0.mmio32, $0.mmio64].compactMap { $0 } } + [Enumerator.mmio32Pool]
        var candidate = stride
        var k = 0
        while candidate < 1 << 52 {
            let range = AddressRange(start: candidate, size: size)
            if !apertures.contains(where: { $0.overlaps(range) }), fabric.claim(range.start) == .memory, fabric.claim(range.end) == .memory {
                if k == slot { return candidate }
                k += 1
            }
            candidate += stride
        }
        return nil
    }

    public init(_ loaded: LoadedTopology, options: SemanticsOptions = SemanticsOptions(),
                parameters: TransportParameters = TransportParameters(), seed: UInt64 = 1, jobs: Int = 1) throws(ScenarioError) {
        self.loaded = loaded
        self.options = options
        self.parameters = parameters
        self.seed = seed
        self.jobs = max(1, jobs)
        var backend = SimulatedBackend(loaded, options: options)
        // Drivers of p2pmem providers register their regions at probe (nvme_map_cmb: pci_p2pdma_add_resource,
        // then pci_p2pmem_publish).
        for (f, fn) in backend.fabric.enumeration.functions.enumerated() {
            guard fn.physicalFunction == nil, let d = fn.device, let ep = loaded.topology.devices[d].endpoint else { continue }
            for region in ep.p2pmem {
                do {
                    try backend.pciP2PDMAAddResource(f, bar: region.bar, size: region.size, offset: region.offset)
                } catch {
                    throw ScenarioError("\(fn.name): pci_p2pdma_add_resource(BAR \(region.bar)) failed: \(error)")
                }
                if region.isPublished { backend.pciP2PMemPublish(f, true) }
            }
        }
        booted = backend
    }

    public var fabric: Fabric { booted.fabric }

    /// Runs every phase; deterministic for a seed whatever `jobs` is.
    public func run(_ workload: Workload, progress: (@Sendable (Int, Int) -> Void)? = nil) throws(ScenarioError) -> WorkloadResult {
        if let trace = workload.trace { return try replay(trace) }
        let n = workload.phases.count
        if n > limits.maxPhases { throw ScenarioError.limit("\(n) phases, over the limit of \(limits.maxPhases) (raise with --max-phases)") }
        if let big = workload.phases.first(where: { $0.operations.count > limits.maxFlows }) {
            throw ScenarioError.limit("phase '\(big.name)': \(big.operations.count) DMA operations, over the limit of \(limits.maxFlows) (raise with --max-flows)")
        }
        let box = ResultBox(count: n)
        let counter = ResultBox(count: 0)
        let base = TransportFabricModel(fabric: fabric, parameters: parameters)  // shared by every phase
        let work: @Sendable (Int) -> Void = { i in
            let r = Result { () throws(ScenarioError) in try self.runPhase(workload.phases[i], transport: base) }
            box.set(i, r)
            if let progress { progress(counter.increment(), n) }
        }
        if jobs == 1 || n < 2 {
            for i in 0..<n { work(i) }
        } else {
            let group = DispatchGroup()
            let queue = DispatchQueue(label: "pciesim.phases", attributes: .concurrent)
            let semaphore = DispatchSemaphore(value: jobs)
            for i in 0..<n {
                semaphore.wait()
                queue.async(group: group) {
                    work(i)
                    semaphore.signal()
                }
            }
            group.wait()
        }
        var phases: [PhaseResult] = []
        var problems: [String] = []
        var exceededLimit = false
        for i in 0..<n {
            switch box.get(i) {
            case .success(let p)?: phases.append(p)
            case .failure(let e)?:
                problems += e.problems.map { "phase '\(workload.phases[i].name)': " + $0 }
                exceededLimit = exceededLimit || e.exceededLimit
            case nil: problems.append("phase '\(workload.phases[i].name)' did not run")
            }
        }
        if !problems.isEmpty {
            var e = ScenarioError(problems)
            e.exceededLimit = exceededLimit
            throw e
        }
        return WorkloadResult(workload: workload, phases: phases, bootLog: booted.semantics.kernelLog + booted.kernelLog)
    }

    /// One phase on a fresh copy of the booted machine: map, DMA, unmap.
    public func runPhase(_ phase: WorkloadPhase) throws(ScenarioError) -> PhaseResult {
        try runPhase(phase, transport: TransportFabricModel(fabric: fabric, parameters: parameters))
    }

    /// One phase with the fabric's part of the transport model already built (the same for every phase of a run).
    func runPhase(_ phase: WorkloadPhase, transport base: TransportFabricModel) throws(ScenarioError) -> PhaseResult {
        var backend = booted
        let fabric = backend.fabric
        var outcomes: [MappingOutcome] = []
        var flows: [TransportFlow] = []
        var flowOf: [Int?] = []
        var unmaps: [(Int, Unmap)] = []
        for (k, op) in phase.operations.enumerated() {
            let (outcome, target, unmap) = map(op, slot: k, &backend)
            outcomes.append(outcome)
            if let target {
                flowOf.append(flows.count)
                // With a transfer size the buffer is the window every DMA lands in; else a stream wraps through it.
                let window = op.transferBytes != nil || op.bytes > op.bufferBytes ? op.bufferBytes : nil
                flows.append(TransportFlow(requester: op.requester, target: target, operation: op.operation, bytes: op.bytes,
                                           start: op.start, queueDepth: op.queueDepth, workingSetBytes: window,
                                           mappingPageBytes: op.pageBytes, usesATS: op.usesATS,
                                           transferBytes: op.transferBytes, access: op.access))
            } else {
                flowOf.append(nil)
            }
            if let unmap { unmaps.append((k, unmap)) }
        }
        var transport: TransportResult?
        var simulatedBy = SimulationMode.tlp
        var flowLimits: [[FlowModelLimit]] = []
        var flowBottlenecks: [String] = []
        var routes: [Route?] = Array(repeating: nil, count: phase.operations.count)
        if !flows.isEmpty {
            let translator = DomainTranslator(backend)
            let router = Router(fabric)
            for (k, f) in flowOf.enumerated() {
                guard let f else { continue }
                let flow = flows[f]
                let address: UInt64
                switch flow.target {
                case .memory(let a), .address(let a): address = a
                case .peer(let fn, _, let offset): address = (fabric.defaultTargetAddress(function: fn) ?? 0) + offset
                }
                let at: AddressType = flow.usesATS ? .translated : .untranslated
                routes[k] = router.route(TLPRequest(kind: flow.operation == .read ? .memoryRead : .memoryWrite,
                                                    requester: flow.requester, address: address, addressType: at), translator: translator)
            }
            do {
                var declined: [String] = []
                if mode != .tlp {
                    let answer = try FlowSimulation(base, flows: flows, translator: translator).run()
                    if mode == .flow || answer.isCovered {
                        transport = answer.transport
                        simulatedBy = .flow
                        flowLimits = answer.limits
                        flowBottlenecks = answer.bottleneck
                    } else {
                        var seen = Set<String>()
                        declined = answer.limits.flatMap { $0 }.map(\.rawValue).filter { seen.insert($0).inserted }
                    }
                }
                if transport == nil {
                    let tlps = flows.reduce(0) { $0 &+ $1.bytes / 256 &+ ($1.operation == .read ? $1.bytes / 512 : 0) }
                    tlpNotice?(phase.name, declined, tlps)
                    var sim = try TransportSimulation(base, flows: flows, translator: translator, seed: seed)
                    transport = try sim.run(within: limits, progress: eventProgress)
                }
            } catch let e as TransportError {
                throw ScenarioError(e.problems)
            } catch let e as ScenarioError {
                throw e
            } catch {
                throw ScenarioError("\(error)")
            }
        }
        // Unmap in reverse order, as a driver tears down.
        for (k, u) in unmaps.reversed() {
            let op = phase.operations[k]
            switch u {
            case .sgtable(var table, let p2pmem):
                backend.dmaUnmapSGTable(op.requester, &table)
                outcomes[k].calls.append("dma_unmap_sgtable(\(fabric.name(op.requester)))")
                if let (provider, address) = p2pmem {
                    backend.pciFreeP2PMem(provider, address: address, size: UInt64(op.bufferBytes))
                    outcomes[k].calls.append("pci_free_p2pmem(\(fabric.name(provider)), 0x\(hex(address, 1)))")
                }
            case .resource(let address, let size):
                backend.dmaUnmapResource(op.requester, address: address, size: size)
                outcomes[k].calls.append("dma_unmap_resource(\(fabric.name(op.requester)), 0x\(hex(address, 1)))")
            }
        }
        let results = phase.operations.indices.map { k in
            OperationResult(operation: phase.operations[k], mapping: outcomes[k],
                            flow: flowOf[k].flatMap { f in transport?.flows[f] }, route: routes[k], flowIndex: flowOf[k])
        }
        return PhaseResult(phase: phase, operations: results, transport: transport, simulatedBy: simulatedBy,
                           flowLimits: flowLimits, flowBottlenecks: flowBottlenecks)
    }

    enum Unmap {
        case sgtable(SGTable, p2pmem: (Int, UInt64)?)
        case resource(UInt64, UInt64)
    }

    /// Maps one operation's buffer as its driver would; returns the transport target (nil: no DMA issued).
    func map(_ op: DMAOperation, slot: Int, _ backend: inout SimulatedBackend) -> (MappingOutcome, TransportFlow.Target?, Unmap?) {
        let logBefore = backend.kernelLog.count
        var r = mapCalls(op, slot: slot, &backend)
        r.0.kernelLog = Array(backend.kernelLog[logBefore...])
        return r
    }

    func mapCalls(_ op: DMAOperation, slot: Int, _ backend: inout SimulatedBackend) -> (MappingOutcome, TransportFlow.Target?, Unmap?) {
        let fabric = backend.fabric
        let dev = fabric.name(op.requester)
        let size = UInt64(op.bufferBytes)
        // The device writes memory: DMA_FROM_DEVICE; it reads memory: DMA_TO_DEVICE.
        let direction: DMADirection = op.operation == .write ? .fromDevice : .toDevice
        let dirName = direction == .fromDevice ? "DMA_FROM_DEVICE" : "DMA_TO_DEVICE"
        var outcome = MappingOutcome(calls: [], dmaAddress: nil, mapType: nil, error: nil, kernelLog: [])
        let physicalOffset = UInt64(op.offset)
        switch op.target {
        case .hostMemory:
            guard let physical = hostMemory(slot: slot, size: size + physicalOffset) else {
                outcome.error = "no DRAM range of \(ByteSize.format(size)) outside the MMIO apertures for \(dev)'s buffer"
                outcome.calls.append("(no host buffer: \(outcome.error!))")
                return (outcome, nil, nil)
            }
            if op.mapping == .unmapped {
                outcome.calls.append("(no mapping: \(dev) is given physical address 0x\(hex(physical + physicalOffset, 1)))")
                outcome.dmaAddress = physical + physicalOffset
                return (outcome, .memory(physical + physicalOffset), nil)
            }
            var table = SGTable([ScatterlistEntry(physical: physical + UInt64(op.offset), length: size)])
            do {
                try backend.dmaMapSGTable(op.requester, &table, direction: direction)
            } catch {
                outcome.calls.append("dma_map_sgtable(\(dev), \(ByteSize.format(size)) of RAM, \(dirName)) = \(error.errno)")
                outcome.error = "\(error)"
                return (outcome, nil, nil)
            }
            let a = table.entries[0].dmaAddress ?? physical
            outcome.calls.append("dma_map_sgtable(\(dev), \(ByteSize.format(size)) of RAM at 0x\(hex(physical + UInt64(op.offset), 1)), \(dirName)) = 0: DMA address 0x\(hex(a, 1))")
            outcome.dmaAddress = a
            return (outcome, .memory(a), .sgtable(table, p2pmem: nil))
        case .peerBAR(let peer):
            guard let (bar, barBytes) = fabric.defaultTargetBAR(function: peer) else {
                outcome.error = "\(fabric.name(peer)) has no BAR to map"
                outcome.calls.append("dma_map_resource(\(dev), BAR of \(fabric.name(peer))): no BAR")
                return (outcome, nil, nil)
            }
            outcome.mapType = backend.pciP2PDMAMapType(provider: peer, client: op.requester).value
            let mapSize = min(size, barBytes)
            if op.mapping == .unmapped {
                outcome.calls.append("(no mapping: \(dev) is given bus address 0x\(hex(bar, 1)))")
                outcome.dmaAddress = bar
                return (outcome, .address(bar), nil)
            }
            do {
                let a = try backend.dmaMapResource(op.requester, physical: bar, size: mapSize, direction: direction)
                outcome.calls.append("dma_map_resource(\(dev), 0x\(hex(bar, 1)) (BAR of \(fabric.name(peer))), \(ByteSize.format(mapSize)), \(dirName)) = 0x\(hex(a, 1))")
                outcome.dmaAddress = a
                // An IOVA reaches the peer only after the root complex translates it; a bus address may route directly.
                return (outcome, .address(a), .resource(a, mapSize))
            } catch {
                outcome.calls.append("dma_map_resource(\(dev), 0x\(hex(bar, 1)), \(ByteSize.format(mapSize))) = DMA_MAPPING_ERROR (\(error.errno))")
                outcome.error = "\(error)"
                return (outcome, nil, nil)
            }
        case .p2pmem(let provider):
            let pname = fabric.name(provider)
            guard let mem = backend.pciAllocP2PMem(provider, size: size) else {
                outcome.calls.append("pci_alloc_p2pmem(\(pname), \(ByteSize.format(size))) = NULL")
                outcome.error = "\(pname) has no p2pmem (or not \(ByteSize.format(size)) free)"
                return (outcome, nil, nil)
            }
            outcome.calls.append("pci_alloc_p2pmem(\(pname), \(ByteSize.format(size))) = 0x\(hex(mem, 1))")
            outcome.mapType = backend.pciP2PDMAMapType(provider: provider, client: op.requester).value
            var table = SGTable([ScatterlistEntry(physical: mem, length: size)])
            do {
                try backend.dmaMapSGTable(op.requester, &table, direction: direction)
            } catch {
                outcome.calls.append("dma_map_sgtable(\(dev), p2pmem of \(pname), \(dirName)) = \(error.errno)")
                outcome.error = "\(error)"
                backend.pciFreeP2PMem(provider, address: mem, size: size)
                return (outcome, nil, nil)
            }
            let a = table.entries[0].dmaAddress ?? mem
            let kind = table.entries[0].isBusAddress ? "bus address" : "IOVA"
            outcome.calls.append("dma_map_sgtable(\(dev), p2pmem of \(pname), \(dirName)) = 0: \(kind) 0x\(hex(a, 1))")
            outcome.dmaAddress = a
            return (outcome, .address(a), .sgtable(table, p2pmem: (provider, mem)))
        }
    }
}

/// Results written by concurrent phases, read after they all finished.
final class ResultBox: @unchecked Sendable {
    private var results: [Result<PhaseResult, ScenarioError>?]
    private var value = 0
    private let lock = DispatchSemaphore(value: 1)
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<PhaseResult, ScenarioError>) {
        lock.wait(); results[i] = r; lock.signal()
    }
    func get(_ i: Int) -> Result<PhaseResult, ScenarioError>? {
        lock.wait(); defer { lock.signal() }; return results[i]
    }
    func increment() -> Int {
        lock.wait(); defer { lock.signal() }; value += 1; return value
    }
}
