// Issue #19's reproducers through the built simrun: a clean error and the documented exit status, never a signal.
import Foundation
import Testing

@Suite struct HardeningCLITests {
    func temporaryFolder() throws -> URL {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-hardening-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        return tmp
    }

    @Test("validate: <bar index=\"9223372036854775807\"> exits 1 with file:line (it died of SIGILL)")
    func barIndex() throws {
        let tmp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent("topologies/nvmeof-switch-acs-on.xml"), encoding: .utf8)
        let file = tmp.appendingPathComponent("bar.xml")
        try text.replacingOccurrences(of: "<bar index=\"4\" size=\"1G\"", with: "<bar index=\"9223372036854775807\" size=\"1G\"")
            .write(to: file, atomically: true, encoding: .utf8)
        let r = try simrun(["validate", file.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(file.path):29: error:") && r.stderr.contains("9223372036854775807"))
    }

    @Test("run: start=\"18446744073709551616ns\" exits 1 with the attribute, the value and the maximum")
    func startTime() throws {
        let tmp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let file = tmp.appendingPathComponent("start.xml")
        try """
            <scenario name="s" version="1"><phase name="p">
            <dma from="nic0" to="host" op="write" size="4K" start="18446744073709551616ns"/>
            </phase></scenario>
            """.write(to: file, atomically: true, encoding: .utf8)
        let r = try simrun(["topologies/nvmeof-switch-acs-on.xml", file.path, "--no-report"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(file.path):2: error: <dma> start 18446744073709551616ns is out of range (max 1000000s)"))
    }

    @Test("run: a scenario asking for 10^12 TLPs exits 1 at once, naming the line and --max-events")
    func tooManyTLPs() throws {
        let tmp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let file = tmp.appendingPathComponent("huge.xml")
        try """
            <scenario name="s" version="1"><phase name="p">
            <dma from="nic0" to="host" op="write" size="1T" repeat="1000" count="4"/>
            </phase></scenario>
            """.write(to: file, atomically: true, encoding: .utf8)
        let start = Date()
        let r = try simrun(["topologies/nvmeof-switch-acs-on.xml", file.path, "--no-report"])
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(file.path):2: error: <dma> size=\"1T\" x repeat=\"1000\" x count=\"4\" needs at least 1073741824000 TLPs, over the limit of 1000000000 events (raise with --max-events)"))
    }

    @Test("run: past --max-events at run time exits 1 naming the scenario, the phase and the flag; the limit flags are checked")
    func eventLimitAtRunTime() throws {
        let r = try simrun(["topologies/workstation-no-acs.xml", "scenarios/pcie-bench-workstation.xml", "--no-report", "--max-events", "1000"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("scenarios/pcie-bench-workstation.xml: error: phase 'LAT_RD 64 B': stopped after 1000 events"))
        #expect(r.stderr.contains("over the limit of 1000 events (raise with --max-events)"))
        let bad = try simrun(["topologies/workstation-no-acs.xml", "h2d", "--no-report", "--max-sim-time", "1e300ns"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("error: --max-sim-time 1e300ns is out of range (max 1000000s)"))
    }

    @Test("sweep: --sample past Int's range exits 1 (bad input), not 64; regress's bad arguments exit 2 as it documents")
    func sampleOutOfRange() throws {
        let r = try simrun(["sweep", "plans/gpu8-uplinks-nics-acs.xml", "--sample", "99999999999999999999999", "--out", "/nonexistent/x"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("--sample"))
        let regress = try simrun(["regress", "--jobs", "99999999999999999999999"])
        #expect(regress.status == 2)
    }

    @Test("sweep: a plan axis value 1e300ns exits 1 with its line")
    func planAxis() throws {
        let tmp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let plan = tmp.appendingPathComponent("plan.xml")
        try """
            <plan name="p">
              <base><generate name="g" root-ports="2" switch-levels="1" gpus="2" nics="1" nvme="0"/></base>
              <axis name="lat" kind="switch-latency">
                <value>1e300ns</value>
              </axis>
              <scenario name="gpudirect-rdma" size="4MiB"/>
              <metric name="m" from="gpu" to="nic" aggregate="min"/>
            </plan>
            """.write(to: plan, atomically: true, encoding: .utf8)
        let r = try simrun(["sweep", plan.path, "--out", tmp.appendingPathComponent("out").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(plan.path):4: error: axis 'lat': 1e300ns is out of range (max 1000000s)"))
    }

    static let smallPlan = """
        <plan name="small">
          <base><generate name="k" root-ports="2" switch-levels="1" gpus="2" nics="1" nvme="0" gen="4" width="16"/></base>
          <axis name="uplink" kind="link-gen" select="switch-uplinks"><value>gen3</value><value>gen4</value></axis>
          <scenario name="gpudirect-rdma" size="4MiB"/>
          <metric name="gpu-nic-min" from="gpu" to="nic" aggregate="min"/>
        </plan>
        """

    @Test("sweep: a result set that cannot be written exits 2 and leaves no part of it; the manifest lists a whole set")
    func sweepResultSet() throws {
        let tmp = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let plan = tmp.appendingPathComponent("plan.xml")
        try Self.smallPlan.write(to: plan, atomically: true, encoding: .utf8)
        let out = tmp.appendingPathComponent("out")
        // sweep.html, the last file, cannot be written (a folder holds its name): before, the other three were.
        try FileManager.default.createDirectory(at: out.appendingPathComponent("sweep.html"), withIntermediateDirectories: true)
        let failed = try simrun(["sweep", plan.path, "--mode", "flow", "--jobs", "1", "--out", out.path])
        #expect(failed.status == 2)
        #expect(failed.stderr.contains("error: cannot write the results: \(out.path)/sweep.html exists and is not a regular file"))
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out.path)) == ["points.tsv", "sweep.html"])

        try FileManager.default.removeItem(at: out.appendingPathComponent("sweep.html"))
        let again = try simrun(["sweep", plan.path, "--mode", "flow", "--jobs", "1", "--out", out.path])
        #expect(again.status == 0)
        let manifest = try String(contentsOf: out.appendingPathComponent("results.manifest"), encoding: .utf8)
        #expect(manifest.split(separator: "\n").dropFirst().map { $0.split(separator: "\t")[0] } == ["results.csv", "results.json", "summary.md", "sweep.html"])
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: out.path)).contains { $0.hasPrefix(".") })

        // A results folder under a regular file cannot be created: the sweep failed (2), it is not bad input.
        let blocked = try simrun(["sweep", plan.path, "--mode", "flow", "--out", plan.appendingPathComponent("x").path])
        #expect(blocked.status == 2)
    }
}
