// The workloads people measure with, as built-ins and as scenario files: pcie-bench's size and window sweeps and
// concurrent read/write, p2pBandwidthLatencyTest's matrices, nvbandwidth's host transfers. Sizes are small (debug
// builds); each test asserts a property of the model that could fail, never a recorded number.
import Foundation
import Testing
import Scenarios
import Sim

/// Runs a scenario file's text on a shipped topology.
func runFile(_ topology: String, _ xml: String) throws -> RunReport {
    let runner = try WorkloadRunner(try LoadedTopology.load(path: topologyPath(topology)), seed: 7, jobs: 2)
    let w = try ScenarioFile.parse(Array(xml.utf8), file: "probe.xml", fabric: runner.fabric)
    return RunReport(result: try runner.run(w), runner: runner, topologyFile: "topologies/\(topology).xml")
}

extension RunReport.Table {
    /// The cell in the row whose first cell is `row`, under `column`, as a number ("X " marks dropped).
    func value(_ row: String, _ column: String) -> Double? {
        guard let c = columns.firstIndex(of: column), let r = rows.first(where: { $0.first == row }) else { return nil }
        return Double(r[c].replacingOccurrences(of: "X ", with: ""))
    }
}

@Suite("measurement scenarios (pcie-bench, p2pBandwidthLatencyTest, nvbandwidth)")
struct MeasurementScenarioTests {
    @Test("pcie-bench size sweep: bandwidth rises with the transfer size and saturates; BW_RW beats either alone; LAT_RD is one round trip")
    func sizeSweep() throws {
        let sizes = [64, 128, 256, 512, 1024, 2048, 4096]
        var options = ScenarioOptions(size: 256 << 10)
        options.transferSizes = sizes
        let r = try run("fpga-nvme", "pcie-bench-sizes", options)
        let t = try #require(r.tables.first { $0.title.hasPrefix("pcie-bench transfer-size sweep") })
        #expect(t.rows.count == sizes.count)
        for column in ["BW_RD Gb/s", "BW_WR Gb/s"] {
            let v = try sizes.map { try #require(t.value(ByteSize.format(UInt64($0)), column)) }
            for (a, b) in zip(v, v.dropFirst()) { #expect(b >= a * 0.99, "\(column): \(v)") }
            #expect(v[0] < 0.9 * v[v.count - 1], "\(column) does not rise: \(v)")
            #expect(abs(v[v.count - 2] / v[v.count - 1] - 1) < 0.02, "\(column) does not saturate: \(v)")
        }
        for s in sizes {
            let row = ByteSize.format(UInt64(s))
            let (rd, wr) = (try #require(t.value(row, "BW_RD Gb/s")), try #require(t.value(row, "BW_WR Gb/s")))
            let (rwr, rww) = (try #require(t.value(row, "BW_RW rd Gb/s")), try #require(t.value(row, "BW_RW wr Gb/s")))
            #expect(rwr + rww > max(rd, wr) * 1.1, "\(s): \(rwr) + \(rww) vs \(rd), \(wr)")
            #expect(rwr > 0.5 * rd && rww > 0.5 * wr, "\(s): one stream starves")
        }
        // LAT_RD 64 B: the mean equals one lone 64-byte read's round trip, written as a scenario file.
        let lat = try #require(t.value("64", "LAT_RD ns"))
        let lone = try runFile("fpga-nvme", """
            <scenario name="one-read" version="1">
              <phase name="p"><dma from="fpga0-mgmt" to="host" op="read" size="64" access="sequential" queue-depth="1"/></phase>
            </scenario>
            """)
        let one = try #require(lone.flows.first?.latencyMeanns)
        #expect(abs(lat / one - 1) < 0.01, "LAT_RD \(lat) ns vs one read \(one) ns")
    }

    @Test("pcie-bench window sweep: random 64-byte reads fall past the IOTLB's reach with 4 KiB pages, not with 2 MiB pages; the same run as a file")
    func windowSweep() throws {
        var options = ScenarioOptions(size: 256 << 10)
        options.workingSets = [16 << 10, 64 << 10, 16 << 20]
        let r = try run("workstation-no-acs", "pcie-bench-window", options)
        let t = try #require(r.tables.first { $0.title.hasPrefix("pcie-bench window sweep") })
        func rate(_ window: String, _ page: String) throws -> Double {
            let row = try #require(t.rows.first { $0[0] == window && $0[1] == page }, "\(window) \(page)")
            return try #require(Double(row[2]))
        }
        let (small, inReach, beyond) = (try rate("16K", "4K"), try rate("64K", "4K"), try rate("16M", "4K"))
        let (huge, hugeSmall) = (try rate("16M", "2M"), try rate("2M", "2M"))
        #expect(beyond < 0.5 * small)
        #expect(inReach > 0.95 * small)
        #expect(huge > 0.95 * hugeSmall)
        // The same DMAs written as a scenario file (seed 1, as the built-in uses) give the same rate.
        let file = try runFile("workstation-no-acs", """
            <scenario name="window" version="1">
              <phase name="p"><dma from="gpu0" to="host" op="read" size="64" repeat="4096" buffer="16M" access="random" seed="1"/></phase>
            </scenario>
            """)
        let gbits = try #require(file.flows.first?.gigabytesPerSecond) * 8
        #expect(abs(gbits / beyond - 1) < 0.005, "file \(gbits) vs built-in \(beyond)")
    }

    @Test("concurrent read + write as a scenario file: the total beats either alone and neither starves")
    func readWriteFile() throws {
        let r = try runFile("fpga-nvme", """
            <scenario name="bw-rw" version="1">
              <phase name="rd"><dma from="fpga0-mgmt" to="host" op="read" size="256" repeat="1024" buffer="64K" access="sequential" label="rd"/></phase>
              <phase name="wr"><dma from="fpga0-mgmt" to="host" op="write" size="256" repeat="1024" buffer="64K" access="sequential" label="wr"/></phase>
              <phase name="rw">
                <dma from="fpga0-mgmt" to="host" op="read" size="256" repeat="1024" buffer="64K" access="sequential" label="rd"/>
                <dma from="fpga0-mgmt" to="host" op="write" size="256" repeat="1024" buffer="64K" access="sequential" label="wr"/>
              </phase>
            </scenario>
            """)
        let rd = try #require(r.flow("rd", phase: "rd")).gigabytesPerSecond, wr = try #require(r.flow("wr", phase: "wr")).gigabytesPerSecond
        let rwr = try #require(r.flow("rd", phase: "rw")).gigabytesPerSecond, rww = try #require(r.flow("wr", phase: "rw")).gigabytesPerSecond
        #expect(rwr + rww > 1.1 * max(rd, wr))
        #expect(rwr > 0.5 * rd && rww > 0.5 * wr)
    }

    @Test("p2pBandwidthLatencyTest matrices: P2P on vs staged through host, bidirectional, one-way write latency")
    func p2pBandwidthLatency() throws {
        let r = try run("gpu8-gen4-switches", "p2p-bandwidth-latency", ScenarioOptions(size: 256 << 10, devices: ["gpu0", "gpu1", "gpu4"]))
        let titles = r.tables.map(\.title)
        #expect(titles == ["Unidirectional P2P=Disabled Bandwidth Matrix (GB/s)", "Unidirectional P2P=Enabled Bandwidth (P2P Writes) Matrix (GB/s)",
                           "Bidirectional P2P=Disabled Bandwidth Matrix (GB/s)", "Bidirectional P2P=Enabled Bandwidth Matrix (GB/s)",
                           "P2P=Disabled Latency Matrix (us)", "P2P=Enabled Latency (P2P Writes) Matrix (us)"])
        let (uniOff, uniOn, biOff, biOn, latOff, latOn) = (r.tables[0], r.tables[1], r.tables[2], r.tables[3], r.tables[4], r.tables[5])
        for t in r.tables { #expect(t.rows.map { $0[0] } == ["gpu0", "gpu1", "gpu4"] && t.rows.allSatisfy { $0.count == 4 }) }
        // gpu0 and gpu1 share a switch (redirect disabled on the command line): P2P turns in the switch, so both
        // directions run at once at twice one direction, while staged copies share the switch's uplink.
        let uni = try #require(uniOn.value("gpu0", "gpu1")), bi = try #require(biOn.value("gpu0", "gpu1"))
        #expect(abs(bi / (2 * uni) - 1) < 0.05, "bidirectional \(bi) vs 2 x \(uni)")
        let (staged, stagedUni) = (try #require(biOff.value("gpu0", "gpu1")), try #require(uniOff.value("gpu0", "gpu1")))
        #expect(staged < 0.8 * bi && stagedUni > 0)
        // Latency: one 16-byte write through the switch beats a trip through the root complex, and beats staging.
        let near = try #require(latOn.value("gpu0", "gpu1")), far = try #require(latOn.value("gpu0", "gpu4"))
        #expect(near < far)
        for (a, b) in [("gpu0", "gpu1"), ("gpu0", "gpu4"), ("gpu4", "gpu1")] {
            let (on, off) = (try #require(latOn.value(a, b)), try #require(latOff.value(a, b)))
            #expect(on < off, "\(a) -> \(b)")
        }
        // The P2P write latency is one DMA's one-way latency, as a scenario file measures it.
        let file = try runFile("gpu8-gen4-switches", """
            <scenario name="one-write" version="1">
              <phase name="p"><dma from="gpu0" to="gpu1" op="write" size="16" access="sequential" queue-depth="1"/></phase>
            </scenario>
            """)
        let one = try #require(file.flows.first?.latencyMeanns) / 1000
        #expect(abs(near / one - 1) < 0.05, "matrix \(near) us vs one write \(one) us")
    }

    @Test("flow mode: p2p-bandwidth-latency's claimed flows are within 3 % of TLP; per-DMA probes are never claimed")
    func flowMode() throws {
        let loaded = try LoadedTopology.load(path: topologyPath("gpu8-gen4-switches"))
        var tlp = try WorkloadRunner(loaded, seed: 7, jobs: 2)
        let workload = try BuiltInScenario.p2pBandwidthLatency.workload(tlp.fabric, ScenarioOptions(size: 2 << 20, devices: ["gpu0", "gpu1", "gpu4"]))
        var flow = tlp
        tlp.mode = .tlp
        flow.mode = .flow
        let (a, b) = (try tlp.run(workload), try flow.run(workload))
        var claimed = 0
        for (pa, pb) in zip(a.phases, b.phases) {
            guard let ta = pa.transport, let tb = pb.transport else { continue }
            for op in pa.operations {
                guard let i = op.flowIndex else { continue }
                if op.operation.transferBytes != nil { #expect(pb.flowLimits[i].contains(.dmaShape), "\(pa.phase.name)") }
                guard pb.flowLimits[i].isEmpty else { continue }
                claimed += 1
                let r = tb.flows[i].throughput.bytesPerSecond / ta.flows[i].throughput.bytesPerSecond
                #expect(abs(r - 1) <= 0.03, "\(pa.phase.kind) \(pa.phase.name): \(op.operation.label) ratio \(r)")
            }
        }
        #expect(claimed >= 10)
    }

    @Test("nvbandwidth: per-GPU host transfers alone, bidirectional and all at once; GPUs behind one uplink share it")
    func nvbandwidth() throws {
        let r = try run("gpu8-gen4-switches", "nvbandwidth", ScenarioOptions(size: 256 << 10, devices: ["gpu0", "gpu1"]))
        let t = try #require(r.tables.first { $0.title.hasPrefix("nvbandwidth") })
        #expect(t.rows.map { $0[0] } == ["gpu0", "gpu1", "all (sum)"])
        let alone = try #require(t.value("gpu0", "device_to_host")), together = try #require(t.value("gpu0", "all_to_host"))
        // gpu0 and gpu1 sit behind one switch uplink of the same width as their own links: together each gets about half.
        #expect(together < 0.6 * alone && together > 0.4 * alone, "\(together) vs \(alone)")
        let sum = try #require(t.value("all (sum)", "all_to_host"))
        #expect(abs(sum / alone - 1) < 0.05)
        let (h2d, bidir) = (try #require(t.value("gpu0", "host_to_device")), try #require(t.value("gpu0", "bidir h2d")))
        #expect(h2d > 0 && bidir > 0)
    }

    @Test("the tool-named built-ins are deterministic: identical reports twice", arguments: [
        ("pcie-bench-window", "workstation-no-acs"), ("pcie-bench-sizes", "xeon-whitelisted"), ("nvbandwidth", "xeon-whitelisted"),
        ("p2p-bandwidth-latency", "xeon-not-whitelisted"),
    ])
    func deterministic(_ scenario: String, _ topology: String) throws {
        var options = ScenarioOptions(size: 64 << 10)
        options.workingSets = scenario == "pcie-bench-window" ? [16 << 10, 4 << 20] : nil
        options.transferSizes = scenario == "pcie-bench-sizes" ? [64, 1024] : nil
        let a = try run(topology, scenario, options)
        let b = try run(topology, scenario, options)
        #expect(!a.tables.isEmpty && !a.flows.isEmpty)
        #expect(a.json.serialized() == b.json.serialized())
        #expect(a.html == b.html)
        // A flow either moved its bytes, or says why not in a finding.
        for f in a.flows where f.status != "ok" {
            #expect(a.findings.contains { $0.requester.hasPrefix(f.requester + " ") }, "\(f.label): \(f.status) without a finding")
        }
    }

    @Test("malformed access attributes give file:line: error:")
    func malformed() throws {
        let runner = try WorkloadRunner(try LoadedTopology.load(path: topologyPath("fpga-nvme")))
        let xml = """
        <scenario name="bad" version="1">
          <phase name="p">
            <dma from="fpga0-mgmt" to="host" op="read" size="64" seed="3"/>
            <dma from="fpga0-mgmt" to="host" op="read" size="8K" repeat="4" buffer="4K" access="random"/>
            <dma from="fpga0-mgmt" to="host" op="read" size="64" repeat="1024" buffer="6K" access="sequential"/>
          </phase>
        </scenario>
        """
        do {
            _ = try ScenarioFile.parse(Array(xml.utf8), file: "bad.xml", fabric: runner.fabric)
            Issue.record("no error")
        } catch {
            let text = error.diagnostics.map(\.description)
            #expect(text.contains { $0.hasPrefix("bad.xml:3: error: <dma> seed applies only to access=\"random\"") }, "\(text)")
            #expect(text.contains { $0.hasPrefix("bad.xml:4: error: <dma> buffer (the window, 4096 bytes) is smaller") }, "\(text)")
            #expect(text.contains { $0.hasPrefix("bad.xml:5: error: <dma> buffer (the window) must be a multiple of 4K") }, "\(text)")
        }
        do {
            _ = try ScenarioFile.parse(Array("<scenario name=\"x\" version=\"1\">\n<phase name=\"p\">\n<dma from=\"fpga0\" to=\"host\" op=\"read\" size=\"64\" access=\"strided\"/></phase></scenario>".utf8),
                                       file: "schema.xml", fabric: runner.fabric)
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.contains { $0.description.hasPrefix("schema.xml:3: error:") && $0.description.contains("access") })
        }
    }
}

@Suite("shipped measurement scenario files")
struct MeasurementScenarioFileTests {
    @Test("the example files run on the topologies they name, every flow delivered", arguments: [
        ("pcie-bench-workstation", "workstation-no-acs"), ("p2p-latency-gpu8", "gpu8-gen4-switches"),
    ])
    func examples(_ file: String, _ topology: String) throws {
        let runner = try WorkloadRunner(try LoadedTopology.load(path: topologyPath(topology)), seed: 7, jobs: 2)
        let w = try ScenarioFile.read(path: repositoryRoot.appendingPathComponent("scenarios/\(file).xml").path, fabric: runner.fabric)
        let r = RunReport(result: try runner.run(w), runner: runner, topologyFile: "topologies/\(topology).xml")
        #expect(!r.flows.isEmpty)
        for f in r.flows { #expect(f.status == "ok" && f.delivered == f.bytes, "\(f.phase): \(f.label)") }
        if file == "pcie-bench-workstation" {
            let inReach = try #require(r.flows.first { $0.phase.hasSuffix("64K window") }).gigabytesPerSecond
            let beyond = try #require(r.flows.first { $0.phase.hasSuffix("16M window") }).gigabytesPerSecond
            #expect(beyond < 0.5 * inReach)
        } else {
            let near = try #require(r.flows.first { $0.phase.contains("same switch") }?.latencyMeanns)
            let far = try #require(r.flows.first { $0.phase.contains("root complex") }?.latencyMeanns)
            #expect(near < far)
        }
    }
}
