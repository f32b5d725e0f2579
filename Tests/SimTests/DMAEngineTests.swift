// The requester's DMA engine: per-direction issue rates, transfers of S bytes at sequential or random offsets in
// a window, concurrent reads and writes (pcie-bench BW_DMA_RW), and per-DMA posted-write latency.

import Testing
@testable import Sim

@Suite struct DMAEngineTests {
    @Test("experiment: concurrent read + write")
    func experimentRW() throws {
        let xml = transportMachine(gen: 3, width: 8)
        for size in [2048, 256, 64] {
            let both = try runFlows(xml) { f in
                [TransportFlow(requester: f.f("A"), target: .memory(memoryAddress), operation: .read, bytes: 1 << 20, workingSetBytes: 1 << 20, transferBytes: size),
                 TransportFlow(requester: f.f("A"), target: .memory(memoryAddress + (1 << 30)), operation: .write, bytes: 1 << 20, workingSetBytes: 1 << 20, transferBytes: size)]
            }
            let ro = try runFlows(xml) { f in
                [TransportFlow(requester: f.f("A"), target: .memory(memoryAddress), operation: .read, bytes: 1 << 20, workingSetBytes: 1 << 20, transferBytes: size)] }
            let wo = try runFlows(xml) { f in
                [TransportFlow(requester: f.f("A"), target: .memory(memoryAddress), operation: .write, bytes: 1 << 20, workingSetBytes: 1 << 20, transferBytes: size)] }
            print("alone read \(ro.flows[0].steadyStateThroughput.bytesPerSecond * 8 / 1e9) write \(wo.flows[0].steadyStateThroughput.bytesPerSecond * 8 / 1e9) lat \(ro.flows[0].latency.mean) \(wo.flows[0].latency.mean)")
            let r = both.flows[0].steadyStateThroughput.bytesPerSecond * 8 / 1e9
            let w = both.flows[1].steadyStateThroughput.bytesPerSecond * 8 / 1e9
            print("size \(size) read \(r) write \(w) Gb/s")
        }
    }
}
