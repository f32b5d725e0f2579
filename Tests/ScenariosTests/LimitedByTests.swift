// Every flow names what limits it (#18 "limited by"): the saturated shared resource on its path, or the mechanism
// that held it back, in both models; shared resources appear in the report's links and the SVG.
import Foundation
import Testing
import Scenarios
import Sim

@Suite struct LimitedByTests {
    func report(_ topology: String, _ scenario: String, mode: SimulationMode, size: Int = 4 << 20) throws -> RunReport {
        let loaded = try LoadedTopology.load(path: topologyPath(topology))
        var runner = try WorkloadRunner(loaded, seed: 7, jobs: 2)
        runner.mode = mode
        let workload = try ScenarioSource.workload(scenario, fabric: runner.fabric, options: ScenarioOptions(size: size), device: nil)
        return RunReport(result: try runner.run(workload), runner: runner, topologyFile: "topologies/\(topology).xml")
    }

    @Test("all-to-all on gpu8-gen5-switches: the cross-socket flows are limited by the saturated socket link, in both models",
          arguments: [SimulationMode.tlp, .flow])
    func socketLinkIsTheLimit(_ mode: SimulationMode) throws {
        let r = try report("gpu8-gen5-switches", "all-to-all", mode: mode)
        let cross = r.flows.filter { f in
            guard let peer = f.peer, let a = Int(f.requester.dropFirst(3)), let b = Int(peer.dropFirst(3)) else { return false }
            return (a < 4) != (b < 4)
        }
        #expect(cross.count == 32)
        #expect(cross.allSatisfy { $0.limitedBy == "socket0 -> socket1" || $0.limitedBy == "socket1 -> socket0" },
                "\(cross.map { $0.limitedBy ?? "nil" })")
        let socket = r.links.first { $0.name == "socket0 -> socket1" }
        #expect(socket?.kind == "shared" && (socket?.utilization ?? 0) > 0.95, "\(String(describing: socket))")
        // The socket link is the busiest thing in the machine: first in links[] (and so in "Busiest links").
        #expect(r.links.first?.name.hasPrefix("socket") == true, "\(r.links.prefix(3).map(\.name))")
        let lines = r.terminalSummary().split(separator: "\n")
        let busiest = try #require(lines.firstIndex { $0 == "Busiest links" })
        #expect(lines[busiest + 2].contains("socket"), "\(lines[busiest + 2])")
        // JSON and the drawing carry it too.
        let json = r.json.serialized(pretty: false)
        #expect(json.contains("\"limited_by\":\"socket0 -> socket1\"") && json.contains("\"kind\":\"shared\""))
        #expect(r.tree.svg.contains("socket0 -&gt; socket1 100 %") || r.tree.svg.contains("socket0 -> socket1 100 %"))
    }

    @Test("a lone flow on an idle path is limited by its own link; a read at queue depth 1 by its queue depth")
    func mechanisms() throws {
        let h2d = try report("gpu8-gen4-switches", "h2d", mode: .tlp)
        let first = try #require(h2d.flows.first)
        #expect(first.limitedBy?.contains("->") == true, "\(String(describing: first.limitedBy))")
    }
}
