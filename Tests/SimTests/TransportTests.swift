// The transport model's specification: fidelity against the pcie-bench band (reference §1-§2), the bounds a DES
// must show (outstanding reads), switches, root complexes, ACS redirect, IOMMU and ATS. Model outputs only.

import Testing
@testable import Sim

/// One root port with endpoint `A` below it (IOMMU in passthrough unless `iommu` says otherwise).
func transportMachine(gen: Int, width: Int, mps: Int = 256, mrrs: Int = 512, endpointAttributes: String = "",
                      iommu: String = "mode=\"passthrough\"", rcAttributes: String = "", params: String = "") -> String {
    topologyXML("""
      <socket id="0" cpu-vendor="amd" cpu-family="25"/>
      <iommu name="iommu0" kind="amd-vi" \(iommu)/>
      <root-complex name="rc0" host-bridge="1022:1480" iommu="iommu0"\(rcAttributes)>\(params)
        <root-port id="1022:1483" gen="\(gen)" width="\(width)" mps="\(mps)">
          <endpoint name="A" class="nic" id="15b3:101b" mps="\(mps)" mrrs="\(mrrs)"\(endpointAttributes)/>
        </root-port>
      </root-complex>
    """)
}

func loadFabric(_ xml: String) throws -> Fabric {
    Fabric(try LoadedTopology(document: TopologyReader.read(text: xml)))
}

/// System memory above 4 GiB: 64-bit addresses, 4 DW headers (pcie-bench's assumption).
let memoryAddress: UInt64 = 0x1_0000_0000

struct FidelityCase: CustomTestStringConvertible, Sendable {
    var gen: LinkGeneration
    var width: Int
    var mps: Int
    var testDescription: String { "Gen\(gen.rawValue) x\(width) MPS \(mps)" }
}

let fidelityCases: [FidelityCase] = LinkGeneration.allCases.flatMap { gen in
    [1, 4, 8, 16].flatMap { width in [128, 256, 512].map { FidelityCase(gen: gen, width: width, mps: $0) } }
}

/// Bytes that keep a saturating flow busy for about `microseconds` at `rate` (at least 64 TLPs).
func saturatingBytes(_ rate: DataRate, mps: Int, microseconds: Double) -> Int {
    let bytes = Int(rate.bytesPerSecond * microseconds * 1e-6)
    return max(64 * mps, (bytes + 4095) / 4096 * 4096)
}

/// The reference band for a payload rate: between the pcie-bench and the width-scaled DLLP accountings, or
/// within 1 % of the explicit-Ack derivation (which is the width-scaled bound itself, up to rounding).
func expectInBand(_ measured: DataRate, pb: DataRate, w: DataRate, explicit: DataRate, _ label: String) {
    let m = measured.bytesPerSecond
    let inBand = m >= pb.bytesPerSecond * 0.999 && m <= w.bytesPerSecond * 1.001
    let nearExplicit = abs(m / explicit.bytesPerSecond - 1) <= 0.01
    #expect(inBand || nearExplicit, "\(label): \(measured) outside [\(pb), \(w)] and not within 1 % of \(explicit)")
}

@Suite struct TransportFidelityTests {
    @Test("a saturating DMA write lands in the DLLP band", arguments: fidelityCases)
    func write(_ c: FidelityCase) throws {
        let fabric = try loadFabric(transportMachine(gen: c.gen.rawValue, width: c.width, mps: c.mps))
        let a = fabric.enumeration.function(named: "A")!
        let pb = try LinkEfficiency(generation: c.gen, width: c.width, maxPayloadSizeBytes: c.mps, dllpAccounting: .pcieBench)
        let w = try LinkEfficiency(generation: c.gen, width: c.width, maxPayloadSizeBytes: c.mps, dllpAccounting: .widthScaled)
        let bytes = saturatingBytes(w.writeBandwidth(transferBytes: 1 << 20), mps: c.mps, microseconds: 3)
        var sim = try TransportSimulation(fabric: fabric, flows: [
            TransportFlow(requester: a, target: .memory(memoryAddress), operation: .write, bytes: bytes)])
        let result = try sim.run()
        let flow = result.flows[0]
        #expect(flow.bytes == bytes && result.isComplete)
        let explicitRate = LinkEfficiency.explicitAckTLPDataRate(generation: c.gen, width: c.width,
                                                                 ackInterval: w.ackCoalescingInterval)
        let explicitWrite = DataRate(bytesPerSecond: explicitRate.bytesPerSecond * Double(c.mps)
                                        / Double(c.mps + w.wireFormat.overheadBytes(.memoryWrite)))
        expectInBand(flow.steadyStateThroughput, pb: pb.writeBandwidth(transferBytes: bytes),
                     w: w.writeBandwidth(transferBytes: bytes), explicit: explicitWrite, c.testDescription)
        // The DLLPs are charged to the direction that carries the TLPs (DLLPChargeDirection.data).
        let up = try #require(result.link("A -> rc0.rp0"))
        #expect(up.utilization > 0.99)
        #expect(c.gen == .gen6 ? up.dllps == 0 : up.dllps > 0)   // flit mode: Ack/FC ride in the flits
    }

    @Test("a saturating DMA read lands in the DLLP band (MRRS 512, MPS-sized completions)", arguments: fidelityCases)
    func read(_ c: FidelityCase) throws {
        let fabric = try loadFabric(transportMachine(gen: c.gen.rawValue, width: c.width, mps: c.mps))
        let a = fabric.enumeration.function(named: "A")!
        let pb = try LinkEfficiency(generation: c.gen, width: c.width, maxPayloadSizeBytes: c.mps, dllpAccounting: .pcieBench)
        let w = try LinkEfficiency(generation: c.gen, width: c.width, maxPayloadSizeBytes: c.mps, dllpAccounting: .widthScaled)
        let bytes = saturatingBytes(w.readBandwidth(transferBytes: 1 << 20), mps: 512, microseconds: 4)
        var sim = try TransportSimulation(fabric: fabric, flows: [
            TransportFlow(requester: a, target: .memory(memoryAddress), operation: .read, bytes: bytes)])
        let result = try sim.run()
        let flow = result.flows[0]
        #expect(flow.bytes == bytes && result.isComplete)
        let explicitRate = LinkEfficiency.explicitAckTLPDataRate(generation: c.gen, width: c.width,
                                                                 ackInterval: w.ackCoalescingInterval)
        let explicitRead = DataRate(bytesPerSecond: explicitRate.bytesPerSecond * Double(c.mps)
                                       / Double(c.mps + w.wireFormat.overheadBytes(.completionWithData)))
        expectInBand(flow.steadyStateThroughput, pb: pb.readBandwidth(transferBytes: bytes),
                     w: w.readBandwidth(transferBytes: bytes), explicit: explicitRead, c.testDescription)
        #expect(flow.requestTLPs == bytes / 512)
        #expect(try #require(result.link("rc0.rp0 -> A")).tlps == bytes / c.mps)
    }

    @Test("RCB-sized completions (rc.completionSize = rcb) give the reference's 64 B completion column")
    func readCompletionBoundary() throws {
        let fabric = try loadFabric(transportMachine(gen: 4, width: 16, params: """

                <param name="rc.completionSize" value="rcb"/>
                <param name="link.ackWidthExponent" value="0"/>
            """))
        let a = fabric.enumeration.function(named: "A")!
        var sim = try TransportSimulation(fabric: fabric, flows: [
            TransportFlow(requester: a, target: .memory(memoryAddress), operation: .read, bytes: 256 << 10)])
        let flow = try sim.run().flows[0]
        let w = try LinkEfficiency(generation: .gen4, width: 16, completionSize: .readCompletionBoundary,
                                   dllpAccounting: .widthScaled)
        let expected = w.readBandwidth(transferBytes: 256 << 10)   // 23.80 GB/s in the reference's table (§2)
        #expect(abs(flow.steadyStateThroughput.bytesPerSecond / expected.bytesPerSecond - 1) < 0.01)
        #expect(abs(expected.gigabytesPerSecond - 23.80) < 0.01)
    }
}
