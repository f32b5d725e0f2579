// Topology benchmarks: parse + validate + enumerate a generated 10,000-endpoint machine.
import Foundation
import Sim

/// Parameters of the 10,240-endpoint machine: 4 sockets x 20 root complexes x 4 root ports, one switch level,
/// 32 endpoints per switch (generic endpoints: one 64-bit prefetchable BAR each, so 32-bit MMIO does not run out).
func largeMachineParameters() -> GeneratorParameters {
    var p = GeneratorParameters()
    p.name = "bench-10k"
    p.sockets = 4
    p.rootComplexesPerSocket = 20
    p.rootPortsPerRootComplex = 4
    p.switchLevels = 1
    p.gpusPerSwitch = 0
    p.nicsPerSwitch = 0
    p.nvmePerSwitch = 0
    p.genericPerSwitch = 32
    return p
}

/// `simbench topology`: writes the machine to a temporary file, then loads it in a child process
/// (`simbench topology-load FILE`) so the peak memory is that of loading alone.
func topologyBenchmark() throws {
    let topology = try TopologyGenerator.generate(largeMachineParameters())
    let endpoints = topology.devices.filter { $0.kind == .endpoint }.count
    let text = TopologyWriter.write(topology)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("simbench-topology-\(getpid()).xml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    print("topology file (\(endpoints) endpoints, \(topology.devices.count) devices): \(text.utf8.count / 1024) KiB, \(text.split(separator: "\n").count) lines")
    fflush(nil)   // flush every stream (stdout) before the child writes
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    child.arguments = ["topology-load", path]
    try child.run()
    child.waitUntilExit()
    if child.terminationStatus != 0 { throw BenchmarkFailure(message: "topology-load exited \(child.terminationStatus)") }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// `simbench topology-load FILE`: read + parse + XSD-validate + check + enumerate, best of 5, and peak RSS.
func topologyLoadBenchmark(path: String) throws {
    var times: [Double] = []
    var functions = 0
    for _ in 0..<5 {
        let stopwatch = Stopwatch()
        let loaded = try LoadedTopology.load(path: path)
        times.append(stopwatch.reading().wallSeconds)
        functions = loaded.enumeration.functions.count
    }
    times.sort()
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print("topology parse+validate+enumerate (\(functions) functions): median \(String(format: "%.3f", times[2])) s, best \(String(format: "%.3f", times[0])) s (wall-clock, 5 runs)")
    print("topology load peak memory: \(usage.ru_maxrss / 1024) MiB (max RSS of the loading process)")
}
