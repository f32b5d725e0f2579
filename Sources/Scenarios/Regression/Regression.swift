// Runs a suite: every case (in parallel), its expectations, and the comparison with its baseline, whose
// failures say what changed and why (the facts that changed on the flow's path). Writes JUnit XML.
import Dispatch
import Foundation
import Sim

public struct CaseResult: Sendable {
    public enum Verdict: String, Sendable { case pass, fail, error }
    public var name: String
    public var verdict: Verdict
    /// The case's key figure (`12 flows, min 20.00 GB/s`).
    public var figure: String
    /// The largest change against the baseline (`-50.0 % nic0 -> gpu0`), or `new baseline`, or `-`.
    public var change: String
    /// One line per failed expectation or baseline difference (for errors: what was wrong with the input).
    public var failures: [String]
    /// Wall seconds (JUnit's time; not part of any baseline).
    public var seconds: Double
    public init(name: String, verdict: Verdict, figure: String, change: String, failures: [String], seconds: Double) {
        self.name = name
        self.verdict = verdict
        self.figure = figure
        self.change = change
        self.failures = failures
        self.seconds = seconds
    }
}

public struct RegressionOptions: Sendable {
    public var jobs: Int
    public var filter: String?
    public var updateBaselines: Bool
    public init(jobs: Int = 1, filter: String? = nil, updateBaselines: Bool = false) {
        self.jobs = max(1, jobs)
        self.filter = filter
        self.updateBaselines = updateBaselines
    }
}

public enum Regression {
    public static let baselineSchema = "pciesim-baseline/1"

    /// Cases whose name contains `filter` (or matches it as a `*` glob).
    public static func selected(_ suite: Suite, _ filter: String?) -> [SuiteCase] {
        guard let filter, !filter.isEmpty else { return suite.cases }
        if filter.contains("*") { return suite.cases.filter { globMatches(filter, $0.name) } }
        return suite.cases.filter { $0.name.contains(filter) }
    }

    public static func run(_ suite: Suite, _ options: RegressionOptions, progress: (@Sendable (Int, Int) -> Void)? = nil) -> [CaseResult] {
        let cases = selected(suite, options.filter)
        let box = CaseBox(cases.count)
        let queue = DispatchQueue(label: "pciesim.regress", attributes: .concurrent)
        let group = DispatchGroup()
        let semaphore = DispatchSemaphore(value: options.jobs)
        for (i, c) in cases.enumerated() {
            semaphore.wait()
            queue.async(group: group) {
                let r = runCase(c, update: options.updateBaselines)
                let done = box.set(i, r)
                progress?(done, cases.count)
                semaphore.signal()
            }
        }
        group.wait()
        return box.results
    }

    public static func runCase(_ c: SuiteCase, update: Bool) -> CaseResult {
        let start = DispatchTime.now()
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
        func failed(_ lines: [String]) -> CaseResult {
            CaseResult(name: c.name, verdict: .error, figure: "-", change: "-", failures: lines, seconds: seconds())
        }
        let loaded: LoadedTopology
        do { loaded = try LoadedTopology.load(path: c.topology) } catch { return failed(error.diagnostics.map(\.description)) }
        var semantics = SemanticsOptions()
        if c.cmdline != nil || c.kernel != nil {
            semantics.kernel = KernelConfiguration(commandLine: c.cmdline ?? loaded.topology.kernel.commandLine,
                                                   version: c.kernel ?? loaded.topology.kernel.version)
        }
        let ran = Result { () throws(ScenarioError) -> (WorkloadRunner, RunReport) in
            let runner = try WorkloadRunner(loaded, options: semantics, seed: c.seed, jobs: 1)
            let workload = try ScenarioSource.workload(c.scenario, fabric: runner.fabric, options: c.options, device: nil)
            return (runner, RunReport(result: try runner.run(workload), runner: runner, topologyFile: c.topology))
        }
        guard case .success(let (runner, report)) = ran else {
            if case .failure(let e) = ran { return failed(e.problems) }
            return failed([])
        }
        let facts = MachineFacts(runner.booted.semantics)
        var failures = check(c, report, runner, facts)
        let bulk = report.flows.filter { $0.status == "ok" && $0.phaseKind != "latency" }
        let notOK = report.flows.filter { $0.status != "ok" }.count
        let figure = report.flows.isEmpty ? "\(report.audit.count) pairs audited"
            : "\(report.flows.count) flows" + (notOK > 0 ? " (\(notOK) not ok)" : "")
                + (bulk.isEmpty ? "" : ", min \(RunReport.gb(bulk.map(\.gigabytesPerSecond).min()!)) GB/s")
        var change = "-"
        if let path = c.baseline {
            let summary = Baseline(c, report, facts)
            if update {
                do {
                    try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
                    if let reason = AtomicFile.write(summary.json.serialized() + "\n", to: path) {
                        return failed(["cannot write baseline \(path): \(reason)"])
                    }
                } catch {
                    return failed(["cannot write baseline \(path): \(error.localizedDescription)"])
                }
                change = "baseline written"
            } else if FileManager.default.fileExists(atPath: path) {
                switch Baseline.read(path) {
                case .success(let old):
                    let (lines, biggest) = old.compare(with: summary, machine: facts, tolerance: c.tolerance)
                    failures += lines
                    change = biggest
                case .failure(let why):
                    return failed(why.problems.map { "\(path): error: \($0)" })
                }
            } else {
                failures.append("no baseline \(path) (run with --update-baselines to create it)")
            }
        }
        return CaseResult(name: c.name, verdict: failures.isEmpty ? .pass : .fail, figure: figure, change: change, failures: failures, seconds: seconds())
    }

    /// The case's exact and numeric expectations.
    static func check(_ c: SuiteCase, _ r: RunReport, _ runner: WorkloadRunner, _ facts: MachineFacts) -> [String] {
        var out: [String] = []
        let fabric = runner.fabric
        for (line, e) in c.expectations {
            let at = "line \(line)"
            switch e {
            case .p2p(let p, let cl, let type, let distance):
                guard let pi = fabric.enumeration.lookup(p), let ci = fabric.enumeration.lookup(cl) else {
                    out.append("\(at): \(cl) -> \(p): no such device"); continue
                }
                let got = runner.booted.semantics.p2pdma(provider: pi, client: ci, verbose: false)
                if got.mapType != type || (distance != nil && got.distance != distance!) {
                    out.append("\(at): \(cl) -> \(p): expected \(type) distance \(distance.map(String.init) ?? "any"), got \(got.mapType) distance \(got.distance)")
                }
            case .group(let devices):
                let partners = devices.map { d in facts.devices[d]?.groupPartners }
                for (d, p) in zip(devices, partners) {
                    let want = devices.filter { $0 != d }.sorted()
                    if p != want {
                        out.append("\(at): group of \(d): expected with [\(want.joined(separator: " "))], got \(p.map { "[\($0.joined(separator: " "))]" } ?? "no group")")
                    }
                }
            case .works(let from, let to):
                let flows = r.flows.filter { $0.requester == from && $0.peer == to }
                if flows.isEmpty { out.append("\(at): no flow from \(from) to \(to) in the run") }
                for f in flows where f.status != "ok" { out.append("\(at): \(f.label) [\(f.phase)]: \(f.status), expected to work") }
            case .blocked(let from, let to, let port, let rule):
                let hit = r.findings.contains { f in
                    f.kind != "redirected" && f.requester.hasPrefix(from + " ") && f.target.hasPrefix(to + " ")
                        && f.port.split(separator: " ").contains { $0 == port } && (rule.map { f.rule.contains($0) } ?? true)
                }
                if !hit {
                    let seen = r.findings.filter { $0.requester.hasPrefix(from + " ") }.map { "\($0.kind) at \($0.port)" }
                    out.append("\(at): \(from) -> \(to): expected blocked at \(port)\(rule.map { " by '\($0)'" } ?? ""), got \(seen.isEmpty ? "no finding" : seen.joined(separator: ", "))")
                }
            case .throughput(let label, let minimum):
                let flows = r.flows.filter { $0.label == label }
                if flows.isEmpty { out.append("\(at): no flow '\(label)'") }
                for f in flows where f.gigabytesPerSecond < minimum.gigabytesPerSecond {
                    out.append("\(at): \(label) [\(f.phase)]: \(RunReport.gb(f.gigabytesPerSecond)) GB/s, expected at least \(RunReport.gb(minimum.gigabytesPerSecond))")
                }
            case .latency(let label, let limit):
                let flows = r.flows.filter { $0.label == label }
                if flows.isEmpty { out.append("\(at): no flow '\(label)'") }
                for f in flows where (f.latencyP99ns ?? .infinity) > Double(limit) / 1000 {
                    out.append("\(at): \(label) [\(f.phase)]: p99 \(RunReport.nsText(f.latencyP99ns)), expected at most \(Duration.format(limit))")
                }
            }
        }
        return out
    }

    /// JUnit XML as Jenkins, GitLab and GitHub Actions read it.
    public static func junit(_ suite: Suite, _ results: [CaseResult]) -> String {
        let failures = results.filter { $0.verdict == .fail }.count
        let errors = results.filter { $0.verdict == .error }.count
        let total = results.reduce(0) { $0 + $1.seconds }
        func t(_ s: Double) -> String { String(format: "%.3f", s) }
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<testsuites name=\"\(escapeXML(suite.name))\" tests=\"\(results.count)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(t(total))\">\n"
        s += "  <testsuite name=\"\(escapeXML(suite.name))\" tests=\"\(results.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"0\" time=\"\(t(total))\">\n"
        for r in results {
            s += "    <testcase classname=\"\(escapeXML(suite.name))\" name=\"\(escapeXML(r.name))\" time=\"\(t(r.seconds))\">"
            switch r.verdict {
            case .pass: s += "</testcase>\n"
            case .fail:
                s += "\n      <failure message=\"\(escapeXML(r.failures.first ?? ""))\" type=\"regression\">\(escapeXML(r.failures.joined(separator: "\n")))</failure>\n    </testcase>\n"
            case .error:
                s += "\n      <error message=\"\(escapeXML(r.failures.first ?? ""))\" type=\"input\">\(escapeXML(r.failures.joined(separator: "\n")))</error>\n    </testcase>\n"
            }
        }
        return s + "  </testsuite>\n</testsuites>\n"
    }

    /// The table `simrun regress` prints.
    public static func table(_ results: [CaseResult]) -> String {
        var rows = results.map { [$0.name, $0.verdict.rawValue.uppercased(), $0.figure, $0.change] }
        rows.insert(["case", "verdict", "key figure", "change vs baseline"], at: 0)
        var widths = [0, 0, 0, 0]
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var s = ""
        for r in rows {
            s += r.enumerated().map { i, c in i == 3 ? c : c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ") + "\n"
        }
        for r in results where r.verdict != .pass {
            s += "\n\(r.verdict == .fail ? "FAIL" : "ERROR") \(r.name)\n"
            for f in r.failures { s += "  \(f)\n" }
        }
        let passed = results.filter { $0.verdict == .pass }.count
        s += "\n\(passed) passed, \(results.count - passed) failed\n"
        return s
    }
}

final class CaseBox: @unchecked Sendable {
    private var slots: [CaseResult?]
    private var done = 0
    private let lock = NSLock()
    init(_ n: Int) { slots = Array(repeating: nil, count: n) }
    func set(_ i: Int, _ r: CaseResult) -> Int {
        lock.lock(); defer { lock.unlock() }
        slots[i] = r
        done += 1
        return done
    }
    var results: [CaseResult] { lock.lock(); defer { lock.unlock() }; return slots.compactMap { $0 } }
}
