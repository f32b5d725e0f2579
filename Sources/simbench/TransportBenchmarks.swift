// Transport benchmarks: a long DMA write through one Gen4 x16 switch (wall time, events/s, memory), and the same
// transfer as the SimPy peer model (tools/simpy_link.py in the project's shared tools) for a per-byte comparison.
import Foundation
import Sim

/// Root port, one Gen4 x16 switch (PEX88000 class, 105 ns), endpoint below it; IOMMU in passthrough so the figure
/// is the transport's alone.
let transportBenchmarkTopology = """
<?xml version="1.0" encoding="UTF-8"?>
<topology name="bench-switch">
  <socket id="0" cpu-vendor="amd" cpu-family="25"/>
  <iommu name="iommu0" kind="amd-vi" mode="passthrough"/>
  <root-complex name="rc0" host-bridge="1022:1480" iommu="iommu0" gen="4" width="16">
    <root-port id="1022:1483">
      <switch name="sw0" id="1000:c010">
        <downstream-port>
          <endpoint name="dev0" class="accelerator" id="10de:20b5" mps="256"/>
        </downstream-port>
      </switch>
    </root-port>
  </root-complex>
</topology>
"""

struct TransportRun {
    var wallSeconds: Double
    var cpuSeconds: Double
    var events: Int
    var simulatedRate: DataRate
    var peakTLPs: Int
}

func transportWriteRun(bytes: Int) throws -> TransportRun {
    let fabric = Fabric(try LoadedTopology(document: TopologyReader.read(text: transportBenchmarkTopology)))
    let device = fabric.enumeration.function(named: "dev0")!
    let flow = TransportFlow(requester: device, target: .memory(0x1_0000_0000), operation: .write, bytes: bytes)
    let stopwatch = Stopwatch()
    var sim = try TransportSimulation(fabric: fabric, flows: [flow])
    let result = try sim.run()
    let elapsed = stopwatch.reading()
    guard result.isComplete, result.flows[0].bytes == bytes else {
        throw BenchmarkFailure(message: "transport: the flow did not complete")
    }
    return TransportRun(wallSeconds: elapsed.wallSeconds, cpuSeconds: elapsed.cpuSeconds, events: result.eventsHandled,
                        simulatedRate: result.flows[0].throughput, peakTLPs: result.peakTLPsInFlight)
}

func maxResidentMiB() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss / 1024
}

/// `simbench transport`: 1 GiB of posted writes through one Gen4 x16 switch, median of 3; then 64 MiB and 1 GiB once
/// more to show that memory does not grow with the transfer.
func transportBenchmark() throws {
    let small = try transportWriteRun(bytes: 64 << 20)
    let residentSmall = maxResidentMiB()
    var runs: [TransportRun] = []
    for _ in 0..<3 { runs.append(try transportWriteRun(bytes: 1 << 30)) }
    runs.sort { $0.wallSeconds < $1.wallSeconds }
    let median = runs[1]
    let minimumCPU = runs.map(\.cpuSeconds).min()!
    let residentLarge = maxResidentMiB()
    print("transport 1 GiB DMA write through a Gen4 x16 switch (MPS 256): median \(formatSeconds(median.wallSeconds)) s wall, "
          + "\(formatSeconds(median.cpuSeconds)) s CPU (min \(formatSeconds(minimumCPU)) s; 3 runs), \(median.events) events, "
          + "\(formatMillions(Double(median.events) / median.cpuSeconds)) M events/s (CPU), simulated \(median.simulatedRate)")
    print("transport memory: peak \(median.peakTLPs) TLPs in flight at 1 GiB vs \(small.peakTLPs) at 64 MiB; "
          + "max RSS \(residentSmall) MiB after 64 MiB, \(residentLarge) MiB after 1 GiB")
    print("transport per byte: \(String(format: "%.3f", median.wallSeconds / Double(1 << 30) * 1e9)) ns wall per simulated byte")
}

/// `simbench transport-simpy`: the transfer of the shared tools' simpy_link.py (Gen4 x16, MPS 256, one switch)
/// through this model, 5 runs, to compare per-byte time with a SimPy run of the same transfer (whose CPU time
/// `/usr/bin/time` gives).
func transportSimPyComparison(bytes: Int) throws {
    var runs: [TransportRun] = []
    for _ in 0..<5 { runs.append(try transportWriteRun(bytes: bytes)) }
    let wall = runs.map(\.wallSeconds).sorted()
    let cpu = runs.map(\.cpuSeconds).sorted()
    func ns(_ s: Double) -> String { String(format: "%.3f", s / Double(bytes) * 1e9) }
    print("pciesim: \(bytes) B over Gen4 x16 MPS 256: \(String(format: "%.2f", runs[0].simulatedRate.gigabytesPerSecond)) GB/s simulated, "
          + "wall median \(String(format: "%.4f", wall[2])) s, CPU median \(String(format: "%.4f", cpu[2])) s, min \(String(format: "%.4f", cpu[0])) s (5 runs); "
          + "per byte: \(ns(wall[2])) ns wall, \(ns(cpu[2])) ns CPU (min \(ns(cpu[0])))")
}
