// The transport model's behaviour: outstanding-read bound, switches and back-pressure, root-complex caps and
// P2P, ACS redirect, IOMMU (IOTLB reach, superpages, faults), ATS, blocked TLPs, parameters, determinism.

import Testing
@testable import Sim

/// Relative difference.
func ratio(_ a: DataRate, _ b: DataRate) -> Double { a.bytesPerSecond / b.bytesPerSecond }

/// A switch below a root port with endpoints A and B (ACS controls on its downstream ports), and C on a second
/// root port; `switchAttributes` and `rcAttributes` add attributes, `switchBody` params.
func transportSwitchMachine(aCtrl: String = "none", endpointAttributes: String = "", switchAttributes: String = "",
                            switchBody: String = "", rcAttributes: String = "", iommu: String = "") -> String {
    let ep = { (name: String) in
        "<endpoint name=\"\(name)\" class=\"gpu\" id=\"10de:20b0\"\(endpointAttributes)><bar index=\"0\" size=\"16M\" bits=\"32\"/><bar index=\"1\" size=\"1G\" prefetchable=\"true\"/></endpoint>"
    }
    return topologyXML("""
      <socket id="0" cpu-vendor="amd" cpu-family="25"/>
      <iommu name="iommu0" kind="amd-vi"\(iommu)/>
      <root-complex name="rc0" host-bridge="1022:1480" iommu="iommu0"\(rcAttributes)>
        <root-port id="1022:1483" acs-cap="SV TB RR CR UF EC DT">
          <switch name="sw" id="1000:c010"\(switchAttributes)>\(switchBody)
            <downstream-port name="dpa" acs-cap="SV TB RR CR UF EC DT" acs-ctrl="\(aCtrl)">\(ep("A"))</downstream-port>
            <downstream-port name="dpb" acs-cap="SV TB RR CR UF EC DT">\(ep("B"))</downstream-port>
          </switch>
        </root-port>
        <root-port id="1022:1483" acs-cap="SV TB RR CR UF EC DT">\(ep("C"))</root-port>
      </root-complex>
    """)
}

func runFlows(_ xml: String, parameters: TransportParameters = TransportParameters(), _ make: (Fabric) -> [TransportFlow])
    throws -> TransportResult
{
    let fabric = try loadFabric(xml)
    var sim = try TransportSimulation(fabric: fabric, flows: make(fabric), parameters: parameters)
    return try sim.run()
}

extension Fabric {
    func f(_ name: String) -> Int { enumeration.function(named: name)! }
}

/// The link as the transport model accounts it by default (Ack/UpdateFC every T / W^α, TransportParameters), for tests
/// of mechanisms that should run at the model's own link rate.
func modelLink(_ generation: LinkGeneration, _ width: Int, mps: Int = 256) throws -> LinkEfficiency {
    let interval = LinkEfficiency.defaultAckInterval(generation: generation, width: width, maxPayloadSizeBytes: mps,
                                                     widthExponent: TransportParameters().ackWidthExponent)!
    return try LinkEfficiency(generation: generation, width: width, maxPayloadSizeBytes: mps, dllpAccounting: .explicitAck(interval: interval))
}

@Suite struct TransportBehaviourTests {
    @Test("reads obey the outstanding-request bound when tags are scarce (Little's law, reference §1.5)")
    func outstandingReads() throws {
        let result = try runFlows(transportMachine(gen: 4, width: 16, endpointAttributes: " outstanding-reads=\"4\"")) {
            [TransportFlow(requester: $0.f("A"), target: .memory(memoryAddress), operation: .read, bytes: 256 << 10)]
        }
        let flow = result.flows[0]
        let roundTrip = flow.latency.mean
        let little = LinkEfficiency.outstandingReadBound(outstandingReadRequests: 4, readRequestBytes: 512, roundTrip: roundTrip)
        #expect(abs(ratio(flow.steadyStateThroughput, little) - 1) < 0.03, "\(flow.steadyStateThroughput) vs \(little)")
        // Far below the link: 4 × 512 B per ~0.5 µs.
        let link = try LinkEfficiency(generation: .gen4, width: 16, dllpAccounting: .widthScaled)
        #expect(ratio(flow.steadyStateThroughput, link.readBandwidth(transferBytes: 256 << 10)) < 0.2)
        #expect(roundTrip >= 500_000 && roundTrip < 600_000)
        // The per-flow queue depth bounds it the same way.
        let depth = try runFlows(transportMachine(gen: 4, width: 16)) {
            [TransportFlow(requester: $0.f("A"), target: .memory(memoryAddress), operation: .read, bytes: 256 << 10,
                           queueDepth: 4)]
        }.flows[0]
        #expect(abs(ratio(depth.steadyStateThroughput, flow.steadyStateThroughput) - 1) < 0.01)
    }

    @Test("P2P through a switch runs at link rate; through a root complex with a rate cap at the cap")
    func peerToPeer() throws {
        let xml = transportSwitchMachine(rcAttributes: " p2p-rate-cap=\"7.1GB/s\"")
        let result = try runFlows(xml) { fabric in
            [TransportFlow(requester: fabric.f("A"), target: .peer(function: fabric.f("B")), operation: .write, bytes: 512 << 10),
             TransportFlow(requester: fabric.f("B"), target: .peer(function: fabric.f("C")), operation: .write, bytes: 512 << 10,
                           start: 100_000_000)]
        }
        let link = try modelLink(.gen4, 16)
        let viaSwitch = result.flows[0].steadyStateThroughput
        let viaRootComplex = result.flows[1].steadyStateThroughput
        #expect(abs(ratio(viaSwitch, link.writeBandwidth(transferBytes: 512 << 10)) - 1) < 0.01, "\(viaSwitch)")
        #expect(abs(viaRootComplex.gigabytesPerSecond / 7.1 - 1) < 0.01, "\(viaRootComplex)")
        // The switch-local flow never touched the uplink; the capped one crossed it and C's link.
        #expect(try #require(result.link("rc0.rp1 -> C")).payloadBytes == 512 << 10)
        #expect(try #require(result.link("sw -> rc0.rp0")).payloadBytes == 512 << 10)
    }

    @Test("ACS P2P Request Redirect sends same-switch P2P through the uplink and the root complex")
    func acsRedirect() throws {
        func run(_ ctrl: String) throws -> TransportResult {
            try runFlows(transportSwitchMachine(aCtrl: ctrl)) { fabric in
                [TransportFlow(requester: fabric.f("A"), target: .peer(function: fabric.f("B")), operation: .write,
                               bytes: 512 << 10)]
            }
        }
        let direct = try run("none")
        let redirected = try run("RR")
        for direction in ["sw -> rc0.rp0", "rc0.rp0 -> sw"] {
            #expect(try #require(direct.link(direction)).utilization < 0.01)
            #expect(try #require(redirected.link(direction)).utilization > 0.95, "\(direction)")
            #expect(try #require(redirected.link(direction)).payloadBytes == 512 << 10)
        }
        // Same link rate on every hop: the redirect costs latency (two more links, the root complex), not rate.
        #expect(redirected.flows[0].latency.min > direct.flows[0].latency.min + 150_000)
        #expect(abs(ratio(redirected.flows[0].steadyStateThroughput, direct.flows[0].steadyStateThroughput) - 1) < 0.01)
    }

    @Test("IOTLB: throughput drops once the working set passes IOTLB reach and recovers with 2 MiB pages")
    func iotlbReach() throws {
        // Gen5 x16: a 4 KiB page passes in 71 ns; 4 walks of 4 × 90 ns in flight translate at most 45 GB/s.
        func run(workingSet: Int, page: Int) throws -> TransportResult {
            try runFlows(transportMachine(gen: 5, width: 16, iommu: "mode=\"dma\"")) {
                [TransportFlow(requester: $0.f("A"), target: .memory(memoryAddress), operation: .write, bytes: 4 << 20,
                               workingSetBytes: workingSet, mappingPageBytes: page)]
            }
        }
        let inReach = try run(workingSet: 128 << 10, page: 4096)        // 32 pages of 64 entries
        let beyond = try run(workingSet: 1 << 20, page: 4096)           // 256 pages
        let superpages = try run(workingSet: 1 << 20, page: 2 << 20)
        let link = try modelLink(.gen5, 16)
        let linkRate = link.writeBandwidth(transferBytes: 4 << 20)
        #expect(ratio(inReach.flows[0].throughput, linkRate) > 0.97)
        #expect(ratio(beyond.flows[0].throughput, inReach.flows[0].throughput) < 0.85)
        #expect(ratio(superpages.flows[0].throughput, linkRate) > 0.98)
        let iotlb = (inReach.iommus[0], beyond.iommus[0], superpages.iommus[0])
        // The first pass misses on every TLP of each of the 32 pages (16 TLPs wait on each walk), then all hit.
        #expect(iotlb.0.walks == 32 && iotlb.0.lookups == 16384 && iotlb.0.hits == 16384 - 32 * 16)
        #expect(iotlb.1.walks == 1024 && iotlb.1.hitRate < 0.1 && iotlb.1.maxWalksInFlight == 4)
        #expect(iotlb.2.walks == 1)
        // The translation-bound rate: walks in flight × page / walk latency.
        #expect(abs(beyond.flows[0].steadyStateThroughput.gigabytesPerSecond / (4 * 4096 / 360.0) - 1) < 0.03)
    }

    struct FaultingAbove: AddressTranslator {
        var limit: UInt64
        func translate(requester: Int, address: UInt64, isWrite: Bool) -> TranslationOutcome {
            address < limit ? .translated(address) : .fault("no mapping for IOVA")
        }
    }

    @Test("IOMMU faults on unmapped pages are blocked TLPs at the root complex; the rest of the flow goes on")
    func iommuFaults() throws {
        let fabric = try loadFabric(transportMachine(gen: 4, width: 16, iommu: "mode=\"dma\""))
        let mapped = memoryAddress + (48 << 10)
        var parameters = TransportParameters()
        parameters.blockedRecordLimit = 10
        var sim = try TransportSimulation(fabric: fabric, flows: [
            TransportFlow(requester: fabric.f("A"), target: .memory(memoryAddress), operation: .write, bytes: 64 << 10)],
            parameters: parameters, translator: FaultingAbove(limit: mapped))
        let result = try sim.run()
        let flow = result.flows[0]
        #expect(result.isComplete)
        #expect(flow.bytes == 48 << 10 && flow.blockedBytes == 16 << 10 && flow.blockedTLPs == 64)
        #expect(result.iommus[0].faults == 4)
        #expect(result.blocked.count == 10)
        #expect(result.blocked.allSatisfy { $0.address >= mapped && $0.location == .rootComplex(0) })
        #expect(result.blockCounts == [TransportResult.BlockCount(location: .rootComplex(0),
                                                                  reason: .iommuFault("no mapping for IOVA"), count: 64)])
    }

    @Test("ATS: translated P2P goes direct under ACS DT; the ATC serves repeated pages; TB blocks translation")
    func ats() throws {
        func run(_ ctrl: String) throws -> TransportResult {
            try runFlows(transportSwitchMachine(aCtrl: ctrl, endpointAttributes: " ats=\"true\"", iommu: " mode=\"dma\"")) {
                [TransportFlow(requester: $0.f("A"), target: .peer(function: $0.f("B")), operation: .write, bytes: 1 << 20,
                               workingSetBytes: 64 << 10, usesATS: true)]
            }
        }
        let direct = try run("RR DT")
        let flow = direct.flows[0]
        #expect(direct.isComplete && flow.bytes == 1 << 20)
        // 16 pages, each translated once (the ATC holds 64); each pass over the buffer looks each page up once.
        #expect(flow.translationRequests == 16 && flow.atcLookups == 256 && flow.atcHits == 240)
        // Only translation requests and their completions use the uplink; the data goes peer to peer.
        #expect(try #require(direct.link("sw -> rc0.rp0")).tlps == 16)
        #expect(try #require(direct.link("rc0.rp0 -> sw")).payloadBytes == 16 * 8)
        #expect(try #require(direct.link("dpb -> B")).payloadBytes == 1 << 20)
        #expect(direct.iommus[0].walks == 16)
        let blocked = try run("TB RR DT")
        #expect(blocked.flows[0].bytes == 0 && blocked.flows[0].blockedBytes == 1 << 20)
        #expect(blocked.blockCounts.first?.reason == .acsViolation(.translationBlocking))
    }

    @Test("a root complex that drops P2P: blocked TLPs recorded (first N in full, then counted), reads give tags back")
    func blockedByRootComplex() throws {
        var parameters = TransportParameters()
        parameters.blockedRecordLimit = 5
        let result = try runFlows(transportSwitchMachine(rcAttributes: " p2p=\"drop\""), parameters: parameters) { fabric in
            [TransportFlow(requester: fabric.f("A"), target: .peer(function: fabric.f("C")), operation: .write, bytes: 64 << 10),
             TransportFlow(requester: fabric.f("B"), target: .peer(function: fabric.f("C")), operation: .read, bytes: 64 << 10)]
        }
        #expect(result.isComplete)
        #expect(result.flows.allSatisfy { $0.bytes == 0 && $0.blockedBytes == 64 << 10 })
        #expect(result.blocked.count == 5)
        #expect(result.blockCounts == [TransportResult.BlockCount(location: .rootComplex(0), reason: .rootComplexDrops, count: 256 + 128)])
        #expect(try #require(result.link("rc0.rp1 -> C")).tlps == 0)
    }

    @Test("two writers share a narrower uplink round-robin; the switch back-pressures them with credits")
    func arbitrationAndBackpressure() throws {
        let result = try runFlows(transportSwitchMachine(switchAttributes: " width=\"8\"", iommu: " mode=\"passthrough\"")) { fabric in
            ["A", "B"].map { TransportFlow(requester: fabric.f($0), target: .memory(memoryAddress), operation: .write, bytes: 512 << 10) }
        }
        let uplink = try modelLink(.gen4, 8)
        let share = uplink.writeBandwidth(transferBytes: 1 << 20).bytesPerSecond / 2
        for flow in result.flows {
            #expect(abs(flow.steadyStateThroughput.bytesPerSecond / share - 1) < 0.02, "\(flow.steadyStateThroughput)")
        }
        #expect(try #require(result.link("sw -> rc0.rp0")).utilization > 0.98)
        for name in ["A -> dpa", "B -> dpb"] {
            let link = try #require(result.link(name))
            #expect(link.creditStallTime > result.endTime / 3, "\(name)")
        }
        #expect(try #require(result.link("sw -> rc0.rp0")).maxQueueTLPs > 10)
    }

    @Test("root complex DMA cap, issue-rate cap, and an inter-socket link bound the rate")
    func caps() throws {
        let capped = try runFlows(transportMachine(gen: 4, width: 16, rcAttributes: " dma-cap=\"10GB/s\"")) {
            [TransportFlow(requester: $0.f("A"), target: .memory(memoryAddress), operation: .write, bytes: 256 << 10)]
        }
        #expect(abs(capped.flows[0].steadyStateThroughput.gigabytesPerSecond / 10 - 1) < 0.01)
        let paced = try runFlows(transportMachine(gen: 4, width: 16, endpointAttributes: "", params: """

                <param name="dma.issueRate" value="1e7"/>
            """)) {
            [TransportFlow(requester: $0.f("A"), target: .memory(memoryAddress), operation: .write, bytes: 256 << 10)]
        }
        #expect(abs(paced.flows[0].steadyStateThroughput.gigabytesPerSecond / 2.56 - 1) < 0.01)
        let twoSockets = topologyXML("""
          <socket id="0" cpu-vendor="amd" cpu-family="25"/>
          <socket id="1" cpu-vendor="amd" cpu-family="25"/>
          <socket-link a="0" b="1" kind="xgmi" bandwidth="8GB/s" latency="100ns"/>
          <iommu name="iommu0" kind="amd-vi" mode="passthrough"/>
          <root-complex name="rc0" socket="0" host-bridge="1022:1480" iommu="iommu0">
            <root-port id="1022:1483"><endpoint name="A" class="gpu" id="10de:20b0"/></root-port>
          </root-complex>
          <root-complex name="rc1" socket="1" host-bridge="1022:1480" iommu="iommu0">
            <root-port id="1022:1483"><endpoint name="B" class="gpu" id="10de:20b0"><bar index="1" size="1G" prefetchable="true"/></endpoint></root-port>
          </root-complex>
        """)
        let crossSocket = try runFlows(twoSockets) {
            [TransportFlow(requester: $0.f("A"), target: .peer(function: $0.f("B")), operation: .write, bytes: 256 << 10)]
        }
        #expect(abs(crossSocket.flows[0].steadyStateThroughput.gigabytesPerSecond / 8 - 1) < 0.01)
        #expect(crossSocket.flows[0].latency.min > 250_000)   // switch-free, but 150 ns P2P turn-around + 100 ns link
    }

    @Test("<param> overrides: switch latency reaches the reads' latency; unknown names and bad values are errors")
    func parameters() throws {
        func minimumLatency(_ body: String) throws -> Picoseconds {
            try runFlows(transportSwitchMachine(switchBody: body, iommu: " mode=\"passthrough\"")) {
                [TransportFlow(requester: $0.f("A"), target: .memory(memoryAddress), operation: .read, bytes: 4096)]
            }.flows[0].latency.min
        }
        let standard = try minimumLatency("")
        let slow = try minimumLatency("\n<param name=\"switch.latency\" value=\"305ns\"/>")
        #expect(slow - standard == 2 * 200_000)   // request up and completion down both cross the switch
        let problems = #expect(throws: TransportError.self) {
            try runFlows(transportSwitchMachine(switchBody: """

                <param name="switch.latancy" value="1ns"/>
                <param name="credits.posted.header" value="many"/>
                <param name="vendor.knob" value="ignored"/>
                """)) { _ in [] }
        }
        #expect(problems?.problems == [
            "'sw': unknown transport parameter 'switch.latancy' (known: see docs/TRANSPORT.md)",
            "'sw': parameter 'credits.posted.header' value 'many' is not a count | inf",
        ])
    }

    @Test("tiny receive buffers throttle a link: credits (credits.posted.data) bound the rate over the credit loop")
    func creditLimited() throws {
        let result = try runFlows(transportMachine(gen: 4, width: 16, params: """

                <param name="credits.posted.data" value="32"/>
                <param name="link.latency" value="200ns"/>
            """)) {
            [TransportFlow(requester: $0.f("A"), target: .memory(memoryAddress), operation: .write, bytes: 256 << 10)]
        }
        let link = try #require(result.link("A -> rc0.rp0"))
        // 512 B of buffer per round trip of 2 × 200 ns link latency (+ up to one 85 ns coalescing interval).
        #expect(result.flows[0].steadyStateThroughput.gigabytesPerSecond < 512.0 / 400)
        #expect(result.flows[0].steadyStateThroughput.gigabytesPerSecond > 512.0 / 500)
        #expect(link.creditStallTime > result.endTime / 2)
    }

    @Test("a run is deterministic for a seed")
    func deterministic() throws {
        func run() throws -> TransportResult {
            try runFlows(transportSwitchMachine(aCtrl: "RR", switchAttributes: " width=\"8\"")) { fabric in
                [TransportFlow(requester: fabric.f("A"), target: .peer(function: fabric.f("B")), operation: .read, bytes: 128 << 10),
                 TransportFlow(requester: fabric.f("B"), target: .memory(memoryAddress), operation: .write, bytes: 128 << 10,
                               workingSetBytes: 1 << 20),
                 TransportFlow(requester: fabric.f("C"), target: .peer(function: fabric.f("A")), operation: .write, bytes: 64 << 10,
                               start: 1_000_000)]
            }
        }
        let (a, b) = (try run(), try run())
        #expect(a.eventsHandled == b.eventsHandled && a.endTime == b.endTime)
        #expect(a.flows.map(\.completionTime) == b.flows.map(\.completionTime))
        #expect(a.flows.map(\.latency) == b.flows.map(\.latency))
        #expect(a.links.map(\.busyTime) == b.links.map(\.busyTime))
        #expect(a.iommus == b.iommus)
    }

    @Test("the latency histogram: exact min, max and mean; quantiles HdrHistogram's highest-equivalent values")
    func histogram() {
        var h = LatencyHistogram()
        for v in [100, 200, 300, 1_000, 1_000_000] as [Picoseconds] { h.record(v) }
        #expect(h.count == 5 && h.min == 100 && h.max == 1_000_000 && h.mean == 200_320)
        #expect(h.value(atQuantile: 0) == 100 && h.value(atQuantile: 1) == 1_000_000)
        // Values below 256 are kept exactly (HdrHistogram's first bucket has unit resolution at two digits); from 256
        // to 511 buckets are 2 ps wide, and a quantile is the highest value of its bucket: 300 is reported as 301.
        #expect(h.value(atQuantile: 0.4) == 200)
        #expect(h.value(atQuantile: 0.5) == 301)
        // A chart's buckets still add up to every sample.
        #expect(h.buckets.map(\.count).reduce(0, +) == 5)
    }

    @Test("latency quantiles keep two significant digits: a known distribution within 1 %")
    func histogramQuantiles() {
        // 1,000 ns to 100,999 ns in 100 ns steps (1,000 values), shuffled deterministically: the exact q-quantile is
        // the value at rank ceil(q * n).
        var values = (0..<1000).map { Picoseconds(1_000_000 + $0 * 100_000) }
        var rng = SplitMix64(seed: 7)
        values.shuffle(using: &rng)
        var h = LatencyHistogram()
        for v in values { h.record(v) }
        let sorted = values.sorted()
        for q in [0.1, 0.25, 0.5, 0.9, 0.99, 0.999] {
            let exact = Double(sorted[Int((q * Double(sorted.count)).rounded(.up)) - 1])
            let got = Double(h.value(atQuantile: q))
            #expect(got >= exact && got <= exact * 1.01, "q=\(q): \(got) vs exact \(exact)")
        }
        #expect(h.value(atQuantile: 0.5) != h.value(atQuantile: 0.99))
        #expect(h.value(atQuantile: 0.99) < h.max)
        // Merging two halves gives the same quantiles as recording everything into one.
        var a = LatencyHistogram(), b = LatencyHistogram()
        for (i, v) in values.enumerated() { if i % 2 == 0 { a.record(v) } else { b.record(v) } }
        a.merge(b)
        #expect(a == h)
        #expect(a.value(atQuantile: 0.5) == h.value(atQuantile: 0.5))
    }
}
