// The regression suite and simrun diff on mutated shipped topologies: each mutation fails the suite with a
// message naming the change and its cause, passes again after the baselines are updated; diff names exactly
// what was changed.
import Foundation
import Testing
import Scenarios
import Sim

/// A scratch folder with copies of shipped topologies, a suite over them, and its baselines.
struct SuiteSandbox {
    let dir: URL
    init(_ tag: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-suite-\(tag)-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("baselines"), withIntermediateDirectories: true)
    }
    func copy(_ name: String) throws {
        try FileManager.default.copyItem(atPath: topologyPath(name), toPath: dir.appendingPathComponent("\(name).xml").path)
    }
    func mutate(_ name: String, _ change: (String) -> String) throws {
        let path = dir.appendingPathComponent("\(name).xml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let changed = change(text)
        #expect(changed != text, "mutation of \(name) changed nothing")
        try changed.write(toFile: path, atomically: true, encoding: .utf8)
    }
    func suite(_ cases: String) throws -> Suite {
        let path = dir.appendingPathComponent("suite.xml").path
        try "<suite name=\"mutations\" version=\"1\">\n\(cases)</suite>\n".write(toFile: path, atomically: true, encoding: .utf8)
        return try Suite.read(path: path)
    }
    func remove() { try? FileManager.default.removeItem(at: dir) }
}

func caseXML(_ name: String, _ topology: String, _ scenario: String, options: [String: String] = ["size": "512K"]) -> String {
    var s = "  <case name=\"\(name)\" topology=\"\(topology).xml\" scenario=\"\(scenario)\" baseline=\"baselines/\(name).json\">\n"
    for (k, v) in options.sorted(by: { $0.key < $1.key }) { s += "    <option name=\"\(k)\" value=\"\(v)\"/>\n" }
    return s + "  </case>\n"
}

@Suite("regression suite against mutated topologies", .serialized)
struct RegressionTests {
    @Test("each mutation fails with the change and its cause, and passes after --update-baselines")
    func mutations() throws {
        let box = try SuiteSandbox("mut")
        defer { box.remove() }
        for t in ["nvmeof-switch-acs-off", "gpu8-gen4-switches", "xeon-whitelisted"] { try box.copy(t) }
        // A machine whose UPI is the bottleneck for cross-socket GPUDirect (below the root complexes' 20 GB/s P2P cap),
        // so that moving the NIC to the GPUs' socket moves its flows.
        try box.mutate("xeon-whitelisted") { $0.replacingOccurrences(of: "bandwidth=\"22GB/s\"", with: "bandwidth=\"8GB/s\"") }
        let suite = try box.suite(
            caseXML("acs", "nvmeof-switch-acs-off", "nvme-to-nic")
            + caseXML("link", "gpu8-gen4-switches", "h2d", options: ["size": "512K", "devices": "gpu0,gpu4"])
            + caseXML("switch", "gpu8-gen4-switches", "d2h", options: ["size": "256K"])
            + caseXML("socket", "xeon-whitelisted", "gpudirect-rdma", options: ["size": "256K"]))
        let options = RegressionOptions(jobs: 2)
        #expect(Regression.run(suite, RegressionOptions(jobs: 2, updateBaselines: true)).allSatisfy { $0.verdict == .pass })
        let untouched = Regression.run(suite, options)
        #expect(untouched.allSatisfy { $0.verdict == .pass }, "\(untouched.flatMap(\.failures))")

        // 1. ACS ReqRedir on the NIC's downstream port (0000:02:00.0).
        try box.mutate("nvmeof-switch-acs-off") {
            $0.replacingOccurrences(of: "acs-cap=\"SV TB RR CR UF EC DT\" acs-ctrl=\"none\">\n          <endpoint name=\"nic0\"",
                                    with: "acs-cap=\"SV TB RR CR UF EC DT\" acs-ctrl=\"RR\">\n          <endpoint name=\"nic0\"")
        }
        // 2. gpu0 down-trained to Gen3 x8.
        try box.mutate("gpu8-gen4-switches") {
            $0.replacingOccurrences(of: "<endpoint name=\"gpu0\" class=\"gpu\" id=\"10de:20b0\" gen=\"4\" width=\"16\"",
                                    with: "<endpoint name=\"gpu0\" class=\"gpu\" id=\"10de:20b0\" gen=\"3\" width=\"8\"")
        }
        // 4. The NIC's root complex (and so the NIC) on the other socket.
        try box.mutate("xeon-whitelisted") {
            $0.replacingOccurrences(of: "name=\"rc-s1-pe2\" socket=\"1\"", with: "name=\"rc-s1-pe2\" socket=\"0\"")
        }
        let failed = Regression.run(suite, options)
        func lines(_ name: String) -> [String] { failed.first { $0.name == name }?.failures ?? [] }
        #expect(failed.first { $0.name == "acs" }?.verdict == .fail)
        #expect(lines("acs").contains { $0.hasPrefix("nic0 -> nvme0 CMB: BUS_ADDR distance 4 -> NOT_SUPPORTED distance 4: ACS ReqRedir now set on 0000:02:00.0") },
                "\(lines("acs"))")
        #expect(lines("acs").contains { $0.hasPrefix("nic0 -> nvme0 CMB: ok -> refused") })
        #expect(lines("link").contains { $0.hasPrefix("host -> gpu0: 28.23 -> ") && $0.hasSuffix("link 0000:03:00.0 gpu0 Gen4 x16 -> Gen3 x8") },
                "\(lines("link"))")
        #expect(!lines("link").contains { $0.contains("gpu4") && !$0.contains("all at once") }, "gpu4 alone must not move: \(lines("link"))")
        #expect(lines("socket").contains { $0.contains("nic0 moved: socket 1 -> socket 0") }, "\(lines("socket"))")
        // The d2h case shares the Gen4 machine: gpu0's down-trained link moves it too, with that cause.
        #expect(lines("switch").contains { $0.hasPrefix("gpu0 -> host: ") && $0.hasSuffix("link 0000:03:00.0 gpu0 Gen4 x16 -> Gen3 x8") })

        // 3. A switch removed (sw1 with gpu2, gpu3, its NICs and NVMe drive).
        try box.mutate("gpu8-gen4-switches") { text in
            guard let start = text.range(of: "      <switch name=\"sw1\""), let end = text.range(of: "</switch>\n", range: start.upperBound..<text.endIndex) else { return text }
            return text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "")
        }
        let removed = Regression.run(suite, options)
        let sw = removed.first { $0.name == "switch" }?.failures ?? []
        #expect(sw.contains { $0.hasPrefix("gpu2 -> host: flow gone: ") && $0.contains("gpu2 (0000:23:00.0) removed") && $0.contains("sw1.dp0 (0000:22:00.0) removed") }, "\(sw)")

        // Accepting the changes makes the suite pass again.
        #expect(Regression.run(suite, RegressionOptions(jobs: 2, updateBaselines: true)).allSatisfy { $0.verdict == .pass })
        let accepted = Regression.run(suite, options)
        #expect(accepted.allSatisfy { $0.verdict == .pass }, "\(accepted.flatMap(\.failures))")
    }

    @Test("expectations: exact semantics and numeric bounds fail with their line")
    func expectations() throws {
        let box = try SuiteSandbox("exp")
        defer { box.remove() }
        try box.copy("nvmeof-switch-acs-on")
        let suite = try box.suite("""
          <case name="e" topology="nvmeof-switch-acs-on.xml" scenario="nvme-to-nic">
            <option name="size" value="256K"/>
            <expect-p2p provider="nvme0" client="nic0" map-type="NOT_SUPPORTED"/>
            <expect-p2p provider="nvme0" client="nic0" map-type="BUS_ADDR" distance="4"/>
            <expect-blocked from="nic0" to="nvme0" port="0000:02:01.0" rule="ACS redirect"/>
            <expect-blocked from="nic0" to="nvme0" port="0000:02:02.0"/>
            <expect-works from="nic0" to="nvme0"/>
            <expect-throughput flow="nic0 -> nvme0 CMB" min="1GB/s"/>
          </case>

        """)
        let r = Regression.run(suite, RegressionOptions())[0]
        #expect(r.verdict == .fail)
        // One line for each wrong semantic expectation, one per flow (alone, and with the drive) for the others.
        #expect(r.failures.count == 6, "\(r.failures)")
        #expect(r.failures[0] == "line 5: nic0 -> nvme0: expected BUS_ADDR distance 4, got NOT_SUPPORTED distance 4")
        #expect(r.failures[1].hasPrefix("line 7: nic0 -> nvme0: expected blocked at 0000:02:02.0"))
        #expect(r.failures[2...3].allSatisfy { $0.hasPrefix("line 8: nic0 -> nvme0 CMB [") && $0.hasSuffix("refused, expected to work") })
        #expect(r.failures[4...5].allSatisfy { $0.hasPrefix("line 9: nic0 -> nvme0 CMB [") && $0.contains("0.00 GB/s, expected at least 1.00") })
    }

    @Test("kernels=\"5.9 5.10\": one case per version; the PCH group expectation fails under 5.9 only; a bad version is file:line")
    func severalKernels() throws {
        let box = try SuiteSandbox("kernels")
        defer { box.remove() }
        try box.copy("haswell-pch-workstation")
        let suite = try box.suite("""
          <case name="pch" topology="haswell-pch-workstation.xml" scenario="acs-audit" kernels="5.9 5.10.0-28-amd64">
            <expect-group devices="nvme0"/>
          </case>

        """)
        #expect(suite.cases.map(\.name) == ["pch@5.9", "pch@5.10"])
        #expect(suite.cases.map(\.kernel) == [.linux59, .linux510])
        let results = Regression.run(suite, RegressionOptions())
        #expect(results.map(\.verdict) == [.fail, .pass], "\(results.map(\.failures))")
        #expect(results[0].failures.first?.hasPrefix("line 3:") == true, "\(results[0].failures)")
        #expect(throws: DiagnosticError.self) {
            _ = try Suite.parse(Array("<suite name=\"s\" version=\"1\">\n<case name=\"a\" topology=\"x.xml\" scenario=\"h2d\" kernels=\"6.1 6.7\"/>\n</suite>".utf8), file: "s.xml")
        }
        do {
            _ = try Suite.parse(Array("<suite name=\"s\" version=\"1\">\n<case name=\"a\" topology=\"x.xml\" scenario=\"h2d\" kernels=\"6.1 6.7\"/>\n</suite>".utf8), file: "s.xml")
        } catch {
            #expect(error.diagnostics.first?.description.hasPrefix("s.xml:2: error: kernels: unknown kernel version '6.7'") == true, "\(error.diagnostics)")
        }
    }

    @Test("a socket link cut from 20 to 5 GB/s: regress names it on the cross-socket flows; a moved number with no changed input blames the simulator")
    func socketLink() throws {
        let box = try SuiteSandbox("socket")
        defer { box.remove() }
        try box.copy("gpu8-gen4-switches")
        let suite = try box.suite(caseXML("xsocket", "gpu8-gen4-switches", "p2p-matrix", options: ["size": "1M", "devices": "gpu0,gpu1,gpu4"]))
        #expect(Regression.run(suite, RegressionOptions(updateBaselines: true)).allSatisfy { $0.verdict == .pass })
        try box.mutate("gpu8-gen4-switches") { $0.replacingOccurrences(of: "bandwidth=\"20GB/s\"", with: "bandwidth=\"5GB/s\"") }
        let r = Regression.run(suite, RegressionOptions())[0]
        #expect(r.verdict == .fail)
        let cross = r.failures.filter { $0.contains("gpu4") }
        #expect(!cross.isEmpty, "\(r.failures)")
        #expect(cross.allSatisfy { $0.contains("socket link 0-1: xgmi 20GB/s per direction (bandwidth attribute), latency 120ns -> xgmi 5GB/s") }, "\(cross)")
        #expect(!r.failures.contains { $0.contains("simulator's result moved") }, "\(r.failures)")
        // Same-socket pairs do not pass the socket link: they did not move, so they are not in the failures.
        #expect(!r.failures.contains { $0.hasPrefix("gpu0 -> gpu1") || $0.hasPrefix("gpu1 -> gpu0") }, "\(r.failures)")

        // Restore the machine, then move a number in the baseline by hand: no input changed, so the simulator moved.
        try box.mutate("gpu8-gen4-switches") { $0.replacingOccurrences(of: "bandwidth=\"5GB/s\"", with: "bandwidth=\"20GB/s\"") }
        let baseline = box.dir.appendingPathComponent("baselines/xsocket.json").path
        let text = try String(contentsOfFile: baseline, encoding: .utf8)
        let first = try #require(text.range(of: "\"gbps\": "))
        let end = try #require(text.range(of: ",", range: first.upperBound..<text.endIndex))
        try text.replacingCharacters(in: first.upperBound..<end.lowerBound, with: "99.0").write(toFile: baseline, atomically: true, encoding: .utf8)
        let moved = Regression.run(suite, RegressionOptions())[0]
        #expect(moved.verdict == .fail && moved.failures.count == 1)
        #expect(moved.failures.first?.contains("no input on its path changed") == true, "\(moved.failures)")
        #expect(moved.failures.first?.contains("the simulator's result moved") == true)
    }

    @Test("a malformed suite is file:line: error:; JUnit XML counts tests and failures")
    func suiteFileAndJUnit() throws {
        do {
            _ = try Suite.parse(Array("<suite name=\"s\" version=\"1\">\n<case name=\"a\" topology=\"x.xml\"/>\n</suite>".utf8), file: "s.xml")
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.contains { $0.description.hasPrefix("s.xml:2: error:") && $0.description.contains("scenario") })
        }
        let suite = Suite(name: "s&<", file: "s.xml", cases: [])
        let xml = Regression.junit(suite, [
            CaseResult(name: "ok", verdict: .pass, figure: "", change: "", failures: [], seconds: 0.5),
            CaseResult(name: "bad", verdict: .fail, figure: "", change: "", failures: ["a -> b: \"BUS_ADDR\" -> <NOT_SUPPORTED>", "second"], seconds: 1),
            CaseResult(name: "err", verdict: .error, figure: "", change: "", failures: ["no file"], seconds: 0),
        ])
        let root = try SafeXML.parse(Array(xml.utf8), file: "junit.xml")
        #expect(root.name == "testsuites" && root["tests"] == "3" && root["failures"] == "1" && root["errors"] == "1" && root["name"] == "s&<")
        let cases = root.children[0].children
        #expect(cases.map { $0["name"] } == ["ok", "bad", "err"])
        #expect(cases[1].children.first?.name == "failure" && cases[1].children.first?["message"] == "a -> b: \"BUS_ADDR\" -> <NOT_SUPPORTED>")
        #expect(cases[1].children.first?.text == "a -> b: \"BUS_ADDR\" -> <NOT_SUPPORTED>\nsecond")
        #expect(cases[2].children.first?.name == "error")
    }
}

@Suite("simrun diff (MachineFacts)")
struct MachineDiffTests {
    func facts(_ text: String) throws -> MachineFacts {
        MachineFacts(Semantics(try LoadedTopology(document: try TopologyReader.read(text: text, file: "t.xml"))))
    }
    func shipped(_ name: String) throws -> String { try String(contentsOfFile: topologyPath(name), encoding: .utf8) }

    @Test("the same machine has no differences")
    func same() throws {
        let t = try shipped("gpu8-gen4-switches")
        #expect(try facts(t).changes(to: try facts(t)).isEmpty)
    }

    @Test("ReqRedir on a downstream port: the ACS bit, and the p2p cells it changes with that reason")
    func acs() throws {
        let t = try shipped("nvmeof-switch-acs-off")
        let m = t.replacingOccurrences(of: "acs-ctrl=\"none\">\n          <endpoint name=\"nic0\"", with: "acs-ctrl=\"RR\">\n          <endpoint name=\"nic0\"")
        let changes = try facts(t).changes(to: try facts(m))
        #expect(changes.filter { $0.kind != "p2p" }.map(\.text) == ["ACS ReqRedir now set on 0000:02:00.0 (sw0.dp0)"])
        let cells = changes.filter { $0.kind == "p2p" }
        #expect(!cells.isEmpty && cells.allSatisfy { $0.text.contains("nic0") && $0.text.hasSuffix(": ACS ReqRedir now set on 0000:02:00.0 (sw0.dp0)") })
        #expect(cells.contains { $0.text == "nic0 -> nvme0: BUS_ADDR distance 4 -> NOT_SUPPORTED distance 4: ACS ReqRedir now set on 0000:02:00.0 (sw0.dp0)" })
    }

    @Test("inputs that move numbers: socket link, CPU, kernel line, IOMMU mode, root-complex cap, device tuning")
    func inputs() throws {
        let t = try shipped("gpu8-gen4-switches")
        let link = try facts(t).changes(to: try facts(t.replacingOccurrences(of: "bandwidth=\"20GB/s\"", with: "bandwidth=\"5GB/s\"")))
        #expect(link.map(\.kind) == ["socket-link"] && link[0].device == "socket link 0-1" && link[0].movesNumbers && !link[0].affectsP2P)
        let cmdline = try facts(t).changes(to: try facts(t.replacingOccurrences(of: "<kernel cmdline=\"iommu=pt ", with: "<kernel cmdline=\"")))
        #expect(cmdline.contains { $0.kind == "kernel" && $0.text.contains("'iommu=pt pci=disable_acs_redir=pci:1000:c010' (kernel mainline) -> 'pci=disable_acs_redir") })
        // Without iommu=pt the AMD-Vi units boot in the file's mode: passthrough (the file's build default), so no IOMMU change.
        #expect(!cmdline.contains { $0.kind == "iommu" })
        let mode = try facts(t).changes(to: try facts(t.replacingOccurrences(of: "kind=\"amd-vi\" mode=\"passthrough\"", with: "kind=\"amd-vi\" mode=\"dma\"")
                                                      .replacingOccurrences(of: "<kernel cmdline=\"iommu=pt ", with: "<kernel cmdline=\"")))
        #expect(mode.contains { $0.kind == "iommu" && $0.text.contains("amd-vi mode passthrough") && $0.text.contains("-> amd-vi mode dma,") })
        let x = try shipped("xeon-whitelisted")
        let cpu = try facts(x).changes(to: try facts(x.replacingOccurrences(of: "cpu-vendor=\"intel\"", with: "cpu-vendor=\"amd\"")))
        #expect(cpu.contains { $0.kind == "cpu" && $0.matters })
        let n = try shipped("nvmeof-switch-acs-on")
        let cap = try facts(n).changes(to: try facts(n.replacingOccurrences(of: "p2p-rate-cap=\"7.1GB/s\"", with: "p2p-rate-cap=\"3GB/s\"")))
        #expect(cap.map(\.kind) == ["root-complex"] && cap[0].text.contains("p2p cap 7.1GB/s per direction (p2p-rate-cap attribute)") && cap[0].text.contains("-> "))
        let sw = try facts(t).changes(to: try facts(t.replacingOccurrences(of: "mps=\"512\" latency=\"105ns\">", with: "mps=\"512\" latency=\"400ns\">")))
        // Every switch of the file has the same attributes: each one's tuning changed, and nothing else.
        #expect(sw.count == 4 && sw.allSatisfy { $0.kind == "tuning" && $0.text.contains("-> switch latency 400ns") && $0.movesNumbers && !$0.affectsP2P })
    }

    @Test("a down-trained link is the only change")
    func link() throws {
        let t = try shipped("gpu8-gen4-switches")
        let m = t.replacingOccurrences(of: "<endpoint name=\"gpu0\" class=\"gpu\" id=\"10de:20b0\" gen=\"4\" width=\"16\"",
                                       with: "<endpoint name=\"gpu0\" class=\"gpu\" id=\"10de:20b0\" gen=\"3\" width=\"8\"")
        #expect(try facts(t).changes(to: try facts(m)).map(\.text) == ["link 0000:03:00.0 gpu0 Gen4 x16 -> Gen3 x8"])
    }

    @Test("a removed switch: its ports and devices removed, the rest only renumbered")
    func switchRemoved() throws {
        let t = try shipped("gpu8-gen4-switches")
        let start = try #require(t.range(of: "      <switch name=\"sw1\""))
        let end = try #require(t.range(of: "</switch>\n", range: start.upperBound..<t.endIndex))
        let m = t.replacingCharacters(in: start.lowerBound..<end.upperBound, with: "")
        let changes = try facts(t).changes(to: try facts(m))
        let removed = Set(changes.filter { $0.kind == "removed" }.map(\.device))
        #expect(removed == ["sw1", "sw1.dp0", "sw1.dp1", "sw1.dp2", "sw1.dp3", "sw1.dp4", "gpu2", "gpu3", "nic2", "nic3", "nvme1"])
        #expect(changes.allSatisfy { ["removed", "bdf", "p2p", "group"].contains($0.kind) }, "\(changes.filter { !["removed", "bdf", "p2p", "group"].contains($0.kind) }.map(\.text))")
    }

    @Test("a NIC on the other socket: it and its port moved")
    func moved() throws {
        let t = try shipped("xeon-whitelisted")
        let m = t.replacingOccurrences(of: "name=\"rc-s1-pe2\" socket=\"1\"", with: "name=\"rc-s1-pe2\" socket=\"0\"")
        let changes = try facts(t).changes(to: try facts(m))
        #expect(changes.filter { $0.kind != "p2p" }.map(\.device).sorted() == ["nic0", "rc-s1-pe2.rp0", "root complex rc-s1-pe2"])
        #expect(changes.contains { $0.kind == "root-complex" && $0.text.hasPrefix("root complex rc-s1-pe2: socket 1,") })
        #expect(changes.contains { $0.text == "nic0 moved: socket 1 -> socket 0" })
    }
}
