// Flow mode against TLP mode, in time: every shipped topology with every built-in scenario that moves data, run
// whole (map, DMA, unmap of every phase) by each model on one thread. The accuracy side of the same comparison is
// Tests/ScenariosTests/FlowModeTests.swift (every flow the flow model claims within 3 % of TLP).
import Foundation
import Scenarios
import Sim

let flowBenchmarkTopologies = ["arm-smmuv3", "epyc-gpus-on-root-ports", "fpga-nvme", "gpu8-gen4-switches", "gpu8-gen5-switches",
                               "nvmeof-switch-acs-off", "nvmeof-switch-acs-on", "vm-flat", "workstation-no-acs",
                               "xeon-not-whitelisted", "xeon-whitelisted"]

/// CPU seconds of `runner` on `workload` in `mode` (the median of `repeats` runs), and the DMA flows it moved.
func timeWorkload(_ runner: WorkloadRunner, _ workload: Workload, _ mode: SimulationMode, repeats: Int) throws -> (Double, flows: Int) {
    var r = runner
    r.mode = mode
    var times: [Double] = []
    var flows = 0
    for _ in 0..<repeats {
        let stopwatch = Stopwatch()
        let result = try r.run(workload)
        times.append(stopwatch.reading().cpuSeconds)
        flows = result.phases.reduce(0) { $0 + ($1.transport?.flows.count ?? 0) }
    }
    return (times.sorted()[times.count / 2], flows)
}

func flowVersusTLPBenchmark(size: Int = 16 << 20) throws {
    var totalTLP = 0.0, totalFlow = 0.0, worst = Double.infinity, worstLabel = "", allBlocked: [String] = []
    for name in flowBenchmarkTopologies {
        let loaded = try LoadedTopology.load(path: "topologies/\(name).xml")
        let runner = try WorkloadRunner(loaded, seed: 7, jobs: 1)
        var tlpSum = 0.0, flowSum = 0.0, scenarios = 0
        for scenario in BuiltInScenario.allCases where scenario != .acsAudit {
            var options = ScenarioOptions(size: size)
            if scenario == .iotlbThrash { options.workingSets = [64 << 10, 8 << 20] }
            guard let workload = try? scenario.workload(runner.fabric, options) else { continue }  // not for this machine
            let (tlp, moved) = try timeWorkload(runner, workload, .tlp, repeats: 1)
            let (flow, _) = try timeWorkload(runner, workload, .flow, repeats: 5)
            tlpSum += tlp; flowSum += flow; scenarios += 1
            // A scenario whose DMA is all blocked (no flow reaches the transport) costs both modes the same mapping work.
            if moved > 0, tlp / flow < worst { worst = tlp / flow; worstLabel = "\(name) \(scenario.rawValue)" }
            if moved == 0 { allBlocked.append("\(name) \(scenario.rawValue)") }
        }
        totalTLP += tlpSum; totalFlow += flowSum
        print("flow-vs-tlp \(name) (\(scenarios) scenarios, \(size >> 20) MiB flows): TLP \(String(format: "%.3f", tlpSum)) s, "
              + "flow \(String(format: "%.4f", flowSum)) s, \(String(format: "%.0f", tlpSum / flowSum))x")
    }
    print("flow-vs-tlp all shipped topologies: TLP \(String(format: "%.2f", totalTLP)) s, flow \(String(format: "%.3f", totalFlow)) s CPU, "
          + "\(String(format: "%.0f", totalTLP / totalFlow))x; slowest ratio of a scenario that moves data \(String(format: "%.0f", worst))x (\(worstLabel))")
    if !allBlocked.isEmpty { print("flow-vs-tlp every flow blocked, no DMA to time: \(allBlocked.joined(separator: ", "))") }
}

/// The machine of plans/gpu64-flow-1000.xml with GPUDirect RDMA between every NIC and every GPU (1,024 flows).
func flowVersusTLPGPU64Benchmark(size: Int = 16 << 20) throws {
    var p = GeneratorParameters()
    p.name = "gpu64"; p.sockets = 2; p.rootPortsPerRootComplex = 4; p.switchLevels = 1
    p.gpusPerSwitch = 8; p.nicsPerSwitch = 1; p.nvmePerSwitch = 0; p.generation = .gen5
    let loaded = try LoadedTopology(topology: TopologyGenerator.generate(p))
    let runner = try WorkloadRunner(loaded, seed: 7, jobs: 1)
    let workload = try BuiltInScenario.gpudirectRDMA.workload(runner.fabric, ScenarioOptions(size: size))
    let (tlp, _) = try timeWorkload(runner, workload, .tlp, repeats: 1)
    let (flow, _) = try timeWorkload(runner, workload, .flow, repeats: 5)
    print("flow-vs-tlp gpu64 gpudirect-rdma (\(workload.phases.count) phases, \(size >> 20) MiB flows): TLP \(String(format: "%.2f", tlp)) s, "
          + "flow \(String(format: "%.4f", flow)) s CPU, \(String(format: "%.0f", tlp / flow))x")
}
