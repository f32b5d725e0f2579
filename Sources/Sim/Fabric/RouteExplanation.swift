// Why a route stopped or detoured, in words a user can act on: the rule (spec section) and the remedy.

extension BlockReason {
    /// The rule that stopped the TLP, with its source.
    public var rule: String {
        switch self {
        case .acsViolation(let bit) where bit == .sourceValidation:
            "ACS Violation: Source Validation (requester ID outside the port's bus range; PCIe Base §6.12.1.1)"
        case .acsViolation(let bit) where bit == .translationBlocking:
            "ACS Violation: Translation Blocking (AT field not 00b; PCIe Base §6.12.1.1)"
        case .acsViolation:
            "ACS Violation: P2P Egress Control (egress vector bit set for the target port; PCIe Base §6.12.1.1)"
        case .upstreamForwardingDisabled:
            "TLP targets the port it arrived on and ACS Upstream Forwarding is off (PCIe Base §6.12.1.1)"
        case .rootComplexUnsupported:
            "root complex answers peer-to-peer requests with Unsupported Request (P2P between root ports is implementation-defined, PCIe Base §1.3.1)"
        case .rootComplexWritesOnly:
            "root complex forwards peer-to-peer writes only; reads from a peer BAR fail"
        case .rootComplexDrops:
            "root complex drops peer-to-peer traffic (reads return all ones)"
        case .unclaimed:
            "no BAR claims the address (Unsupported Request)"
        case .iommuFault(let why):
            "IOMMU fault: \(why)"
        }
    }

    /// What would change the outcome, given where it happened.
    public func remedy(at location: HopLocation, fabric: Fabric) -> String {
        let port: String
        if case .function(let f) = location { port = fabric.bdf(f).description } else { port = "" }
        switch self {
        case .acsViolation(let bit) where bit == .sourceValidation:
            return "the TLP carries a Requester ID that is not below \(port); fix the requester's ID (or clear SV there: pci=config_acs=xxxxxx0@\(port))"
        case .acsViolation(let bit) where bit == .translationBlocking:
            return "send untranslated requests (disable ATS for the device), or clear TB: pci=config_acs=xxxxx0x@\(port)"
        case .acsViolation:
            return "clear the target port's bit in the egress control vector of \(port), or clear EC: pci=config_acs=x0xxxxx@\(port)"
        case .upstreamForwardingDisabled:
            return "set ACS Upstream Forwarding on \(port): pci=config_acs=xx1xxxx@\(port), or stop the redirect below it"
        case .rootComplexUnsupported, .rootComplexDrops:
            return "put provider and client under one PCIe switch with ACS redirect off, or use a host bridge that forwards P2P"
        case .rootComplexWritesOnly:
            return "push data with writes from the provider side instead of reading the peer BAR"
        case .unclaimed:
            return "target an address inside a BAR"
        case .iommuFault:
            return "map the address in the requester's IOMMU domain first (dma_map_resource, iommu_map or VFIO_IOMMU_MAP_DMA)"
        }
    }
}

extension Route {
    /// The hops as text, one per line: BDF, name, what happened and why.
    public func text(_ fabric: Fabric) -> String {
        var out = ""
        let req = request
        let target: String
        switch fabric.claim(req.address) {
        case .bar(let f, let k):
            let index = fabric.enumeration.functions[f].device.map { fabric.topology.devices[$0].bars[k].index } ?? k
            target = "BAR \(index) of \(fabric.name(f)) (\(fabric.bdf(f)))"
        case .unclaimedWindow(let b): target = "unclaimed, in the window of \(fabric.name(b))"
        case .unclaimedAperture: target = "unclaimed MMIO"
        case .memory: target = "system memory"
        }
        out += "\(req.kind.mnemonic) \(fabric.name(req.requester)) (\(fabric.bdf(req.requester))) -> 0x\(hex(req.address, 1)) (\(target)), \(req.addressType.text)\(req.relaxedOrdering ? ", relaxed ordering" : "")\n"
        for hop in hops { out += "  " + line(hop, fabric, tlp: req.kind) + "\n" }
        switch outcome {
        case .delivered(let d):
            var s = "result: delivered"
            switch d {
            case .function(let f): s += " to \(fabric.name(f))"
            case .memory: s += " to system memory"
            case .translationAgent: s += " to the root complex's translation agent"
            }
            s += throughRootComplex ? " through the root complex" : " without crossing the root complex"
            if !redirectedAt.isEmpty { s += " (ACS redirect at \(redirectedAt.map { fabric.bdf($0).description }.joined(separator: ", ")))" }
            out += s + "\n"
        case .blocked(let at, let reason):
            out += "result: blocked at \(place(at, fabric)): \(reason.rule)\n"
            out += "fix: \(reason.remedy(at: at, fabric: fabric))\n"
        }
        if !completionHops.isEmpty {
            out += "completion (\(completionKind.mnemonic)):\n"
            for hop in completionHops { out += "  " + line(hop, fabric, tlp: completionKind) + "\n" }
        }
        return out
    }

    func place(_ location: HopLocation, _ fabric: Fabric) -> String { fabric.describe(location) }

    func rootComplex(_ hop: Hop) -> Int? { if case .rootComplex(let r) = hop.location { return r } else { return nil } }

    func line(_ hop: Hop, _ fabric: Fabric, tlp: TLPKind) -> String {
        let where_: String
        switch hop.location {
        case .function(let f): where_ = "\(fabric.bdf(f)) \(fabric.name(f))"
        case .rootComplex(let r): where_ = "rc \(fabric.topology.rootComplexes[r].name)"
        case .socketLink(let a, let b): where_ = "socket \(a) -> socket \(b)"
        case .switchChip(let c): where_ = "chip \(fabric.topology.switchChips[c].name)"
        case .chipLink(let a, let b): where_ = "chip \(fabric.topology.switchChips[a].name) -> chip \(fabric.topology.switchChips[b].name)"
        }
        let padded = where_.count >= 30 ? where_ + " " : where_ + String(repeating: " ", count: 30 - where_.count)
        var what: String
        switch hop.action {
        case .issue: what = "issues"
        case .routeUp: what = "routes up"
        case .routeDown: what = "routes down"
        case .peerRoute(let egress): what = "routes to peer \(fabric.name(egress)) (no ACS redirect)"
        case .redirect(let bit):
            what = HopAction.redirectExplanation(bit, tlp: tlp)
        case .upstreamForward: what = "ACS Upstream Forwarding (UF): redirected TLP passed upstream"
        case .translate(let t):
            switch t {
            case .noIOMMU: what = "no IOMMU translation (IOMMU off)"
            case .identity: what = "IOMMU: identity domain (passthrough)"
            case .translated(let pa): what = "IOMMU: translated to 0x\(hex(pa, 1))"
            case .fault(let why): what = "IOMMU fault: \(why)"
            }
        case .rootComplexForward:
            what = "forwards peer-to-peer (host bridge policy)"
                + (rootComplex(hop).flatMap { fabric.topology.rootComplexP2PRateCap($0) }.map { ", P2P capped at \($0.text)" } ?? "")
        case .crossSocket:
            what = "crosses the inter-socket link"
            if case .socketLink(let a, let b) = hop.location, let bw = fabric.topology.socketLinkBandwidth(from: a, to: b) {
                what += ", \(bw.text)"
            }
        case .chipForward:
            switch hop.location {
            case .chipLink(let a, let b):
                let names = [fabric.topology.switchChips[a].name, fabric.topology.switchChips[b].name]
                let link = fabric.topology.chipLinks.first { [$0.a, $0.b] == names || [$0.b, $0.a] == names }
                what = "crosses the chip-to-chip link" + (link.map { " (Gen\($0.generation.rawValue) x\($0.width))" } ?? "")
            case .switchChip(let c):
                let chip = fabric.topology.switchChips[c]
                what = "switched between partitions inside the chip (fabric mode; Linux sees separate switches)"
                    + (chip.bandwidth.map { ", capacity \($0)" } ?? "")
            default:
                what = "switched inside the chip"
            }
        case .deliver:
            what = "delivered"
            if let r = rootComplex(hop), let cap = fabric.topology.rootComplexDMACap(r) {
                what += " to memory, DMA through this root complex capped at \(cap.rate) in all (\(cap.origin))"
            }
        case .blocked(let r): what = "BLOCKED: " + (r.acsBit.map { "\($0) on \(tlp.mnemonic): " } ?? "") + r.rule
        }
        return padded + what
    }
}

extension Fabric {
    /// A hop's place in words: `0000:02:01.0 sw0.dp1`, `root complex rc0`, `socket link 0->1`.
    public func describe(_ location: HopLocation) -> String {
        switch location {
        case .function(let f): "\(bdf(f)) \(name(f))"
        case .rootComplex(let r): "root complex \(topology.rootComplexes[r].name)"
        case .socketLink(let a, let b): "socket link \(a)->\(b)"
        case .switchChip(let c): "switch chip \(topology.switchChips[c].name)"
        case .chipLink(let a, let b): "chip link \(topology.switchChips[a].name)->\(topology.switchChips[b].name)"
        }
    }
}

// MARK: - One explanation, two views

extension HopAction {
    /// What an ACS redirect did to a TLP, in the words both `simrun route` and run reports' findings print:
    /// `ACS P2P Completion Redirect (CR): CplD sent upstream (PCIe Base §6.12.1.1)`.
    public static func redirectExplanation(_ bit: ACSFlags, tlp: TLPKind) -> String {
        let name = bit == .requestRedirect ? "ACS P2P Request Redirect (RR)" : "ACS P2P Completion Redirect (CR)"
        return "\(name): \(tlp.mnemonic) sent upstream (PCIe Base §6.12.1.1)"
    }
}

extension BlockReason {
    /// The ACS control bit whose setting stopped the TLP (`SV`, `TB`, `EC`, `UF`), nil for a non-ACS block.
    public var acsBit: String? {
        switch self {
        case .acsViolation(let bit) where bit == .sourceValidation: "SV"
        case .acsViolation(let bit) where bit == .translationBlocking: "TB"
        case .acsViolation: "EC"
        case .upstreamForwardingDisabled: "UF"
        default: nil
        }
    }
}

/// One port's redirect or block of one TLP kind on a route: what `simrun route` prints on that hop, and what a run
/// report's finding names (port, bit, TLP kind). Both views read ``Route/verdicts``.
public struct RouteVerdict: Hashable, Sendable {
    /// Which leg of the transaction: the request, or the read's completion travelling back.
    public enum Leg: String, Hashable, Sendable { case request, completion }
    public var location: HopLocation
    public var leg: Leg
    /// The TLP the port acted on: `MWr`/`MRd` for the request, `CplD` for a read's completion.
    public var tlpKind: TLPKind
    /// `RR`, `CR` (redirects), `SV`, `TB`, `EC`, `UF` (ACS blocks); nil for a block outside ACS.
    public var bit: String?
    /// True for a redirect (the TLP goes on, upstream), false for a block.
    public var isRedirect: Bool
    /// The hop's explanation, word for word as `simrun route` prints it.
    public var explanation: String
}

extension Route {
    /// The TLP kind of a read's completions (`CplD`); writes have none.
    public var completionKind: TLPKind { .completionWithData }

    /// Every redirect and block on the request and the completion, in path order.
    public var verdicts: [RouteVerdict] {
        var out: [RouteVerdict] = []
        for (leg, list, kind) in [(RouteVerdict.Leg.request, hops, request.kind), (.completion, completionHops, completionKind)] {
            for hop in list {
                switch hop.action {
                case .redirect(let bit):
                    out.append(RouteVerdict(location: hop.location, leg: leg, tlpKind: kind,
                                            bit: bit == .requestRedirect ? "RR" : "CR", isRedirect: true,
                                            explanation: HopAction.redirectExplanation(bit, tlp: kind)))
                case .blocked(let reason):
                    out.append(RouteVerdict(location: hop.location, leg: leg, tlpKind: kind, bit: reason.acsBit,
                                            isRedirect: false, explanation: reason.rule))
                default:
                    break
                }
            }
        }
        return out
    }
}
