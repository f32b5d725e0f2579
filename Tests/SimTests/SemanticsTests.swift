// Linux semantics conformance: reference §6 (P1-P21, G1-G14) and one row per branch the reference describes.
import Testing
@testable import Sim

/// The Linux semantics conformance suite (`swift test --filter SemanticsTests`).
@Suite struct SemanticsTests {}

// MARK: - Machines

/// A machine for semantics cases. `body` is the root complex's children; defaults follow reference §6:
/// H = Intel 8086:4c43 (not whitelisted), Intel CPU, VT-d on.
func semanticsMachine(_ body: String, cpu: String = "intel", family: String = "6", hostBridge: String? = "8086:4c43",
                      iommu: String? = "vt-d", cmdline: String = "", version: String = "mainline",
                      rcAttributes: String = "", moreRootComplexes: String = "") -> String {
    let iommuLine = iommu.map { "  <iommu name=\"u0\" kind=\"\($0)\"/>\n" } ?? ""
    let hb = hostBridge.map { " host-bridge=\"\($0)\"" } ?? ""
    let iommuAttr = iommu == nil ? "" : " iommu=\"u0\""
    return topologyXML("""
      <kernel cmdline="\(cmdline)" version="\(version)"/>
      <socket id="0" cpu-vendor="\(cpu)" cpu-family="\(family)"/>
    \(iommuLine)  <root-complex name="rc0"\(hb)\(iommuAttr)\(rcAttributes)>
    \(body)
      </root-complex>
    \(moreRootComplexes)
    """)
}

/// The AMD Zen variant: family 0x19, AMD-Vi, host bridge 1022:1480.
func amdMachine(_ body: String, cmdline: String = "") -> String {
    semanticsMachine(body, cpu: "amd", family: "0x19", hostBridge: "1022:1480", iommu: "amd-vi", cmdline: cmdline)
}

func semanticsBoot(_ xml: String, _ options: SemanticsOptions = SemanticsOptions()) throws -> Semantics {
    let loaded = try LoadedTopology(document: TopologyReader.read(text: xml, file: "case.xml"))
    return Semantics(loaded, options: options)
}

extension Semantics {
    /// The function at a BDF or name, for tables.
    func index(_ text: String) -> Int {
        guard let i = loaded.enumeration.lookup(text) else { fatalError("no function \(text)") }
        return i
    }
    /// Groups as lists of BDF strings.
    var groupNames: [[String]] { iommuGroups().map(\.names) }
}

/// Shared topology pieces.
enum Pieces {
    static let lACS = "acs-cap=\"SV RR CR UF\""
    /// RP 00:01.0 -> USP 01:00.0 -> DSPs 02:00.0, 02:01.0 -> EP_A 03:00.0, EP_B 04:00.0 (reference P6).
    static func switchPair(dsp0: String = "", dsp1: String = "", rp: String = "", epA: String = "", epB: String = "") -> String {
        """
            <root-port id="8086:a7bd" \(rp)>
              <switch name="sw" id="1000:c010">
                <downstream-port \(dsp0)>
                  <endpoint name="epA" class="gpu" id="10de:2330" \(epA)/>
                </downstream-port>
                <downstream-port \(dsp1)>
                  <endpoint name="epB" class="gpu" id="10de:2330" \(epB)/>
                </downstream-port>
              </switch>
            </root-port>
        """
    }
    /// RP 00:01.0 (secondary bus 3) -> MFD 03:00.0, 03:00.1 (reference P3).
    static func mfdUnderRootPort(rp: String = "", functions: String = "") -> String {
        """
            <root-port id="8086:a7bd" secondary="3" \(rp)>
              <endpoint name="f0" id="15b3:1017" \(functions)/>
              <endpoint name="f1" id="15b3:1017" \(functions)/>
            </root-port>
        """
    }
}

// MARK: - P2PDMA: map type, distance, warnings

struct P2PCase: CustomStringConvertible, Sendable {
    var name: String
    var xml: String
    var provider: String
    var client: String
    var options = SemanticsOptions()
    var mapType: P2PMapType
    var distance: Int
    var warnings: [String]
    var description: String { name }
}

let h4c43 = "pci 0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:4c43"
func acsLines(client: String, provider: String, list: String) -> [String] {
    ["pci \(client): ACS redirect is set between the client and provider (\(provider))",
     "pci \(client): to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=\(list)"]
}
func noShareLine(client: String, provider: String) -> String {
    "pci \(client): cannot be used for peer-to-peer DMA as the client and provider (\(provider)) do not share an upstream bridge or whitelisted host bridge"
}

func twoHostBridges(_ id: String) -> String {
    semanticsMachine("""
        <root-port id="8086:a7bd">
          <endpoint name="a" class="nvme" id="144d:a80a"/>
        </root-port>
    """, hostBridge: id, moreRootComplexes: """
      <root-complex name="rc1" bus="0x80" host-bridge="\(id)" iommu="u0">
        <root-port id="8086:a7bd">
          <endpoint name="b" class="nic" id="15b3:1017"/>
        </root-port>
      </root-complex>
    """)
}

let p2pCases: [P2PCase] = [
    P2PCase(name: "P1 provider = client", xml: semanticsMachine("""
        <root-port id="8086:a7bd" secondary="3"><endpoint name="ep" id="144d:a80a"/></root-port>
    """), provider: "0000:03:00.0", client: "0000:03:00.0", mapType: .busAddress, distance: 0, warnings: []),
    P2PCase(name: "P2 MFD function with RR enabled by Linux, H=4c43", xml: semanticsMachine(Pieces.mfdUnderRootPort(functions: Pieces.lACS)),
            provider: "0000:03:00.0", client: "0000:03:00.0", mapType: .notSupported, distance: 0,
            warnings: acsLines(client: "0000:03:00.0", provider: "0000:03:00.0", list: "0000:03:00.0")
                + [h4c43, noShareLine(client: "0000:03:00.0", provider: "0000:03:00.0")]),
    P2PCase(name: "P2 on AMD Zen", xml: amdMachine(Pieces.mfdUnderRootPort(functions: Pieces.lACS)),
            provider: "0000:03:00.0", client: "0000:03:00.0", mapType: .thruHostBridge, distance: 0,
            warnings: acsLines(client: "0000:03:00.0", provider: "0000:03:00.0", list: "0000:03:00.0")),
    P2PCase(name: "P3 MFD under RP with ctrl 0", xml: semanticsMachine(Pieces.mfdUnderRootPort(rp: Pieces.lACS), iommu: nil),
            provider: "0000:03:00.0", client: "0000:03:00.1", mapType: .busAddress, distance: 2, warnings: []),
    P2PCase(name: "P4 RP with L-ACS is the common ancestor", xml: semanticsMachine(Pieces.mfdUnderRootPort(rp: Pieces.lACS)),
            provider: "0000:03:00.0", client: "0000:03:00.1", mapType: .notSupported, distance: 2,
            warnings: acsLines(client: "0000:03:00.1", provider: "0000:03:00.0", list: "0000:00:01.0")
                + [h4c43, noShareLine(client: "0000:03:00.1", provider: "0000:03:00.0")]),
    P2PCase(name: "P5 two VFs of a PF with L-ACS under a DSP with ctrl 0", xml: semanticsMachine("""
        <root-port id="8086:a7bd">
          <switch name="sw" id="1000:c010">
            <downstream-port>
              <endpoint name="pf" class="nic" id="15b3:1017" \(Pieces.lACS)>
                <sriov total-vfs="2" num-vfs="2" vf-id="15b3:1018"/>
              </endpoint>
            </downstream-port>
          </switch>
        </root-port>
    """), provider: "0000:03:00.1", client: "0000:03:00.2", mapType: .busAddress, distance: 2, warnings: []),
    P2PCase(name: "P6 two endpoints on one switch", xml: semanticsMachine(Pieces.switchPair()),
            provider: "0000:03:00.0", client: "0000:04:00.0", mapType: .busAddress, distance: 4, warnings: []),
    P2PCase(name: "P7 both DSPs L-ACS, H=4c43 (compute-runtime#935)", xml: semanticsMachine(Pieces.switchPair(dsp0: Pieces.lACS, dsp1: Pieces.lACS)),
            provider: "0000:03:00.0", client: "0000:04:00.0", mapType: .notSupported, distance: 4,
            warnings: acsLines(client: "0000:04:00.0", provider: "0000:03:00.0", list: "0000:02:00.0;0000:02:01.0")
                + [h4c43, noShareLine(client: "0000:04:00.0", provider: "0000:03:00.0")]),
    P2PCase(name: "P8 P7 on AMD family 0x19", xml: amdMachine(Pieces.switchPair(dsp0: Pieces.lACS, dsp1: Pieces.lACS)),
            provider: "0000:03:00.0", client: "0000:04:00.0", mapType: .thruHostBridge, distance: 4,
            warnings: acsLines(client: "0000:04:00.0", provider: "0000:03:00.0", list: "0000:02:00.0;0000:02:01.0")),
    P2PCase(name: "P10 client DSP with EC only", xml: semanticsMachine(
        Pieces.switchPair(dsp1: "acs-cap=\"SV RR CR UF EC\" acs-ctrl=\"EC\""), iommu: nil),
            provider: "0000:03:00.0", client: "0000:04:00.0", mapType: .notSupported, distance: 4,
            warnings: acsLines(client: "0000:04:00.0", provider: "0000:03:00.0", list: "0000:02:01.0")
                + [h4c43, noShareLine(client: "0000:04:00.0", provider: "0000:03:00.0")]),
    P2PCase(name: "P11 two root ports, no whitelist line at cd2698d7", xml: semanticsMachine("""
        <root-port id="8086:a7bd"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
        <root-port id="8086:a7bd" device="0x1c"><endpoint name="b" class="nic" id="15b3:1017"/></root-port>
    """), provider: "0000:01:00.0", client: "0000:02:00.0", mapType: .notSupported, distance: 4,
            warnings: [noShareLine(client: "0000:02:00.0", provider: "0000:01:00.0")]),
    P2PCase(name: "P11 on the p2pdma branch (warn = verbose)", xml: semanticsMachine("""
        <root-port id="8086:a7bd"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
        <root-port id="8086:a7bd" device="0x1c"><endpoint name="b" class="nic" id="15b3:1017"/></root-port>
    """), provider: "0000:01:00.0", client: "0000:02:00.0", options: SemanticsOptions(p2pdmaBranch: .p2pdmaNext),
            mapType: .notSupported, distance: 4, warnings: [h4c43, noShareLine(client: "0000:02:00.0", provider: "0000:01:00.0")]),
    P2PCase(name: "P12 H=8086:2f00, same host bridge", xml: semanticsMachine("""
        <root-port id="8086:a7bd"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
        <root-port id="8086:a7bd" device="0x1c"><endpoint name="b" class="nic" id="15b3:1017"/></root-port>
    """, hostBridge: "8086:2f00"), provider: "0000:01:00.0", client: "0000:02:00.0", mapType: .thruHostBridge, distance: 4, warnings: []),
    P2PCase(name: "P14 two host bridges 8086:09a2", xml: twoHostBridges("8086:09a2"),
            provider: "0000:01:00.0", client: "0000:81:00.0", mapType: .thruHostBridge, distance: 4, warnings: []),
    P2PCase(name: "REQ_SAME_HOST_BRIDGE across two 8086:2f00 host bridges (silent)", xml: twoHostBridges("8086:2f00"),
            provider: "0000:01:00.0", client: "0000:81:00.0", options: SemanticsOptions(p2pdmaBranch: .p2pdmaNext),
            mapType: .notSupported, distance: 4, warnings: [noShareLine(client: "0000:81:00.0", provider: "0000:01:00.0")]),
    P2PCase(name: "P15 first root-bus device is an endpoint at 00:02.0", xml: semanticsMachine("""
        <endpoint name="a" class="accelerator" id="8086:0b25" device="2"/>
        <endpoint name="b" class="accelerator" id="8086:0b25" device="3"/>
    """, hostBridge: nil), provider: "0000:00:02.0", client: "0000:00:03.0", options: SemanticsOptions(p2pdmaBranch: .p2pdmaNext),
            mapType: .notSupported, distance: 2, warnings: [noShareLine(client: "0000:00:03.0", provider: "0000:00:02.0")]),
    P2PCase(name: "P15 with an ACS redirect: still no whitelist line", xml: semanticsMachine("""
        <endpoint name="a" class="accelerator" id="8086:0b25" device="2"/>
        <root-port id="8086:a7bd" device="3" \(Pieces.lACS)>
          <endpoint name="f0" id="15b3:1017"/>
          <endpoint name="f1" id="15b3:1017"/>
        </root-port>
    """, hostBridge: nil), provider: "0000:01:00.0", client: "0000:01:00.1", mapType: .notSupported, distance: 2,
            warnings: acsLines(client: "0000:01:00.1", provider: "0000:01:00.0", list: "0000:00:03.0")
                + [noShareLine(client: "0000:01:00.1", provider: "0000:01:00.0")]),
    P2PCase(name: "P16 two RCiEPs on AMD Zen", xml: semanticsMachine("""
        <endpoint name="a" class="accelerator" id="1022:14c0" device="2"/>
        <endpoint name="b" class="accelerator" id="1022:14c0" device="3"/>
    """, cpu: "amd", family: "0x17", hostBridge: "1022:1480", iommu: "amd-vi"),
            provider: "0000:00:02.0", client: "0000:00:03.0", mapType: .thruHostBridge, distance: 2, warnings: []),
    // Own rows.
    P2PCase(name: "VF walk: the PF with L-ACS is never on the walk", xml: semanticsMachine("""
        <root-port id="8086:a7bd">
          <switch name="sw" id="1000:c010">
            <downstream-port \(Pieces.lACS)>
              <endpoint name="pf" class="nic" id="15b3:1017" \(Pieces.lACS)>
                <sriov total-vfs="2" num-vfs="2" vf-id="15b3:1018"/>
              </endpoint>
            </downstream-port>
            <downstream-port \(Pieces.lACS)>
              <endpoint name="gpu" class="gpu" id="10de:2330"/>
            </downstream-port>
          </switch>
        </root-port>
    """), provider: "0000:03:00.1", client: "0000:04:00.0", mapType: .notSupported, distance: 4,
            warnings: acsLines(client: "0000:04:00.0", provider: "0000:03:00.1", list: "0000:02:00.0;0000:02:01.0")
                + [h4c43, noShareLine(client: "0000:04:00.0", provider: "0000:03:00.1")]),
    P2PCase(name: "Intel SPT root port: RR in the dword at +8 is invisible to p2pdma", xml: semanticsMachine("""
        <root-port id="8086:a110" device="0x1c" secondary="3" \(Pieces.lACS)>
          <endpoint name="f0" id="15b3:1017"/>
          <endpoint name="f1" id="15b3:1017"/>
        </root-port>
    """), provider: "0000:03:00.0", client: "0000:03:00.1", mapType: .busAddress, distance: 2, warnings: []),
    P2PCase(name: "disable_acs_redir clears the path (mainline)", xml: semanticsMachine(Pieces.switchPair(dsp0: Pieces.lACS, dsp1: Pieces.lACS),
        cmdline: "pci=disable_acs_redir=0000:02:00.0;0000:02:01.0"),
            provider: "0000:03:00.0", client: "0000:04:00.0", mapType: .busAddress, distance: 4, warnings: []),
    P2PCase(name: "two switch levels: distance 8 (compute-runtime#935, ACS cleared)", xml: semanticsMachine("""
        <root-port id="8086:a7bd">
          <switch name="pex" id="1000:c012">
            <downstream-port>
              <switch name="g0" id="8086:e2f0"><downstream-port><endpoint name="gpu0" class="gpu" id="8086:e223"/></downstream-port></switch>
            </downstream-port>
            <downstream-port>
              <switch name="g1" id="8086:e2f0"><downstream-port><endpoint name="gpu1" class="gpu" id="8086:e223"/></downstream-port></switch>
            </downstream-port>
          </switch>
        </root-port>
    """), provider: "gpu0", client: "gpu1", mapType: .busAddress, distance: 8, warnings: []),
    // Leon's divergence-port proposal (reference §5, explicit option).
    P2PCase(name: "divergence ports: RR below the divergence is ignored (R11 shape)", xml: semanticsMachine("""
        <root-port id="8086:a7bd">
          <switch name="sw1" id="1000:c010">
            <downstream-port>
              <switch name="sw2" id="1000:c010">
                <downstream-port acs-cap="SV RR CR UF" acs-ctrl="RR"><endpoint name="a" class="gpu" id="10de:2330"/></downstream-port>
              </switch>
            </downstream-port>
            <downstream-port><endpoint name="b" class="nvme" id="144d:a80a"/></downstream-port>
          </switch>
        </root-port>
    """, iommu: nil), provider: "b", client: "a", options: SemanticsOptions(p2pdmaAlgorithm: .divergencePorts),
            mapType: .busAddress, distance: 6, warnings: []),
    P2PCase(name: "mainline on the same R11 shape counts the lower DSP", xml: semanticsMachine("""
        <root-port id="8086:a7bd">
          <switch name="sw1" id="1000:c010">
            <downstream-port>
              <switch name="sw2" id="1000:c010">
                <downstream-port acs-cap="SV RR CR UF" acs-ctrl="RR"><endpoint name="a" class="gpu" id="10de:2330"/></downstream-port>
              </switch>
            </downstream-port>
            <downstream-port><endpoint name="b" class="nvme" id="144d:a80a"/></downstream-port>
          </switch>
        </root-port>
    """, iommu: nil), provider: "b", client: "a", mapType: .notSupported, distance: 6,
            warnings: acsLines(client: "0000:05:00.0", provider: "0000:06:00.0", list: "0000:04:00.0")
                + [h4c43, noShareLine(client: "0000:05:00.0", provider: "0000:06:00.0")]),
    P2PCase(name: "divergence ports: P7 redirects at both children", xml: semanticsMachine(Pieces.switchPair(dsp0: Pieces.lACS, dsp1: Pieces.lACS)),
            provider: "0000:03:00.0", client: "0000:04:00.0", options: SemanticsOptions(p2pdmaAlgorithm: .divergencePorts),
            mapType: .notSupported, distance: 4,
            warnings: acsLines(client: "0000:04:00.0", provider: "0000:03:00.0", list: "0000:02:00.0;0000:02:01.0")
                + [h4c43, noShareLine(client: "0000:04:00.0", provider: "0000:03:00.0")]),
    P2PCase(name: "divergence ports: TB on the client DSP blocks translated requests", xml: semanticsMachine(
        Pieces.switchPair(dsp1: "acs-cap=\"SV TB RR CR UF\" acs-ctrl=\"TB\""), iommu: nil),
            provider: "0000:03:00.0", client: "0000:04:00.0", options: SemanticsOptions(p2pdmaAlgorithm: .divergencePorts, tlpClass: .translated),
            mapType: .notSupported, distance: 4, warnings: []),
    P2PCase(name: "divergence ports: TB alone does not affect untranslated requests", xml: semanticsMachine(
        Pieces.switchPair(dsp1: "acs-cap=\"SV TB RR CR UF\" acs-ctrl=\"TB\""), iommu: nil),
            provider: "0000:03:00.0", client: "0000:04:00.0", options: SemanticsOptions(p2pdmaAlgorithm: .divergencePorts),
            mapType: .busAddress, distance: 4, warnings: []),
    P2PCase(name: "divergence ports: CR on the provider DSP is skipped for relaxed-ordering completions", xml: semanticsMachine(
        Pieces.switchPair(dsp0: "acs-cap=\"SV RR CR UF\" acs-ctrl=\"CR\""), iommu: nil),
            provider: "0000:03:00.0", client: "0000:04:00.0",
            options: SemanticsOptions(p2pdmaAlgorithm: .divergencePorts, relaxedOrderingCompletions: true),
            mapType: .busAddress, distance: 4, warnings: []),
]

extension SemanticsTests {
@Test("calc_map_type_and_dist: map type, distance and warnings", arguments: p2pCases)
func p2pdmaCase(_ c: P2PCase) throws {
    let s = try semanticsBoot(c.xml, c.options)
    let r = s.p2pdma(provider: s.index(c.provider), client: s.index(c.client), verbose: true)
    #expect(r.mapType == c.mapType)
    #expect(r.distance == c.distance)
    #expect(r.warnings == c.warnings, "\(r.warnings.joined(separator: "\n"))")
    // The quiet query gives the same answer; at cd2698d7 it still prints the whitelist line on a redirect.
    let quiet = s.p2pdma(provider: s.index(c.provider), client: s.index(c.client), verbose: false)
    #expect(quiet.mapType == c.mapType && quiet.distance == c.distance)
    #expect(quiet.warnings.allSatisfy { $0.contains("Host bridge not in P2PDMA whitelist") })
    // The matrix path agrees with the full computation.
    let m = s.distanceMatrix(providers: [s.index(c.provider)], clients: [s.index(c.client)])
    #expect(m[provider: 0, client: 0].mapType == c.mapType && m[provider: 0, client: 0].distance == c.distance)
}
}

// MARK: - distance_many, find_many, the cache

/// P19/P20: provider P 03:00.0 (p2pmem) under DSP0, C1 04:00.0 under DSP1, C3 05:00.0 under another root port.
let distanceManyMachine = semanticsMachine("""
    <root-port id="8086:a7bd">
      <switch name="sw" id="1000:c010">
        <downstream-port>
          <endpoint name="p" class="nvme" id="144d:a80a"><bar index="0" size="1M" prefetchable="true"/><p2pmem bar="0"/></endpoint>
        </downstream-port>
        <downstream-port><endpoint name="c1" class="nic" id="15b3:1017"/></downstream-port>
      </switch>
    </root-port>
    <root-port id="8086:a7bd"><endpoint name="c3" class="gpu" id="10de:2330"/></root-port>
""")

extension SemanticsTests {
@Test("P19 distance_many sums the distances")
func p19() throws {
    let s = try semanticsBoot(distanceManyMachine)
    let p = s.index("p")
    #expect(s.distanceMany(provider: p, clients: [.function(s.index("c1")), .function(p)], verbose: true).distance == 4)
}
}

extension SemanticsTests {
@Test("P20 one unsupported client makes -1; verbose evaluates every client")
func p20() throws {
    let s = try semanticsBoot(distanceManyMachine)
    let (p, c1, c3) = (s.index("p"), s.index("c1"), s.index("c3"))
    #expect(s.distanceMany(provider: p, clients: [.function(c1), .function(p), .function(c3)], verbose: false).distance == -1)
    let quiet = s.distanceMany(provider: p, clients: [.function(c3), .function(c1), .function(p)], verbose: false)
    #expect(quiet.distance == -1)
    #expect(quiet.evaluated.map(\.client) == [c3])
    #expect(quiet.warnings.isEmpty)
    let loud = s.distanceMany(provider: p, clients: [.function(c3), .function(c1), .function(p)], verbose: true)
    #expect(loud.distance == -1)
    #expect(loud.evaluated.map(\.client) == [c3, c1, p])
    #expect(loud.warnings == [noShareLine(client: "0000:05:00.0", provider: "0000:03:00.0")])
    // The cache: only the pairs computed are stored, and they never expire.
    var quietSession = P2PDMASession(s)
    _ = quietSession.distanceMany(provider: p, clients: [.function(c3), .function(c1), .function(p)], verbose: false)
    #expect(quietSession.cachedPairs == 1)
    #expect(quietSession.cachedMapType(provider: p, client: c1) == .unknown)
    var loudSession = P2PDMASession(s)
    _ = loudSession.distanceMany(provider: p, clients: [.function(c3), .function(c1), .function(p)], verbose: true)
    #expect(loudSession.cachedPairs == 3)
    #expect(loudSession.cachedMapType(provider: p, client: c1) == .busAddress)
    #expect(loudSession.cachedMapType(provider: p, client: c3) == .notSupported)
    #expect(loudSession.log.count == 1)
}
}

extension SemanticsTests {
@Test("P21 a client with no PCI ancestor, and an empty client list")
func p21() throws {
    let s = try semanticsBoot(distanceManyMachine)
    let p = s.index("p")
    let r = s.distanceMany(provider: p, clients: [.function(s.index("c1")), .nonPCI(name: "soc-dma.0")], verbose: true)
    #expect(r.distance == -1)
    #expect(r.warnings == ["platform soc-dma.0: cannot be used for peer-to-peer DMA as it is not a PCI device"])
    #expect(s.distanceMany(provider: p, clients: [], verbose: true).distance == -1)
    #expect(s.distanceMany(provider: p, clients: [.nonPCI(name: "x")], verbose: false).warnings.isEmpty)
}
}

extension SemanticsTests {
@Test("pci_p2pdma_map_type: NOT_SUPPORTED without p2pdma state or for a non-PCI device; verbose on first use")
func mapTypeExport() throws {
    let s = try semanticsBoot(distanceManyMachine)
    var session = P2PDMASession(s)
    let (p, c1, c3) = (s.index("p"), s.index("c1"), s.index("c3"))
    #expect(session.mapType(provider: c1, client: .function(p)) == .notSupported)   // c1 registered no p2pmem
    #expect(session.mapType(provider: p, client: .nonPCI(name: "x")) == .notSupported)
    #expect(session.mapType(provider: p, client: .function(c3)) == .notSupported)
    #expect(session.log == [noShareLine(client: "0000:05:00.0", provider: "0000:03:00.0")])
    #expect(session.mapType(provider: p, client: .function(c3)) == .notSupported)
    #expect(session.log.count == 1, "the cached answer prints nothing")
    #expect(session.mapType(provider: p, client: .function(c1)) == .busAddress)
}
}

extension SemanticsTests {
@Test("find_many picks the closest provider; ties are broken by the seeded generator")
func findMany() throws {
    let s = try semanticsBoot(semanticsMachine("""
        <root-port id="8086:a7bd">
          <switch name="sw" id="1000:c010">
            <downstream-port><endpoint name="n0" class="nvme" id="144d:a80a"><bar index="0" size="1M" prefetchable="true"/><p2pmem bar="0"/></endpoint></downstream-port>
            <downstream-port><endpoint name="n1" class="nvme" id="144d:a80a"><bar index="0" size="1M" prefetchable="true"/><p2pmem bar="0"/></endpoint></downstream-port>
            <downstream-port><endpoint name="n2" class="nvme" id="144d:a80a"><bar index="0" size="1M" prefetchable="true"/><p2pmem bar="0" published="false"/></endpoint></downstream-port>
            <downstream-port><endpoint name="nic" class="nic" id="15b3:1017"/></downstream-port>
          </switch>
        </root-port>
        <root-port id="8086:a7bd"><endpoint name="far" class="nvme" id="144d:a80a"><bar index="0" size="1M" prefetchable="true"/><p2pmem bar="0"/></endpoint></root-port>
    """))
    let nic = s.index("nic")
    #expect(s.p2pmemProviders == [s.index("n0"), s.index("n1"), s.index("far")])
    var picks = Set<Int>()
    for seed in 0..<32 as Range<UInt64> {
        var rng = SplitMix64(seed: seed)
        let a = s.p2pmemFindMany(clients: [.function(nic)], using: &rng)
        var again = SplitMix64(seed: seed)
        #expect(a == s.p2pmemFindMany(clients: [.function(nic)], using: &again), "seed \(seed) replays")
        if let a { picks.insert(a) }
    }
    #expect(picks == [s.index("n0"), s.index("n1")])
    var rng = SplitMix64(seed: 1)
    #expect(s.p2pmemFindMany(clients: [.function(s.index("n1"))], using: &rng) == s.index("n1"), "a provider that is the client wins")
    #expect(s.p2pmemFindMany(clients: [.nonPCI(name: "x")], using: &rng) == nil)
}
}

extension SemanticsTests {
@Test("the ACS list is kept in a 128-byte seq_buf")
func seqBufOverflow() {
    let names = (0..<12).map { "0000:0\(hex($0, 1)):00.0" }
    #expect(Semantics.seqBufList(Array(names.prefix(9))) == names.prefix(9).joined(separator: ";"))
    let overflowed = Semantics.seqBufList(names)
    #expect(overflowed.utf8.count == 127)
    #expect(overflowed == names.prefix(9).map { $0 + ";" }.joined() + "0000:09:00")
    #expect(Semantics.seqBufList([]) == "")
}
}

extension SemanticsTests {
@Test("cpu_supports_p2pdma: AMD family 0x17 and later only")
func cpuRule() throws {
    #expect(try semanticsBoot(amdMachine("")).cpuSupportsP2PDMA)
    #expect(try !semanticsBoot(semanticsMachine("", cpu: "amd", family: "0x16", hostBridge: nil, iommu: nil)).cpuSupportsP2PDMA)
    #expect(try !semanticsBoot(semanticsMachine("", cpu: "intel", family: "6")).cpuSupportsP2PDMA)
}
}

// MARK: - IOMMU groups

struct GroupCase: CustomStringConvertible, Sendable {
    var name: String
    var xml: String
    var options = SemanticsOptions()
    var groups: [[String]]
    var description: String { name }
}

let g1Body = Pieces.switchPair(rp: Pieces.lACS)
func mfdUnderDSP(_ id: String, _ acs: String) -> String {
    """
        <root-port id="8086:a7bd" \(Pieces.lACS)>
          <switch name="sw" id="1000:c010">
            <downstream-port \(Pieces.lACS)>
              <endpoint name="f0" class="nic" id="\(id)" \(acs)/>
              <endpoint name="f1" class="nic" id="\(id)" \(acs)/>
            </downstream-port>
          </switch>
        </root-port>
    """
}
let upToDSP = [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0"], ["0000:02:00.0"]]

let groupCases: [GroupCase] = [
    GroupCase(name: "G1 DSPs without ACS: each DSP with its subtree", xml: semanticsMachine(g1Body),
              groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0"], ["0000:02:00.0", "0000:03:00.0"], ["0000:02:01.0", "0000:04:00.0"]]),
    GroupCase(name: "G2 DSPs with L-ACS: every device alone", xml: semanticsMachine(Pieces.switchPair(dsp0: Pieces.lACS, dsp1: Pieces.lACS, rp: Pieces.lACS)),
              groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0"], ["0000:02:00.0"], ["0000:02:01.0"], ["0000:03:00.0"], ["0000:04:00.0"]]),
    GroupCase(name: "G4 AMD dummy host bridge 1022:1482 and GPP root ports", xml: amdMachine("""
        <endpoint name="dummy" class="host-bridge" id="1022:1482" pcie="false" device="1" function="0"/>
        <root-port id="1022:1483" device="1" function="1" \(Pieces.lACS)><endpoint name="gpu" class="gpu" id="1002:744c"/></root-port>
        <root-port id="1022:1483" device="1" function="2" \(Pieces.lACS)><endpoint name="nvme" class="nvme" id="144d:a80a"/></root-port>
    """), groups: [["0000:00:01.0"], ["0000:00:01.1"], ["0000:00:01.2"], ["0000:01:00.0"], ["0000:02:00.0"]]),
    GroupCase(name: "G6 MFD NIC without ACS below an isolated DSP", xml: semanticsMachine(mfdUnderDSP("15b3:1017", "")),
              groups: upToDSP + [["0000:03:00.0", "0000:03:00.1"]]),
    GroupCase(name: "G7 Intel 82576 8086:10c9 (mf_endpoint_acs quirk)", xml: semanticsMachine(mfdUnderDSP("8086:10c9", "")),
              groups: upToDSP + [["0000:03:00.0"], ["0000:03:00.1"]]),
    GroupCase(name: "G8 MFD whose ACS capability has only SV", xml: semanticsMachine(mfdUnderDSP("15b3:1017", "acs-cap=\"SV\" acs-ctrl=\"SV\"")),
              groups: upToDSP + [["0000:03:00.0"], ["0000:03:00.1"]]),
    GroupCase(name: "G10 Marvell 1b4b:9123 DMA alias to function 1", xml: semanticsMachine("""
        <root-port id="8086:a7bd" secondary="7" \(Pieces.lACS)>
          <endpoint name="sata" id="1b4b:9123"/>
          <endpoint name="ide" id="1b4b:91a4"/>
        </root-port>
    """), groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:07:00.0", "0000:07:00.1"]]),
    GroupCase(name: "G10 alias joins even ACS-isolated functions", xml: semanticsMachine("""
        <root-port id="8086:a7bd" secondary="7" \(Pieces.lACS)>
          <endpoint name="sata" id="1b4b:9123" \(Pieces.lACS)/>
          <endpoint name="ide" id="1b4b:91a4" \(Pieces.lACS)/>
        </root-port>
    """), groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:07:00.0", "0000:07:00.1"]]),
    GroupCase(name: "G13 Qualcomm 17cb:0400 root ports isolate without ACS", xml: semanticsMachine("""
        <root-port id="17cb:0400"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
        <root-port id="17cb:0400"><endpoint name="b" class="nic" id="15b3:1017"/></root-port>
    """, cpu: "arm", hostBridge: nil, iommu: "smmuv3"), groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0"], ["0000:02:00.0"]]),
    GroupCase(name: "root ports without ACS and without a quirk: endpoints join them", xml: semanticsMachine("""
        <root-port id="17cb:9999"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
        <root-port id="17cb:9999"><endpoint name="b" class="nic" id="15b3:1017"/></root-port>
    """, cpu: "arm", hostBridge: nil, iommu: "smmuv3"), groups: [["0000:00:00.0", "0000:01:00.0"], ["0000:00:01.0", "0000:02:00.0"]]),
    GroupCase(name: "G14 Intel SPT root port 8086:a110: isolation from the dword control", xml: semanticsMachine("""
        <root-port id="8086:a110" device="0x1c" \(Pieces.lACS)><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
    """), groups: [["0000:00:00.0"], ["0000:00:1c.0"], ["0000:01:00.0"]]),
    GroupCase(name: "Intel PCH root port 8086:8c10 without ACS: the enable quirk isolates it", xml: semanticsMachine("""
        <root-port id="8086:8c10" device="0x1c"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
        <root-port id="8086:8c12" device="0x1c" function="1"><endpoint name="b" class="nic" id="15b3:1017"/></root-port>
    """), groups: [["0000:00:00.0"], ["0000:00:1c.0"], ["0000:00:1c.1"], ["0000:01:00.0"], ["0000:02:00.0"]]),
    GroupCase(name: "non-ACS multifunction root ports share a group", xml: semanticsMachine("""
        <root-port id="8086:a7bd" device="0x1c"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
        <root-port id="8086:a7bd" device="0x1c" function="1"><endpoint name="b" class="nic" id="15b3:1017"/></root-port>
    """), groups: [["0000:00:00.0"], ["0000:00:1c.0", "0000:00:1c.1", "0000:01:00.0", "0000:02:00.0"]]),
    GroupCase(name: "PCIe-to-PCI bridge: conventional devices join the bridge's group", xml: semanticsMachine("""
        <root-port id="8086:a7bd" \(Pieces.lACS)>
          <pci-bridge id="104c:8240">
            <endpoint name="old0" id="1000:0030"/>
            <endpoint name="old1" id="1000:0030"/>
          </pci-bridge>
        </root-port>
    """), groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0", "0000:02:00.0", "0000:02:01.0"]]),
    GroupCase(name: "SR-IOV VFs below an isolated DSP get groups after every boot-time device", xml: semanticsMachine("""
        <root-port id="8086:a7bd" \(Pieces.lACS)>
          <switch name="sw" id="1000:c010">
            <downstream-port \(Pieces.lACS)>
              <endpoint name="pf" class="nic" id="15b3:1017" \(Pieces.lACS)><sriov total-vfs="2" num-vfs="2" vf-id="15b3:1018"/></endpoint>
            </downstream-port>
            <downstream-port \(Pieces.lACS)><endpoint name="gpu" class="gpu" id="10de:2330"/></downstream-port>
          </switch>
        </root-port>
    """), groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0"], ["0000:02:00.0"], ["0000:02:01.0"], ["0000:03:00.0"],
                   ["0000:04:00.0"], ["0000:03:00.1"], ["0000:03:00.2"]]),
    GroupCase(name: "pcie_acs_override=downstream,multifunction (out-of-tree patch) splits G1", xml: semanticsMachine(g1Body,
        cmdline: "pcie_acs_override=downstream,multifunction"), options: SemanticsOptions(acsOverridePatch: true),
              groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0"], ["0000:02:00.0"], ["0000:02:01.0"], ["0000:03:00.0"], ["0000:04:00.0"]]),
    GroupCase(name: "pcie_acs_override is ignored by mainline", xml: semanticsMachine(g1Body, cmdline: "pcie_acs_override=downstream"),
              groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0"], ["0000:02:00.0", "0000:03:00.0"], ["0000:02:01.0", "0000:04:00.0"]]),
    GroupCase(name: "pcie_acs_override=id: names one device", xml: semanticsMachine(g1Body, cmdline: "pcie_acs_override=id:1000:c010"),
              options: SemanticsOptions(acsOverridePatch: true),
              groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0"], ["0000:02:00.0"], ["0000:02:01.0"], ["0000:03:00.0"], ["0000:04:00.0"]]),
    GroupCase(name: "intel_iommu=off: no groups", xml: semanticsMachine(g1Body, cmdline: "intel_iommu=off"), groups: []),
    GroupCase(name: "IOMMU in passthrough mode still groups", xml: semanticsMachine(g1Body, cmdline: "iommu=pt"),
              groups: [["0000:00:00.0"], ["0000:00:01.0"], ["0000:01:00.0"], ["0000:02:00.0", "0000:03:00.0"], ["0000:02:01.0", "0000:04:00.0"]]),
]

extension SemanticsTests {
@Test("pci_device_group: groups as /sys/kernel/iommu_groups lists them", arguments: groupCases)
func groupCase(_ c: GroupCase) throws {
    let s = try semanticsBoot(c.xml, c.options)
    #expect(s.groupNames == c.groups, "\(s.groupNames)")
    #expect(s.iommuGroups().map(\.number) == Array(0..<c.groups.count))
}
}

extension SemanticsTests {
@Test("G1 logs each device's group in probe order")
func groupLog() throws {
    let s = try semanticsBoot(semanticsMachine(g1Body))
    #expect(s.kernelLog.filter { $0.contains("iommu group") } == [
        "pci 0000:00:00.0: Adding to iommu group 0", "pci 0000:00:01.0: Adding to iommu group 1",
        "pci 0000:01:00.0: Adding to iommu group 2", "pci 0000:02:00.0: Adding to iommu group 3",
        "pci 0000:02:01.0: Adding to iommu group 4", "pci 0000:03:00.0: Adding to iommu group 3",
        "pci 0000:04:00.0: Adding to iommu group 4",
    ])
}
}

extension SemanticsTests {
@Test("pci_for_each_dma_alias: a PCIe-to-PCI bridge aliases as its secondary bus 00.0; Marvell aliases function 1")
func dmaAliases() throws {
    let s = try semanticsBoot(semanticsMachine("""
        <root-port id="8086:a7bd">
          <pci-bridge id="104c:8240"><endpoint name="old0" id="1000:0030"/></pci-bridge>
        </root-port>
        <root-port id="8086:a7bd" secondary="7"><endpoint name="sata" id="1b4b:9123"/></root-port>
    """))
    let old = s.index("old0")
    #expect(s.dmaAliases(of: old).map(\.requester.description) == ["0000:02:00.0", "0000:02:00.0"])
    #expect(s.dmaAliases(of: old).map(\.device) == [old, s.index("0000:01:00.0")])
    #expect(s.dmaAliases(of: s.index("sata")).map(\.requester.description) == ["0000:07:00.0", "0000:07:00.1"])
}
}

extension SemanticsTests {
@Test("pci_acs_enabled quirks and REQ_ACS_FLAGS")
func acsEnabledQuirks() throws {
    let s = try semanticsBoot(semanticsMachine("""
        <root-port id="8086:8c10" device="0x1c"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
        <endpoint name="rciep" class="accelerator" id="8086:0b25" device="2"/>
        <root-port id="8086:a7bd" device="3" secondary="5">
          <endpoint name="n0" class="nic" id="8086:10c9"/>
          <endpoint name="n1" class="nic" id="8086:10c9"/>
        </root-port>
    """))
    #expect(s.acsEnabled(s.index("0000:00:1c.0")))
    #expect(s.acsEnabled(s.index("rciep")))
    #expect(s.acsEnabled(s.index("n0")))
    #expect(!s.acsEnabled(s.index("0000:00:03.0")), "a root port without ACS and without a quirk")
    #expect(!s.acsPathEnabled(s.index("n0")))
    #expect(s.acsPathEnabled(s.index("a")))
    let off = try semanticsBoot(semanticsMachine("""
        <root-port id="8086:8c10" device="0x1c"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
    """, cmdline: "intel_iommu=off"))
    #expect(!off.acsRequested)
    #expect(!off.acsEnabled(off.index("0000:00:1c.0")), "the PCH quirk only isolates after its enable quirk ran")
    #expect(off.kernelLog == ["DMAR: IOMMU disabled"])
}
}

// MARK: - ACS enable at boot

struct ACSBootCase: CustomStringConvertible, Sendable {
    var name: String
    var xml: String
    /// BDF -> expected control after boot (nil: no ACS capability).
    var control: [String: UInt16?]
    /// Lines that must appear in the kernel log (debug included), in this order.
    var log: [String]
    var description: String { name }
}

let twoDSPs = Pieces.switchPair(dsp0: Pieces.lACS, dsp1: Pieces.lACS)
/// Two root complexes as in Tushar Dave's report: 0020:02:00.0 (fw 0x0053) and 0039:00:00.0 (fw 0).
func tusharMachine(_ cmdline: String, version: String = "mainline") -> String {
    topologyXML("""
      <kernel cmdline="\(cmdline)" version="\(version)"/>
      <socket id="0" cpu-vendor="arm" cpu-family="0"/>
      <iommu name="smmu" kind="smmuv3"/>
      <root-complex name="a" segment="0x20" bus="2" iommu="smmu">
        <root-port id="10de:22b1" device="0" acs-cap="SV TB RR CR UF EC DT" acs-ctrl="0x0053"/>
      </root-complex>
      <root-complex name="b" segment="0x39" bus="0" iommu="smmu">
        <root-port id="10de:22b1" device="0" acs-cap="SV TB RR CR UF EC DT"/>
      </root-complex>
    """)
}

let acsBootCases: [ACSBootCase] = [
    ACSBootCase(name: "IOMMU requested ACS: SV|RR|CR|UF where implemented, never EC/DT/TB",
                xml: semanticsMachine(Pieces.switchPair(dsp0: "acs-cap=\"SV TB RR CR UF EC DT\"", dsp1: "acs-cap=\"SV RR\"")),
                control: ["0000:02:00.0": 0x001d, "0000:02:01.0": 0x0005, "0000:01:00.0": nil], log: []),
    ACSBootCase(name: "no IOMMU: firmware values stay", xml: semanticsMachine(Pieces.switchPair(dsp0: "acs-cap=\"SV RR CR UF\" acs-ctrl=\"RR\""), iommu: nil),
                control: ["0000:02:00.0": 0x0004], log: []),
    ACSBootCase(name: "pci=noats also sets TB", xml: semanticsMachine(Pieces.switchPair(dsp0: "acs-cap=\"SV TB RR CR UF\""), cmdline: "pci=noats"),
                control: ["0000:02:00.0": 0x001f], log: ["PCIe: ATS is disabled"]),
    ACSBootCase(name: "disable_acs_redir on mainline: fw_ctrl & ~(RR|CR|EC) = 0", xml: semanticsMachine(twoDSPs, cmdline: "pci=disable_acs_redir=0000:02:00.0"),
                control: ["0000:02:00.0": 0x0000, "0000:02:01.0": 0x001d],
                log: ["pci 0000:02:00.0: ACS mask  = 0x002c", "pci 0000:02:00.0: ACS flags = 0xffd3", "pci 0000:02:00.0: ACS control = 0x001d",
                      "pci 0000:02:00.0: ACS fw_ctrl = 0x0000", "pci 0000:02:00.0: Configured ACS to 0x0000"]),
    ACSBootCase(name: "disable_acs_redir on mainline keeps firmware SV|UF", xml: semanticsMachine(
        Pieces.switchPair(dsp0: "acs-cap=\"SV RR CR UF\" acs-ctrl=\"SV UF\""), cmdline: "pci=disable_acs_redir=0000:02:00.0"),
                control: ["0000:02:00.0": 0x0011], log: ["pci 0000:02:00.0: Configured ACS to 0x0011"]),
    ACSBootCase(name: "disable_acs_redir on 6.1: 0x001d -> 0x0011", xml: semanticsMachine(twoDSPs, cmdline: "pci=disable_acs_redir=0000:02:00.0", version: "6.1"),
                control: ["0000:02:00.0": 0x0011, "0000:02:01.0": 0x001d], log: ["pci 0000:02:00.0: disabled ACS redirect"]),
    ACSBootCase(name: "6.1 warns for a device without ACS", xml: semanticsMachine(twoDSPs, cmdline: "pci=disable_acs_redir=0000:03:00.0", version: "6.1"),
                control: ["0000:02:00.0": 0x001d],
                log: ["pci 0000:03:00.0: cannot disable ACS redirect for this hardware as it does not have ACS capabilities"]),
    ACSBootCase(name: "config_acs (Tushar Dave): 1111011@0020:02:00.0 -> 0x007b; 101xxxx@0039:00:00.0 -> 0x0050",
                xml: tusharMachine("pci=config_acs=1111011@0020:02:00.0;101xxxx@0039:00:00.0"),
                control: ["0020:02:00.0": 0x007b, "0039:00:00.0": 0x0050],
                log: ["pci 0020:02:00.0: ACS mask  = 0x007f", "pci 0020:02:00.0: ACS flags = 0x007b", "pci 0020:02:00.0: ACS control = 0x005f",
                      "pci 0020:02:00.0: ACS fw_ctrl = 0x0053", "pci 0020:02:00.0: Configured ACS to 0x007b",
                      "pci 0039:00:00.0: ACS mask  = 0x0070", "pci 0039:00:00.0: ACS flags = 0x0050", "pci 0039:00:00.0: ACS control = 0x001d",
                      "pci 0039:00:00.0: ACS fw_ctrl = 0x0000", "pci 0039:00:00.0: Configured ACS to 0x0050"]),
    ACSBootCase(name: "config_acs wins over disable_acs_redir", xml: tusharMachine("pci=disable_acs_redir=0020:02:00.0 pci=config_acs=xxx11xx@0020:02:00.0"),
                control: ["0020:02:00.0": 0x005f],
                log: ["pci 0020:02:00.0: Configured ACS to 0x0053", "pci 0020:02:00.0: Configured ACS to 0x005f"]),
    ACSBootCase(name: "6.1 has no config_acs", xml: tusharMachine("pci=config_acs=1111011@0020:02:00.0", version: "6.1"),
                control: ["0020:02:00.0": 0x005f], log: ["PCI: Unknown option `config_acs=1111011@0020:02:00.0'"]),
    ACSBootCase(name: "config_acs: invalid flag character, per device with ACS", xml: semanticsMachine(twoDSPs, cmdline: "pci=config_acs=1z1@0000:02:00.0"),
                control: ["0000:02:00.0": 0x001d],
                log: ["pci 0000:02:00.0: Invalid ACS flags... Ignoring", "pci 0000:02:01.0: Invalid ACS flags... Ignoring"]),
    ACSBootCase(name: "config_acs: no @", xml: semanticsMachine(twoDSPs, cmdline: "pci=config_acs=1111"),
                control: ["0000:02:00.0": 0x001d], log: ["pci 0000:02:00.0: ACS Flags missing", "pci 0000:02:01.0: ACS Flags missing"]),
    ACSBootCase(name: "config_acs: more than 7 bits", xml: semanticsMachine(twoDSPs, cmdline: "pci=config_acs=10000000@0000:02:00.0"),
                control: ["0000:02:00.0": 0x001d], log: ["pci 0000:02:00.0: Invalid ACS flags specified"]),
    ACSBootCase(name: "unparsable device: printed once", xml: semanticsMachine(twoDSPs, cmdline: "pci=disable_acs_redir=0000:02:00"),
                control: ["0000:02:00.0": 0x001d], log: ["PCI: Can't parse ACS command line parameter"]),
    ACSBootCase(name: "6.1 parse error message", xml: semanticsMachine(twoDSPs, cmdline: "pci=disable_acs_redir=0000:02:00", version: "6.1"),
                control: ["0000:02:00.0": 0x001d], log: ["PCI: Can't parse disable_acs_redir parameter: 0000:02:00"]),
    ACSBootCase(name: "pci:vendor:device names every match", xml: semanticsMachine(twoDSPs, cmdline: "pci=disable_acs_redir=pci:1000:c010"),
                control: ["0000:02:00.0": 0x0000, "0000:02:01.0": 0x0000], log: []),
    ACSBootCase(name: "path specifier 0000:00:01.0/0.0/1.0", xml: semanticsMachine(twoDSPs, cmdline: "pci=disable_acs_redir=0000:00:01.0/0.0/1.0"),
                control: ["0000:02:00.0": 0x001d, "0000:02:01.0": 0x0000], log: []),
    ACSBootCase(name: "a comma splits pci= options, so the second device is an unknown option",
                xml: semanticsMachine(twoDSPs, cmdline: "pci=disable_acs_redir=0000:02:00.0,0000:02:01.0"),
                control: ["0000:02:00.0": 0x0000, "0000:02:01.0": 0x001d], log: ["PCI: Unknown option `0000:02:01.0'"]),
    ACSBootCase(name: "quoted value and dashes in names", xml: semanticsMachine(twoDSPs, cmdline: "&quot;pci=disable_acs_redir=02:01.0&quot; intel-iommu=on"),
                control: ["0000:02:00.0": 0x001d, "0000:02:01.0": 0x0000], log: ["DMAR: IOMMU enabled"]),
    ACSBootCase(name: "amd_iommu=off: no ACS request", xml: amdMachine(twoDSPs, cmdline: "amd_iommu=off"),
                control: ["0000:02:00.0": 0x0000], log: []),
    ACSBootCase(name: "Intel PCH root port enable quirk", xml: semanticsMachine("""
        <root-port id="8086:8c10" device="0x1c"><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
    """), control: ["0000:00:1c.0": nil],
                log: ["pci 0000:00:1c.0: Enabling MPC IRBNCE", "pci 0000:00:1c.0: Intel PCH root port ACS workaround enabled"]),
    ACSBootCase(name: "G14 Intel SPT: dword control enabled, disable_acs_redir handled by its quirk", xml: semanticsMachine("""
        <root-port id="8086:a110" device="0x1c" \(Pieces.lACS)><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
        <root-port id="8086:a111" device="0x1c" function="1" \(Pieces.lACS)><endpoint name="b" class="nic" id="15b3:1017"/></root-port>
    """, cmdline: "pci=disable_acs_redir=0000:00:1c.1"), control: ["0000:00:1c.0": 0x001d, "0000:00:1c.1": 0x0011],
                log: ["pci 0000:00:1c.0: Intel SPT PCH root port ACS workaround enabled", "pci 0000:00:1c.1: Intel SPT PCH root port ACS workaround enabled",
                      "pci 0000:00:1c.1: Intel SPT PCH root port workaround: disabled ACS redirect"]),
]

extension SemanticsTests {
@Test("pci_enable_acs: control after boot and the kernel log", arguments: acsBootCases)
func acsBootCase(_ c: ACSBootCase) throws {
    let s = try semanticsBoot(c.xml)
    for (bdf, expected) in c.control {
        #expect(s.acsControl[s.index(bdf)]?.rawValue == expected, "\(bdf)")
    }
    let log = s.kernelLogEntries.map(\.text)
    var cursor = log.startIndex
    for line in c.log {
        guard let found = log[cursor...].firstIndex(of: line) else {
            Issue.record("missing or out of order: \(line)\nlog:\n\(log.joined(separator: "\n"))")
            return
        }
        cursor = found + 1
    }
    // Messages printed once per boot really are printed once.
    for once in ["PCI: Can't parse ACS command line parameter"] {
        #expect(log.filter { $0 == once }.count <= 1)
    }
}
}

extension SemanticsTests {
@Test("SPT: lspci and p2pdma read the word at +6, the hardware uses the dword at +8")
func sptWords() throws {
    let s = try semanticsBoot(semanticsMachine("""
        <root-port id="8086:a110" device="0x1c" \(Pieces.lACS)><endpoint name="a" class="nvme" id="144d:a80a"/></root-port>
    """))
    let rp = s.index("0000:00:1c.0")
    #expect(s.acsControl[rp]?.rawValue == 0x001d)
    #expect(s.acsControlWord[rp] == 0)
    #expect(!s.hasACSRedirect(rp))
}
}

extension SemanticsTests {
@Test("pcie_acs_override: parsed only with the patch, with its warnings")
func acsOverrideParsing() {
    let k = KernelConfiguration(commandLine: "pcie_acs_override=downstream,multifunction,id:8086:10c9,id:80:1234")
    let p = KernelParameters.parse(k, acsOverridePatch: true)
    #expect(p.acsOverride == KernelParameters.ACSOverride(downstream: true, multifunction: true, ids: [PCIID(vendor: 0x8086, device: 0x10c9)]))
    #expect(p.log.map(\.text) == ["PCIe ACS ID parse error -22",
                                   "Warning: PCIe ACS overrides enabled; This may allow non-IOMMU protected peer-to-peer DMA"])
    #expect(KernelParameters.parse(k).acsOverride == nil)
}
}

extension SemanticsTests {
@Test("IOMMU options")
func iommuOptions() {
    let p = KernelParameters.parse(KernelConfiguration(commandLine: "quiet iommu=pt iommu.strict=0 amd_iommu=fullflush,off -- iommu=nopt"))
    #expect(p.passthrough == true)
    // amd_iommu=fullflush calls iommu_set_dma_strict() from its __setup handler, after the early iommu.strict=0.
    #expect(p.strict == true)
    #expect(p.amdIOMMUDisabled)
    #expect(!p.iommuOff)
    #expect(KernelParameters.parse(KernelConfiguration(commandLine: "iommu.passthrough=0 iommu=off")).passthrough == false)
    #expect(KernelParameters.parse(KernelConfiguration(commandLine: "iommu=off")).iommuOff)
}
}

extension SemanticsTests {
@Test("functions(matching:) uses the kernel's device matcher")
func deviceSpecifiers() throws {
    let s = try semanticsBoot(semanticsMachine(twoDSPs))
    #expect(s.functions(matching: "pci:1000:c010")?.map(s.name) == ["0000:01:00.0", "0000:02:00.0", "0000:02:01.0"])
    #expect(s.functions(matching: "pci:0:0:0:0")?.count == s.loaded.enumeration.functions.count)
    #expect(s.functions(matching: "02:00.0;0000:04:00.0")?.map(s.name) == ["0000:02:00.0", "0000:04:00.0"])
    #expect(s.functions(matching: "0000:00:01.0/0.0/0.0/0.0")?.map(s.name) == ["0000:03:00.0"])
    #expect(s.functions(matching: "0000:00:02.0/0.0") == [])
    #expect(s.functions(matching: "00:21.0")?.map(s.name) == ["0000:00:01.0"], "PCI_DEVFN masks the slot")
    #expect(s.functions(matching: "junk") == nil)
}
}

// MARK: - Scale

/// 8 root complexes (one segment each) x 4 root ports x one 32-port switch with L-ACS downstream ports x one
/// endpoint: 1,024 endpoints.
func largeMachine() -> String {
    var rcs = ""
    for r in 0..<8 {
        var ports = ""
        for _ in 0..<4 {
            var dsps = ""
            for _ in 0..<32 { dsps += "<downstream-port \(Pieces.lACS)><endpoint name=\"e\(r)_\(ports.count)_\(dsps.count)\" class=\"gpu\" id=\"10de:2330\"/></downstream-port>\n" }
            ports += "<root-port id=\"8086:347a\" \(Pieces.lACS)><switch name=\"s\(r)_\(ports.count)\" id=\"1000:c010\">\(dsps)</switch></root-port>\n"
        }
        rcs += "<root-complex name=\"rc\(r)\" segment=\"\(r)\" host-bridge=\"8086:09a2\" iommu=\"u0\">\(ports)</root-complex>\n"
    }
    return topologyXML("""
      <socket id="0" cpu-vendor="intel" cpu-family="6"/>
      <iommu name="u0" kind="vt-d"/>
    \(rcs)
    """)
}

extension SemanticsTests {
@Test("all pairs of 1,024 endpoints")
func allPairs() throws {
    let clock = ContinuousClock()
    var s: Semantics!
    let bootTime = try clock.measure { s = try semanticsBoot(largeMachine()) }
    let endpoints = s.loaded.enumeration.functions.indices.filter { s.loaded.enumeration.functions[$0].kind == .endpoint }
    #expect(endpoints.count == 1024)
    var m: P2PMatrix!
    let matrixTime = clock.measure { m = s.distanceMatrix(providers: endpoints, clients: endpoints) }
    print("1,024-endpoint machine: boot and groups \(bootTime), all-pairs matrix \(matrixTime)")
    #expect(m.mapTypes.count == 1024 * 1024)
    // Same endpoint: BUS_ADDR 0; everything else goes through a (whitelisted) host bridge.
    #expect(m.mapTypes.filter { $0 == .busAddress }.count == 1024)
    #expect(m[provider: 0, client: 1] == (.thruHostBridge, 4))
    #expect(m[provider: 0, client: 32] == (.thruHostBridge, 8), "another root port: no common upstream device")
    #expect(m[provider: 0, client: 1023] == (.thruHostBridge, 8))
    // Per root complex: the host bridge, and per root port itself, the USP, 32 DSPs and 32 endpoints.
    #expect(s.iommuGroups().count == 8 * (1 + 4 * 66))
}
}
