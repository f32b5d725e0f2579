// Building the model from a fabric and a workload: link directions, credits, servers, IOMMUs, and each flow's
// paths, converted once from the router's hops.

/// Where a queue slot's TLPs come from: a link direction, a flow's DMA engine, a root complex's memory, a completer.
private enum IngressKey: Hashable {
    case link(Int)
    case flow(Int)
    case memory(Int)
    case completer(Int)
}

/// A physical link: the port above and the device's bus and device number (its functions share the link).
private struct DeviceKey: Hashable {
    var parent: Int
    var bus: UInt8
    var device: UInt8
}

private struct QueueSlotKey: Hashable {
    var direction: Int
    var ingress: IngressKey
}

/// What a path carries, which decides its terminal steps.
private enum PathRole {
    case write, read, completion, translationRequest
}

/// Build-time tables, dropped once the model is built.
struct TransportBuilder {
    let fabric: Fabric
    let global: TransportParameters
    var problems: [String] = []
    var rootComplexParameters: [TransportParameters] = []
    var functionParameters: [Int: TransportParameters] = [:]
    /// Per function: its link (index), or nil.
    var linkOfFunction: [Int?] = []
    var switchLatency: [Int: Picoseconds] = [:]
    var dmaServer: [Int?] = []
    /// Per endpoint function accepting peer writes at a limited rate: its server (endpoint.peerWriteIngress).
    var peerIngressServer: [Int: Int] = [:]
    /// Per root complex with a P2P cap: a server per root port the traffic leaves through (key: root port function),
    /// and one (key -1) for traffic that leaves toward another root complex or the root bus. The cap is per egress
    /// port: two GPUs sending to each other through one root complex get it each way (ROCmValidationSuite#427:
    /// bidirectional 1.7-1.8x unidirectional on Naples and Haswell), while three NVMe drives on three root ports
    /// writing into one GPU share it (NVIDIA forum t/55564: 7.1 GB/s for 3 drives on a Xeon E5 v4).
    var p2pServer: [[Int: Int]] = []
    var socketServer: [Int: Int] = [:]
    /// Per root complex whose P2P cap is shared by both directions: the server of the shared capacity.
    var p2pBothWaysServer: [Int?] = []
    /// Per socket link (lower << 16 | higher socket) whose directions share capacity: its shared server.
    var socketBothWaysServer: [Int: Int] = [:]
    /// Per switch chip: the server of its internal fabric's capacity (nil: not a bottleneck).
    var chipServer: [Int?] = []
    /// Per chip link direction (from << 16 | to): its rate server.
    var chipLinkServer: [Int: Int] = [:]
    var iommuOfRootComplex: [Int?] = []
    fileprivate var slots: [QueueSlotKey: Int] = [:]
    fileprivate var slotOrder: [QueueSlotKey] = []

    var e: Enumeration { fabric.enumeration }
    var t: Topology { fabric.topology }

    init(fabric: Fabric, parameters: TransportParameters) {
        self.fabric = fabric
        self.global = parameters
    }

    /// Parameters in force at a function: the root complex's, then each bridge's above it, then its own.
    mutating func parameters(_ f: Int) -> TransportParameters {
        if let p = functionParameters[f] { return p }
        let owner = e.functions[f].physicalFunction ?? f
        var p = rootComplexParameters[e.functions[f].rootComplex]
        for bridge in fabric.ancestors[owner].reversed() + [owner] {
            guard let d = e.functions[bridge].device else { continue }
            let (applied, found) = p.applying(t.devices[d].parameters, element: t.devices[d].name)
            p = applied
            if bridge == owner || functionParameters[bridge] == nil { problems += found }
        }
        // The device family's defaults fill what no <param> set (DeviceDefaults: derived from published measurements).
        if let d = e.functions[owner].device, let row = DeviceDefaults.row(for: t.devices[d].id) {
            if p.readIssueRate == nil { p.readIssueRate = row.readIssueRate }
            if p.writeIssueRate == nil { p.writeIssueRate = row.writeIssueRate }
            if p.peerWriteIngress == nil { p.peerWriteIngress = row.peerWriteIngress }
            if p.launchLatency == nil { p.launchLatency = row.launchLatency }
            // An `outstanding-reads` attribute (anything below the tag limit) or a param wins over the family's.
            if p.outstandingReads == nil, let n = row.outstandingReads, let ep = t.devices[d].endpoint,
               ep.dma.outstandingReads == DMAEngine.tagLimit(bits: ep.dma.tagBits) {
                p.outstandingReads = n
            }
        }
        functionParameters[f] = p
        return p
    }

    /// The switch a port belongs to (its upstream port's function), or nil.
    func switchOf(_ f: Int) -> Int? {
        switch e.functions[f].kind {
        case .switchUpstreamPort: f
        case .switchDownstreamPort: e.functions[f].upstreamBridge
        default: nil
        }
    }

    func sameDevice(_ a: Int, _ b: Int) -> Bool {
        let x = e.functions[a], y = e.functions[b]
        return x.upstreamBridge == y.upstreamBridge && x.bdf.bus == y.bdf.bus && x.bdf.device == y.bdf.device
    }
}

/// The fabric's part of the transport model (link directions with their credits, rate servers, IOMMUs), built once
/// for a fabric and its parameters and shared by every set of flows run on it: a workload's phases differ only in
/// their flows, and building the links was most of a flow-mode phase's cost.
public struct TransportFabricModel {
    let model: TransportModel
    let builder: TransportBuilder

    public init(fabric: Fabric, parameters: TransportParameters = TransportParameters()) {
        var model = TransportModel(parameters: parameters) { _, _, _ in .fault("no translator: the flows bring theirs") }
        var b = TransportBuilder(fabric: fabric, parameters: parameters)
        for rc in fabric.topology.rootComplexes {
            let (p, found) = parameters.applying(rc.parameters, element: rc.name)
            b.rootComplexParameters.append(p)
            b.problems += found
        }
        model.buildLinks(&b)
        model.buildServers(&b)
        model.buildIOMMUs(&b)
        self.model = model
        self.builder = b
    }
}

// Immutable once built; its model's placeholder translator captures nothing, and each build gives the copy its own.
extension TransportFabricModel: @unchecked Sendable {}

extension TransportModel {
    /// Builds the model; every problem found in the parameters, the topology and the workload is reported at once.
    static func build<Translator: AddressTranslator>(fabric: Fabric, flows: [TransportFlow], parameters: TransportParameters,
                                                     translator: Translator) throws(TransportError) -> TransportModel {
        try build(TransportFabricModel(fabric: fabric, parameters: parameters), flows: flows, translator: translator)
    }

    /// Adds `flows` to a copy of the fabric's part.
    static func build<Translator: AddressTranslator>(_ base: TransportFabricModel, flows: [TransportFlow],
                                                     translator: Translator) throws(TransportError) -> TransportModel {
        var model = base.model
        model.translate = { translator.translate(requester: $0, address: $1, isWrite: $2) }
        var b = base.builder
        for (i, flow) in flows.enumerated() { model.buildFlow(i, flow, translator: translator, &b) }
        model.finishQueues(&b)
        guard b.problems.isEmpty else { throw TransportError(b.problems) }
        return model
    }

    // MARK: Links

    mutating func buildLinks(_ b: inout TransportBuilder) {
        let e = b.e
        b.linkOfFunction = [Int?](repeating: nil, count: e.functions.count)
        var linkOfDevice: [DeviceKey: Int] = [:]     // one physical link per device: its lowest function owns it
        for f in e.functions.indices {
            guard e.links[f] != nil else { continue }
            let owner = e.functions[f].physicalFunction ?? f
            guard let parent = e.functions[owner].upstreamBridge else { continue }
            let key = DeviceKey(parent: parent, bus: e.functions[owner].bdf.bus, device: e.functions[owner].bdf.device)
            if let existing = linkOfDevice[key] { b.linkOfFunction[f] = existing; continue }
            let index = links.count / 2
            linkOfDevice[key] = index
            b.linkOfFunction[f] = index
            let trained = e.links[owner] ?? e.links[f]!
            for upstream in [true, false] {
                let receiver = upstream ? parent : owner
                addLinkDirection(owner: owner, parent: parent, upstream: upstream, trained: trained,
                                 receiver: receiver, &b)
            }
        }
    }

    private mutating func addLinkDirection(owner: Int, parent: Int, upstream: Bool, trained: TrainedLink,
                                           receiver: Int, _ b: inout TransportBuilder) {
        let e = b.e
        let p = b.parameters(receiver)
        let sender = b.parameters(upstream ? owner : parent)
        let d = links.count
        let gen = trained.generation
        let width = trained.width
        let mps = e.maxPayload[owner]
        linkName.append(upstream ? "\(b.fabric.name(owner)) -> \(b.fabric.name(parent))"
                                 : "\(b.fabric.name(parent)) -> \(b.fabric.name(owner))")
        linkFunction.append(owner)
        linkGeneration.append(gen)
        linkWidth.append(width)
        let byteTime = FineTime((1e12 / gen.rawDataRate(width: width).bytesPerSecond * Double(finePerPicosecond)).rounded())
        let symbolTime = gen.symbolTimePicoseconds * Double(finePerPicosecond)
        let interval = sender.ackInterval
            ?? LinkEfficiency.defaultAckInterval(generation: gen, width: width, maxPayloadSizeBytes: mps, widthExponent: sender.ackWidthExponent)
            ?? 1_000_000
        // SKP ordered sets: 4 symbol times every 1538 (reference §1.3); ignored in flit mode (§1.7 item 2).
        let flit = gen.usesFlitMode
        linkConfig.append(LinkConfig(
            byteTime: byteTime, framing: flit ? 0 : TLPWireFormat.nonFlitFramingBytes, latency: sender.linkLatency,
            ackInterval: interval, dllpTime: flit ? 0 : FineTime(LinkEfficiency.dllpWireBytes) * byteTime,
            chargeTarget: sender.dllpDirection == .data ? d : d ^ 1,
            skpInterval: flit ? 0 : FineTime((1538 * symbolTime).rounded()),
            skpTime: flit ? 0 : FineTime((4 * symbolTime).rounded())))
        var state = LinkState()
        state.nextSKP = flit ? .max : FineTime((1538 * symbolTime).rounded())
        links.append(state)
        // Receiver's credits (PCIe Base §2.6.1).
        let rate = gen.rawDataRate(width: width).bytesPerSecond
        let derivedData = max(Int((rate * Double(p.creditBufferTime) * 1e-12 / 16).rounded(.up)), 4 * mps / 16)
        let derivedHeader = max((derivedData + 4) / 5, 4)
        let kind = e.functions[receiver].kind
        let infiniteCompletions = kind == .rootPort || kind == .endpoint
        func limit(_ override: Int?, _ derived: Int) -> Int {
            guard let override else { return derived }
            return override == 0 ? -1 : override
        }
        let classes: [(Int, Int)] = [
            (limit(p.postedHeaderCredits, derivedHeader), limit(p.postedDataCredits, derivedData)),
            (limit(p.nonPostedHeaderCredits, (derivedHeader * 9 + 7) / 8), limit(p.nonPostedDataCredits, 4)),
            infiniteCompletions ? (-1, -1)
                : (limit(p.completionHeaderCredits, derivedHeader), limit(p.completionDataCredits, derivedData)),
        ]
        for (c, (h, dt)) in classes.enumerated() {
            if c != CreditClass.nonPosted.rawValue, dt >= 0, dt < mps / 16 {
                b.problems.append("'\(b.fabric.name(receiver))': \(dt) data credits cannot hold one \(mps)-byte TLP (PCIe Base §2.6.1 minimum: MPS/16)")
            }
            credits.append(CreditState(limitHeader: h, limitData: dt, header: h, data: dt))
        }
    }

    func upDirection(_ f: Int, _ b: TransportBuilder) -> Int? { b.linkOfFunction[f].map { 2 * $0 } }
    func downDirection(_ f: Int, _ b: TransportBuilder) -> Int? { b.linkOfFunction[f].map { 2 * $0 + 1 } }

    // MARK: Rate servers and IOMMUs

    mutating func buildServers(_ b: inout TransportBuilder) {
        let t = b.t
        for (r, rc) in t.rootComplexes.enumerated() {
            let p = b.rootComplexParameters[r]
            b.dmaServer.append(t.rootComplexDMACap(r, parameters: p).map { addServer("\(rc.name) dma-cap", $0.rate, chargesReads: true) })
            var servers: [Int: Int] = [:]
            let cap = t.rootComplexP2PRateCap(r, parameters: p)
            b.p2pBothWaysServer.append(cap?.bothWays.map { addServer("\(rc.name) p2p both directions", $0, chargesReads: false) })
            if let cap {
                servers[-1] = addServer("\(rc.name) p2p-rate-cap", cap.rate, chargesReads: false)
                for f in b.e.functions.indices where b.e.functions[f].kind == .rootPort && b.e.functions[f].rootComplex == r {
                    servers[f] = addServer("\(rc.name) p2p-rate-cap to \(b.fabric.name(f))", cap.rate, chargesReads: false)
                }
            }
            b.p2pServer.append(servers)
        }
        for link in t.socketLinks {
            for (from, to) in [(link.a, link.b), (link.b, link.a)] {
                // A link with no bandwidth and no platform default is an error only for a flow that crosses it.
                guard let rate = t.socketLinkBandwidth(from: from, to: to) else { continue }
                b.socketServer[from << 16 | to] = addServer("socket\(from) -> socket\(to)", rate.rate, chargesReads: false)
                let key = min(from, to) << 16 | max(from, to)
                if let both = rate.bothWays, b.socketBothWaysServer[key] == nil {
                    b.socketBothWaysServer[key] = addServer("socket\(min(from, to)) <-> socket\(max(from, to))", both, chargesReads: false)
                }
            }
        }
        for f in b.e.functions.indices where b.e.functions[f].kind == .endpoint {
            guard let rate = b.parameters(f).peerWriteIngress else { continue }
            b.peerIngressServer[f] = addServer("\(b.fabric.name(f)) peer write ingress", rate, chargesReads: false)
        }
        b.chipServer = t.switchChips.map { chip in chip.bandwidth.map { addServer("chip \(chip.name) fabric", $0, chargesReads: false) } }
        for link in t.chipLinks {
            guard let a = t.switchChips.firstIndex(where: { $0.name == link.a }),
                  let c = t.switchChips.firstIndex(where: { $0.name == link.b }) else { continue }
            // A chip-to-chip link is a PCIe link between two fabric ports; its TLPs are not simulated one by one, so
            // it is a rate server at the payload rate of MPS-256 posted writes under the width-scaled DLLP accounting
            // (reference §1.5, §1.7): B_TLP × 256 / (256 + 24).
            let tlp = LinkEfficiency.tlpDataRate(generation: link.generation, width: link.width, maxPayloadSizeBytes: 256,
                                                 accounting: .widthScaled)?.bytesPerSecond
                ?? link.generation.rawDataRate(width: link.width).bytesPerSecond
            let payload = DataRate(bytesPerSecond: tlp * 256 / Double(256 + TLPWireFormat.nonFlitFramingBytes + 16))
            for (from, to) in [(a, c), (c, a)] {
                b.chipLinkServer[from << 16 | to] = addServer("chip \(t.switchChips[from].name) -> chip \(t.switchChips[to].name)", payload, chargesReads: false)
            }
        }
    }

    private mutating func addServer(_ name: String, _ rate: DataRate, chargesReads: Bool) -> Int {
        serverName.append(name)
        serverByteTime.append(FineTime((1e12 / rate.bytesPerSecond * Double(finePerPicosecond)).rounded()))
        serverChargesReads.append(chargesReads)
        serverFreeAt.append(0)
        serverBusyTime.append(0)
        serverPayload.append(0)
        serverBusy.append(false)
        serverHead.append(-1)
        serverTail.append(-1)
        return serverName.count - 1
    }

    mutating func buildIOMMUs(_ b: inout TransportBuilder) {
        let t = b.t
        var unitIndex: [String: Int] = [:]
        for unit in t.iommus where unit.kind != .none && (unit.mode == .dma || unit.mode == .dmaFQ) {
            let u = iommuName.count
            unitIndex[unit.name] = u
            iommuName.append(unit.name)
            let ways = max(1, min(unit.iotlbWays, unit.iotlbEntries))
            let sets = max(1, unit.iotlbEntries / ways)
            if unit.iotlbEntries % ways != 0 {
                b.problems.append("IOMMU '\(unit.name)': iotlb-entries \(unit.iotlbEntries) is not a multiple of iotlb-ways \(ways)")
            }
            iommuSets.append(sets)
            iommuWays.append(ways)
            iommuWalkLevels.append(unit.walkLevels)
            let walk = t.iommuWalk(unit)
            iommuWalkLatency.append(walk.latencyPerLevel)
            iotlbBase.append(iotlbKeys.count)
            iotlbKeys += [UInt64](repeating: .max, count: sets * ways)
            iotlbStamps += [Int64](repeating: 0, count: sets * ways)
            iommuWalkerBase.append(walkerUnit.count)
            iommuWalkerCount.append(max(1, walk.walkers))
            for _ in 0..<max(1, walk.walkers) {
                walkerUnit.append(u)
                walkerKey.append(.max)
                walkerAddress.append(0)
                walkerRequester.append(0)
                walkerIsWrite.append(false)
                walkerBusy.append(false)
                walkerFault.append(-1)
            }
            iommuWaitHead.append(-1)
            iommuWaitTail.append(-1)
            iommuFlows.append([])
            iommuLookups.append(0)
            iommuHits.append(0)
            iommuWalks.append(0)
            iommuFaults.append(0)
            iommuInFlight.append(0)
            iommuMaxInFlight.append(0)
            iommuWalkTime.append(0)
            iommuLocation.append(.rootComplex(t.rootComplexes.firstIndex { $0.iommu == unit.name } ?? 0))
        }
        b.iommuOfRootComplex = t.rootComplexes.map { rc in rc.iommu.flatMap { unitIndex[$0] } }
    }

    // MARK: Flows

    mutating func buildFlow<Translator: AddressTranslator>(_ i: Int, _ flow: TransportFlow, translator: Translator,
                                                           _ b: inout TransportBuilder) {
        let e = b.e
        let fabric = b.fabric
        let name = "flow \(i)"
        guard e.functions.indices.contains(flow.requester) else {
            b.problems.append("\(name): requester \(flow.requester) is not a function of the topology")
            return
        }
        let requester = flow.requester
        let p = b.parameters(requester)
        var ok = true
        func problem(_ text: String) { b.problems.append("\(name) (\(fabric.name(requester))): " + text); ok = false }
        if flow.bytes <= 0 { problem("bytes must be positive") }
        if flow.start < 0 { problem("start must not be negative") }
        if let ws = flow.workingSetBytes, ws <= 0 || ws % 4096 != 0 { problem("working set \(ws) is not a positive multiple of 4 KiB") }
        if flow.mappingPageBytes < 4096 || flow.mappingPageBytes & (flow.mappingPageBytes - 1) != 0 {
            problem("mapping page size \(flow.mappingPageBytes) is not a power of two of at least 4 KiB")
        }
        if let q = flow.queueDepth, q <= 0 { problem("queue depth must be positive") }
        if b.linkOfFunction[requester] == nil {
            problem("the requester has no PCIe link to the port above (root-bus and conventional PCI requesters are not modelled)")
        }
        let ats = flow.usesATS
        if ats, e.functions[requester].device.flatMap({ b.t.devices[$0].endpoint?.supportsATS }) != true,
           e.functions[requester].physicalFunction.flatMap({ b.t.devices[$0].endpoint?.supportsATS }) != true {
            problem("uses ATS but the requester has no ATS capability")
        }
        let base: UInt64
        var completer: Int? = nil
        switch flow.target {
        case .memory(let a), .address(let a): base = a
        case .peer(let f, let bar, let offset):
            guard e.functions.indices.contains(f) else { problem("peer \(f) is not a function of the topology"); return }
            guard let a = bar.map({ fabric.barAddress(function: f, index: $0) }) ?? fabric.defaultTargetAddress(function: f) else {
                problem("peer '\(fabric.name(f))' has no such BAR")
                return
            }
            base = a + offset
            completer = f
        }
        guard ok else { return }

        let isRead = flow.operation == .read
        let kind: TLPKind = isRead ? .memoryRead : .memoryWrite
        let request = TLPRequest(kind: kind, requester: requester, address: base,
                                 addressType: ats ? .translated : .untranslated, relaxedOrdering: flow.relaxedOrdering)
        let route = Router(fabric).route(request, translator: translator)
        if case .delivered(.function(let f)) = route.outcome { completer = f }
        let rootComplex = e.functions[requester].rootComplex
        let completerParameters = completer.map { b.parameters($0) } ?? b.rootComplexParameters[rootComplex]

        // Completions first, so the request path knows where they start.
        var completionStart: Int32 = -1
        if isRead, route.isDelivered, !route.completionHops.isEmpty {
            let source: IngressKey = completer.map { .completer($0) } ?? .memory(rootComplex)
            completionStart = appendPath(route.completionHops, role: .completion, flow: i, source: source,
                                         completionStart: -1, &b)
        }
        if isRead, route.isDelivered, completionStart < 0 {
            problem("the router gives the read no completion route")
        }
        let requestStart = appendPath(route.hops, role: isRead ? .read : .write, flow: i, source: .flow(i),
                                      completionStart: completionStart, &b)
        var atsStart: Int32 = -1
        if ats {
            let translation = TLPRequest(kind: .memoryRead, requester: requester, address: base,
                                         addressType: .translationRequest)
            let atsRoute = Router(fabric).route(translation, translator: translator)
            var atsCompletion: Int32 = -1
            if atsRoute.isDelivered, !atsRoute.completionHops.isEmpty {
                atsCompletion = appendPath(atsRoute.completionHops, role: .completion, flow: i,
                                           source: .memory(rootComplex), completionStart: -1, &b)
            }
            atsStart = appendPath(atsRoute.hops, role: .translationRequest, flow: i, source: .flow(i),
                                  completionStart: atsCompletion, &b)
        }

        let maxRequest = isRead ? e.maxReadRequest[requester] : e.maxPayload[requester]
        let completionMPS = min(e.maxPayload[requester], completer.map { e.maxPayload[$0] } ?? e.maxPayload[requester])
        let rcb = completer.map { e.readCompletionBoundary[$0] }
            ?? fabric.rootPort[requester].map { e.readCompletionBoundary[$0] } ?? 64
        let addressing = TLPAddressing.required(for: base)
        let format = TLPWireFormat(addressing: addressing, hasECRC: p.ecrc)

        flows.append(flow)
        flowConfig.append(FlowConfig(
            requester: requester, bytes: flow.bytes, start: flow.start, base: base,
            workingSet: flow.workingSetBytes.map { UInt64($0) } ?? .max, isRead: isRead, maxRequest: maxRequest,
            completionMPS: completionMPS, rcb: rcb, completionSize: completerParameters.completionSize,
            header: Int32(format.headerBytes(kind) + format.digestBytes),
            completionHeader: Int32(format.headerBytes(.completionWithData) + format.digestBytes),
            atsHeader: Int32(TLPWireFormat(addressing: .bits64, hasECRC: p.ecrc).headerBytes(.memoryRead) + format.digestBytes),
            requestStart: requestStart, atsRequestStart: atsStart, queueDepth: flow.queueDepth ?? .max,
            pageBytes: UInt64(flow.mappingPageBytes), pageShift: flow.mappingPageBytes.trailingZeroBitCount,
            usesATS: ats))
        flowState.append(FlowState())
        flowLatency.append(LatencyHistogram())
        unfinishedFlows += 1

        // The requester's DMA engine.
        if engineTagLimit.isEmpty {
            let n = e.functions.count
            engineTagLimit = [Int](repeating: 0, count: n)
            engineTagsInUse = [Int](repeating: 0, count: n)
            engineIssueInterval = [FineTime](repeating: 0, count: n)
            engineNextIssue = [FineTime](repeating: 0, count: n)
            engineFlows = [[Int32]](repeating: [], count: n)
            engineWaiters = [Int](repeating: 0, count: n)
            atcBase = [Int](repeating: -1, count: n)
            atcEntries = [Int](repeating: 0, count: n)
        }
        let pf = e.functions[requester].physicalFunction ?? requester
        let dma = e.functions[pf].device.flatMap { b.t.devices[$0].endpoint?.dma } ?? DMAEngine()
        engineTagLimit[requester] = min(p.outstandingReads ?? dma.outstandingReads, DMAEngine.tagLimit(bits: dma.tagBits))
        if let rate = p.issueRate ?? dma.maxIssueRate, rate > 0 {
            engineIssueInterval[requester] = FineTime((1e12 / rate * Double(finePerPicosecond)).rounded())
        }
        engineFlows[requester].append(Int32(i))
        for text in configureDMAEngine(flow: i, requester: requester, parameters: p) { problem(text) }  // TransportModel+DMA
        if ats, atcBase[requester] < 0 {
            atcBase[requester] = atcKeys.count
            atcEntries[requester] = p.atcEntries
            atcKeys += [UInt64](repeating: .max, count: p.atcEntries)
            atcStamps += [Int64](repeating: 0, count: p.atcEntries)
        }
    }

    /// Converts a route's hops into steps; returns the index of the path's first step.
    private mutating func appendPath(_ hops: [Hop], role: PathRole, flow: Int, source: IngressKey,
                                     completionStart: Int32, _ b: inout TransportBuilder) -> Int32 {
        let e = b.e
        let start = Int32(steps.count)
        guard let first = hops.first else { return start }
        var position = first.location
        let startsAtFunction = if case .function = first.location { true } else { false }
        var ingress = source
        var arrivedAtSwitch: Int? = nil
        var p2pCharged = false
        /// The root complex whose P2P cap applies once the egress port is known.
        var pendingP2PCap: Int? = nil
        /// Root complexes whose shared (both-directions) P2P capacity this path has been charged.
        var bothWaysCharged: [Int] = []
        func emitP2P(_ r: Int, _ b: inout TransportBuilder) {
            guard !p2pCharged else { return }
            p2pCharged = true
            bothWaysCharged.append(r)
            if !b.p2pServer[r].isEmpty { pendingP2PCap = r }
            let rc = b.t.rootComplexes[r]
            let latency = b.rootComplexParameters[r].p2pLatency ?? rc.p2pLatency ?? 150_000
            if latency > 0 { steps.append(Step(kind: .delay, latency: latency)) }
        }
        for hop in hops.dropFirst() {
            switch hop.location {
            case .function(let f):
                if case .function(let current) = position, current != f {
                    var direction: Int? = nil
                    if e.functions[current].upstreamBridge == f {
                        direction = upDirection(current, b)
                    } else if e.functions[f].upstreamBridge == current {
                        direction = downDirection(f, b)
                    } else if !b.sameDevice(current, f) {
                        b.problems.append("flow \(flow): route step \(b.fabric.name(current)) -> \(b.fabric.name(f)) is not between neighbours")
                    }
                    if let d = direction {
                        if let s = arrivedAtSwitch, b.switchOf(current) == s {
                            steps.append(Step(kind: .cutThrough, latency: switchLatency(s, &b)))
                        }
                        let key = QueueSlotKey(direction: d, ingress: ingress)
                        let slot: Int
                        if let existing = b.slots[key] { slot = existing } else {
                            slot = linkConfig[d].queueSlots
                            linkConfig[d].queueSlots += 1
                            b.slots[key] = slot
                            b.slotOrder.append(key)
                        }
                        steps.append(Step(kind: .link, a: Int32(d), b: Int32(slot)))
                        ingress = .link(d)
                        arrivedAtSwitch = b.switchOf(f)
                    }
                }
            case .rootComplex, .socketLink, .switchChip, .chipLink:
                break
            }
            let previous = position
            position = hop.location
            if let r = pendingP2PCap {
                switch hop.location {
                case .function(let f):
                    let port = b.e.functions[f].kind == .rootPort && b.e.functions[f].rootComplex == r ? f : -1
                    if let s = b.p2pServer[r][port] ?? b.p2pServer[r][-1] { steps.append(Step(kind: .server, a: Int32(s))) }
                    if let s = b.p2pBothWaysServer[r] { steps.append(Step(kind: .server, a: Int32(s))) }
                    pendingP2PCap = nil
                case .socketLink, .switchChip, .chipLink:
                    if let s = b.p2pServer[r][-1] { steps.append(Step(kind: .server, a: Int32(s))) }
                    if let s = b.p2pBothWaysServer[r] { steps.append(Step(kind: .server, a: Int32(s))) }
                    pendingP2PCap = nil
                case .rootComplex:
                    break
                }
            }
            switch (hop.location, hop.action) {
            case (.socketLink(let from, let to), _):
                if let s = b.socketBothWaysServer[min(from, to) << 16 | max(from, to)] { steps.append(Step(kind: .server, a: Int32(s))) }
                if let s = b.socketServer[from << 16 | to] { steps.append(Step(kind: .server, a: Int32(s))) } else {
                    b.problems.append("flow \(flow): crosses socket-link \(from)-\(to), which gives no bandwidth, and socket \(from)'s CPU has no published cross-socket P2P figure (docs/FIDELITY.md lists the platforms); give bandwidth=\"...\"")
                }
                let latency = b.t.socketLinks.first { ($0.a, $0.b) == (from, to) || ($0.a, $0.b) == (to, from) }?.latency ?? 0
                if latency > 0 { steps.append(Step(kind: .delay, latency: latency)) }
            case (.switchChip(let c), .chipForward):
                // Cross-partition switching inside the chip: its capacity, and its latency in place of the cut-through
                // of the partitions' own port-to-port paths.
                if let s = b.chipServer[c] { steps.append(Step(kind: .server, a: Int32(s))) }
                let latency = chipLatency(c, from: previous, &b)
                if latency > 0 { steps.append(Step(kind: .delay, latency: latency)) }
                arrivedAtSwitch = nil
            case (.chipLink(let from, let to), _):
                if let s = b.chipLinkServer[from << 16 | to] { steps.append(Step(kind: .server, a: Int32(s))) }
                let latency = b.t.chipLinks.first { l in
                    let names = [b.t.switchChips[from].name, b.t.switchChips[to].name]
                    return [l.a, l.b] == names || [l.b, l.a] == names
                }?.latency ?? 0
                if latency > 0 { steps.append(Step(kind: .delay, latency: latency)) }
            case (.rootComplex(let r), .translate(.translated)):
                if let u = b.iommuOfRootComplex[r] { steps.append(Step(kind: .translate, a: Int32(u))); addIOMMUFlow(u, flow) }
            case (.rootComplex(let r), .rootComplexForward):
                emitP2P(r, &b)
            case (.rootComplex(let r), .routeDown) where role == .completion && startsAtFunction:
                emitP2P(r, &b)
            case (.rootComplex(let r), .routeDown) where p2pCharged && !bothWaysCharged.contains(r):
                // Peer-to-peer between root complexes (dies) of one socket: the shared capacity of the complex it
                // leaves by is used too, so the two directions between the pair share both.
                bothWaysCharged.append(r)
                if let s = b.p2pBothWaysServer[r] { steps.append(Step(kind: .server, a: Int32(s))) }
            case (.rootComplex(let r), .deliver):
                switch role {
                case .write, .read:
                    if let s = b.dmaServer[r] { steps.append(Step(kind: .server, a: Int32(s))) }
                    steps.append(Step(kind: .accept))
                    if role == .read {
                        let latency = b.t.memoryLatency(r, parameters: b.rootComplexParameters[r]).latency
                        if latency > 0 { steps.append(Step(kind: .delay, latency: latency)) }
                        steps.append(Step(kind: .complete, a: completionStart))
                    }
                case .translationRequest:
                    if let u = b.iommuOfRootComplex[r] { steps.append(Step(kind: .translate, a: Int32(u))); addIOMMUFlow(u, flow) }
                    steps.append(Step(kind: .accept))
                    steps.append(Step(kind: .complete, a: completionStart))
                case .completion:
                    steps.append(Step(kind: .receive))
                }
            case (.function(let f), .deliver):
                switch role {
                case .write:
                    if let s = b.peerIngressServer[f] { steps.append(Step(kind: .server, a: Int32(s))) }
                    steps.append(Step(kind: .accept))
                case .read, .translationRequest:
                    steps.append(Step(kind: .accept))
                    let latency = b.parameters(f).completerLatency
                    if latency > 0 { steps.append(Step(kind: .delay, latency: latency)) }
                    steps.append(Step(kind: .complete, a: completionStart))
                case .completion:
                    steps.append(Step(kind: .receive))
                }
            case (let location, .blocked(let reason)):
                steps.append(Step(kind: .blocked, a: Int32(blockPoint(location, reason))))
            default:
                break
            }
        }
        let terminal: Step.Kind = switch role {
        case .write: .accept
        case .read, .translationRequest: .complete
        case .completion: .receive
        }
        if start == Int32(steps.count) || (steps.last!.kind != terminal && steps.last!.kind != .blocked) {
            b.problems.append("flow \(flow): the router's route does not end at a destination")
        }
        return start
    }

    private mutating func addIOMMUFlow(_ u: Int, _ flow: Int) {
        if !iommuFlows[u].contains(Int32(flow)) { iommuFlows[u].append(Int32(flow)) }
    }

    /// Cut-through latency of a switch: `switch.latency`, the switch's `latency`, or the reference §4 figure for
    /// the generation of its upstream link.
    private func switchLatency(_ s: Int, _ b: inout TransportBuilder) -> Picoseconds {
        if let cached = b.switchLatency[s] { return cached }
        let e = b.e
        let fromAttribute = e.functions[s].device.flatMap { b.t.devices[$0].switchInfo?.latency }
        let generation = e.links[s]?.generation ?? b.t.rootComplexes[e.functions[s].rootComplex].defaultLink.generation
        let byGeneration: Picoseconds = switch generation {
        case .gen1, .gen2, .gen3: 150_000
        case .gen4: 105_000
        case .gen5, .gen6: 115_000
        }
        let latency = b.parameters(s).switchLatency ?? fromAttribute ?? byGeneration
        b.switchLatency[s] = latency
        return latency
    }

    /// Latency across a fabric-mode chip between partitions: the chip's `latency`, else the cut-through latency of
    /// the partition the TLP arrived from (the same chip silicon switches it).
    private func chipLatency(_ c: Int, from position: HopLocation, _ b: inout TransportBuilder) -> Picoseconds {
        if let l = b.t.switchChips[c].latency { return l }
        if case .function(let usp) = position { return switchLatency(usp, &b) }
        return 115_000
    }

    mutating func blockPoint(_ location: HopLocation, _ reason: BlockReason) -> Int {
        for i in blockLocation.indices where blockLocation[i] == location && blockReason[i] == reason { return i }
        blockLocation.append(location)
        blockReason.append(reason)
        blockCount.append(0)
        return blockLocation.count - 1
    }

    /// Lays the queue slots out: each direction's slots are contiguous; link steps get absolute queue indices.
    mutating func finishQueues(_ b: inout TransportBuilder) {
        var base = 0
        for d in linkConfig.indices {
            linkConfig[d].queueBase = base
            base += linkConfig[d].queueSlots
        }
        queues = [QueueFIFO](repeating: QueueFIFO(), count: base * 3)
        queueOwnerFlow = [Int32](repeating: -1, count: base)
        for key in b.slotOrder {
            if case .flow(let f) = key.ingress, let slot = b.slots[key] {
                queueOwnerFlow[linkConfig[key.direction].queueBase + slot] = Int32(f)
            }
        }
        for i in steps.indices where steps[i].kind == .link {
            steps[i].b = Int32(linkConfig[Int(steps[i].a)].queueBase) + steps[i].b
        }
    }
}
