// TLP routing: the reference's R1-R11 cases and every branch of the router (PCIe Base §6.12, reference §5).
import Testing
@testable import Sim

/// RP -> switch -> DSP a (client side) and DSP b (provider side), endpoints A and B. `aCtrl`/`bCtrl` are the
/// downstream ports' ACS control as firmware left it (Linux's boot-time enable is not applied here).
func switchPair(aCtrl: String = "none", bCtrl: String = "none", aEgress: String? = nil, rpCtrl: String = "none",
                p2p: String = "forward") -> String {
    machine("""
        <root-port id="8086:347a" acs-cap="SV TB RR CR UF EC DT" acs-ctrl="\(rpCtrl)">
          <switch name="sw" id="1000:c010">
            <downstream-port name="dpa" acs-cap="SV TB RR CR UF EC DT" acs-ctrl="\(aCtrl)"\(aEgress.map { " acs-egress=\"\($0)\"" } ?? "")>
              <endpoint name="A" class="gpu" id="10de:20b0"><bar index="0" size="16M" bits="32"/><bar index="1" size="1G" prefetchable="true"/></endpoint>
            </downstream-port>
            <downstream-port name="dpb" acs-cap="SV TB RR CR UF EC DT" acs-ctrl="\(bCtrl)">
              <endpoint name="B" class="gpu" id="10de:20b0"><bar index="0" size="16M" bits="32"/><bar index="1" size="1G" prefetchable="true"/></endpoint>
            </downstream-port>
          </switch>
        </root-port>
        <root-port id="8086:347a" acs-cap="SV TB RR CR UF EC DT" acs-ctrl="\(rpCtrl)">
          <endpoint name="C" class="gpu" id="10de:20b0"><bar index="0" size="16M" bits="32"/><bar index="1" size="1G" prefetchable="true"/></endpoint>
        </root-port>
    """, rcAttributes: " p2p=\"\(p2p)\"")
}

func router(_ xml: String) throws -> Router {
    let loaded = try LoadedTopology(document: TopologyReader.read(text: xml))
    return Router(Fabric(loaded))
}

extension Router {
    func f(_ name: String) -> Int { fabric.enumeration.function(named: name)! }
    func request(_ kind: TLPKind, from: String, to: String, at: AddressType = .untranslated, ro: Bool = false,
                 spoof: BDF? = nil) -> Route {
        let target = fabric.defaultTargetAddress(function: f(to))!
        return route(TLPRequest(kind: kind, requester: f(from), address: target + 0x1000, addressType: at,
                                relaxedOrdering: ro, spoofedRequesterID: spoof))
    }
    /// `name:action` per hop, compact enough to compare as a table.
    func trace(_ hops: [Hop]) -> [String] {
        hops.map { hop in
            let place: String
            switch hop.location {
            case .function(let i): place = fabric.name(i)
            case .rootComplex(let r): place = fabric.topology.rootComplexes[r].name
            case .socketLink(let a, let b): place = "socket\(a)-\(b)"
            case .switchChip(let c): place = "chip:" + fabric.topology.switchChips[c].name
            case .chipLink(let a, let b): place = "chiplink:\(fabric.topology.switchChips[a].name)-\(fabric.topology.switchChips[b].name)"
            }
            let action: String
            switch hop.action {
            case .issue: action = "issue"
            case .routeUp: action = "up"
            case .routeDown: action = "down"
            case .peerRoute(let egress): action = "peer->\(fabric.name(egress))"
            case .redirect(let bit): action = "redirect(\(bit.tokens))"
            case .upstreamForward: action = "UF"
            case .translate: action = "iommu"
            case .rootComplexForward: action = "rc-forward"
            case .crossSocket: action = "cross"
            case .chipForward: action = "chip"
            case .deliver: action = "deliver"
            case .blocked(let r): action = "blocked(\(r))"
            }
            return "\(place):\(action)"
        }
    }
}

@Test("R1: RR on the client's downstream port redirects same-switch P2P through the root complex")
func r1() throws {
    let r = try router(switchPair(aCtrl: "RR"))
    let route = r.request(.memoryWrite, from: "A", to: "B")
    #expect(r.trace(route.hops) == ["A:issue", "dpa:redirect(RR)", "sw:up", "rc0.rp0:up", "rc0:iommu", "rc0:rc-forward",
                                    "rc0.rp0:down", "sw:down", "dpb:down", "B:deliver"])
    #expect(route.throughRootComplex && route.redirectedAt == [r.f("dpa")])
}

@Test("R2: RR clear, EC set with the provider port's egress bit: ACS violation at the client's port")
func r2() throws {
    let r = try router(switchPair(aCtrl: "EC", aEgress: "1"))
    let route = r.request(.memoryWrite, from: "A", to: "B")
    #expect(route.outcome == .blocked(at: .function(r.f("dpa")), reason: .acsViolation(.egressControl)))
}

@Test("R3: EC set but the provider's egress bit clear: routed directly to the peer")
func r3() throws {
    let r = try router(switchPair(aCtrl: "EC", aEgress: "0"))
    let route = r.request(.memoryWrite, from: "A", to: "B")
    #expect(r.trace(route.hops) == ["A:issue", "dpa:peer->dpb", "sw:down", "dpb:down", "B:deliver"])
    #expect(!route.throughRootComplex)
}

@Test("R5 and R6: TB blocks translated requests even with DT, and ATS translation requests")
func r5r6() throws {
    let r = try router(switchPair(aCtrl: "TB DT"))
    #expect(r.request(.memoryWrite, from: "A", to: "B", at: .translated).outcome
        == .blocked(at: .function(r.f("dpa")), reason: .acsViolation(.translationBlocking)))
    #expect(r.request(.memoryRead, from: "A", to: "B", at: .translationRequest).outcome
        == .blocked(at: .function(r.f("dpa")), reason: .acsViolation(.translationBlocking)))
    // Without TB, DT sends translated requests direct even with RR set; untranslated ones are redirected.
    let dt = try router(switchPair(aCtrl: "RR DT"))
    #expect(!dt.request(.memoryWrite, from: "A", to: "B", at: .translated).throughRootComplex)
    #expect(dt.request(.memoryWrite, from: "A", to: "B").throughRootComplex)
    // A translation request without TB goes to the root complex's translation agent.
    #expect(dt.request(.memoryRead, from: "A", to: "B", at: .translationRequest).outcome == .delivered(.translationAgent(0)))
}

@Test("R7 and R8: CR on the provider's port redirects a read completion unless it carries Relaxed Ordering")
func r7r8() throws {
    let r = try router(switchPair(bCtrl: "CR"))
    let route = r.request(.memoryRead, from: "A", to: "B")
    #expect(!route.throughRootComplex)   // the request itself went direct
    #expect(r.trace(route.completionHops) == ["B:issue", "dpb:redirect(CR)", "sw:up", "rc0.rp0:up", "rc0:down",
                                              "rc0.rp0:down", "sw:down", "dpa:down", "A:deliver"])
    let ro = r.request(.memoryRead, from: "A", to: "B", ro: true)
    #expect(r.trace(ro.completionHops) == ["B:issue", "dpb:peer->dpa", "sw:down", "dpa:down", "A:deliver"])
    let plain = try router(switchPair())
    #expect(plain.trace(plain.request(.memoryRead, from: "A", to: "B").completionHops)
        == ["B:issue", "dpb:peer->dpa", "sw:down", "dpa:down", "A:deliver"])
}

@Test("R9: SV blocks a request whose requester bus lies outside the port's bus range")
func r9() throws {
    let r = try router(switchPair(aCtrl: "SV"))
    let spoofed = BDF(bus: 0x40, device: 0, function: 0)
    #expect(r.request(.memoryWrite, from: "A", to: "B", spoof: spoofed).outcome
        == .blocked(at: .function(r.f("dpa")), reason: .acsViolation(.sourceValidation)))
    #expect(r.request(.memoryWrite, from: "A", to: "B").isDelivered)
}

/// Two switch levels: A below switch 2 (below switch 1's port 1a), B below switch 1's port 1b.
func nested(lowerCtrl: String, upperCtrl: String, bUnderLower: Bool = false) -> String {
    let b = "<endpoint name=\"B\" class=\"gpu\" id=\"10de:20b0\"><bar index=\"1\" size=\"1G\" prefetchable=\"true\"/></endpoint>"
    return machine("""
        <root-port id="8086:347a">
          <switch name="sw1" id="1000:c010">
            <downstream-port name="dp1a" acs-cap="SV RR CR UF EC" acs-ctrl="\(upperCtrl)">
              <switch name="sw2" id="1000:c010">
                <downstream-port name="dp2a" acs-cap="SV RR CR UF EC" acs-ctrl="\(lowerCtrl)">
                  <endpoint name="A" class="gpu" id="10de:20b0"><bar index="1" size="1G" prefetchable="true"/></endpoint>
                </downstream-port>
                <downstream-port name="dp2b" acs-cap="SV RR CR UF EC" acs-ctrl="\(lowerCtrl)">\(bUnderLower ? b : "")</downstream-port>
              </switch>
            </downstream-port>
            <downstream-port name="dp1b" acs-cap="SV RR CR UF EC" acs-ctrl="\(upperCtrl)">\(bUnderLower ? "" : b)</downstream-port>
          </switch>
        </root-port>
    """)
}

@Test("R11: RR on a downstream port below the divergence point makes no P2P decision there")
func r11() throws {
    let r = try router(nested(lowerCtrl: "RR", upperCtrl: "none"))
    let route = r.request(.memoryWrite, from: "A", to: "B")
    #expect(r.trace(route.hops) == ["A:issue", "dp2a:up", "sw2:up", "dp1a:peer->dp1b", "sw1:down", "dp1b:down", "B:deliver"])
}

@Test("a redirected TLP passing its own upper port needs ACS Upstream Forwarding there")
func upstreamForwarding() throws {
    let blocked = try router(nested(lowerCtrl: "RR", upperCtrl: "none", bUnderLower: true))
    #expect(blocked.request(.memoryWrite, from: "A", to: "B").outcome
        == .blocked(at: .function(blocked.f("dp1a")), reason: .upstreamForwardingDisabled))
    let forwarded = try router(nested(lowerCtrl: "RR", upperCtrl: "UF", bUnderLower: true))
    let route = forwarded.request(.memoryWrite, from: "A", to: "B")
    #expect(forwarded.trace(route.hops) == ["A:issue", "dp2a:redirect(RR)", "sw2:up", "dp1a:UF", "sw1:up", "rc0.rp0:up",
                                            "rc0:iommu", "rc0:rc-forward", "rc0.rp0:down", "sw1:down", "dp1a:down", "sw2:down",
                                            "dp2b:down", "B:deliver"])
}

@Test("P2P between root ports follows the host bridge's policy", arguments: [
    ("forward", true, true), ("writes-only", true, false), ("drop", false, false), ("unsupported-request", false, false),
])
func rootComplexPolicy(_ policy: String, _ writes: Bool, _ reads: Bool) throws {
    let r = try router(switchPair(p2p: policy))
    #expect(r.request(.memoryWrite, from: "A", to: "C").isDelivered == writes)
    #expect(r.request(.memoryRead, from: "A", to: "C").isDelivered == reads)
    let expected: BlockReason? = switch policy {
    case "drop": .rootComplexDrops
    case "unsupported-request": .rootComplexUnsupported
    case "writes-only": .rootComplexWritesOnly
    default: nil
    }
    if let expected { #expect(r.request(.memoryRead, from: "A", to: "C").outcome == .blocked(at: .rootComplex(0), reason: expected)) }
}

struct FaultingTranslator: AddressTranslator {
    func translate(requester: Int, address: UInt64, isWrite: Bool) -> TranslationOutcome { .fault("no mapping for IOVA") }
}

@Test("the IOMMU translates at the root complex; a fault stops the TLP there; switch-local P2P never sees it")
func iommu() throws {
    let r = try router(switchPair(aCtrl: "RR"))
    let faulted = r.route(TLPRequest(kind: .memoryWrite, requester: r.f("A"), address: 0x1000), translator: FaultingTranslator())
    #expect(faulted.outcome == .blocked(at: .rootComplex(0), reason: .iommuFault("no mapping for IOVA")))
    let direct = try router(switchPair())
    let b = direct.fabric.defaultTargetAddress(function: direct.f("B"))!
    #expect(direct.route(TLPRequest(kind: .memoryWrite, requester: direct.f("A"), address: b), translator: FaultingTranslator()).isDelivered)
}

@Test("DMA to system memory is delivered at the root complex; its read completion comes back down")
func memory() throws {
    let r = try router(switchPair())
    let route = r.route(TLPRequest(kind: .memoryRead, requester: r.f("A"), address: 0x1_0000_0000))
    #expect(route.outcome == .delivered(.memory(0x1_0000_0000)))
    #expect(r.trace(route.completionHops) == ["rc0:issue", "rc0.rp0:down", "sw:down", "dpa:down", "A:deliver"])
}

@Test("an address inside a window that no BAR claims is an unsupported request below that window")
func unclaimed() throws {
    let r = try router(switchPair())
    let dpb = r.f("dpb")
    let window = try #require(r.fabric.enumeration.prefetchableWindows[dpb])
    let bStart = r.fabric.defaultTargetAddress(function: r.f("B"))!
    let hole = window.start == bStart ? window.end : window.start
    if hole != window.end || window.size > 1 << 30 {
        let route = r.route(TLPRequest(kind: .memoryWrite, requester: r.f("A"), address: window.end))
        #expect(route.isDelivered == (r.fabric.claim(window.end) != .unclaimedWindow(bridge: dpb)))
    }
    #expect(r.fabric.claim(0xFB00_0000) == .unclaimedAperture(rootComplex: 0) || r.fabric.claim(0xFB00_0000) == .memory)
}

@Test("multifunction devices apply their own ACS to function-to-function traffic")
func multifunction() throws {
    let xml = machine("""
        <root-port id="8086:347a" acs-cap="SV RR CR UF" acs-ctrl="SV RR CR UF">
          <endpoint name="f0" class="nic" id="15b3:101b" acs-cap="RR CR" acs-ctrl="RR"><bar index="0" size="32M" prefetchable="true"/></endpoint>
          <endpoint name="f1" class="nic" id="15b3:101b"><bar index="0" size="32M" prefetchable="true"/></endpoint>
        </root-port>
    """)
    let r = try router(xml)
    let redirected = r.request(.memoryWrite, from: "f0", to: "f1")
    #expect(r.trace(redirected.hops).prefix(3) == ["f0:issue", "f0:redirect(RR)", "rc0.rp0:UF"])
    #expect(redirected.isDelivered && redirected.throughRootComplex)
    let inside = r.request(.memoryWrite, from: "f1", to: "f0")
    #expect(r.trace(inside.hops) == ["f1:issue", "f1:peer->f0", "f0:deliver"])
}
