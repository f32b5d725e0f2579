// simrun sweep as a process: killed with SIGKILL in the middle of a sweep, then run again, it repeats no finished
// point, loses none, and writes exactly the files an uninterrupted run writes.
import Foundation
import Testing

@Suite struct SweepProcessTests {
    /// 64 points of a small generated machine in flow mode: long enough to kill mid-run, short for a debug build.
    static let plan = """
        <?xml version="1.0" encoding="UTF-8"?>
        <plan name="kill-resume" rank-by="gpu-nic-min">
          <base><generate name="k" root-ports="2" switch-levels="1" gpus="2" nics="1" nvme="0" gen="4" width="16"/></base>
          <axis name="switch-latency" kind="switch-latency" select="switches">
            <value>100ns</value><value>120ns</value><value>140ns</value><value>160ns</value>
            <value>180ns</value><value>200ns</value><value>250ns</value><value>300ns</value>
          </axis>
          <axis name="uplink" kind="link-gen" select="switch-uplinks"><value>gen3</value><value>gen4</value></axis>
          <axis name="acs" kind="generate" param="acs"><value label="off">false</value><value label="on">true</value></axis>
          <axis name="mps" kind="mps"><value>128</value><value>256</value></axis>
          <scenario name="gpudirect-rdma" size="4MiB"/>
          <metric name="gpu-nic-min" from="gpu" to="nic" aggregate="min"/>
          <metric name="blocked" quantity="blocked-flows"/>
          <constraint metric="gpu-nic-min" op="&gt;=" value="20 GB/s"/>
          <cost match="switch" each="1800"/>
        </plan>
        """
    static let points = 64
    static let files = ["results.csv", "results.json", "summary.md", "sweep.html"]

    /// Complete journal lines (after the header), as point numbers.
    static func journaled(_ dir: URL) -> [Int] {
        guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent("points.tsv").path) else { return [] }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        // The last element is "" after a complete line, or a line cut short: either way not a finished point.
        return lines.dropFirst().dropLast().compactMap { $0.split(separator: "\t").first.flatMap { Int($0) } }
    }

    @Test func killedSweepResumesWithoutRepeatingOrLosingPoints() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let planURL = tmp.appendingPathComponent("plan.xml")
        try Self.plan.write(to: planURL, atomically: true, encoding: .utf8)
        let whole = tmp.appendingPathComponent("whole"), killed = tmp.appendingPathComponent("killed")

        let reference = try simrun(["sweep", "run", planURL.path, "--mode", "flow", "--jobs", "2", "--out", whole.path])
        try #require(reference.status == 0, "uninterrupted sweep failed: \(reference.stderr)")
        #expect(reference.stdout.contains("\(Self.points) points (\(Self.points) run now, 0 from an earlier run)"))

        // Start the same sweep, wait until at least two points are journaled, and SIGKILL it while it runs.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: simrunPath)
        process.arguments = ["sweep", "run", planURL.path, "--mode", "flow", "--jobs", "2", "--out", killed.path]
        process.currentDirectoryURL = repositoryRoot
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Self.journaled(killed).count < 2, Date() < deadline { usleep(2_000) }
        try #require(process.isRunning, "the sweep ended before it could be killed (journaled \(Self.journaled(killed).count))")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
        let before = Self.journaled(killed)
        #expect(before.count >= 2 && before.count < Self.points, "killed after \(before.count) of \(Self.points) points")
        print("killed after \(before.count) of \(Self.points) points")
        #expect(!FileManager.default.fileExists(atPath: killed.appendingPathComponent("results.csv").path),
                "a killed sweep wrote results.csv")

        // Run it again: only the points not journaled run, and the files are those of the uninterrupted run.
        let resumed = try simrun(["sweep", "run", planURL.path, "--mode", "flow", "--jobs", "2", "--out", killed.path])
        try #require(resumed.status == 0, "resumed sweep failed: \(resumed.stderr)")
        #expect(resumed.stdout.contains("\(Self.points) points (\(Self.points - before.count) run now, \(before.count) from an earlier run)"),
                "\(resumed.stdout)")
        let after = Self.journaled(killed)
        #expect(after.count == Self.points, "journal holds \(after.count) lines for \(Self.points) points")
        #expect(Set(after) == Set(0..<Self.points), "points lost or repeated: \(after.sorted())")
        #expect(Array(after.prefix(before.count)) == before, "the finished points' lines were not kept as they were")
        for file in Self.files {
            let a = FileManager.default.contents(atPath: whole.appendingPathComponent(file).path)
            let b = FileManager.default.contents(atPath: killed.appendingPathComponent(file).path)
            #expect(a != nil && a == b, "\(file) differs from the uninterrupted run's")
        }

        // A third run has nothing left to do and changes nothing.
        let again = try simrun(["sweep", "run", planURL.path, "--mode", "flow", "--jobs", "2", "--out", killed.path])
        #expect(again.status == 0 && again.stdout.contains("(0 run now, \(Self.points) from an earlier run)"))
        #expect(Self.journaled(killed) == after)
    }
}
