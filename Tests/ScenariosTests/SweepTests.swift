// What-if sweeps: plan errors with file:line, grid and sample selection, metrics that move the way the machine
// says, cost ranking, determinism across threads, and shards that merge into the single run's bytes.
import Foundation
import Testing
import Scenarios
import Sim

func plan(_ text: String, file: String = "test-plan.xml") throws -> Plan {
    try Plan.parse(Array(text.utf8), file: file)
}

let smallPlan = """
<?xml version="1.0"?>
<plan name="small" rank-by="h2d">
  <base><generate root-ports="2" switch-levels="1" gpus="2" nics="1" nvme="0"/></base>
  <axis name="gpu-width" kind="link-width" select="gpu"><value>8</value><value>16</value></axis>
  <axis name="uplink" kind="link-gen" select="switch-uplinks"><value>gen3</value><value>gen4</value></axis>
  <axis name="nics" kind="generate" param="nics"><value>1</value><value>2</value></axis>
  <scenario name="h2d" size="4MiB"/>
  <metric name="h2d" from="host" to="gpu" aggregate="min" phase-kind="each"/>
  <metric name="h2d-all" from="host" to="gpu" aggregate="min" phase-kind="all"/>
  <constraint metric="h2d" op="&gt;=" value="20 GB/s"/>
  <cost match="switch" each="1000"/>
  <cost match="gpu" each="10000"/>
  <cost match="nic" each="800"/>
</plan>
"""

@Suite("what-if sweeps")
struct SweepTests {
    @Test("a malformed plan gets file:line: error: for every problem")
    func malformed() throws {
        let bad = """
        <?xml version="1.0"?>
        <plan name="bad">
          <base><generate gpus="2"/></base>
          <axis name="g" kind="link-gen"><value>gen9</value></axis>
          <axis name="w" kind="generate" param="warp"><value>1</value></axis>
          <scenario name="h2d"/>
          <metric name="m" from="host" to="gpu"/>
          <constraint metric="nope" op="&gt;=" value="1 GB/s"/>
        </plan>
        """
        do {
            _ = try plan(bad, file: "plans/bad.xml")
            Issue.record("a bad plan was accepted")
        } catch let e as DiagnosticError {
            let text = e.diagnostics.map(\.description).joined(separator: "\n")
            #expect(text.contains("plans/bad.xml:4: error: axis 'g': 'gen9' is not a link generation"), "\(text)")
            #expect(text.contains("plans/bad.xml:5: error: axis 'w': unknown generate parameter 'warp'"), "\(text)")
            #expect(text.contains("plans/bad.xml:8: error: constraint names metric 'nope'"), "\(text)")
        }
        // The schema: an unknown axis kind is refused at its line.
        do {
            _ = try plan(smallPlan.replacingOccurrences(of: "kind=\"link-width\"", with: "kind=\"voltage\""))
            Issue.record("an unknown axis kind was accepted")
        } catch let e as DiagnosticError {
            #expect(e.diagnostics.contains { $0.description.hasPrefix("test-plan.xml:4: error:") }, "\(e.diagnostics)")
        }
    }

    @Test("grid order, seeded samples and shards")
    func selection() throws {
        let p = try plan(smallPlan)
        #expect(p.gridSize == 8)
        #expect(p.coordinates(0) == [0, 0, 0] && p.coordinates(1) == [0, 0, 1] && p.coordinates(7) == [1, 1, 1])
        let a = SweepSelection(sample: 5, seed: 3).points(gridSize: 1000)
        #expect(a == SweepSelection(sample: 5, seed: 3).points(gridSize: 1000))
        #expect(a != SweepSelection(sample: 5, seed: 4).points(gridSize: 1000))
        #expect(Set(a).count == 5 && a == a.sorted() && a.allSatisfy { (0..<1000).contains($0) })
        var union: [Int] = []
        for i in 0..<3 { union += SweepSelection(sample: 50, seed: 3, shard: (i, 3)).shardPoints(gridSize: 1000) }
        #expect(union.sorted() == SweepSelection(sample: 50, seed: 3).points(gridSize: 1000))
    }

    @Test("metrics follow the machine; the same plan gives the same bytes on 1 or 2 threads and from merged shards")
    func sweepRuns() throws {
        let p = try plan(smallPlan)
        let runner = try SweepRunner(plan: p, mode: .flow)
        let all = Array(0..<p.gridSize)
        let rows = RowsBox()
        runner.run(all, jobs: 2) { rows.add($0) }
        let results = SweepResults(runner: runner, selection: SweepSelection(), rows: rows.rows)
        #expect(results.rows.map(\.point) == all)
        for r in results.rows { #expect(r.error == nil, "\(r.point): \(r.error ?? "")") }
        func metric(_ point: Int, _ m: Int) -> Double { results.rows[point].metrics[m] }
        // Behind a Gen4 uplink x16 GPU links beat x8 (points 6, 7 vs 2, 3); a Gen3 x16 uplink caps even one x16
        // GPU below Gen4 x16 (points 4, 5 vs 6, 7), and both GPUs reading at once more so.
        for k in 2..<4 { #expect(metric(4 + k, 0) > 1.5 * metric(k, 0)) }
        for k in 4..<6 { #expect(metric(k + 2, 0) > 1.3 * metric(k, 0)) }
        #expect(metric(6, 1) > 1.3 * metric(4, 1))
        // Cost: 2 switches, 4 GPUs, 2 or 4 NICs.
        let twoNICs: Double = 43_600, fourNICs: Double = 45_200
        #expect(results.rows[0].cost == twoNICs)
        #expect(results.rows[1].cost == fourNICs)
        // x8 GPU links and a Gen3 uplink miss 20 GB/s; x16 links behind a Gen4 uplink make it.
        #expect(!results.ok(results.rows[0]) && !results.ok(results.rows[4]) && results.ok(results.rows[6]))
        let one = RowsBox()
        runner.run(all, jobs: 1) { one.add($0) }
        let serial = SweepResults(runner: runner, selection: SweepSelection(), rows: one.rows)
        #expect(serial.files.map(\.contents) == results.files.map(\.contents))
        var merged: [SweepRow] = []
        for i in 0..<3 {
            let s = SweepSelection(shard: (i, 3))
            let box = RowsBox()
            runner.run(s.shardPoints(gridSize: p.gridSize), jobs: 1) { box.add($0) }
            merged += box.rows
        }
        #expect(SweepResults(runner: runner, selection: SweepSelection(), rows: merged).files.map(\.contents) == results.files.map(\.contents))
        #expect(results.csv.hasPrefix("point,gpu-width,uplink,nics,mode,h2d (GB/s),h2d-all (GB/s),cost,cost per h2d,h2d >= 20 GB/s,ok,error\n"))
        #expect(results.summary.contains("Pareto front"))
    }

    @Test("the journal keeps exact values and drops a line cut short")
    func journal() throws {
        let p = try plan(smallPlan)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-journal-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (w, done) = try SweepJournalWriter.open(dir, plan: p, selection: SweepSelection(), mode: .flow)
        #expect(done.isEmpty)
        let row = SweepRow(point: 3, mode: "flow", metrics: [0.1 + 0.2, .nan, 26.123456789012345], cost: 1234.5, error: nil)
        w.append(row)
        w.append(SweepRow(point: 5, mode: "-", metrics: [], cost: nil, error: "cannot build: x"))
        w.close()
        // A kill in the middle of a write leaves a torn last line.
        let h = FileHandle(forWritingAtPath: dir + "/points.tsv")!
        h.seekToEndOfFile(); h.write(Data("6\tflow\t40".utf8)); try h.close()
        let (_, rows) = try #require(try SweepJournal.read(dir))
        #expect(rows.count == 2 && rows[0].metrics[0] == 0.1 + 0.2 && rows[0].metrics[1].isNaN && rows[0].metrics[2] == 26.123456789012345)
        #expect(rows[1].error == "cannot build: x")
        // Another plan's folder is refused.
        let other = try plan(smallPlan.replacingOccurrences(of: "4MiB", with: "8MiB"))
        #expect(throws: SweepError.self) { try SweepJournalWriter.open(dir, plan: other, selection: SweepSelection(), mode: .flow) }
    }
}

final class RowsBox: @unchecked Sendable {
    private(set) var rows: [SweepRow] = []
    private let lock = NSLock()
    func add(_ r: SweepRow) { lock.lock(); rows.append(r); lock.unlock() }
}
