// The router: the whole path of a TLP, hop by hop, with a verdict at each port. The one routing implementation:
// the CLI, the mapping API's checks and the discrete-event simulator all call it.

/// Where a hop happens.
public enum HopLocation: Sendable, Hashable {
    case function(Int)
    case rootComplex(Int)
    case socketLink(from: Int, to: Int)
    /// Inside a partitioned switch chip's internal fabric (index in `Topology.switchChips`).
    case switchChip(Int)
    /// A link between two switch chips' fabric ports (indices in `Topology.switchChips`).
    case chipLink(from: Int, to: Int)
}

/// Why a TLP stopped.
public enum BlockReason: Sendable, Hashable {
    /// ACS Violation by Source Validation, Translation Blocking or P2P Egress Control (PCIe §6.12.1.1).
    case acsViolation(ACSFlags)
    /// A TLP targeting the port it arrived on, with ACS Upstream Forwarding off (PCIe §6.12.1.1; reference §5 rule 3).
    case upstreamForwardingDisabled
    /// The root complex answers peer-to-peer requests with Unsupported Request.
    case rootComplexUnsupported
    /// The root complex forwards only writes between root ports.
    case rootComplexWritesOnly
    /// The root complex silently drops peer-to-peer traffic (reads return all ones).
    case rootComplexDrops
    /// No BAR claims the address (Unsupported Request from the bus).
    case unclaimed
    /// The IOMMU faulted the access.
    case iommuFault(String)
}

/// What happened at a hop.
public enum HopAction: Sendable, Hashable {
    case issue
    case routeUp
    case routeDown
    /// Routed directly to a peer port (or peer function) without going upstream.
    case peerRoute(egress: Int)
    /// Redirected upstream by ACS P2P Request Redirect (RR) or Completion Redirect (CR).
    case redirect(ACSFlags)
    /// Forwarded upstream by ACS Upstream Forwarding (a redirected TLP passing its own port).
    case upstreamForward
    case translate(TranslationOutcome)
    /// The root complex forwarded peer-to-peer traffic between root ports or host bridges.
    case rootComplexForward
    case crossSocket
    /// Switched between virtual switches inside a fabric-mode chip, or across a chip-to-chip link.
    case chipForward
    case deliver
    case blocked(BlockReason)
}

public struct Hop: Sendable, Hashable {
    public var location: HopLocation
    public var action: HopAction
}

/// The route of one request, and of its completion when it is a read that arrived.
public struct Route: Sendable, Hashable {
    public enum Destination: Sendable, Hashable {
        case function(Int)
        case memory(UInt64)
        /// An ATS translation request completes at the root complex's translation agent.
        case translationAgent(Int)
    }
    public enum Outcome: Sendable, Hashable {
        case delivered(Destination)
        case blocked(at: HopLocation, reason: BlockReason)
    }
    public var request: TLPRequest
    public var hops: [Hop]
    public var completionHops: [Hop]
    public var outcome: Outcome
    /// The request crossed a root complex (redirected, or between root ports).
    public var throughRootComplex: Bool
    /// Ports whose ACS redirected the request or its completion upstream.
    public var redirectedAt: [Int]

    public var isDelivered: Bool { if case .delivered = outcome { return true } else { return false } }
    /// The completion was itself blocked (only the hops say where).
    public var completionBlocked: (at: HopLocation, reason: BlockReason)? {
        for h in completionHops { if case .blocked(let r) = h.action { return (h.location, r) } }
        return nil
    }
}

/// Routes TLPs over a fabric (ACS rules of PCIe Base Spec §6.12 as the reference §5 tabulates them).
public struct Router: Sendable {
    public let fabric: Fabric
    public init(_ fabric: Fabric) { self.fabric = fabric }

    /// Routes a memory request and, for a read that arrives, its completion.
    public func route<T: AddressTranslator>(_ request: TLPRequest, translator: T) -> Route {
        var walk = Walk(fabric: fabric, request: request)
        walk.hops.append(Hop(location: .function(request.requester), action: .issue))
        let destination: WalkTarget
        switch request.addressType == .translationRequest ? .memory : fabric.claim(request.address) {
        case .bar(let f, _): destination = .function(f)
        case .unclaimedWindow(let b): destination = .unclaimedBelow(b)
        case .unclaimedAperture, .memory: destination = .hostSide
        }
        let requestResult = walk.run(from: request.requester, to: destination, completion: false, translator: translator)
        var route = Route(request: request, hops: walk.hops, completionHops: [], outcome: requestResult,
                          throughRootComplex: walk.throughRootComplex, redirectedAt: walk.redirectedAt)
        if request.kind.isRead, case .delivered(let dest) = requestResult {
            var back = Walk(fabric: fabric, request: request)
            let origin: Int?
            switch dest {
            case .function(let f): origin = f
            case .memory, .translationAgent: origin = nil
            }
            if let origin { back.hops.append(Hop(location: .function(origin), action: .issue)) }
            _ = back.run(from: origin, to: .function(request.requester), completion: true, translator: translator,
                         startAtRootComplex: origin == nil ? fabric.enumeration.functions[request.requester].rootComplex : nil)
            route.completionHops = back.hops
            route.redirectedAt += back.redirectedAt
        }
        return route
    }

    /// Routes with the IOMMU as the topology configures it (every DMA-domain address assumed mapped).
    public func route(_ request: TLPRequest) -> Route {
        route(request, translator: ConfiguredTranslator(fabric))
    }
}

enum WalkTarget {
    case function(Int)
    case unclaimedBelow(Int)
    /// Up to the root complex: system memory after translation, or wherever the translated address decodes.
    case hostSide
}

/// One walk of a request (address-routed) or a completion (ID-routed) from a source to a target.
struct Walk {
    let fabric: Fabric
    let request: TLPRequest
    var hops: [Hop] = []
    var throughRootComplex = false
    var redirectedAt: [Int] = []

    init(fabric: Fabric, request: TLPRequest) {
        self.fabric = fabric
        self.request = request
    }

    var e: Enumeration { fabric.enumeration }

    mutating func block(_ location: HopLocation, _ reason: BlockReason) -> Route.Outcome {
        hops.append(Hop(location: location, action: .blocked(reason)))
        return .blocked(at: location, reason: reason)
    }

    /// Egress-vector index of a port as seen by its routing element: the port's device number on the
    /// switch's internal bus (switches commonly number ports that way), or the function number for an MFD.
    func egressIndex(_ f: Int, functionLevel: Bool) -> Int {
        functionLevel ? Int(e.functions[f].bdf.function) : Int(e.functions[f].bdf.device)
    }

    func targetFunction(_ t: WalkTarget) -> Int? {
        switch t {
        case .function(let f): f
        case .unclaimedBelow(let b): b
        case .hostSide: nil
        }
    }

    /// Walks from `source` (a function, or the root complex when nil) to `target`.
    mutating func run<T: AddressTranslator>(from source: Int?, to target: WalkTarget, completion: Bool, translator: T,
                                            startAtRootComplex: Int? = nil) -> Route.Outcome {
        let dest = targetFunction(target)
        let destAncestors = dest.map { fabric.ancestors[$0] } ?? []
        var redirected = false
        if let source {
            let requesterBus = (completion ? nil : request.spoofedRequesterID)?.bus ?? e.functions[source].bdf.bus
            // Function to function inside one multifunction device: the device's own ACS decides (§5, MFD rule).
            if let dest, dest != source, e.functions[dest].upstreamBridge == e.functions[source].upstreamBridge,
               e.functions[dest].bdf.bus == e.functions[source].bdf.bus, e.functions[dest].bdf.device == e.functions[source].bdf.device {
                let ctrl = fabric.acsControl[source] ?? []
                if let redirect = redirectBit(ctrl, completion: completion) {
                    hops.append(Hop(location: .function(source), action: .redirect(redirect)))
                    redirectedAt.append(source)
                    redirected = true
                } else if !completion, ctrl.contains(.egressControl), egressBlocked(source, egressIndex(dest, functionLevel: true)) {
                    return block(.function(source), .acsViolation(.egressControl))
                } else {
                    hops.append(Hop(location: .function(source), action: .peerRoute(egress: dest)))
                    hops.append(Hop(location: .function(dest), action: .deliver))
                    return .delivered(.function(dest))
                }
            }
            let chain = fabric.ancestors[source]
            for (level, port) in chain.enumerated() {
                let kind = e.functions[port].kind
                // A partition of a fabric-mode chip: the chip switches the TLP to the partition (on this chip or one
                // reached over chip links) whose hierarchy holds the target, instead of sending it up the uplink.
                if kind == .switchUpstreamPort, let dest, !destAncestors.contains(port), let chip = fabric.fabricChip[port],
                   let (pos, path) = chipEntry(from: chip, destAncestors) {
                    hops.append(Hop(location: .function(port), action: .peerRoute(egress: destAncestors[pos])))
                    hops.append(Hop(location: .switchChip(chip), action: .chipForward))
                    for (x, y) in zip(path, path.dropFirst()) {
                        hops.append(Hop(location: .chipLink(from: x, to: y), action: .chipForward))
                        hops.append(Hop(location: .switchChip(y), action: .chipForward))
                    }
                    return descend(from: pos, in: destAncestors, to: target)
                }
                guard kind.isDownstreamPort else {
                    hops.append(Hop(location: .function(port), action: .routeUp))
                    continue
                }
                let ctrl = fabric.acsControl[port] ?? []
                if !completion {
                    // Rule 1, SV: the requester's bus must lie in the port's secondary..subordinate range.
                    if ctrl.contains(.sourceValidation), let range = e.busRanges[port], !range.contains(requesterBus) {
                        return block(.function(port), .acsViolation(.sourceValidation))
                    }
                    // Rule 2, TB: translated requests and translation requests are violations (precedes P2P controls).
                    if ctrl.contains(.translationBlocking), request.addressType != .untranslated {
                        return block(.function(port), .acsViolation(.translationBlocking))
                    }
                }
                if let dest, destAncestors.contains(port) {
                    // The TLP targets the same port it arrived on: only a redirected TLP gets here.
                    if ctrl.contains(.upstreamForwarding) {
                        hops.append(Hop(location: .function(port), action: .upstreamForward))
                        continue
                    }
                    if kind == .rootPort { hops.append(Hop(location: .function(port), action: .routeUp)); break }
                    _ = dest
                    return block(.function(port), .upstreamForwardingDisabled)
                }
                if kind == .switchDownstreamPort, !redirected, let dest, level + 1 < chain.count {
                    let element = chain[level + 1]   // the switch upstream port above this downstream port
                    if let pos = destAncestors.firstIndex(of: element) {
                        // A peer of this routing element: this port is the divergence port.
                        let egress = pos > 0 ? destAncestors[pos - 1] : dest
                        if completion {
                            if let bit = redirectBit(ctrl, completion: true) {
                                hops.append(Hop(location: .function(port), action: .redirect(bit)))
                                redirectedAt.append(port)
                                redirected = true
                                continue
                            }
                        } else {
                            let directTranslated = request.addressType == .translated && ctrl.contains(.directTranslatedP2P)
                            if !directTranslated, ctrl.contains(.requestRedirect) {
                                hops.append(Hop(location: .function(port), action: .redirect(.requestRedirect)))
                                redirectedAt.append(port)
                                redirected = true
                                continue
                            }
                            if !directTranslated, ctrl.contains(.egressControl), egressBlocked(port, egressIndex(egress, functionLevel: false)) {
                                return block(.function(port), .acsViolation(.egressControl))
                            }
                        }
                        hops.append(Hop(location: .function(port), action: .peerRoute(egress: egress)))
                        hops.append(Hop(location: .function(element), action: .routeDown))
                        return descend(from: pos - 1, in: destAncestors, to: target)
                    }
                }
                hops.append(Hop(location: .function(port), action: .routeUp))
            }
        }
        // At the root complex.
        let rc = source.map { e.functions[$0].rootComplex } ?? startAtRootComplex ?? 0
        throughRootComplex = throughRootComplex || source != nil
        var finalTarget = target
        if !completion, source != nil {
            if request.addressType == .translationRequest {
                hops.append(Hop(location: .rootComplex(rc), action: .deliver))
                return .delivered(.translationAgent(rc))
            }
            var physical = request.address
            if request.addressType == .untranslated {
                let outcome = translator.translate(requester: request.requester, address: request.address, isWrite: !request.kind.isRead)
                hops.append(Hop(location: .rootComplex(rc), action: .translate(outcome)))
                switch outcome {
                case .fault(let why): return block(.rootComplex(rc), .iommuFault(why))
                case .translated(let pa): physical = pa
                case .noIOMMU, .identity: break
                }
            }
            switch fabric.claim(physical) {
            case .bar(let f, _): finalTarget = .function(f)
            case .unclaimedWindow(let b): finalTarget = .unclaimedBelow(b)
            case .unclaimedAperture: return block(.rootComplex(rc), .unclaimed)
            case .memory:
                hops.append(Hop(location: .rootComplex(rc), action: .deliver))
                return .delivered(.memory(physical))
            }
            // Peer-to-peer through the root complex: the host bridge's policy decides (implementation-defined, §1.3.1).
            let policy = fabric.topology.rootComplexes[rc]
            switch policy.p2pForwarding {
            case .forward: break
            case .writesOnly where request.kind.isRead: return block(.rootComplex(rc), .rootComplexWritesOnly)
            case .writesOnly: break
            case .drop: return block(.rootComplex(rc), .rootComplexDrops)
            case .unsupportedRequest: return block(.rootComplex(rc), .rootComplexUnsupported)
            }
            hops.append(Hop(location: .rootComplex(rc), action: .rootComplexForward))
        } else if completion {
            hops.append(Hop(location: .rootComplex(rc), action: source == nil ? .issue : .routeDown))
        }
        guard let finalDest = targetFunction(finalTarget) else {
            hops.append(Hop(location: .rootComplex(rc), action: .deliver))
            return .delivered(.memory(request.address))
        }
        let targetRC = e.functions[finalDest].rootComplex
        if targetRC != rc {
            let a = fabric.topology.rootComplexes[rc].socket
            let b = fabric.topology.rootComplexes[targetRC].socket
            if a != b { hops.append(Hop(location: .socketLink(from: a, to: b), action: .crossSocket)) }
            hops.append(Hop(location: .rootComplex(targetRC), action: .routeDown))
        }
        let chain = fabric.ancestors[finalDest]
        return descend(from: chain.count - 1, in: chain, to: finalTarget)
    }

    /// Routes down through `chain[from]`, `chain[from-1]`, ... `chain[0]` to the target.
    mutating func descend(from start: Int, in chain: [Int], to target: WalkTarget) -> Route.Outcome {
        var i = start
        while i >= 0 {
            hops.append(Hop(location: .function(chain[i]), action: .routeDown))
            i -= 1
        }
        switch target {
        case .function(let f):
            hops.append(Hop(location: .function(f), action: .deliver))
            return .delivered(.function(f))
        case .unclaimedBelow(let b):
            return block(.function(b), .unclaimed)
        case .hostSide:
            return .delivered(.memory(request.address))
        }
    }

    /// The switch upstream port among the target's ancestors (its position in the chain) that a fabric-mode chip
    /// reaches from `chip`, and the chips crossed on the way; nil when the target is in no such partition.
    func chipEntry(from chip: Int, _ destAncestors: [Int]) -> (Int, [Int])? {
        for (pos, b) in destAncestors.enumerated() {
            if let c = fabric.fabricChip[b], let path = fabric.chipPath(from: chip, to: c) { return (pos, path) }
        }
        return nil
    }

    func redirectBit(_ ctrl: ACSFlags, completion: Bool) -> ACSFlags? {
        if completion {
            // Rule: CR redirects completions unless they carry Relaxed Ordering (reference §5 table).
            return ctrl.contains(.completionRedirect) && !request.relaxedOrdering ? .completionRedirect : nil
        }
        if request.addressType == .translated, ctrl.contains(.directTranslatedP2P) { return nil }
        return ctrl.contains(.requestRedirect) ? .requestRedirect : nil
    }

    func egressBlocked(_ port: Int, _ index: Int) -> Bool {
        guard let d = e.functions[port].device, let acs = fabric.topology.devices[d].acs else { return false }
        return acs.egressVector.contains(index)
    }
}
