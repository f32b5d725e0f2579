// Every validation error has a case here that checks its message and its line number.
import Testing
@testable import Sim

/// A topology document whose body starts on line 3 (line 1: declaration, line 2: <topology>).
func topologyXML(_ body: String) -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<topology name=\"t\">\n" + body + "\n</topology>\n"
}

/// Standard lines 3-5: socket, IOMMU, root complex opening; callers add root-complex children from line 6.
func machine(_ rootComplexBody: String, rcAttributes: String = "") -> String {
    topologyXML("""
      <socket id="0" cpu-vendor="intel" cpu-family="6"/>
      <iommu name="dmar0" kind="vt-d"/>
      <root-complex name="rc0" host-bridge="8086:09a2" iommu="dmar0"\(rcAttributes)>
    \(rootComplexBody)
      </root-complex>
    """)
}

struct ValidationCase: CustomStringConvertible, Sendable {
    var name: String
    var xml: String
    var line: Int?
    var message: String
    var description: String { name }
}

func diagnostics(_ xml: String) -> [Diagnostic] {
    do {
        let doc = try TopologyReader.read(text: xml, file: "case.xml")
        let e = try Enumerator.enumerate(doc)
        return e.warnings
    } catch {
        return error.diagnostics
    }
}

let validationCases: [ValidationCase] = [
    ValidationCase(name: "not well-formed", xml: machine("    <root-port id=\"8086:347a\">\n  </root-complex>"), line: 7,
                   message: "Opening and ending tag mismatch"),
    ValidationCase(name: "schema: unknown attribute", xml: machine("    <root-port id=\"8086:347a\" colour=\"red\"/>"), line: 6,
                   message: "The attribute 'colour' is not allowed"),
    ValidationCase(name: "schema: generation above 6", xml: machine("    <root-port id=\"8086:347a\" gen=\"7\"/>"), line: 6,
                   message: "The value '7' is greater than the maximum value allowed ('6')"),
    ValidationCase(name: "schema: malformed vendor:device", xml: machine("    <root-port id=\"8086-347a\"/>"), line: 6,
                   message: "is not accepted by the pattern"),
    ValidationCase(name: "schema: unknown element", xml: machine("    <gpu name=\"x\"/>"), line: 6,
                   message: "This element is not expected"),
    ValidationCase(name: "schema: width not a lane count", xml: machine("    <root-port id=\"8086:347a\" width=\"3\"/>"), line: 6,
                   message: "is not an element of the set"),
    ValidationCase(name: "duplicate name", xml: machine("""
        <root-port name="p" id="8086:347a"/>
        <root-port name="p" id="8086:347a"/>
    """), line: 7, message: "duplicate name 'p' (first at line 6)"),
    ValidationCase(name: "duplicate BDF", xml: machine("""
        <root-port id="8086:347a" device="1"/>
        <root-port id="8086:347a" device="1"/>
    """), line: 7, message: "duplicate BDF 0000:00:01.0"),
    ValidationCase(name: "BDF taken by the host bridge", xml: machine("    <endpoint name=\"e\" id=\"8086:0b25\" device=\"0\"/>"), line: 6,
                   message: "duplicate BDF 0000:00:00.0: 'e' and the host bridge"),
    ValidationCase(name: "bus-range overlap", xml: machine("""
        <root-port id="8086:347a" secondary="5" subordinate="8"/>
        <root-port id="8086:347a" secondary="7"/>
    """), line: 7, message: "secondary bus 07 overlaps the bus range of another bridge"),
    ValidationCase(name: "subordinate too small", xml: machine("""
        <root-port id="8086:347a" secondary="1" subordinate="1">
          <switch name="sw" id="1000:c010">
            <downstream-port/>
          </switch>
        </root-port>
    """), line: 6, message: "subordinate bus 01 does not cover bus 03 used below it"),
    ValidationCase(name: "BAR outside bridge window", xml: machine("""
        <root-port id="8086:347a" mem-window="0x90000000-0x900fffff">
          <endpoint name="e" id="144d:a80a">
            <bar index="0" size="16K" address="0x90100000"/>
          </endpoint>
        </root-port>
    """), line: 8, message: "BAR 0 of 'e' 0x090100000-0x090103fff lies outside the windows of 'rc0.rp0'"),
    ValidationCase(name: "overlapping BARs", xml: machine("""
        <root-port id="8086:347a" mem-window="0x90000000-0x900fffff">
          <endpoint name="a" id="144d:a80a">
            <bar index="0" size="16K" address="0x90000000"/>
            <bar index="2" size="16K" address="0x90002000"/>
          </endpoint>
        </root-port>
    """), line: 9, message: "BAR 2 of 'a' 0x090002000-0x090005fff overlaps BAR 0 of 'a'"),
    ValidationCase(name: "misaligned BAR", xml: machine("""
        <root-port id="8086:347a" mem-window="0x90000000-0x900fffff">
          <endpoint name="a" id="144d:a80a">
            <bar index="0" size="16K" address="0x90001000"/>
          </endpoint>
        </root-port>
    """), line: 8, message: "is not naturally aligned to its size 16K"),
    ValidationCase(name: "some addresses given, not all", xml: machine("""
        <root-port id="8086:347a" mem-window="0x90000000-0x900fffff">
          <endpoint name="a" id="144d:a80a">
            <bar index="0" size="16K" address="0x90000000"/>
            <bar index="2" size="16K"/>
          </endpoint>
        </root-port>
    """), line: 9, message: "BAR 2 of 'a' has no address, but root complex 'rc0' gives addresses"),
    ValidationCase(name: "dangling IOMMU reference", xml: topologyXML("""
      <root-complex name="rc0" iommu="nope"/>
    """), line: 3, message: "root complex 'rc0' names IOMMU 'nope', which is not defined"),
    ValidationCase(name: "dangling socket reference", xml: topologyXML("""
      <socket id="0" cpu-vendor="amd" cpu-family="0x19"/>
      <root-complex name="rc0" socket="2"/>
    """), line: 4, message: "root complex 'rc0' is on socket 2, which is not defined"),
    ValidationCase(name: "socket link to an undefined socket", xml: topologyXML("""
      <socket id="0" cpu-vendor="amd" cpu-family="0x19"/>
      <socket-link a="0" b="1" bandwidth="32GB/s" latency="100ns"/>
      <root-complex name="rc0"/>
    """), line: 4, message: "socket-link names socket 1, which is not defined"),
    ValidationCase(name: "p2pmem names a missing BAR", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="nvme0" class="nvme" id="144d:a80a">
            <bar index="0" size="16K"/>
            <p2pmem bar="2"/>
          </endpoint>
        </root-port>
    """), line: 9, message: "p2pmem of 'nvme0' names BAR 2, which 'nvme0' does not have"),
    ValidationCase(name: "p2pmem larger than its BAR", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="nvme0" class="nvme" id="144d:a80a">
            <bar index="2" size="1M" prefetchable="true"/>
            <p2pmem bar="2" size="1M" offset="4K"/>
          </endpoint>
        </root-port>
    """), line: 9, message: "size 1M + offset 4K exceeds BAR 2 (1M)"),
    ValidationCase(name: "BAR size not a power of two", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="e" id="144d:a80a">
            <bar index="0" size="3M"/>
          </endpoint>
        </root-port>
    """), line: 8, message: "BAR 0 of 'e' size 3M is not a power of two of at least 16 bytes"),
    ValidationCase(name: "64-bit BAR 5", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="e" id="144d:a80a">
            <bar index="5" size="1M"/>
          </endpoint>
        </root-port>
    """), line: 8, message: "64-bit BAR 5 of 'e' needs two registers"),
    ValidationCase(name: "BAR on the upper half of a 64-bit BAR", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="e" id="144d:a80a">
            <bar index="0" size="1M"/>
            <bar index="1" size="1M" bits="32"/>
          </endpoint>
        </root-port>
    """), line: 9, message: "BAR 1 of 'e' overlaps the registers of 64-bit BAR 0"),
    ValidationCase(name: "bridge BAR beyond BAR 1", xml: machine("""
        <root-port id="8086:347a">
          <switch name="sw" id="11f8:4052">
            <bar index="1" size="1M"/>
            <downstream-port/>
          </switch>
        </root-port>
    """), line: 8, message: "a type 1 (bridge) header has only BAR 0 and BAR 1"),
    ValidationCase(name: "32-bit BAR over 2G", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="e" id="144d:a80a">
            <bar index="0" size="4G" bits="32"/>
          </endpoint>
        </root-port>
    """), line: 8, message: "32-bit BAR 0 of 'e' cannot be 4G"),
    ValidationCase(name: "ACS control bit the capability lacks", xml: machine("    <root-port id=\"8086:347a\" acs-cap=\"SV RR\" acs-ctrl=\"SV RR CR\"/>"),
                   line: 6, message: "acs-ctrl enables CR, which its acs-cap does not implement"),
    ValidationCase(name: "ACS control without capability", xml: machine("    <root-port id=\"8086:347a\" acs-ctrl=\"RR\"/>"),
                   line: 6, message: "sets acs-ctrl or acs-egress but has no acs-cap"),
    ValidationCase(name: "egress vector without EC", xml: machine("    <root-port id=\"8086:347a\" acs-cap=\"SV RR\" acs-egress=\"1\"/>"),
                   line: 6, message: "has an egress control vector but its ACS capability lacks EC"),
    ValidationCase(name: "trained above both ends", xml: machine("""
        <root-port id="8086:347a" gen="3">
          <endpoint name="g" id="10de:20b0" gen="4" trained-gen="4"/>
        </root-port>
    """), line: 7, message: "'g' link trained-gen/trained-width Gen4 x16 is above what both ends support (Gen3 x16)"),
    ValidationCase(name: "more VFs than supported", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="nic" id="15b3:101b">
            <sriov total-vfs="4" num-vfs="8" vf-id="15b3:101c"/>
          </endpoint>
        </root-port>
    """), line: 7, message: "'nic' enables 8 VFs but supports only 4"),
    ValidationCase(name: "device number above 31", xml: machine("    <root-port id=\"8086:347a\" device=\"40\"/>"), line: 6,
                   message: "device number 40 is out of range (0 to 31)"),
    ValidationCase(name: "device number below a downstream port", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="e" id="144d:a80a" device="3"/>
        </root-port>
    """), line: 7, message: "'e' has device number 3 below a PCIe downstream port"),
    ValidationCase(name: "function without function 0", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="e" id="144d:a80a" function="1"/>
        </root-port>
    """), line: 7, message: "has function 1 but no function 0"),
    ValidationCase(name: "missing id", xml: machine("    <root-port/>"), line: 6, message: "<root-port> 'rc0.rp0' needs an id"),
    ValidationCase(name: "link attributes on conventional PCI", xml: machine("""
        <root-port id="8086:347a">
          <pci-bridge id="104c:8240">
            <endpoint name="old" id="1000:0030" gen="2"/>
          </pci-bridge>
        </root-port>
    """), line: 8, message: "'old' is conventional PCI and has no PCIe link"),
    ValidationCase(name: "non-PCIe function below a PCIe port", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="e" id="1022:1482" pcie="false"/>
        </root-port>
    """), line: 7, message: "has pcie=\"false\" but sits below a PCIe port"),
    ValidationCase(name: "IOTLB ways do not divide entries", xml: topologyXML("""
      <iommu name="u" kind="vt-d" iotlb-entries="64" iotlb-ways="6"/>
      <root-complex name="rc0"/>
    """), line: 3, message: "iotlb-entries 64 is not a multiple of iotlb-ways 6"),
    ValidationCase(name: "IOMMU page size", xml: topologyXML("""
      <iommu name="u" kind="smmuv3" page-sizes="4K 3K"/>
      <root-complex name="rc0"/>
    """), line: 3, message: "page size 3K is not a power of two of at least 4K"),
    ValidationCase(name: "switch without downstream ports is a schema error", xml: machine("""
        <root-port id="8086:347a">
          <switch name="sw" id="1000:c010"/>
        </root-port>
    """), line: 7, message: "Missing child element(s)"),
    ValidationCase(name: "root complexes with overlapping bus ranges", xml: topologyXML("""
      <root-complex name="a" bus="0" bus-limit="0x7f"/>
      <root-complex name="b" bus="0x40"/>
    """), line: 4, message: "root complex 'b' bus range 40-40 overlaps 'a' (00-7f)"),
    ValidationCase(name: "bus numbers exhausted", xml: topologyXML("""
      <root-complex name="a" bus="0" bus-limit="1">
        <root-port id="8086:347a"/>
        <root-port id="8086:347a"/>
      </root-complex>
    """), line: 5, message: "beyond the root complex's bus limit 01 (bus numbers exhausted)"),
    ValidationCase(name: "32-bit MMIO exhausted", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="e" id="10de:20b0">
            <bar index="0" size="2G" bits="32"/>
          </endpoint>
        </root-port>
    """), line: 5, message: "no space for 2G of non-prefetchable (32-bit) MMIO"),
    ValidationCase(name: "DOCTYPE rejected before parsing", xml: "<?xml version=\"1.0\"?>\n<!DOCTYPE topology SYSTEM \"http://example.invalid/t.dtd\">\n<topology name=\"t\"/>\n",
                   line: 2, message: "<!DOCTYPE> declarations are not allowed"),
    ValidationCase(name: "warning: link limited by the slot", xml: machine("""
        <root-port id="8086:347a" gen="3">
          <endpoint name="g" id="10de:20b0" gen="4"/>
        </root-port>
    """), line: 7, message: "'g' link runs at Gen3 x16, limited by 'rc0.rp0' (Gen3 x16); the device is capable of Gen4 x16"),
    ValidationCase(name: "warning: down-trained link", xml: machine("""
        <root-port id="8086:347a">
          <endpoint name="g" id="10de:20b0" trained-width="8"/>
        </root-port>
    """), line: 7, message: "'g' link down-trained to Gen4 x8; both ends support Gen4 x16"),
]

@Test("each validation problem is reported with its message and line", arguments: validationCases)
func validationError(_ c: ValidationCase) {
    let found = diagnostics(c.xml)
    #expect(found.contains { $0.message.contains(c.message) && $0.line == c.line },
            "expected line \(c.line.map(String.init) ?? "-"): \(c.message)\ngot:\n\(found.map(\.description).joined(separator: "\n"))")
    #expect(found.allSatisfy { $0.file == "case.xml" })
}

@Test("schema problems are all reported at once, in file order")
func schemaErrorsAllAtOnce() {
    let xml = machine("""
        <root-port id="8086:347a" gen="9"/>
        <root-port id="zz" width="5"/>
        <root-port id="8086:347a" flavour="x"/>
    """)
    let found = diagnostics(xml)
    #expect(found.count >= 4)
    #expect(Set(found.compactMap(\.line)) == [6, 7, 8])
    #expect(found.map { $0.line ?? 0 } == found.map { $0.line ?? 0 }.sorted())
    #expect(found.first?.description.hasPrefix("case.xml:6: error: ") == true)
}

@Test("semantic problems are all reported at once")
func semanticErrorsAllAtOnce() {
    let xml = machine("""
        <root-port name="p" id="8086:347a" acs-cap="SV" acs-ctrl="RR SV"/>
        <root-port name="p" id="8086:347a"/>
    """, rcAttributes: " socket=\"3\"")
    let lines = diagnostics(xml).filter { $0.severity == .error }.compactMap(\.line)
    #expect(Set(lines) == [5, 6, 7])
}

@Test("a valid machine enumerates like firmware")
func enumeratesLikeFirmware() throws {
    let xml = machine("""
        <root-port id="8086:347a">
          <switch name="sw" id="1000:c010">
            <downstream-port>
              <endpoint name="gpu0" class="gpu" id="10de:20b0">
                <bar index="0" size="16M" bits="32"/>
                <bar index="1" size="32G" prefetchable="true"/>
              </endpoint>
            </downstream-port>
            <downstream-port>
              <endpoint name="nic0" class="nic" id="15b3:101b"/>
              <endpoint name="nic1" class="nic" id="15b3:101b"/>
            </downstream-port>
          </switch>
        </root-port>
        <root-port id="8086:347a">
          <endpoint name="nvme0" class="nvme" id="144d:a80a">
            <bar index="0" size="16K"/>
          </endpoint>
        </root-port>
    """)
    let loaded = try LoadedTopology(document: TopologyReader.read(text: xml))
    let e = loaded.enumeration
    func bdf(_ name: String) -> String { e.function(named: name).map { e.functions[$0].bdf.description } ?? "?" }
    #expect(bdf("rc0.rp0") == "0000:00:01.0")
    #expect(bdf("sw") == "0000:01:00.0")
    #expect(bdf("sw.dp0") == "0000:02:00.0")
    #expect(bdf("sw.dp1") == "0000:02:01.0")
    #expect(bdf("gpu0") == "0000:03:00.0")
    #expect(bdf("nic0") == "0000:04:00.0")
    #expect(bdf("nic1") == "0000:04:00.1")
    #expect(bdf("rc0.rp1") == "0000:00:02.0")
    #expect(bdf("nvme0") == "0000:05:00.0")
    let rp0 = e.function(named: "rc0.rp0")!
    #expect(e.busRanges[rp0] == 1...4)
    let nic0 = e.function(named: "nic0")!
    #expect(e.functions[nic0].isMultifunction)
    let gpu = e.function(named: "gpu0")!
    #expect(e.barAddresses[gpu][1] % (32 << 30) == 0)
    #expect(e.barAddresses[gpu][0] % (16 << 20) == 0)
    #expect(e.barAddresses[gpu][0] < 1 << 32)
    // The GPU's prefetchable BAR lies inside every prefetchable window up the path.
    let bar1 = AddressRange(start: e.barAddresses[gpu][1], size: 32 << 30)
    for bridge in ["sw.dp0", "sw", "rc0.rp0"] {
        #expect(e.prefetchableWindows[e.function(named: bridge)!]?.contains(bar1) == true)
    }
    #expect(e.links[gpu]?.description == "Gen4 x16")
}

@Test("SR-IOV VFs take RIDs after the PF and may spill onto the next bus")
func virtualFunctions() throws {
    let xml = machine("""
        <root-port id="8086:347a">
          <endpoint name="nic" class="nic" id="15b3:101b">
            <bar index="0" size="32M" prefetchable="true"/>
            <sriov total-vfs="300" num-vfs="260" vf-id="15b3:101c" offset="8">
              <bar index="0" size="1M" prefetchable="true"/>
            </sriov>
          </endpoint>
        </root-port>
        <root-port id="8086:347a"/>
    """)
    let e = try LoadedTopology(document: TopologyReader.read(text: xml)).enumeration
    let vf0 = try #require(e.function(named: "nic.vf0"))
    #expect(e.functions[vf0].bdf.description == "0000:01:01.0")
    let last = try #require(e.function(named: "nic.vf259"))
    #expect(e.functions[last].bdf.description == "0000:02:01.3")
    // The root port reserved bus 02 for the VFs, so the next root port's bus starts at 03.
    #expect(e.busRanges[e.function(named: "rc0.rp0")!] == 1...2)
    #expect(e.busRanges[e.function(named: "rc0.rp1")!] == 3...3)
    #expect(e.barAddresses[last][0] == e.barAddresses[vf0][0] + 259 * (1 << 20))
}

@Test("a switch's own BAR is placed in the window of the port above it, not in its own windows")
func bridgeBAR() throws {
    let xml = machine("""
        <root-port id="8086:347a">
          <switch name="sw" id="11f8:4052">
            <bar index="0" size="256K"/>
            <downstream-port>
              <endpoint name="n" class="nvme" id="144d:a824"><bar index="0" size="16K"/></endpoint>
            </downstream-port>
          </switch>
        </root-port>
    """)
    let e = try LoadedTopology(document: TopologyReader.read(text: xml)).enumeration
    let sw = try #require(e.function(named: "sw"))
    let rp = try #require(e.function(named: "rc0.rp0"))
    let bar = AddressRange(start: e.barAddresses[sw][0], size: 256 << 10)
    #expect(e.memoryWindows[rp]?.contains(bar) == true)
    #expect(e.memoryWindows[sw]?.overlaps(bar) == false)
}
