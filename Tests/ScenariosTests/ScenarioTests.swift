// Scenarios end to end on shipped topologies: asserted outcomes, determinism, findings, file and trace errors,
// the JSON schema and the HTML's well-formedness. Sizes are small: the model's rates reach steady state in
// microseconds of simulated time, and these tests run in debug builds.
import Foundation
import Testing
import Scenarios
import Sim

func topologyPath(_ name: String) -> String { repositoryRoot.appendingPathComponent("topologies/\(name).xml").path }

func run(_ topology: String, _ scenario: String, _ options: ScenarioOptions = ScenarioOptions(size: 1 << 20),
         cmdline: String? = nil) throws -> RunReport {
    let loaded = try LoadedTopology.load(path: topologyPath(topology))
    var semantics = SemanticsOptions()
    if let cmdline { semantics.kernel = KernelConfiguration(commandLine: cmdline, version: loaded.topology.kernel.version) }
    let runner = try WorkloadRunner(loaded, options: semantics, seed: 7, jobs: 2)
    let workload = try ScenarioSource.workload(scenario, fabric: runner.fabric, options: options, device: nil)
    return RunReport(result: try runner.run(workload), runner: runner, topologyFile: "topologies/\(topology).xml")
}

extension RunReport {
    func flow(_ label: String, phase: String? = nil) -> Flow? { flows.first { $0.label == label && (phase == nil || $0.phase == phase) } }
}

@Suite("built-in scenarios on shipped topologies")
struct BuiltInScenarioTests {
    static let pairs: [(String, String)] = [
        ("p2p-matrix", "nvmeof-switch-acs-off"), ("p2p-matrix", "xeon-not-whitelisted"),
        ("h2d", "xeon-whitelisted"), ("h2d", "workstation-no-acs"),
        ("d2h", "arm-smmuv3"), ("d2h", "fpga-nvme"),
        ("nvme-cmb-to-gpu", "nvmeof-switch-acs-off"), ("nvme-cmb-to-gpu", "nvmeof-switch-acs-on"),
        ("nvme-to-nic", "nvmeof-switch-acs-off"), ("nvme-to-nic", "nvmeof-switch-acs-on"),
        ("gpudirect-rdma", "xeon-whitelisted"), ("gpudirect-rdma", "xeon-not-whitelisted"),
        ("all-to-all", "xeon-not-whitelisted"), ("all-to-all", "nvmeof-switch-acs-on"),
        ("iotlb-thrash", "workstation-no-acs"), ("iotlb-thrash", "xeon-whitelisted"),
        ("acs-audit", "nvmeof-switch-acs-on"), ("acs-audit", "workstation-no-acs"),
    ]

    @Test("every built-in scenario runs on two shipped topologies, twice with identical reports",
          arguments: BuiltInScenarioTests.pairs.map { "\($0.0)@\($0.1)" })
    func runs(_ pair: String) throws {
        let parts = pair.split(separator: "@").map(String.init)
        var options = ScenarioOptions(size: 512 << 10)
        if parts[0] == "iotlb-thrash" { options.workingSets = [64 << 10, 8 << 20] }
        let a = try run(parts[1], parts[0], options)
        let b = try run(parts[1], parts[0], options)
        #expect(a.json.serialized() == b.json.serialized())
        #expect(a.html == b.html)
        if parts[0] == "acs-audit" { #expect(!a.audit.isEmpty) } else { #expect(!a.flows.isEmpty) }
        // A flow either moved its bytes, or says why not (refused mapping or blocked TLPs) in a finding.
        for f in a.flows where f.status != "ok" {
            #expect(a.findings.contains { $0.requester.hasPrefix(f.requester + " ") }, "\(f.label): \(f.status) without a finding")
        }
        for f in a.flows where f.status == "ok" { #expect(f.delivered == f.bytes && f.gigabytesPerSecond > 0, "\(f.label)") }
    }

    @Test("ACS redirect halves same-switch bidirectional P2P and loads the switch uplink")
    func redirectHalves() throws {
        let options = ScenarioOptions(size: 1 << 20, devices: ["gpu0", "gpu1"])
        // The shipped command line turns redirect off on the PLX ports (pci=disable_acs_redir=pci:1000:c010).
        let direct = try run("gpu8-gen4-switches", "p2p-matrix", options)
        let redirected = try run("gpu8-gen4-switches", "p2p-matrix", options, cmdline: "iommu=pt")
        let d = direct.flows.filter { $0.phaseKind == "bidi" }.reduce(0) { $0 + $1.gigabytesPerSecond }
        let r = redirected.flows.filter { $0.phaseKind == "bidi" }.reduce(0) { $0 + $1.gigabytesPerSecond }
        #expect(direct.flows.allSatisfy { $0.redirectedAt.isEmpty })
        #expect(redirected.flows.filter { $0.phaseKind != "latency" }.allSatisfy { !$0.redirectedAt.isEmpty && $0.crossesRootComplex })
        #expect(abs(r / d - 0.5) < 0.06, "bidirectional \(d) GB/s direct vs \(r) GB/s redirected")
        // The uplink of the GPUs' switch carries the redirected traffic; without redirect it stays idle.
        let uplink = redirected.links.first { $0.name.contains("->") && $0.utilization > 0.9 && !$0.name.contains("gpu") }
        #expect(uplink != nil, "no saturated uplink in \(redirected.links.prefix(4).map(\.name))")
        #expect(redirected.findings.contains { $0.kind == "redirected" && $0.fix.hasPrefix("pci=disable_acs_redir=") })
        // Latency grows by the root-complex round trip.
        let dl = direct.flows.first { $0.phaseKind == "latency" }!.latencyP50ns!
        let rl = redirected.flows.first { $0.phaseKind == "latency" }!.latencyP50ns!
        #expect(rl > dl)
    }

    @Test("a NOT_SUPPORTED p2pdma pair names the port, the rule, the kernel's lines and the fix")
    func notSupported() throws {
        let on = try run("nvmeof-switch-acs-on", "nvme-to-nic")
        let nic = try #require(on.flows.first { $0.label == "nic0 -> nvme0 CMB" })
        #expect(nic.status == "refused" && nic.mapType == "NOT_SUPPORTED")
        #expect(nic.mappingCalls.contains { $0.hasPrefix("dma_map_sgtable(nic0, p2pmem of nvme0, DMA_FROM_DEVICE) = -EREMOTEIO") })
        let f = try #require(on.findings.first { $0.kind == "refused" && $0.requester.hasPrefix("nic0 ") })
        #expect(f.port == "0000:02:01.0 sw0.dp1")
        #expect(f.rule.contains("ACS redirect") && f.rule.contains("whitelist"))
        #expect(f.fix == "pci=disable_acs_redir=0000:02:01.0;0000:02:00.0")
        #expect(f.linuxLog.contains("pci 0000:03:00.0: cannot be used for peer-to-peer DMA as the client and provider (0000:04:00.0) do not share an upstream bridge or whitelisted host bridge"))
        #expect(f.linuxLog.contains("pci 0000:00:00.0: Host bridge not in P2PDMA whitelist: 8086:6f00"))
        // The same facts reach every report format.
        #expect(on.markdown.contains(f.fix) && on.markdown.contains(f.port))
        #expect(on.html.contains(f.fix) && on.html.contains(f.port))
        #expect(on.json.serialized().contains("\"fix\": \"pci=disable_acs_redir=0000:02:01.0;0000:02:00.0\""))
        #expect(on.terminalSummary().contains("refused at 0000:02:01.0 sw0.dp1"))
        // The ACS-off twin maps BUS_ADDR and moves the bytes switch-local.
        let off = try run("nvmeof-switch-acs-off", "nvme-to-nic")
        let ok = try #require(off.flows.first { $0.label == "nic0 -> nvme0 CMB" })
        #expect(ok.status == "ok" && ok.mapType == "BUS_ADDR" && !ok.crossesRootComplex && off.findings.isEmpty)
    }

    @Test("a root complex without P2P forwarding blocks dma_map_resource'd peer writes there, with the rule and fix")
    func rootComplexBlocks() throws {
        let r = try run("epyc-gpus-on-root-ports", "p2p-matrix", ScenarioOptions(size: 256 << 10, devices: ["gpu0", "gpu1"]))
        let loaded = try LoadedTopology.load(path: topologyPath("epyc-gpus-on-root-ports"))
        let forwards = loaded.topology.rootComplexes.allSatisfy { $0.p2pForwarding == .forward }
        if forwards {
            #expect(r.flows.allSatisfy { $0.status == "ok" })
        } else {
            #expect(r.findings.contains { $0.kind == "blocked" && $0.port.hasPrefix("root complex") })
        }
    }

    @Test("iotlb-thrash: with one page walker, 4 KiB pages lose throughput past the IOTLB's reach; 2 MiB pages keep it")
    func iotlb() throws {
        // Four walkers of 4 levels translate 4 x 4096 B per walk time, more than a Gen4 x16 read stream needs; with one
        // walker the bound is 4096 B per walk: 4 x 52.6 ns with VT-d's derived walk latency, 19.5 GB/s (a planner's
        // question: how many walks in flight?).
        let text = try String(contentsOfFile: topologyPath("xeon-whitelisted"), encoding: .utf8)
            .replacingOccurrences(of: "mode=\"dma\"/>", with: "mode=\"dma\" walks-in-flight=\"1\"/>")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("iotlb-\(getpid()).xml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let runner = try WorkloadRunner(try LoadedTopology.load(path: path), seed: 7, jobs: 2)
        let w = try BuiltInScenario.iotlbThrash.workload(runner.fabric, ScenarioOptions(size: 1 << 20, workingSets: [64 << 10, 32 << 20]))
        let r = RunReport(result: try runner.run(w), runner: runner, topologyFile: "x")
        let small = try #require(r.flows.first { $0.phaseKind == "ws=65536 page=4096" })
        let large = try #require(r.flows.first { $0.phaseKind == "ws=33554432 page=4096" })
        let huge = try #require(r.flows.first { $0.phaseKind == "ws=33554432 page=2097152" })
        #expect(large.gigabytesPerSecond < 0.8 * small.gigabytesPerSecond, "\(small.gigabytesPerSecond) -> \(large.gigabytesPerSecond)")
        let walk = Double(IOMMUUnit.defaultWalkLatency(.vtd)) / 1000   // ns per level, VT-d's derived default
        #expect(abs(large.gigabytesPerSecond / (4096 / (4 * walk)) - 1) < 0.05, "\(large.gigabytesPerSecond)")
        #expect(huge.gigabytesPerSecond > 0.95 * small.gigabytesPerSecond)
        #expect(r.iommus.contains { $0.walks > 0 && $0.hitRate < 1 })
        #expect(r.tables.first?.rows.count == 4)
    }

    @Test("host buffers never alias a BAR: on the 8-GPU machine (64-bit BARs above 1 TiB) every h2d flow moves its bytes")
    func hostBuffersAreDRAM() throws {
        let r = try run("gpu8-gen4-switches", "h2d", ScenarioOptions(size: 256 << 10))
        #expect(r.flows.count == 16)
        for f in r.flows {
            #expect(f.status == "ok", "\(f.label) [\(f.phase)]: \(f.status)")
            #expect(f.mappingCalls.first?.contains("of RAM at 0x") == true)
        }
        #expect(r.findings.isEmpty)
    }

    @Test("acs-audit names the redirecting ports, the machine's one parameter, and the verdict after it")
    func audit() throws {
        let r = try run("nvmeof-switch-acs-on", "acs-audit")
        let row = try #require(r.audit.first { $0.client == "nic0" && $0.provider == "nvme0" })
        #expect(row.mapType == "NOT_SUPPORTED" && row.route == "redirected")
        // One line for the machine, not a string per pair: every redirected row names the same parameter.
        #expect(row.fix == "pci=disable_acs_redir=pci:10b5:8747" && row.mapTypeAfterFix == "BUS_ADDR")
        #expect(Set(r.audit.compactMap(\.fix)) == ["pci=disable_acs_redir=pci:10b5:8747"])
        #expect(r.machineFix?.hasPrefix("pci=disable_acs_redir=pci:10b5:8747 ") == true)
    }

    @Test("report folders of two runs are byte-identical, and a failed write leaves nothing")
    func folders() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-report-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run("nvmeof-switch-acs-off", "p2p-matrix", ScenarioOptions(size: 256 << 10, devices: ["nic0", "nvme0"]))
        try ReportWriter.write(ReportWriter.files(r), to: dir.appendingPathComponent("a").path)
        try ReportWriter.write(ReportWriter.files(try run("nvmeof-switch-acs-off", "p2p-matrix", ScenarioOptions(size: 256 << 10, devices: ["nic0", "nvme0"]))), to: dir.appendingPathComponent("b").path)
        for name in ["report.json", "report.md", "report.html"] {
            let a = try Data(contentsOf: dir.appendingPathComponent("a/\(name)"))
            let b = try Data(contentsOf: dir.appendingPathComponent("b/\(name)"))
            #expect(a == b, "\(name) differs")
        }
        // A folder holding other files is not replaced, and no staging folder is left behind.
        let other = dir.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: other.appendingPathComponent("notes.txt"))
        #expect(throws: ScenarioError.self) { try ReportWriter.write(ReportWriter.files(r), to: other.path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: other.path) == ["notes.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a", "b", "other"])
    }
}

@Suite("report formats")
struct ReportFormatTests {
    @Test("report.json follows schema pciesim-report/1")
    func jsonSchema() throws {
        let r = try run("nvmeof-switch-acs-on", "nvme-to-nic")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.json.serialized().utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "pciesim-report/1")
        for key in ["topology", "scenario", "flows", "links", "findings", "iommu", "audit", "tables", "boot_log", "work"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let flows = try #require(object["flows"] as? [[String: Any]])
        for f in flows {
            for key in ["phase", "label", "requester", "requester_bdf", "target", "operation", "bytes", "delivered_bytes", "gbps",
                        "latency_ns", "map_type", "status", "blocked_tlps", "mapping_calls", "histogram"] {
                #expect(f.keys.contains(key), "flow lacks \(key)")
            }
            #expect(["ok", "blocked", "refused", "incomplete"].contains(f["status"] as? String ?? ""))
        }
        let findings = try #require(object["findings"] as? [[String: Any]])
        #expect(!findings.isEmpty)
        for f in findings {
            #expect(["blocked", "refused", "redirected"].contains(f["kind"] as? String ?? ""))
            for key in ["requester", "target", "port", "rule", "linux_log", "fix", "tlps", "phase"] { #expect(f[key] != nil) }
        }
    }

    @Test("report.html is well-formed XHTML with one SVG per figure and no scripts or external resources")
    func html() throws {
        let r = try run("xeon-whitelisted", "gpudirect-rdma", ScenarioOptions(size: 256 << 10))
        let html = r.html
        #expect(html.hasPrefix("<!DOCTYPE html>\n"))
        let body = String(html.dropFirst("<!DOCTYPE html>\n".count))
        let root = try SafeXML.parse(Array(body.utf8), file: "report.html")
        #expect(root.name == "html")
        func count(_ e: XMLElement, _ name: String) -> Int { (e.name == name ? 1 : 0) + e.children.reduce(0) { $0 + count($1, name) } }
        #expect(count(root, "svg") == r.figureCount)
        #expect(count(root, "script") == 0)
        #expect(!html.contains("http://") || !html.replacingOccurrences(of: "http://www.w3.org/", with: "").contains("http://"))
        #expect(!html.contains("https://"))
    }
}

@Suite("scenario files and trace replay")
struct ScenarioFileTests {
    func fabric(_ name: String) throws -> (WorkloadRunner, Fabric) {
        let runner = try WorkloadRunner(try LoadedTopology.load(path: topologyPath(name)))
        return (runner, runner.fabric)
    }

    @Test("a scenario file runs its phases; unmapped DMA faults in the IOMMU with the DMAR line")
    func file() throws {
        let (runner, fabric) = try fabric("xeon-whitelisted")
        let xml = """
        <scenario name="mixed" version="1">
          <phase name="both">
            <dma from="gpu0" to="host" op="read" size="512K" queue-depth="16"/>
            <dma from="nic0" to="host" op="write" size="256K" mapping="unmapped"/>
          </phase>
        </scenario>
        """
        let w = try ScenarioFile.parse(Array(xml.utf8), file: "mixed.xml", fabric: fabric)
        let r = RunReport(result: try runner.run(w), runner: runner, topologyFile: "x")
        #expect(r.flow("gpu0 <- host")?.status == "ok")
        let bad = try #require(r.flow("nic0 -> host"))
        #expect(bad.status == "blocked" && bad.blockedTLPs > 0 && bad.delivered == 0)
        let f = try #require(r.findings.first { $0.kind == "blocked" })
        #expect(f.port.hasPrefix("root complex") && f.rule.hasPrefix("IOMMU fault"))
        #expect(f.linuxLog.first?.hasPrefix("DMAR: [DMA Write NO_PASID] Request device [") == true)
        #expect(r.iommus.contains { $0.faultedTLPs == bad.blockedTLPs })
    }

    @Test("malformed scenario files give file:line: error: for every problem")
    func malformed() throws {
        let (_, fabric) = try fabric("xeon-whitelisted")
        let xml = """
        <scenario name="bad" version="1">
          <phase name="p">
            <dma from="gpu9" to="host" op="read" size="1M"/>
            <dma from="gpu0" to="nic7" op="write" size="1M"/>
            <dma from="gpu0" to="host" op="write" size="1M" page="8K"/>
          </phase>
        </scenario>
        """
        do {
            _ = try ScenarioFile.parse(Array(xml.utf8), file: "bad.xml", fabric: fabric)
            Issue.record("no error")
        } catch {
            let text = error.diagnostics.map(\.description)
            #expect(text.contains { $0.hasPrefix("bad.xml:3: error: <dma> from=\"gpu9\"") })
            #expect(text.contains { $0.hasPrefix("bad.xml:4: error: <dma> to=\"nic7\"") })
            #expect(text.contains { $0.hasPrefix("bad.xml:5: error: <dma> page=\"8K\"") })
        }
        do {
            _ = try ScenarioFile.parse(Array("<scenario name=\"x\" version=\"1\">\n<phase name=\"p\">\n<dma from=\"gpu0\" op=\"read\" size=\"1M\"/></phase></scenario>".utf8), file: "schema.xml", fabric: fabric)
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.contains { $0.description.hasPrefix("schema.xml:3: error:") && $0.description.contains("to") })
        }
    }

    static let trace = """
    # tracer: nop
    #
    #           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
         kworker/u8:2-123     [001] .....   100.000001: map: IOMMU: iova=0x00000000fff00000 - 0x00000000fff10000 paddr=0x0000000104a00000 size=65536
         kworker/u8:2-123     [001] .....   100.000002: map: IOMMU: iova=0x00000000ffe00000 - 0x00000000ffe40000 paddr=0x0000000108000000 size=262144
          irq/45-nvme-7       [000] .....   100.000003: unmap: IOMMU: iova=0x00000000fff00000 - 0x00000000fff10000 size=65536 unmapped_size=65536
               <idle>-0       [000] d.h1.   100.000004: io_page_fault: IOMMU:nvme 0000:02:00.0 iova=0x00000000fff00000 flags=0x0020
    """

    @Test("trace replay: map/unmap replayed on the device's domain, the recorded fault reproduced, the working set streamed")
    func replay() throws {
        let (runner, fabric) = try fabric("xeon-whitelisted")
        let trace = try FtraceTrace.parse(Self.trace, file: "t.txt")
        #expect(trace.events.count == 4)
        let nvme = try #require(fabric.enumeration.lookup("nvme0"))
        let result = try runner.replay(TraceReplayRequest(trace: trace, device: nvme))
        let r = RunReport(result: result, runner: runner, topologyFile: "x")
        #expect(r.tables.first?.rows == [["2", "1", "1", "320K", "2", "0"]])
        let streamed: [RunReport.Flow] = r.flows.filter { $0.phaseKind == "trace" }
        #expect(streamed.count == 2)
        for f in streamed { #expect(f.status == "ok" && f.gigabytesPerSecond > 0) }
        #expect(r.findings.contains { $0.kind == "blocked" && $0.rule.hasPrefix("IOMMU fault") && $0.tlps == 1 })
    }

    @Test("malformed trace lines are errors with their line numbers")
    func badTrace() {
        let text = """
        # tracer: nop
         kworker-1 [000] ..... 1.0: map: IOMMU: iova=0x1000 - 0x2000 size=4096
         kworker-1 [000] ..... 1.1: unmap: IOMMU: iova=0x1000 size=4096
        garbage without fields
         kworker-1 [000] ..... x.y: map: IOMMU: iova=0x1000 - 0x2000 paddr=0x1000 size=4096
        """
        do {
            _ = try FtraceTrace.parse(text, file: "bad.trace")
            Issue.record("no error")
        } catch {
            let d = error.diagnostics.map(\.description)
            #expect(d.count == 4)
            #expect(d[0].hasPrefix("bad.trace:2: error: iommu:map needs"))
            #expect(d[1].hasPrefix("bad.trace:3: error: iommu:unmap needs"))
            #expect(d[2].hasPrefix("bad.trace:4: error: not an ftrace event line"))
            #expect(d[3].hasPrefix("bad.trace:5: error: timestamp"))
        }
    }
}
