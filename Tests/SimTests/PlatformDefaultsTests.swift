// Root-complex caps and cross-socket rates: the platform defaults (PlatformDefaults.swift), where they apply, what
// overrides them, and that `simrun route` (Route.text) names them with their origin.
import Testing
@testable import Sim

/// One root complex of the given CPU with three root ports (A, B, C: Gen4 x16 endpoints with a BAR each).
private func platformMachine(family: String, model: String, rcAttributes: String = "") -> String {
    func ep(_ n: String) -> String {
        "<root-port id=\"8086:6f08\" gen=\"4\" width=\"16\"><endpoint name=\"\(n)\" class=\"gpu\" id=\"10de:1b38\" gen=\"4\" width=\"16\"><bar index=\"0\" size=\"16M\" bits=\"32\"/><bar index=\"1\" size=\"1G\" prefetchable=\"true\"/></endpoint></root-port>"
    }
    return topologyXML("""
      <socket id="0" cpu-vendor="intel" cpu-family="6" cpu-model="\(model)"/>
      <iommu name="dmar0" kind="vt-d" mode="passthrough"/>
      <root-complex name="rc0" host-bridge="8086:6f00" iommu="dmar0" gen="4"\(rcAttributes)>\(ep("A"))\(ep("B"))\(ep("C"))</root-complex>
    """)
}

@Suite struct PlatformDefaultsTests {
    func rate(_ xml: String, _ make: (Fabric) -> [TransportFlow]) throws -> [Double] {
        try runFlows(xml, make).flows.map { $0.steadyStateThroughput.bytesPerSecond / 1e9 }
    }
    func write(_ f: Fabric, _ a: String, _ b: String) -> TransportFlow {
        TransportFlow(requester: f.f(a), target: .peer(function: f.f(b), bar: nil, offset: 0), operation: .write, bytes: 2 << 20)
    }

    @Test("a Broadwell-EP root complex caps P2P at its platform default; the cap is per egress port")
    func broadwellCap() throws {
        let xml = platformMachine(family: "6", model: "0x4f")
        let one = try rate(xml) { [write($0, "A", "B")] }
        #expect(abs(one[0] / 7.1 - 1) < 0.02, "\(one)")
        // Two writers into one target share its egress port's cap (the NVMe fan-in of docs/FIDELITY.md).
        let fanIn = try rate(xml) { [write($0, "A", "C"), write($0, "B", "C")] }
        #expect(abs(fanIn.reduce(0, +) / 7.1 - 1) < 0.03, "\(fanIn)")
        // Opposite directions leave through different ports, but share the complex's P2P forwarding: together they
        // get 2 x duplex share x the cap (fabric.duplexShare), not twice the cap.
        let both = try rate(xml) { [write($0, "A", "B"), write($0, "B", "A")] }
        let shared = 2 * PlatformDefaults.derivedDuplexShare * 7.1
        #expect(abs(both.reduce(0, +) / shared - 1) < 0.02 && both.allSatisfy { $0 < 7.0 }, "\(both)")
        // p2p-duplex-share="1" makes the directions independent again: each gets the cap.
        let independent = try rate(platformMachine(family: "6", model: "0x4f", rcAttributes: " p2p-duplex-share=\"1\"")) {
            [write($0, "A", "B"), write($0, "B", "A")]
        }
        #expect(independent.allSatisfy { abs($0 / 7.1 - 1) < 0.02 }, "\(independent)")
        // A CPU with no row has no cap: the link decides.
        let skylake = try rate(platformMachine(family: "6", model: "0x55")) { [write($0, "A", "B")] }
        #expect(skylake[0] > 20, "\(skylake)")
        // The topology's attribute wins over the default.
        let attribute = try rate(platformMachine(family: "6", model: "0x4f", rcAttributes: " p2p-rate-cap=\"3GB/s\"")) { [write($0, "A", "B")] }
        #expect(abs(attribute[0] / 3 - 1) < 0.02, "\(attribute)")
    }

    @Test("a shared root complex caps aggregate DMA: three devices writing memory share dma-cap")
    func aggregateDMACap() throws {
        let xml = platformMachine(family: "6", model: "0x55", rcAttributes: " dma-cap=\"30GB/s\"")
        let rates = try rate(xml) { f in
            ["A", "B", "C"].map { TransportFlow(requester: f.f($0), target: .memory(memoryAddress), operation: .write, bytes: 2 << 20) }
        }
        #expect(abs(rates.reduce(0, +) / 30 - 1) < 0.03, "\(rates)")
        #expect(rates.allSatisfy { abs($0 / 10 - 1) < 0.05 }, "\(rates)")
        let alone = try rate(xml) { f in [TransportFlow(requester: f.f("A"), target: .memory(memoryAddress), operation: .write, bytes: 2 << 20)] }
        #expect(alone[0] > 25, "one device alone runs at its link: \(alone)")
    }

    @Test("simrun route names each cap on its hop with where it comes from")
    func routeShowsCaps() throws {
        let r = try router(platformMachine(family: "6", model: "0x4f", rcAttributes: " dma-cap=\"30GB/s\""))
        let p2p = r.request(.memoryWrite, from: "A", to: "B").text(r.fabric)
        #expect(p2p.contains("P2P capped at 7.1GB/s per direction, 12.567GB/s both directions together (default for Intel Xeon E5 v4 / Core i7 Broadwell-E)"), "\(p2p)")
        let dma = r.route(TLPRequest(kind: .memoryWrite, requester: r.f("A"), address: memoryAddress)).text(r.fabric)
        #expect(dma.contains("DMA through this root complex capped at 30GB/s in all (dma-cap attribute)"), "\(dma)")
    }

    @Test("a socket link without bandwidth takes the platform's cross-socket P2P rate, and is an error on a CPU with none")
    func socketDefault() throws {
        func machine(_ family: String, _ model: String) -> String {
            topologyXML("""
              <socket id="0" cpu-vendor="amd" cpu-family="\(family)" cpu-model="\(model)"/>
              <socket id="1" cpu-vendor="amd" cpu-family="\(family)" cpu-model="\(model)"/>
              <socket-link a="0" b="1" kind="xgmi" latency="120ns"/>
              <iommu name="i0" kind="amd-vi" mode="passthrough"/>
              <root-complex name="rc0" socket="0" host-bridge="1022:1480" iommu="i0"><root-port id="1022:1483"><endpoint name="A" class="gpu" id="10de:20b0"><bar index="0" size="16M" bits="32"/><bar index="1" size="1G" prefetchable="true"/></endpoint></root-port></root-complex>
              <root-complex name="rc1" socket="1" host-bridge="1022:1480" iommu="i0"><root-port id="1022:1483"><endpoint name="B" class="gpu" id="10de:20b0"><bar index="0" size="16M" bits="32"/><bar index="1" size="1G" prefetchable="true"/></endpoint></root-port></root-complex>
            """)
        }
        let rome = try rate(machine("0x17", "0x31")) { [write($0, "A", "B")] }
        #expect(abs(rome[0] / 22.825 - 1) < 0.02, "\(rome)")
        // Both directions share the xGMI link: 2 x 0.885 x 22.825 = 40.4 GB/s together (the Rome figure it came from).
        let romeBoth = try rate(machine("0x17", "0x31")) { [write($0, "A", "B"), write($0, "B", "A")] }
        #expect(abs(romeBoth.reduce(0, +) / 40.4 - 1) < 0.02, "\(romeBoth)")
        // duplex-share on the link wins; a bandwidth the file gives has independent directions unless it says so.
        let given = try rate(machine("0x17", "0x31").replacingOccurrences(of: "kind=\"xgmi\"", with: "kind=\"xgmi\" bandwidth=\"20GB/s\"")) {
            [write($0, "A", "B"), write($0, "B", "A")]
        }
        #expect(given.allSatisfy { abs($0 / 20 - 1) < 0.02 }, "\(given)")
        let half = try rate(machine("0x17", "0x31").replacingOccurrences(of: "kind=\"xgmi\"", with: "kind=\"xgmi\" bandwidth=\"20GB/s\" duplex-share=\"0.75\"")) {
            [write($0, "A", "B"), write($0, "B", "A")]
        }
        #expect(abs(half.reduce(0, +) / 30 - 1) < 0.02, "\(half)")
        let route = try router(machine("0x17", "0x31")).request(.memoryWrite, from: "A", to: "B")
        #expect(route.text(try router(machine("0x17", "0x31")).fabric).contains("22.825GB/s per direction, 40.4"))
        #expect(throws: TransportError.self) { try runFlows(machine("0x17", "0x01")) { [write($0, "A", "B")] } }
    }
}

@Suite struct LaunchLatencyTests {
    static func machine(_ launch: String?) -> String {
        transportMachine(gen: 5, width: 16, params: launch.map { "\n        <param name=\"dma.launchLatency\" value=\"\($0)\"/>\n    " } ?? "")
    }

    @Test("a launch latency adds to each DMA's latency at queue depth 1, and costs big DMAs almost nothing")
    func launchLatency() throws {
        let probe = { (xml: String) in try runFlows(xml) { [dmaFlow($0, .write, transfer: 16, count: 100, queueDepth: 1)] }.flows[0] }
        let without = try probe(Self.machine(nil)), with = try probe(Self.machine("200ns"))
        #expect(abs(Double(with.latency.mean - without.latency.mean) - 200_000) < 2_000, "\(without.latency.mean) -> \(with.latency.mean)")
        // 100 DMAs one at a time: the span grows by 100 launches.
        let span0 = try #require(without.completionTime), span1 = try #require(with.completionTime)
        #expect(abs(Double(span1 - span0) / 100 - 200_000) < 5_000, "\(span0) -> \(span1)")
        // Reads too: a QD1 64-byte read's round trip grows by the launch.
        let read = { (xml: String) in try runFlows(xml) { [dmaFlow($0, .read, transfer: 64, count: 50, queueDepth: 1)] }.flows[0] }
        #expect(abs(Double(try read(Self.machine("200ns")).latency.mean - read(Self.machine(nil)).latency.mean) - 200_000) < 2_000)
        // 1 MiB DMAs with 4 in flight: the launches overlap the transfers.
        let big = { (xml: String) in try runFlows(xml) { [dmaFlow($0, .write, transfer: 1 << 20, count: 16, window: 16 << 20, queueDepth: 4)] }.flows[0] }
        let b0 = try big(Self.machine(nil)), b1 = try big(Self.machine("200ns"))
        #expect(ratio(b1.steadyStateThroughput, b0.steadyStateThroughput) > 0.98, "\(b0.steadyStateThroughput) -> \(b1.steadyStateThroughput)")
    }

    @Test("GB202 GPUs get their derived launch latency; an explicit param wins")
    func deviceDefault() throws {
        let row = try #require(DeviceDefaults.row(for: PCIID(vendor: 0x10de, device: 0x2b85)))
        #expect(row.launchLatency == 218_000)
        #expect(DeviceDefaults.row(for: PCIID(vendor: 0x10de, device: 0x20b0)) == nil, "A100 is not in the GB202 row")
    }
}

/// Host memory latency per CPU platform, and a device family that keeps a fixed number of reads in flight: 64 B reads
/// run at (reads in flight) / (latency), so a slower host reads slower (pcie-bench's NFP-6000 on Broadwell-EP and
/// Haswell-EP, docs/FIDELITY.md).
@Suite struct MemoryLatencyTests {
    static func nfpHost(_ model: String, params: String = "") -> String {
        topologyXML("""
          <socket id="0" cpu-vendor="intel" cpu-family="6" cpu-model="\(model)"/>
          <iommu name="dmar0" kind="vt-d" mode="off"/>
          <root-complex name="rc0" host-bridge="8086:2f00" iommu="dmar0" gen="3">\(params)<root-port id="8086:2f08" gen="3" width="8"><endpoint name="A" class="nic" id="19ee:6000" gen="3" width="8" mrrs="512"><bar index="0" size="16M"/></endpoint></root-port></root-complex>
        """)
    }
    func reads(_ xml: String) throws -> (mps: Double, latencyNs: Double) {
        let bw = try runFlows(xml) { [dmaFlow($0, .read, transfer: 64, count: 4096, window: 8 << 10)] }.flows[0]
        let lat = try runFlows(xml) { [dmaFlow($0, .read, transfer: 64, count: 64, window: 8 << 10, queueDepth: 1)] }.flows[0]
        return (bw.steadyStateThroughput.bytesPerSecond / 64 / 1e6, Double(lat.latency.mean) / 1000)
    }

    @Test("the platform's memory latency sets a lone read's latency; 34 reads in flight set the 64 B read rate")
    func littlesLaw() throws {
        let broadwell = try reads(Self.nfpHost("0x4f"))
        let haswell = try reads(Self.nfpHost("0x3f"))
        #expect(abs(broadwell.latencyNs - 546) < 10 && abs(haswell.latencyNs - 600) < 10, "\(broadwell) \(haswell)")
        // pcie-bench measures 62.3 and 56.0 M reads/s on these two hosts.
        #expect(abs(broadwell.mps / 62.3 - 1) < 0.03 && abs(haswell.mps / 56.0 - 1) < 0.04, "\(broadwell) \(haswell)")
        #expect(abs(broadwell.mps * broadwell.latencyNs / 1000 - 34) < 2, "Little's law: \(broadwell)")
        // A CPU with no row: 500 ns; rc.memoryLatency wins over the row; dma.outstandingReads over the family's 34.
        #expect(abs(try reads(Self.nfpHost("0x55")).latencyNs - 514) < 10)
        #expect(abs(try reads(Self.nfpHost("0x4f", params: "<param name=\"rc.memoryLatency\" value=\"1us\"/>")).latencyNs - 1014) < 10)
        let eight = try reads(Self.nfpHost("0x4f", params: "<param name=\"dma.outstandingReads\" value=\"8\"/>"))
        #expect(abs(eight.mps / (broadwell.mps * 8 / 34) - 1) < 0.05, "\(eight)")
    }

    @Test("limited by: 64 B reads name the reads in flight, 64 B writes the issue rate, a lone read its queue depth, 2 KiB reads the link")
    func limitedByMechanisms() throws {
        let xml = Self.nfpHost("0x4f")
        let reads = try runFlows(xml) { [dmaFlow($0, .read, transfer: 64, count: 4096, window: 8 << 10)] }.flows[0]
        #expect(reads.limitedBy == "outstanding reads (34 in flight)", "\(String(describing: reads.limitedBy))")
        let writes = try runFlows(xml) { [dmaFlow($0, .write, transfer: 64, count: 4096, window: 8 << 10)] }.flows[0]
        #expect(writes.limitedBy == "DMA issue rate", "\(String(describing: writes.limitedBy))")
        let lone = try runFlows(xml) { [dmaFlow($0, .read, transfer: 64, count: 64, window: 8 << 10, queueDepth: 1)] }.flows[0]
        #expect(lone.limitedBy == "queue depth 1", "\(String(describing: lone.limitedBy))")
        let big = try runFlows(xml) { [dmaFlow($0, .read, transfer: 2048, count: 512, window: 8 << 10)] }.flows[0]
        #expect(big.limitedBy == "rc0.rp0 -> A", "\(String(describing: big.limitedBy))")
    }
}
