// Findings name what acted, as `simrun route` does: the port, the ACS bit (RR for the request, CR for the
// completion), the TLP kind, and the TLPs it affected; one finding per (pair, port, rule) listing its phases.
import Testing
import Scenarios
import Sim

/// A generated machine with one switch (ACS on) and the IOMMU in the given mode, and a p2p-matrix run of gpu0 and
/// gpu1 reading each other.
func peerReadReport(iommu: IOMMUMode) throws -> (RunReport, Fabric) {
    var p = GeneratorParameters()
    p.rootPortsPerRootComplex = 1
    p.iommuMode = iommu
    let loaded = try LoadedTopology(topology: TopologyGenerator.generate(p))
    var runner = try WorkloadRunner(loaded, seed: 1, jobs: 1)
    runner.mode = .flow
    let options = ScenarioOptions(size: 1 << 20, devices: ["gpu0", "gpu1"], operation: .read)
    let workload = try ScenarioSource.workload("p2p-matrix", fabric: runner.fabric, options: options, device: nil)
    return (RunReport(result: try runner.run(workload), runner: runner, topologyFile: "generated"), runner.fabric)
}

@Suite("findings name the port, the bit and the TLP kind")
struct FindingTests {
    @Test("IOMMU in DMA mode: a peer read's request goes up by its IOVA; CR redirects the completion at the completer's port")
    func dmaModeNamesCompletionRedirect() throws {
        let (report, fabric) = try peerReadReport(iommu: .dma)
        let gpu0 = try #require(fabric.enumeration.lookup("gpu0"))
        let gpu1 = try #require(fabric.enumeration.lookup("gpu1"))
        let completerPort = fabric.describe(.function(try #require(fabric.enumeration.functions[gpu1].upstreamBridge)))
        let requesterPort = fabric.describe(.function(try #require(fabric.enumeration.functions[gpu0].upstreamBridge)))
        let mine = report.findings.filter { $0.kind == "redirected" && $0.requester.hasPrefix("gpu0 ") }
        #expect(mine.count == 1)
        let f = try #require(mine.first)
        #expect(f.port == completerPort)
        #expect(f.port != requesterPort)
        #expect(f.bit == "CR" && f.tlpKind == "CplD")
        #expect(f.rule == "ACS P2P Completion Redirect (CR): CplD sent upstream (PCIe Base §6.12.1.1)")
        // One finding for the three phases that read gpu1 (uni, bidi, latency), not one per phase.
        #expect(f.phases == ["gpu0 -> gpu1", "gpu0 <-> gpu1", "latency gpu0 -> gpu1"])
        // Counts: the completions of the reads, summed over the phases: never fewer than the read requests.
        let reads = report.flows.filter { $0.requester == "gpu0" && $0.operation == "read" }
        #expect(reads.count == 3)
        #expect(f.tlps >= 3)
        #expect(report.terminalSummary().contains("redirected at \(completerPort): CR on CplD (\(f.tlps) TLPs)"))
    }

    @Test("no IOMMU translation: RR at the requester's port for the MRd, CR at the completer's for the CplD, as simrun route shows")
    func busAddressNamesBothRedirects() throws {
        let (report, fabric) = try peerReadReport(iommu: .passthrough)
        let gpu0 = try #require(fabric.enumeration.lookup("gpu0"))
        let gpu1 = try #require(fabric.enumeration.lookup("gpu1"))
        let requesterPort = fabric.describe(.function(try #require(fabric.enumeration.functions[gpu0].upstreamBridge)))
        let completerPort = fabric.describe(.function(try #require(fabric.enumeration.functions[gpu1].upstreamBridge)))
        let mine = report.findings.filter { $0.kind == "redirected" && $0.requester.hasPrefix("gpu0 ") }
        let rr = try #require(mine.first { $0.bit == "RR" })
        let cr = try #require(mine.first { $0.bit == "CR" })
        #expect(mine.count == 2)
        #expect(rr.port == requesterPort && rr.tlpKind == "MRd")
        #expect(cr.port == completerPort && cr.tlpKind == "CplD")
        // The words are the router's: the same route, printed by `simrun route`, carries the same lines.
        let route = Router(fabric).route(TLPRequest(kind: .memoryRead, requester: gpu0,
                                                    address: try #require(fabric.defaultTargetAddress(function: gpu1))))
        let text = route.text(fabric)
        #expect(text.contains(rr.rule) && text.contains(cr.rule))
        #expect(route.verdicts.map { $0.bit } == ["RR", "CR"])
        // Every MRd brings back at least one CplD; both summed over the same three phases.
        #expect(rr.tlps > 0 && cr.tlps >= rr.tlps)
        #expect(rr.phases == cr.phases && rr.phases.count == 3)
    }
}
