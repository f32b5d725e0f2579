// The flow-level fast mode: steady-state rates by max-min fair sharing (progressive filling) of every capacity on
// each flow's path, recomputed whenever a flow starts or ends. Paths, TLP sizes, link rates, DLLP and SKP overhead,
// server caps, IOMMU walkers, tags and queue depths all come from the TLP model's own build (one router, one set of
// parameters), so the two modes cannot disagree about the machine, only about the dynamics.
//
// Max-min fairness by progressive filling: Bertsekas & Gallager, "Data Networks" (2nd ed.), §6.5.2. Little's law for
// the outstanding-request cap (rate ≤ tags × request size / round trip): the same bound pcie-bench's latency
// model uses (reference §1.5).

/// Why the flow model's answer for a flow may be off, so that `auto` mode runs it at TLP level instead.
public enum FlowModelLimit: String, Sendable, Hashable, CaseIterable {
    /// The transfer is too short for steady state: start-up latency is more than 2 % of its time.
    case shortTransfer = "short transfer"
    /// A read whose rate is set (or nearly set) by its tags or queue depth over a round trip that queueing
    /// lengthens under load.
    case outstandingRequests = "outstanding-request bound"
    /// The IOMMU's page walkers are busy more than 80 % of the time, or the working set thrashes the IOTLB.
    case translation = "IOTLB/page-walk bound"
    /// A receive buffer's credits cannot cover its link's credit loop: flow control, not the wire, sets the rate.
    case credits = "credit starvation"
    /// A saturated output port arbitrates round-robin between ingress ports that carry unequal numbers of flows, or
    /// between TLPs of different sizes: TLP arbitration is per port and per TLP, not per flow and byte.
    case arbitration = "unequal ingress arbitration"
    /// ATS translation requests and the device's ATC (per-page stalls the fluid model does not track).
    case ats = "ATS/ATC"
    /// The flow shares a receive buffer with a flow whose bottleneck lies further on: once that flow's backlog
    /// fills the buffer, credits block both (one virtual channel, PCIe Base §2.6.1), so shares are not max-min.
    case headOfLine = "head-of-line blocking"
    /// Some pages of the buffer translate and others fault: part of the flow is blocked, part delivered.
    case partialMapping = "part of the buffer faults"
    /// Per-DMA transfers (a transfer size, sequential or random offsets in a window, write DMAs in flight) or a
    /// per-direction issue rate: the TLP mix, fences and pacing per DMA are not modelled by rates.
    case dmaShape = "per-DMA transfers or per-direction issue rate"
}

/// What the flow model answered: a transport result (rates, completion times, link use; no latency
/// distributions) and, per flow, what may make it inaccurate.
public struct FlowSimulationResult: Sendable {
    public var transport: TransportResult
    /// Per flow: empty when the flow model claims its throughput to within 3 % of the TLP model.
    public var limits: [[FlowModelLimit]]
    /// Per flow: the resource that froze its rate last (`gpu0 -> sw0.dp0`, `rc0 p2p-rate-cap`, `tags of nic0`).
    public var bottleneck: [String]
    /// Rate recomputations (one per start or end of a set of flows).
    public var solves: Int
    public var isCovered: Bool { limits.allSatisfy(\.isEmpty) }
}

/// Flow-level counterpart of ``TransportSimulation``: the same inputs, steady-state answers in microseconds.
public struct FlowSimulation {
    var model: TransportModel

    public init<Translator: AddressTranslator>(fabric: Fabric, flows: [TransportFlow],
                                               parameters: TransportParameters = TransportParameters(),
                                               translator: Translator) throws(TransportError) {
        model = try TransportModel.build(fabric: fabric, flows: flows, parameters: parameters, translator: translator)
    }

    /// On a fabric model built once (see ``TransportFabricModel``): the same answers, without rebuilding the links.
    public init<Translator: AddressTranslator>(_ base: TransportFabricModel, flows: [TransportFlow],
                                               translator: Translator) throws(TransportError) {
        model = try TransportModel.build(base, flows: flows, translator: translator)
    }

    public init(fabric: Fabric, flows: [TransportFlow], parameters: TransportParameters = TransportParameters()) throws(TransportError) {
        try self.init(fabric: fabric, flows: flows, parameters: parameters, translator: ConfiguredTranslator(fabric))
    }

    public func run() -> FlowSimulationResult {
        var solver = FlowSolver(model)
        return solver.solve()
    }
}

/// One flow's use of one resource: `coefficient` units of the resource's capacity per payload byte per second.
struct ResourceUse {
    var resource: Int32
    var coefficient: Double
}

struct FlowSolver {
    let m: TransportModel
    let linkCount: Int
    let serverBase: Int
    let iommuBase: Int
    let engineBase: Int
    let tagBase: Int
    var resourceCount: Int
    var capacity: [Double]
    /// Per flow: resources with coefficients (seconds of capacity per payload byte), contiguous.
    var useStart: [Int] = []
    var uses: [ResourceUse] = []
    /// Per flow: a rate cap of its own (queue depth over the round trip), bytes/s.
    var ownCap: [Double] = []
    var latency: [Double] = []
    var blocked: [Bool] = []
    var limits: [[FlowModelLimit]] = []
    /// Per flow and link direction it uses: the queue slot (for the arbitration check), as (direction, slot).
    var slotsOfFlow: [[(Int, Int)]] = []
    /// Per flow and link direction: the payload of its TLPs there (0 for read requests).
    var tlpSizeOfFlow: [[(Int, Double)]] = []
    /// Per flow: its link directions and servers in path order.
    var linksInOrder: [[Int]] = []
    /// Per flow: payload bytes per byte moved on each link it carries data on (1 for data paths, 0 for requests).
    var dataLinks: [[Int]] = []
    var wirePerByte: [[(Int, Double)]] = []
    var tlpsPerByte: [Double] = []
    var roundTrip: [Double] = []
    var outstandingCap: [Double] = []

    static let picosecond = 1e-12
    static func seconds(fine t: FineTime) -> Double { Double(t) / Double(finePerPicosecond) * 1e-12 }

    init(_ model: TransportModel) {
        m = model
        linkCount = model.linkConfig.count
        serverBase = linkCount
        iommuBase = serverBase + model.serverName.count
        engineBase = iommuBase + model.iommuName.count
        let functions = model.engineTagLimit.count
        tagBase = engineBase + functions
        resourceCount = tagBase + functions
        capacity = [Double](repeating: 1, count: resourceCount)
        buildFlows()
    }

    /// A resource's name, for the bottleneck column (built only for the resources that are one).
    func resourceName(_ r: Int) -> String {
        switch r {
        case ..<serverBase: m.linkName[r]
        case ..<iommuBase: m.serverName[r - serverBase]
        case ..<engineBase: "\(m.iommuName[r - iommuBase]) page walkers"
        case ..<tagBase: "DMA issue rate"
        default: "outstanding reads (\(m.engineTagLimit[r - tagBase]) in flight)"
        }
    }

    // MARK: Paths to resource uses

    mutating func buildFlows() {
        let flowCount = m.flowConfig.count
        var activeDirection = [Bool](repeating: false, count: linkCount)
        for f in 0..<flowCount {
            useStart.append(uses.count)
            var p = PathAccumulator()
            let c = m.flowConfig[f]
            let region = min(c.bytes, c.workingSet == .max ? c.bytes : Int(c.workingSet), 1 << 20)
            let requests = Double(c.isRead
                ? TLPWireSplit.memoryReadRequests(address: c.base, lengthBytes: region, maxReadRequestSizeBytes: c.maxRequest).count
                : TLPWireSplit.memoryWrites(address: c.base, lengthBytes: region, maxPayloadSizeBytes: c.maxRequest).count)
            let perByte = requests / Double(region)
            tlpsPerByte.append(perByte)
            let requestPayload = Double(region) / requests
            var completionsPerByte = 0.0
            if c.isRead {
                let n = TLPWireSplit.completionCount(transferAddress: c.base, lengthBytes: region, maxReadRequestSizeBytes: c.maxRequest,
                                                     maxPayloadSizeBytes: c.completionMPS, readCompletionBoundaryBytes: c.rcb,
                                                     size: c.completionSize)
                completionsPerByte = Double(n) / Double(region)
            }
            // Request path: writes carry their payload; read requests only a header.
            walk(from: Int(c.requestStart), f: f, data: !c.isRead, header: Int(c.header), tlpsPerByte: perByte,
                 tlpPayload: c.isRead ? 0 : requestPayload, charges: c.isRead ? .requestedBytes : .payload, &p, &activeDirection)
            if c.isRead, let cpl = p.completionStart {
                // Round trip up to the completer, then one request's completions back.
                let tlpBytes = completionsPerByte > 0 ? 1 / completionsPerByte : requestPayload
                p.firstTLPPayload = tlpBytes
                walk(from: cpl, f: f, data: true, header: Int(c.completionHeader), tlpsPerByte: completionsPerByte,
                     tlpPayload: tlpBytes, charges: .payload, &p, &activeDirection)
                // The rest of a request's completions follow the first one on the slowest hop.
                p.latency += p.slowestBytePerSecond > 0 ? (requestPayload - tlpBytes) / p.slowestBytePerSecond : 0
            }
            // Translation at the IOMMU: every page that is not in the IOTLB costs a walk (in-order per flow).
            var lim: [FlowModelLimit] = []
            if c.usesATS { lim.append(.ats) }
            if c.transfer > 0 || !m.engineReadInterval.isEmpty { lim.append(.dmaShape) }
            for u in p.iommus {
                let shift = c.pageShift
                let levels = max(1, m.iommuWalkLevels[u] - max(0, shift - 12) / 9)
                let walk = Double(levels) * Double(m.iommuWalkLatency[u]) * Self.picosecond
                let pages = Double(region) / Double(c.pageBytes)
                let reach = m.iommuSets[u] * m.iommuWays[u]
                let thrashes = c.workingSet != .max && Int(c.workingSet >> UInt64(shift)) > reach
                // Cold misses: each page of the buffer once; with a working set that fits, only the first pass.
                let passes = c.workingSet == .max ? 1.0 : Double(c.bytes) / Double(c.workingSet)
                let missPerByte = thrashes ? 1 / Double(c.pageBytes) : (pages / Double(region)) / max(1, passes)
                if thrashes { lim.append(.translation) }
                // In-order translation holds the flow's TLPs in the root port's receive buffer during a walk: the
                // buffer must cover a walk at the link's rate, or walks stall the link.
                if missPerByte > 0, let d = p.lastLinkBeforeTranslation {
                    let cs = m.credits[d * 3 + (c.isRead ? CreditClass.nonPosted.rawValue : CreditClass.posted.rawValue)]
                    let rate = 1 / Self.seconds(fine: m.linkConfig[d].byteTime)
                    let buffer = c.isRead ? Double(max(cs.limitHeader, 0)) * requestPayload : Double(max(cs.limitData, 0) * 16)
                    if cs.limitData >= 0 || c.isRead, buffer < 2 * rate * walk { lim.append(.translation) }
                }
                // Sample the buffer's pages: a mapping shorter than the buffer faults part of it.
                let span = UInt64(c.workingSet == .max ? c.bytes : Int(c.workingSet))
                let first = m.translate(c.requester, c.base, !c.isRead)
                var k: UInt64 = 1
                while k <= 16, !lim.contains(.partialMapping) {
                    let a = c.base + (span - 1) * k / 16
                    let o = m.translate(c.requester, a, !c.isRead)
                    if o.isFault != first.isFault { lim.append(.partialMapping) }
                    k += 1
                }
                uses.append(ResourceUse(resource: Int32(iommuBase + u), coefficient: missPerByte * walk / Double(m.iommuWalkerCount[u])))
            }
            // The DMA engine: issue-rate cap (shared by the engine's flows) and tags (Little's law).
            let requester = c.requester
            if m.engineIssueInterval[requester] > 0 {
                uses.append(ResourceUse(resource: Int32(engineBase + requester),
                                        coefficient: perByte * Self.seconds(fine: m.engineIssueInterval[requester])))
            }
            var ownCapacity = Double.infinity
            if c.isRead {
                let rtt = p.latency
                roundTrip.append(rtt)
                let tags = Double(m.engineTagLimit[requester])
                uses.append(ResourceUse(resource: Int32(tagBase + requester), coefficient: perByte * rtt / tags))
                if c.queueDepth != .max {
                    ownCapacity = Double(c.queueDepth) * requestPayload / rtt
                }
                outstandingCap.append(min(ownCapacity, tags * requestPayload / rtt))
            } else {
                roundTrip.append(p.latency)
                outstandingCap.append(.infinity)
            }
            ownCap.append(ownCapacity)
            latency.append(p.latency)
            blocked.append(p.blocked)
            limits.append(lim)
            slotsOfFlow.append(p.slots)
            tlpSizeOfFlow.append(p.tlpSize)
            linksInOrder.append(p.uses.compactMap { Int($0.resource) < linkCount || (Int($0.resource) >= serverBase && Int($0.resource) < iommuBase) ? Int($0.resource) : nil })
            wirePerByte.append(p.wire)
            dataLinks.append(p.dataLinks)
            uses += p.uses
        }
        useStart.append(uses.count)
        // Link directions: the share of time left for TLPs after SKP ordered sets and the Ack/UpdateFC DLLPs of
        // every active direction charged to it (TransportModel+Links: two per coalescing interval while active).
        for d in 0..<linkCount {
            let cfg = m.linkConfig[d]
            var available = 1.0
            if cfg.skpInterval > 0 { available -= Double(cfg.skpTime) / Double(cfg.skpInterval) }
            capacity[d] = available
        }
        for d in 0..<linkCount where activeDirection[d] {
            let cfg = m.linkConfig[d]
            let target = cfg.chargeTarget
            let dllp = Self.seconds(fine: m.linkConfig[target].dllpTime)
            capacity[target] -= 2 * dllp / (Double(cfg.ackInterval) * Self.picosecond)
        }
        for s in 0..<m.serverName.count { capacity[serverBase + s] = 1 }
    }

    enum ServerCharge { case payload, requestedBytes }

    struct PathAccumulator {
        var uses: [ResourceUse] = []
        var latency = 0.0
        var blocked = false
        var completionStart: Int? = nil
        var iommus: [Int] = []
        var slots: [(Int, Int)] = []
        var tlpSize: [(Int, Double)] = []
        var wire: [(Int, Double)] = []
        var dataLinks: [Int] = []
        var firstTLPPayload = 0.0
        var lastLinkBeforeTranslation: Int? = nil
        var slowestBytePerSecond = 0.0
    }

    /// Follows one path's steps from `start`, adding each link's wire time, each server's charge, each fixed delay.
    mutating func walk(from start: Int, f: Int, data: Bool, header: Int, tlpsPerByte: Double, tlpPayload: Double,
                       charges: ServerCharge, _ p: inout PathAccumulator, _ active: inout [Bool]) {
        var s = start
        var previousTLPTime = 0.0
        while s < m.steps.count {
            let step = m.steps[s]
            switch step.kind {
            case .link:
                let d = Int(step.a)
                let cfg = m.linkConfig[d]
                let byteTime = Self.seconds(fine: cfg.byteTime)
                // Wire bytes per payload byte: each TLP's framing and header, plus the payload when it carries data.
                let wire = tlpsPerByte * Double(cfg.framing + header) + (data ? 1 : 0)
                p.uses.append(ResourceUse(resource: Int32(d), coefficient: wire * byteTime))
                p.wire.append((d, wire))
                if data { p.dataLinks.append(d) }
                active[d] = true
                let tlpTime = (Double(cfg.framing + header) + (data ? tlpPayload : 0)) * byteTime
                p.latency += tlpTime + Double(cfg.latency) * Self.picosecond
                previousTLPTime = tlpTime
                if data, tlpPayload > 0 {
                    let rate = 1 / (wire * byteTime)
                    if p.slowestBytePerSecond == 0 || rate < p.slowestBytePerSecond { p.slowestBytePerSecond = rate }
                }
                let queue = Int(step.b) - cfg.queueBase
                p.slots.append((d, queue))
                p.tlpSize.append((d, data ? tlpPayload : 0))
            case .cutThrough:
                // The first byte leaves `latency` after it arrived; a TLP's own serialization overlaps it.
                p.latency += max(0, Double(step.latency) * Self.picosecond - previousTLPTime)
            case .delay:
                p.latency += Double(step.latency) * Self.picosecond
            case .server:
                let srv = Int(step.a)
                let charged = charges == .payload || m.serverChargesReads[srv]
                if charged {
                    p.uses.append(ResourceUse(resource: Int32(serverBase + srv), coefficient: Self.seconds(fine: m.serverByteTime[srv])))
                }
            case .translate:
                if !p.iommus.contains(Int(step.a)) { p.iommus.append(Int(step.a)) }
                if p.lastLinkBeforeTranslation == nil { p.lastLinkBeforeTranslation = p.wire.last?.0 }
            case .accept:
                if !data || charges == .requestedBytes { break }
                return
            case .complete:
                p.completionStart = Int(step.a)
                return
            case .receive:
                return
            case .blocked:
                p.blocked = true
                return
            }
            s += 1
        }
    }

    // MARK: Progressive filling

    /// Max-min fair rates of the flows in `active`, each no faster than its own cap. Returns the rates and, per
    /// flow, the resource that froze it (-1: its own cap).
    func fill(_ active: [Int]) -> (rates: [Double], frozenBy: [Int]) {
        var rate = [Double](repeating: 0, count: m.flowConfig.count)
        var frozenBy = [Int](repeating: -2, count: m.flowConfig.count)
        var load = [Double](repeating: 0, count: resourceCount)
        var sum = [Double](repeating: 0, count: resourceCount)
        var unfrozen = active
        var saturated = [Bool](repeating: false, count: resourceCount)
        var level = 0.0
        while !unfrozen.isEmpty {
            for r in 0..<resourceCount { sum[r] = 0 }
            for f in unfrozen {
                for k in useStart[f]..<useStart[f + 1] { sum[Int(uses[k].resource)] += uses[k].coefficient }
            }
            var step = Double.infinity
            for r in 0..<resourceCount where sum[r] > 0 {
                step = min(step, max(0, capacity[r] - load[r]) / sum[r])
            }
            for f in unfrozen { step = min(step, ownCap[f] - level) }
            if !step.isFinite { step = 0 }
            level += step
            for r in 0..<resourceCount where sum[r] > 0 {
                load[r] += step * sum[r]
                if capacity[r] - load[r] <= 1e-9 * capacity[r] { saturated[r] = true }
            }
            var next: [Int] = []
            for f in unfrozen {
                rate[f] = level
                var by = -2
                if ownCap[f].isFinite, ownCap[f] - level <= 1e-9 * ownCap[f] { by = -1 }
                for k in useStart[f]..<useStart[f + 1] where saturated[Int(uses[k].resource)] { by = Int(uses[k].resource); break }
                if by == -2 { next.append(f) } else { frozenBy[f] = by }
            }
            if next.count == unfrozen.count {
                // No progress possible (a zero-capacity resource): freeze everything at the current level.
                for f in next { frozenBy[f] = -1 }
                break
            }
            unfrozen = next
        }
        return (rate, frozenBy)
    }

    mutating func solve() -> FlowSimulationResult {
        let n = m.flowConfig.count
        var remaining = m.flowConfig.map { Double($0.bytes) }
        var finished = [Double?](repeating: nil, count: n)
        var started = [Bool](repeating: false, count: n)
        var maxRate = [Double](repeating: 0, count: n)
        var lastFrozenBy = [Int](repeating: -1, count: n)
        var linkBusy = [Double](repeating: 0, count: linkCount)
        var linkPayload = [Double](repeating: 0, count: linkCount)
        var linkWire = [Double](repeating: 0, count: linkCount)
        /// Seconds of use of each rate server and IOMMU's walkers (summed over walkers), for the report's links.
        var sharedBusy = [Double](repeating: 0, count: engineBase - serverBase)
        var sharedPayload = [Double](repeating: 0, count: engineBase - serverBase)
        var now = 0.0
        var solves = 0
        let starts = m.flowConfig.map { Double($0.start) * Self.picosecond }
        // A flow that uses nothing (blocked before its first link) ends as it starts.
        for f in 0..<n where useStart[f] == useStart[f + 1] && ownCap[f] == .infinity {
            finished[f] = starts[f]
            remaining[f] = 0
        }
        while true {
            for f in 0..<n where !started[f] && starts[f] <= now + 1e-15 { started[f] = true }
            let active = (0..<n).filter { started[$0] && finished[$0] == nil }
            let pending = (0..<n).filter { !started[$0] }.map { starts[$0] }.min()
            if active.isEmpty {
                guard let pending else { break }
                now = pending
                continue
            }
            let (rates, frozenBy) = fill(active)
            solves += 1
            var dt = pending.map { $0 - now } ?? .infinity
            for f in active where rates[f] > 0 { dt = min(dt, remaining[f] / rates[f]) }
            if !dt.isFinite {
                // Nothing can move (zero rates): stop; the flows stay unfinished.
                break
            }
            for f in active {
                let moved = min(remaining[f], rates[f] * dt)
                remaining[f] -= moved
                maxRate[f] = max(maxRate[f], rates[f])
                if frozenBy[f] >= 0 || frozenBy[f] == -1 { lastFrozenBy[f] = frozenBy[f] }
                for (d, wire) in wirePerByte[f] {
                    linkWire[d] += moved * wire
                    linkBusy[d] += moved * wire * Self.seconds(fine: m.linkConfig[d].byteTime)
                }
                if !blocked[f] { for d in dataLinks[f] { linkPayload[d] += moved } }
                for k in useStart[f]..<useStart[f + 1] {
                    let r = Int(uses[k].resource)
                    guard r >= serverBase && r < engineBase else { continue }
                    sharedBusy[r - serverBase] += moved * uses[k].coefficient
                    if r < iommuBase, !blocked[f] { sharedPayload[r - serverBase] += moved }
                }
                if remaining[f] <= 1e-6 * Double(m.flowConfig[f].bytes) { finished[f] = now + dt }
            }
            // Limits that depend on the shares: checked on every solve.
            checkLimits(active, rates, frozenBy)
            now += dt
        }
        var answer = result(finished: finished, maxRate: maxRate, frozenBy: lastFrozenBy, linkBusy: linkBusy,
                            linkPayload: linkPayload, linkWire: linkWire, solves: solves)
        let run = Double(max(answer.transport.endTime, 1)) * Self.picosecond
        answer.transport.shared = (serverBase..<engineBase).map { r in
            let walkers = r >= iommuBase ? Double(max(1, m.iommuWalkerCount[r - iommuBase])) : 1
            // The walkers' coefficient is already per walker (walk time / walkers).
            let busy = sharedBusy[r - serverBase] * (r >= iommuBase ? walkers : 1)
            return TransportResult.SharedResource(name: resourceName(r), busyTime: Picoseconds((busy / Self.picosecond).rounded()),
                                                  utilization: min(1, sharedBusy[r - serverBase] / run),
                                                  payloadRate: DataRate(bytesPerSecond: sharedPayload[r - serverBase] / run))
        }
        return answer
    }

    mutating func addLimit(_ f: Int, _ l: FlowModelLimit) {
        if !limits[f].contains(l) { limits[f].append(l) }
    }

    mutating func checkLimits(_ active: [Int], _ rates: [Double], _ frozenBy: [Int]) {
        var walkerLoad = [Double](repeating: 0, count: m.iommuName.count)
        for f in active {
            for k in useStart[f]..<useStart[f + 1] {
                let r = Int(uses[k].resource)
                if r >= iommuBase && r < engineBase { walkerLoad[r - iommuBase] += rates[f] * uses[k].coefficient }
            }
        }
        for f in active {
            // Reads within 25 % of their tag or queue-depth bound: the round trip under load decides.
            if m.flowConfig[f].isRead, !blocked[f], outstandingCap[f] <= 1.25 * rates[f] { addLimit(f, .outstandingRequests) }
            for k in useStart[f]..<useStart[f + 1] {
                let r = Int(uses[k].resource)
                if r >= iommuBase && r < engineBase, walkerLoad[r - iommuBase] > 0.8 { addLimit(f, .translation) }
            }
        }
        // Round-robin between ingress ports: a saturated link direction whose flows come from ingress slots that
        // carry different numbers of flows frozen there gets per-port, not per-flow, shares.
        // The shares are set wherever those flows merge on the way (their requests too), not only at the bottleneck.
        var bySlot: [Int: [Int: [Int: Int]]] = [:]
        for f in active where frozenBy[f] >= 0 && frozenBy[f] < linkCount {
            let d = frozenBy[f]
            for (dir, slot) in slotsOfFlow[f] { bySlot[d, default: [:]][dir, default: [:]][slot, default: 0] += 1 }
        }
        for (d, directions) in bySlot where directions.values.contains(where: { $0.count > 1 && Set($0.values).count > 1 }) {
            for f in active where frozenBy[f] == d { addLimit(f, .arbitration) }
        }
        // Per-TLP round robin is byte-fair only between TLPs of one size.
        var sizes: [Int: Set<Int>] = [:]
        for f in active where frozenBy[f] >= 0 && frozenBy[f] < linkCount {
            let d = frozenBy[f]
            for (dir, size) in tlpSizeOfFlow[f] where dir == d { sizes[d, default: []].insert(Int(size.rounded())) }
        }
        for (d, set) in sizes where set.count > 1 {
            for f in active where frozenBy[f] == d { addLimit(f, .arbitration) }
        }
        // Reads that meet at a saturated completion path queue in one FIFO (the completer's): closed-loop, each gets
        // a share in proportion to the requests it keeps outstanding, equal only when those limits are.
        var inFlight: [Int: [Double]] = [:]
        for f in active where m.flowConfig[f].isRead && frozenBy[f] >= 0 && frozenBy[f] < linkCount {
            let c = m.flowConfig[f]
            let limit = Double(min(c.queueDepth, m.engineTagLimit[c.requester])) / tlpsPerByte[f]
            inFlight[frozenBy[f], default: []].append(limit)
        }
        for (d, values) in inFlight where (values.max() ?? 0) > 1.02 * (values.min() ?? 0) {
            for f in active where m.flowConfig[f].isRead && frozenBy[f] == d { addLimit(f, .outstandingRequests) }
        }
        // Head-of-line blocking: a flow backlogged at its bottleneck fills every buffer before it; another flow that
        // shares one of those buffers and would go faster is held to it.
        var users: [Int: [Int]] = [:]
        for f in active { for r in linksInOrder[f] where r < linkCount { users[r, default: []].append(f) } }
        for f in active where frozenBy[f] >= 0 && rates[f] > 0 {
            guard let position = linksInOrder[f].firstIndex(of: frozenBy[f]) else { continue }
            for r in linksInOrder[f][..<position] where r < linkCount {
                for g in users[r] ?? [] where g != f && rates[g] > rates[f] * 1.02 {
                    addLimit(g, .headOfLine)
                    addLimit(f, .headOfLine)
                }
            }
        }
        // Credits: a receive buffer must cover the credit loop (UpdateFC coalescing interval plus flight).
        for f in active {
            for (d, _) in wirePerByte[f] {
                let cfg = m.linkConfig[d]
                let loop = Double(cfg.ackInterval + 2 * cfg.latency) * Self.picosecond
                let wireRate = 1 / Self.seconds(fine: cfg.byteTime)
                for c in 0..<3 {
                    let cs = m.credits[d * 3 + c]
                    guard cs.limitData > 0, c != CreditClass.nonPosted.rawValue else { continue }
                    if Double(cs.limitData * 16) / loop < 1.1 * wireRate * capacity[d] { addLimit(f, .credits) }
                }
            }
        }
    }

    func result(finished: [Double?], maxRate: [Double], frozenBy: [Int], linkBusy: [Double], linkPayload: [Double],
                linkWire: [Double], solves: Int) -> FlowSimulationResult {
        let n = m.flowConfig.count
        var flows: [TransportResult.Flow] = []
        var bottleneck: [String] = []
        var lim = limits
        var end: Picoseconds = 0
        for f in 0..<n {
            let c = m.flowConfig[f]
            let start = Double(c.start) * Self.picosecond
            var completion: Picoseconds? = nil
            var first: Picoseconds? = nil
            if let done = finished[f] {
                // The last byte still has the path's latency to travel (a read: its round trip).
                completion = Picoseconds(((done + latency[f]) / Self.picosecond).rounded())
                first = Picoseconds(((start + latency[f]) / Self.picosecond).rounded())
                end = max(end, completion!)
                let duration = done + latency[f] - start
                if duration < 50 * latency[f] { if !lim[f].contains(.shortTransfer) { lim[f].append(.shortTransfer) } }
            }
            let requests = Int((tlpsPerByte[f] * Double(c.bytes)).rounded())
            flows.append(TransportResult.Flow(
                flow: m.flows[f], bytes: blocked[f] ? 0 : (finished[f] == nil ? 0 : c.bytes), requestTLPs: requests,
                blockedTLPs: blocked[f] ? requests : 0, blockedBytes: blocked[f] ? c.bytes : 0,
                completionTime: completion, firstDelivery: blocked[f] ? nil : first, lastDelivery: blocked[f] ? nil : completion,
                firstDeliveryBytes: 0, latency: LatencyHistogram(), atcLookups: 0, atcHits: 0, translationRequests: 0))
            let by = frozenBy[f]
            let limit: String? = by >= 0 ? resourceName(by) : (c.isRead && c.queueDepth != .max ? "queue depth \(c.queueDepth)" : nil)
            bottleneck.append(limit ?? "own rate")
            flows[f].limitedBy = limit
        }
        let seconds = Double(max(end, 1)) * Self.picosecond
        let links = (0..<linkCount).map { d in
            TransportResult.LinkDirection(
                name: m.linkName[d], function: m.linkFunction[d], isUpstream: d % 2 == 0, generation: m.linkGeneration[d],
                width: m.linkWidth[d], tlps: 0, payloadBytes: Int(linkPayload[d].rounded()), wireBytes: Int(linkWire[d].rounded()),
                dllps: 0, skpOrderedSets: 0, busyTime: Picoseconds((linkBusy[d] / Self.picosecond).rounded()), creditStallTime: 0,
                utilization: min(1, linkBusy[d] / seconds), meanQueueTLPs: 0, maxQueueTLPs: 0,
                payloadRate: DataRate(bytesPerSecond: linkPayload[d] / seconds))
        }
        var counts: [TransportResult.BlockCount] = []
        for f in 0..<n where blocked[f] {
            // The block point is the last step of the request path.
            var s = Int(m.flowConfig[f].requestStart)
            while m.steps[s].kind != .blocked { s += 1 }
            let point = Int(m.steps[s].a)
            let blockedTLPs = flows[f].blockedTLPs
            if let i = counts.firstIndex(where: { $0.location == m.blockLocation[point] && $0.reason == m.blockReason[point] }) {
                counts[i].count += blockedTLPs
            } else {
                counts.append(TransportResult.BlockCount(location: m.blockLocation[point], reason: m.blockReason[point], count: blockedTLPs))
            }
        }
        let iommus = m.iommuName.indices.map { u in
            TransportResult.IOMMUStatistics(name: m.iommuName[u], lookups: 0, hits: 0, walks: 0, faults: 0, maxWalksInFlight: 0)
        }
        let transport = TransportResult(flows: flows, links: links, blocked: [], blockCounts: counts, iommus: iommus, endTime: end,
                                        eventsHandled: solves, peakTLPsInFlight: 0, isComplete: finished.allSatisfy { $0 != nil })
        return FlowSimulationResult(transport: transport, limits: lim, bottleneck: bottleneck, solves: solves)
    }
}

extension TranslationOutcome {
    var isFault: Bool { if case .fault = self { true } else { false } }
}
