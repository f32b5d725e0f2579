// The transport model plugged into the discrete-event engine: build once, run, read the result.

/// A TLP-level discrete-event simulation of DMA flows over a fabric.
///
/// Every path comes from ``Router`` (computed once per flow, for its requests, its completions and, with ATS, its
/// translation requests); the model adds time: link serialization with framing, Ack/UpdateFC DLLPs and SKP ordered
/// sets; credit-based flow control with finite receive buffers, so back-pressure propagates hop by hop;
/// cut-through switches with round-robin output arbitration; root complexes with memory latency, completion
/// splitting, P2P and DMA rate caps, inter-socket links; DMA engines with MPS/MRRS splitting, tags and issue-rate
/// caps; the IOMMU's IOTLB and page walks; a device ATC. docs/TRANSPORT.md describes it with its sources.
///
/// ```swift
/// let fabric = Fabric(try LoadedTopology.load(path: "topologies/gpu8-gen4-switches.xml"))
/// let gpu = fabric.enumeration.function(named: "gpu0")!
/// var sim = try TransportSimulation(fabric: fabric, flows: [
///     TransportFlow(requester: gpu, target: .memory(0x1_0000_0000), operation: .write, bytes: 64 << 20)])
/// let result = try sim.run()
/// print(result.flows[0].throughput)      // ≈ 26 GB/s on Gen4 x16, MPS 256
/// ```
///
/// State lives in arrays indexed by dense ids (link directions, queue slots, TLP slots reused through a free list,
/// flows, tags, servers, walkers); events are ``TransportEvent`` values; nothing is allocated per TLP once the
/// slot arrays have grown to the number of TLPs in flight, which credits bound. Runs are deterministic: the model
/// draws no random numbers (the seed is the engine's, for models that will).
public struct TransportSimulation {
    var model: TransportModel
    var engine: Simulator<TransportEvent>

    /// Builds the model, with `translator` as the IOMMU's mappings (the router's verdicts, and each page walk's).
    /// Throws every problem found at once: unknown or malformed `<param>`s, flows with bad requesters, targets or
    /// sizes, credits too small for one TLP.
    public init<Translator: AddressTranslator>(fabric: Fabric, flows: [TransportFlow],
                                               parameters: TransportParameters = TransportParameters(),
                                               translator: Translator, seed: UInt64 = 1) throws(TransportError) {
        try self.init(TransportFabricModel(fabric: fabric, parameters: parameters), flows: flows, translator: translator, seed: seed)
    }

    /// On a fabric model built once (see ``TransportFabricModel``): the same events, without rebuilding the links.
    public init<Translator: AddressTranslator>(_ base: TransportFabricModel, flows: [TransportFlow],
                                               translator: Translator, seed: UInt64 = 1) throws(TransportError) {
        model = try TransportModel.build(base, flows: flows, translator: translator)
        engine = Simulator<TransportEvent>(seed: seed)
        for (i, flow) in flows.enumerated() {
            do { try engine.schedule(.flowStart(Int32(i)), at: flow.start) } catch {
                throw TransportError(["flow \(i): start \(flow.start) ps is before the engine's clock"])
            }
        }
    }

    /// Runs until every flow completed, `deadline` (simulated picoseconds) or `maxEvents`; may be called again to
    /// continue.
    public mutating func run(until deadline: Picoseconds? = nil, maxEvents: Int? = nil) throws(SchedulingError) -> TransportResult {
        var m = TransportModel(parameters: model.parameters, translate: model.translate)
        swap(&m, &model)
        defer { swap(&m, &model) }
        if m.unfinishedFlows > 0 {
            try engine.run(until: deadline, maxEvents: maxEvents) { sim, event throws(SchedulingError) in
                try m.handle(event, &sim)
                if m.unfinishedFlows == 0 { sim.stop() }
            }
        }
        return m.result(endTime: engine.now, eventsHandled: engine.eventsHandled)
    }

    /// Events handled so far (a deterministic work counter for CI, unlike wall time).
    public var eventsHandled: Int { engine.eventsHandled }
}

extension TransportSimulation {
    /// With the IOMMU as the topology configures it (every DMA-domain address mapped 1:1).
    public init(fabric: Fabric, flows: [TransportFlow], parameters: TransportParameters = TransportParameters(),
                seed: UInt64 = 1) throws(TransportError) {
        try self.init(fabric: fabric, flows: flows, parameters: parameters, translator: ConfiguredTranslator(fabric), seed: seed)
    }
}

extension TransportModel {
    @inline(__always)
    mutating func handle(_ event: TransportEvent, _ sim: inout TransportEngine) throws(SchedulingError) {
        switch event {
        case .transmitted(let d): try transmitted(Int(d), &sim)
        case .arrive(let t): try advance(Int(t), &sim)
        case .flowControlTick(let d): try tick(Int(d), &sim)
        case .creditUpdate(let d): try applyCredits(Int(d), &sim)
        case .serverDone(let s): try serverDone(Int(s), &sim)
        case .walkDone(let w): try walkDone(Int(w), &sim)
        case .flowStart(let f): try issue(Int(f), &sim)
        case .issue(let f):
            flowState[Int(f)].issueScheduled = false
            try issue(Int(f), &sim)
        }
    }

    func result(endTime: Picoseconds, eventsHandled: Int) -> TransportResult {
        let seconds = Double(max(endTime, 1)) * 1e-12
        var linkResults: [TransportResult.LinkDirection] = []
        for d in links.indices {
            let stall = links[d].stallTime + (links[d].stallSince >= 0 ? endTime - links[d].stallSince : 0)
            let area = links[d].queueArea + Double(links[d].queued) * Double(endTime - links[d].queueChanged)
            let busy = Picoseconds(links[d].busyTime >> fineShift)
            linkResults.append(TransportResult.LinkDirection(
                name: linkName[d], function: linkFunction[d], isUpstream: d % 2 == 0,
                generation: linkGeneration[d], width: linkWidth[d], tlps: links[d].tlps, payloadBytes: links[d].payload,
                wireBytes: links[d].wire, dllps: links[d].dllps, skpOrderedSets: links[d].skps, busyTime: busy,
                creditStallTime: stall, utilization: min(1, Double(busy) / Double(max(endTime, 1))),
                meanQueueTLPs: area / Double(max(endTime, 1)), maxQueueTLPs: links[d].queueMax,
                payloadRate: DataRate(bytesPerSecond: Double(links[d].payload) / seconds)))
        }
        let run = Double(max(endTime, 1))
        let shared = serverName.indices.map { s in
            let busy = Picoseconds(serverBusyTime[s] >> fineShift)
            return TransportResult.SharedResource(name: serverName[s], busyTime: busy, utilization: min(1, Double(busy) / run),
                                                  payloadRate: DataRate(bytesPerSecond: Double(serverPayload[s]) / seconds))
        } + iommuName.indices.map { u in
            TransportResult.SharedResource(name: "\(iommuName[u]) page walkers", busyTime: iommuWalkTime[u],
                                           utilization: min(1, Double(iommuWalkTime[u]) / (run * Double(max(1, iommuWalkerCount[u])))),
                                           payloadRate: DataRate(bytesPerSecond: 0))
        }
        let flowResults = flows.indices.map { f in
            var r = TransportResult.Flow(flow: flows[f], bytes: flowState[f].delivered, requestTLPs: flowState[f].requestTLPs,
                                 blockedTLPs: flowState[f].blockedTLPs, blockedBytes: flowState[f].blockedBytes,
                                 completionTime: flowState[f].completion, firstDelivery: flowState[f].firstDelivery,
                                 lastDelivery: flowState[f].lastDelivery, firstDeliveryBytes: flowState[f].firstDeliveryBytes,
                                 latency: flowLatency[f], atcLookups: flowState[f].atcLookups, atcHits: flowState[f].atcHits,
                                 translationRequests: flowState[f].translationRequests)
            r.limitedBy = limitedBy(f, links: linkResults, shared: shared)
            return r
        }
        let counts = blockLocation.indices.filter { blockCount[$0] > 0 }.map {
            TransportResult.BlockCount(location: blockLocation[$0], reason: blockReason[$0], count: blockCount[$0])
        }
        let iommus = iommuName.indices.map { u in
            TransportResult.IOMMUStatistics(name: iommuName[u], lookups: iommuLookups[u],
                                            hits: iommuHits[u], walks: iommuWalks[u],
                                            faults: iommuFaults[u], maxWalksInFlight: iommuMaxInFlight[u])
        }
        return TransportResult(flows: flowResults, links: linkResults, blocked: blockedRecords, blockCounts: counts,
                               iommus: iommus, endTime: endTime, eventsHandled: eventsHandled,
                               peakTLPsInFlight: tlpPeak, isComplete: unfinishedFlows == 0, shared: shared)
    }

    /// A flow's limit in the TLP model: the busiest resource on its path when it ran at 90 % or more of the run, else
    /// the mechanism the flow waited on (its requester's tags, the engine's issue rate, its queue depth).
    func limitedBy(_ f: Int, links: [TransportResult.LinkDirection], shared: [TransportResult.SharedResource]) -> String? {
        guard flowState[f].delivered > 0 else { return nil }
        var best: (name: String, utilization: Double)? = nil
        var stalled: (name: String, fraction: Double)? = nil
        func consider(_ name: String, _ u: Double) { if u > (best?.utilization ?? 0) + 1e-9 { best = (name, u) } }
        var s = Int(flowConfig[f].requestStart)
        var jumped = false
        walk: while s < steps.count {
            let step = steps[s]
            switch step.kind {
            case .link:
                let d = Int(step.a)
                consider(links[d].name, links[d].utilization)
                // Credit stall as a share of the time the direction was busy or stalled.
                let stall = Double(links[d].creditStallTime)
                let share = stall / max(1, stall + Double(links[d].busyTime))
                if share > (stalled?.fraction ?? 0) { stalled = (links[d].name, share) }
            case .server: consider(shared[Int(step.a)].name, shared[Int(step.a)].utilization)
            case .translate: consider(shared[serverName.count + Int(step.a)].name, shared[serverName.count + Int(step.a)].utilization)
            case .complete:
                guard !jumped else { break walk }
                jumped = true
                s = Int(step.a)
                continue walk
            case .receive, .blocked: break walk
            case .accept where !flowConfig[f].isRead: break walk
            default: break
            }
            s += 1
        }
        if let best, best.utilization >= 0.9 { return best.name }
        // Held back by a full receiver downstream: the link it waits on, and that it is credits.
        if let stalled, stalled.fraction >= 0.5 { return "credits (\(stalled.name))" }
        let c = flowConfig[f]
        if flowState[f].paceWaits > 0 { return "DMA issue rate" }
        if c.isRead, c.queueDepth < engineTagLimit[c.requester] { return "queue depth \(c.queueDepth)" }
        if flowState[f].tagWaits > 0 { return "outstanding reads (\(engineTagLimit[c.requester]) in flight)" }
        return nil
    }
}
