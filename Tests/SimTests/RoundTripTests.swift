// The writer's contract: read(write(t)) == t, for every shipped topology and for hand-built corner cases.
import Foundation
import Testing
@testable import Sim

/// The repository root, found from this file's path.
let repositoryRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}()

let shippedTopologies: [String] = {
    let dir = repositoryRoot.appendingPathComponent("topologies")
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".xml") }.sorted()
}()

@Test("there are at least 8 shipped topologies")
func enoughShippedTopologies() {
    #expect(shippedTopologies.count >= 8)
}

@Test("every shipped topology validates and round-trips through the writer", arguments: shippedTopologies)
func shippedRoundTrip(_ file: String) throws {
    let path = repositoryRoot.appendingPathComponent("topologies").appendingPathComponent(file).path
    let loaded = try LoadedTopology.load(path: path)
    let text = TopologyWriter.write(loaded.topology)
    let again = try TopologyReader.read(text: text, file: "written-\(file)")
    #expect(again.topology == loaded.topology)
    // Writing is deterministic and a fixed point.
    #expect(TopologyWriter.write(again.topology) == text)
    // Enumeration of the written file is the same.
    var enumerated = try Enumerator.enumerate(again)
    #expect(enumerated.warnings.map(\.message) == loaded.enumeration.warnings.map(\.message))
    enumerated.warnings = loaded.enumeration.warnings
    #expect(enumerated == loaded.enumeration)
}

@Test("corner cases round-trip: explicit addresses, SR-IOV, conventional PCI, odd units")
func cornerCasesRoundTrip() throws {
    let xml = topologyXML("""
      <description>Corner &amp; cases "quoted"</description>
      <kernel cmdline="intel_iommu=on pci=disable_acs_redir=0000:00:01.0" version="6.1"/>
      <socket id="0" cpu-vendor="amd" cpu-family="0x19" cpu-model="0x11" memory-latency="95.5ns"/>
      <socket id="1" cpu-vendor="amd" cpu-family="0x19"/>
      <socket-link a="0" b="1" kind="xgmi" bandwidth="64.123456GB/s" latency="150ns"/>
      <iommu name="ivhd0" kind="amd-vi" mode="passthrough" iotlb-entries="128" iotlb-ways="8" page-sizes="4K 2M" walk-levels="5" walk-latency="1500ps" walks-in-flight="8"/>
      <root-complex name="rc0" segment="0x1" bus="0x40" bus-limit="0x7f" host-bridge="1022:1480" iommu="ivhd0" p2p="writes-only" p2p-rate-cap="100Gb/s" p2p-latency="1.25us" dma-cap="900MB/s" mmio32="0x90000000-0x9fffffff" mmio64="0x10000000000-0x1ffffffffff" gen="5" width="8">
        <param name="rc.memoryLatency" value="100ns"/>
        <root-port id="1022:1483" device="0x3" function="1" acs-cap="SV TB RR CR UF EC DT" acs-ctrl="0x001d" acs-egress="0 3" mem-window="0x90000000-0x900fffff" pref-window="0x10000000000-0x100ffffffff" secondary="0x41" subordinate="0x45" mps="512" rcb="128">
          <endpoint name="nic" class="nic" id="15b3:101b" subsystem="15b3:0083" class-code="0x020700" gen="4" width="16" trained-width="8" mrrs="4096" ats="true" pasid="yes" tags="10" outstanding-reads="300" issue-rate="62.5M/s" driver="mlx5_core">
            <bar index="0" size="32M" prefetchable="true" address="0x10000000000"/>
            <bar index="2" size="16K" bits="32" address="0x90000000"/>
            <p2pmem bar="0" size="16M" offset="1M" published="false"/>
            <sriov total-vfs="8" num-vfs="2" vf-id="15b3:101c" offset="2" stride="2">
              <bar index="0" size="1M" prefetchable="true" address="0x10002000000"/>
            </sriov>
            <param name="dma.engines" value="2"/>
          </endpoint>
        </root-port>
        <pci-bridge name="legacy" id="104c:8240" device="4">
          <bar index="0" size="4K" bits="32" address="0x90100000"/>
          <endpoint name="old" id="1000:0030" pcie="false"/>
        </pci-bridge>
      </root-complex>
    """)
    let doc = try TopologyReader.read(text: xml)
    let again = try TopologyReader.read(text: TopologyWriter.write(doc.topology))
    #expect(again.topology == doc.topology)
    #expect(doc.topology.description == "Corner & cases \"quoted\"")
    #expect(doc.topology.socketLinks[0].bandwidth?.bytesPerSecond == 64_123_456_000)
    #expect(doc.topology.rootComplexes[0].p2pRateCap?.bytesPerSecond == 12.5e9)
    #expect(doc.topology.devices[1].endpoint?.dma.maxIssueRate == 62.5e6)
    #expect(doc.topology.devices[1].endpoint?.driver == "mlx5_core" && again.topology.devices[1].endpoint?.driver == "mlx5_core")
    #expect(doc.topology.devices[1].acs == nil)
    #expect(doc.topology.devices[0].acs?.control == .linuxRequested)
}
