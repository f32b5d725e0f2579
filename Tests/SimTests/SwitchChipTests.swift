// Multi-partition switch chips: cross-partition P2P switched inside a fabric-mode chip (and over chip-to-chip links),
// through the root complex when the chip is partitioned; Linux's answers unchanged either way.
import Testing
@testable import Sim

/// One chip split into two virtual switches, each under its own root port with a Gen2 x16 uplink (the host-facing
/// links of such boxes are often narrower or slower than the device links); two Gen4 x16 GPUs per partition.
/// `secondChip`: the second partition lives on another chip, joined to the first by a chip link.
func partitionedChip(routing: String, secondChip: Bool = false, chipBandwidth: String? = nil) -> String {
    func gpu(_ n: String) -> String {
        """
        <downstream-port name="\(n)p" acs-cap="SV TB RR CR UF EC DT"><endpoint name="\(n)" class="gpu" id="10de:20b0" gen="4" width="16">\
        <bar index="0" size="16M" bits="32"/><bar index="1" size="1G" prefetchable="true"/></endpoint></downstream-port>
        """
    }
    let chipB = secondChip ? "pex1" : "pex0"
    let chips = secondChip
        ? """
          <switch-chip name="pex0" routing="\(routing)"/>
          <switch-chip name="pex1" routing="\(routing)"/>
          <chip-link a="pex0" b="pex1" gen="5" width="16" latency="20ns"/>
          """
        : "<switch-chip name=\"pex0\" routing=\"\(routing)\"\(chipBandwidth.map { " bandwidth=\"\($0)\"" } ?? "")/>"
    return topologyXML("""
      <socket id="0" cpu-vendor="amd" cpu-family="0x19"/>
      \(chips)
      <root-complex name="rc0" host-bridge="1022:14a4">
        <root-port id="1022:14ab" gen="2" width="16" acs-cap="SV TB RR CR UF EC DT">
          <switch name="vs0" id="1000:c030" chip="pex0" gen="4" width="16">\(gpu("gpu0"))\(gpu("gpu1"))</switch>
        </root-port>
        <root-port id="1022:14ab" gen="2" width="16" acs-cap="SV TB RR CR UF EC DT">
          <switch name="vs1" id="1000:c030" chip="\(chipB)" gen="4" width="16">\(gpu("gpu2"))\(gpu("gpu3"))</switch>
        </root-port>
      </root-complex>
    """)
}

@Suite struct SwitchChipTests {
    @Test("a fabric-mode chip switches cross-partition P2P inside the chip; a partitioned one sends it through the root complex")
    func crossPartitionRoute() throws {
        let fabricMode = try router(partitionedChip(routing: "fabric"))
        let route = fabricMode.request(.memoryWrite, from: "gpu0", to: "gpu2")
        #expect(fabricMode.trace(route.hops) == ["gpu0:issue", "gpu0p:up", "vs0:peer->vs1", "chip:pex0:chip", "vs1:down",
                                                 "gpu2p:down", "gpu2:deliver"])
        #expect(!route.throughRootComplex && route.isDelivered)
        // A read's completion comes back the same way.
        let read = fabricMode.request(.memoryRead, from: "gpu0", to: "gpu2")
        #expect(fabricMode.trace(read.completionHops).contains("chip:pex0:chip"))
        #expect(!fabricMode.trace(read.completionHops).contains { $0.hasPrefix("rc0") })

        let partitioned = try router(partitionedChip(routing: "partitioned"))
        let up = partitioned.request(.memoryWrite, from: "gpu0", to: "gpu2")
        #expect(up.throughRootComplex)
        #expect(!partitioned.trace(up.hops).contains { $0.hasPrefix("chip:") })
        // Within one partition nothing changes.
        #expect(fabricMode.trace(fabricMode.request(.memoryWrite, from: "gpu0", to: "gpu1").hops)
                == partitioned.trace(partitioned.request(.memoryWrite, from: "gpu0", to: "gpu1").hops))
        // Host memory still goes up the partition's uplink.
        let dma = fabricMode.route(TLPRequest(kind: .memoryWrite, requester: fabricMode.f("gpu0"), address: 0x1_0000_0000))
        #expect(fabricMode.trace(dma.hops).contains("vs0:up"))
    }

    @Test("chip-to-chip links carry cross-chip P2P; simrun route names the chip and the link")
    func chipLink() throws {
        let r = try router(partitionedChip(routing: "fabric", secondChip: true))
        let route = r.request(.memoryWrite, from: "gpu1", to: "gpu3")
        #expect(r.trace(route.hops) == ["gpu1:issue", "gpu1p:up", "vs0:peer->vs1", "chip:pex0:chip", "chiplink:pex0-pex1:chip",
                                        "chip:pex1:chip", "vs1:down", "gpu3p:down", "gpu3:deliver"])
        let text = route.text(r.fabric)
        #expect(text.contains("chip pex0 -> chip pex1"))
        #expect(text.contains("switched between partitions inside the chip"))
    }

    @Test("Linux's p2pdma answer does not change: the kernel sees two switches under two root ports")
    func semanticsUnchanged() throws {
        for routing in ["fabric", "partitioned"] {
            let loaded = try LoadedTopology(document: TopologyReader.read(text: partitionedChip(routing: routing)))
            let s = Semantics(loaded)
            let a = loaded.enumeration.function(named: "gpu0")!, b = loaded.enumeration.function(named: "gpu2")!
            #expect(s.p2pdma(provider: b, client: a, verbose: false).mapType == .thruHostBridge)
        }
    }

    @Test("cross-partition P2P runs at the device links' rate inside a fabric chip, at the Gen2 uplinks' through the root complex")
    func crossPartitionThroughput() throws {
        func rate(_ xml: String) throws -> Double {
            let result = try runFlows(xml) { f in
                [TransportFlow(requester: f.f("gpu0"), target: .peer(function: f.f("gpu2"), bar: nil, offset: 0),
                               operation: .write, bytes: 4 << 20)]
            }
            return result.flows[0].steadyStateThroughput.bytesPerSecond / 1e9
        }
        let inside = try rate(partitionedChip(routing: "fabric"))
        let through = try rate(partitionedChip(routing: "partitioned"))
        let gen4 = try modelLink(.gen4, 16).writeBandwidth(transferBytes: 4 << 20).bytesPerSecond / 1e9
        let gen2 = try modelLink(.gen2, 16).writeBandwidth(transferBytes: 4 << 20).bytesPerSecond / 1e9
        #expect(abs(inside / gen4 - 1) < 0.03, "\(inside) GB/s vs Gen4 x16 \(gen4)")
        #expect(abs(through / gen2 - 1) < 0.03, "\(through) GB/s vs Gen2 x16 \(gen2)")
        // The chip's switching capacity, when given, caps it.
        let capped = try rate(partitionedChip(routing: "fabric", chipBandwidth: "10GB/s"))
        #expect(abs(capped / 10 - 1) < 0.03, "\(capped)")
    }

    @Test("chip declarations are checked: duplicate names, unknown chips on links, links on partitioned chips, unused chips")
    func validation() {
        let unknown = partitionedChip(routing: "fabric").replacingOccurrences(of: "<switch-chip name=\"pex0\" routing=\"fabric\"/>",
            with: "<switch-chip name=\"pex0\" routing=\"fabric\"/><chip-link a=\"pex0\" b=\"nope\" gen=\"5\" width=\"16\"/>")
        #expect(diagnostics(unknown).contains { $0.message.contains("chip-link names chip 'nope'") })
        let partitionedLink = partitionedChip(routing: "partitioned", secondChip: true)
        #expect(diagnostics(partitionedLink).contains { $0.message.contains("whose routing is partitioned") })
        let unused = partitionedChip(routing: "fabric").replacingOccurrences(of: "<switch-chip name=\"pex0\" routing=\"fabric\"/>",
            with: "<switch-chip name=\"pex0\" routing=\"fabric\"/><switch-chip name=\"spare\"/>")
        #expect(diagnostics(unused).contains { $0.message.contains("switch-chip 'spare' is named by no switch") })
    }

    @Test("switch chips and chip links survive a write and read back")
    func roundTrip() throws {
        let t = try TopologyReader.read(text: partitionedChip(routing: "fabric", secondChip: true)).topology
        #expect(t.switchChips.count == 2 && t.chipLinks.count == 1)
        let again = try TopologyReader.read(text: TopologyWriter.write(t)).topology
        #expect(again == t)
    }
}
