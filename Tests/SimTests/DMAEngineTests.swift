// The requester's DMA engine: per-DMA transfers of S bytes at sequential or random offsets in a window (pcie-bench's
// experiments), concurrent reads and writes (pcie-bench BW_DMA_RW), one-way posted-write latency per DMA, write
// DMAs in flight, and the per-direction issue rates.

import Testing
@testable import Sim

/// `count` DMAs of `transfer` bytes against host memory in a `window`-byte buffer.
func dmaFlow(_ fabric: Fabric, _ op: TransportFlow.Operation, transfer: Int, count: Int, window: Int = 64 << 10,
             access: TransportFlow.Access = .sequential, queueDepth: Int? = nil, offset: UInt64 = 0, page: Int = 4096) -> TransportFlow {
    TransportFlow(requester: fabric.f("A"), target: .memory(memoryAddress + offset), operation: op, bytes: transfer * count,
                  queueDepth: queueDepth, workingSetBytes: window, mappingPageBytes: page, transferBytes: transfer, access: access)
}

func gbps(_ flow: TransportResult.Flow) -> Double { flow.steadyStateThroughput.bytesPerSecond * 8 / 1e9 }

@Suite struct DMAEngineTests {
    static let gen3x8 = transportMachine(gen: 3, width: 8)

    @Test("concurrent read + write (BW_DMA_RW): both streams run, the total beats either alone, neither starves", arguments: [64, 256, 2048])
    func concurrentReadWrite(_ size: Int) throws {
        let count = (256 << 10) / size
        let both = try runFlows(Self.gen3x8) { f in
            [dmaFlow(f, .read, transfer: size, count: count), dmaFlow(f, .write, transfer: size, count: count, offset: 1 << 30)]
        }
        let readAlone = try runFlows(Self.gen3x8) { [dmaFlow($0, .read, transfer: size, count: count)] }.flows[0]
        let writeAlone = try runFlows(Self.gen3x8) { [dmaFlow($0, .write, transfer: size, count: count)] }.flows[0]
        let (r, w) = (gbps(both.flows[0]), gbps(both.flows[1]))
        #expect(r + w > max(gbps(readAlone), gbps(writeAlone)) * 1.15, "read \(r) write \(w)")
        #expect(r > 0.5 * gbps(readAlone) && w > 0.5 * gbps(writeAlone), "read \(r) write \(w)")
        // pcie-bench's read_write model (reference §1.5): upstream carries the writes and the read requests, so
        // each stream gets B_TLP · S / (S + N_wr·24 + N_req·24) when the two go in lockstep. The DES does not
        // lockstep them: each stream gets at least that, the reads more once completions, not the upstream
        // direction, limit them (from 512 B up).
        let link = try modelLink(.gen3, 8)   // the link as the model accounts it (TransportParameters.ackWidthExponent)
        let lockstep = link.concurrentReadWriteBandwidth(transferBytes: size).bytesPerSecond * 8 / 1e9
        #expect(w > lockstep * 0.98 && r > lockstep * 0.98, "read \(r) write \(w) lockstep \(lockstep)")
        if size <= 256 {
            #expect(abs(r / lockstep - 1) < 0.02 && abs(w / lockstep - 1) < 0.02, "read \(r) write \(w) lockstep \(lockstep)")
        }
        // Alone, each matches pcie-bench's mem_bw model for S-byte DMAs.
        #expect(abs(gbps(readAlone) / (link.readBandwidth(transferBytes: size).bytesPerSecond * 8 / 1e9) - 1) < 0.02)
        #expect(abs(gbps(writeAlone) / (link.writeBandwidth(transferBytes: size).bytesPerSecond * 8 / 1e9) - 1) < 0.02)
    }

    @Test("a QD1 read of S bytes is one round trip: the latency of a lone read, and S per round trip")
    func readLatencyQD1() throws {
        for size in [64, 128] {
            let lone = try runFlows(Self.gen3x8) { [dmaFlow($0, .read, transfer: size, count: 1)] }.flows[0]
            let probe = try runFlows(Self.gen3x8) { [dmaFlow($0, .read, transfer: size, count: 200, queueDepth: 1)] }.flows[0]
            #expect(probe.latency.count == 200)
            #expect(abs(Double(probe.latency.mean) / Double(lone.latency.mean) - 1) < 0.01, "\(probe.latency.mean) vs \(lone.latency.mean)")
            // Nothing overlaps: the rate is S per round trip.
            let perTrip = Double(size) / (Double(probe.latency.mean) / 1e12)
            #expect(abs(probe.throughput.bytesPerSecond / perTrip - 1) < 0.02)
            // The round trip holds the root complex's memory latency (500 ns default) plus the link both ways.
            #expect(probe.latency.mean > 500_000 && probe.latency.mean < 700_000)
        }
    }

    @Test("a read DMA above MRRS is several requests issued together; with a transfer size the queue depth counts DMAs")
    func readDMAs() throws {
        // 4 KiB DMAs with MRRS 512: 8 requests each. QD1 = one DMA at a time, its 8 requests in flight at once.
        let lone = try runFlows(Self.gen3x8) { [dmaFlow($0, .read, transfer: 64, count: 1)] }.flows[0]
        let dma = try runFlows(Self.gen3x8) { [dmaFlow($0, .read, transfer: 4096, count: 16, queueDepth: 1)] }.flows[0]
        #expect(dma.requestTLPs == 16 * 8 && dma.latency.count == 16)
        // One DMA: a round trip plus 4 KiB of completions on the wire, far less than 8 round trips one by one.
        let link = try modelLink(.gen3, 8)   // the link as the model accounts it (TransportParameters.ackWidthExponent)
        let wire = Double(4096) / link.readBandwidth(transferBytes: 4096).bytesPerSecond * 1e12
        #expect(Double(dma.latency.mean) < Double(lone.latency.mean) + wire * 1.1, "\(dma.latency.mean)")
        #expect(Double(dma.latency.mean) > Double(lone.latency.mean) + wire * 0.8, "\(dma.latency.mean)")
        // One DMA at a time: the span is the sum of the DMAs' latencies.
        let span = try #require(dma.completionTime)
        #expect(abs(Double(span) / Double(16 * dma.latency.mean) - 1) < 0.03)
    }

    @Test("one-way posted-write latency is recorded per DMA (first TLP issued to last byte landed); QD bounds write DMAs")
    func writeLatency() throws {
        // 100 ns of flight on the link, so that latency, not the wire, sets a serialized writer's pace.
        let xml = transportMachine(gen: 3, width: 8, params: "<param name=\"link.latency\" value=\"100ns\"/>")
        let one = try runFlows(xml) { [dmaFlow($0, .write, transfer: 16, count: 1)] }.flows[0]
        let serial = try runFlows(xml) { [dmaFlow($0, .write, transfer: 16, count: 100, queueDepth: 1)] }.flows[0]
        #expect(one.latency.count == 1 && serial.latency.count == 100)
        #expect(one.latency.mean > 100_000 && one.latency.mean < 110_000)
        #expect(abs(Double(serial.latency.mean) / Double(one.latency.mean) - 1) < 0.02, "\(serial.latency.mean) vs \(one.latency.mean)")
        // With one DMA in flight the next waits for the previous to land: 100 latencies end to end.
        let span = try #require(serial.completionTime)
        #expect(abs(Double(span) / Double(100 * serial.latency.mean) - 1) < 0.02, "\(span)")
        // A 4 KiB DMA is 16 TLPs of 256 B: its latency covers all of them, far above one TLP's.
        let big = try runFlows(xml) { [dmaFlow($0, .write, transfer: 4096, count: 4, queueDepth: 1)] }.flows[0]
        #expect(big.latency.count == 4 && big.latency.mean > one.latency.mean + 15 * 256 * 1000 / 8)
        // More DMAs in flight: more throughput, until the link sets it.
        let deep = try runFlows(xml) { [dmaFlow($0, .write, transfer: 16, count: 100, queueDepth: 8)] }.flows[0]
        #expect(deep.throughput.bytesPerSecond > 4 * serial.throughput.bytesPerSecond)
    }

    @Test("random offsets stay in the window and are reproducible; sequential DMAs of S split on their own")
    func offsets() throws {
        func run(_ access: TransportFlow.Access) throws -> TransportResult {
            try runFlows(transportMachine(gen: 4, width: 16, iommu: "mode=\"dma\"")) {
                [dmaFlow($0, .read, transfer: 64, count: 4096, window: 4 << 20, access: access)]
            }
        }
        let a = try run(.random(seed: 7)), b = try run(.random(seed: 7)), c = try run(.random(seed: 8))
        let seq = try run(.sequential)
        #expect(a.endTime == b.endTime && a.iommus[0].walks == b.iommus[0].walks)
        #expect(a.iommus[0].walks != c.iommus[0].walks || a.endTime != c.endTime)
        // Sequential 64 B DMAs touch 4096 × 64 B = 256 KiB: 64 pages, one walk each. Random ones over 1,024 pages
        // of the window miss far more often, and never fault (every slot lies inside the mapped window).
        #expect(seq.iommus[0].walks == 64)
        #expect(a.iommus[0].walks > 500 && a.iommus[0].faults == 0)
        // Each 64 B DMA is its own read request (no merging into MRRS-sized requests).
        #expect(seq.flows[0].requestTLPs == 4096)
    }

    @Test("per-direction issue rates cap reads and writes each on their own clock; the engine-wide rate caps both")
    func directionalIssueRates() throws {
        let params = "<param name=\"dma.readIssueRate\" value=\"10e6\"/><param name=\"dma.writeIssueRate\" value=\"40e6\"/>"
        let xml = transportMachine(gen: 4, width: 16, params: params)
        let count = 2048
        let both = try runFlows(xml) { f in
            [dmaFlow(f, .read, transfer: 64, count: count), dmaFlow(f, .write, transfer: 64, count: count, offset: 1 << 30)]
        }
        let readBound = LinkEfficiency.issueRateBound(tlpsPerSecond: 10e6, transferBytes: 64, tlpsPerTransfer: 1).bytesPerSecond
        let writeBound = LinkEfficiency.issueRateBound(tlpsPerSecond: 40e6, transferBytes: 64, tlpsPerTransfer: 1).bytesPerSecond
        #expect(abs(both.flows[0].steadyStateThroughput.bytesPerSecond / readBound - 1) < 0.02)
        #expect(abs(both.flows[1].steadyStateThroughput.bytesPerSecond / writeBound - 1) < 0.02)
        // An engine-wide 20 M TLPs/s on top: the two directions share it (the write clock no longer binds).
        let shared = try runFlows(transportMachine(gen: 4, width: 16, params: params + "<param name=\"dma.issueRate\" value=\"20e6\"/>")) { f in
            [dmaFlow(f, .read, transfer: 64, count: count), dmaFlow(f, .write, transfer: 64, count: count, offset: 1 << 30)]
        }
        let total = shared.flows.reduce(0.0) { $0 + $1.steadyStateThroughput.bytesPerSecond }
        #expect(total < 20e6 * 64 * 1.02)
        #expect(shared.flows[1].steadyStateThroughput.bytesPerSecond < writeBound * 0.5)
        // Bad values are refused.
        #expect(throws: TransportError.self) {
            try runFlows(transportMachine(gen: 4, width: 16, params: "<param name=\"dma.readIssueRate\" value=\"-1\"/>")) {
                [dmaFlow($0, .read, transfer: 64, count: 4)]
            }
        }
    }

    @Test("a transfer size must divide the bytes and fit the window")
    func transferProblems() throws {
        #expect(throws: TransportError.self) {
            try runFlows(Self.gen3x8) { [TransportFlow(requester: $0.f("A"), target: .memory(memoryAddress), operation: .read, bytes: 100,
                                                       workingSetBytes: 4096, transferBytes: 64)] }
        }
        #expect(throws: TransportError.self) {
            try runFlows(Self.gen3x8) { [TransportFlow(requester: $0.f("A"), target: .memory(memoryAddress), operation: .read, bytes: 16384,
                                                       workingSetBytes: 4096, transferBytes: 8192)] }
        }
    }
}
