// Semantics benchmark: all-pairs p2pdma matrix and IOMMU groups of a generated 1,024-endpoint machine.
import Sim

/// 2 sockets x 4 root complexes x 4 root ports, two switch levels (fanout 4), 8 endpoints per leaf switch (NICs, FPGAs, NVMe)
/// = 1,024 endpoints, ACS on, IOMMU in DMA mode.
func semanticsMachineParameters() -> GeneratorParameters {
    var p = GeneratorParameters()
    p.name = "bench-1k"
    p.sockets = 2
    p.rootComplexesPerSocket = 4
    p.rootPortsPerRootComplex = 4
    p.switchLevels = 2
    p.fanout = 4
    p.gpusPerSwitch = 0      // 256 GPUs' 16M BAR0s would not fit the shared 32-bit MMIO hole
    p.nicsPerSwitch = 3
    p.fpgasPerSwitch = 3
    p.nvmePerSwitch = 2
    return p
}

/// `simbench semantics`: Linux boot (ACS enable, groups) plus the all-pairs p2pdma matrix, best and median of 5.
func semanticsBenchmark() throws {
    let loaded = try LoadedTopology(topology: TopologyGenerator.generate(semanticsMachineParameters()))
    let e = loaded.enumeration
    let endpoints = e.functions.indices.filter { e.functions[$0].kind == .endpoint }
    var times: [Double] = []
    var groups = 0
    var busAddress = 0
    for _ in 0..<5 {
        let stopwatch = Stopwatch()
        let semantics = Semantics(loaded)
        groups = semantics.iommuGroups().count
        let matrix = semantics.distanceMatrix(providers: endpoints, clients: endpoints)
        busAddress = matrix.mapTypes.filter { $0 == .busAddress }.count
        times.append(stopwatch.reading().wallSeconds)
    }
    times.sort()
    print("semantics groups + all-pairs p2p matrix (\(endpoints.count) endpoints, \(endpoints.count * endpoints.count) pairs, \(groups) groups, \(busAddress) BUS_ADDR): median \(formatSeconds(times[2])) s, best \(formatSeconds(times[0])) s (wall-clock, 5 runs)")
}

func formatSeconds(_ s: Double) -> String {
    let ms = Int((s * 1000).rounded())
    return "\(ms / 1000).\(String(repeating: "0", count: 3 - String(ms % 1000).count))\(ms % 1000)"
}
