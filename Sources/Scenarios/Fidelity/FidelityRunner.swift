// Runs a fidelity suite: each distinct (machine, scenario, options) once, every case's figure read from that run,
// compared with the published figure. The same TLP model, defaults and router as every other run: nothing here
// tunes anything per case.
import Dispatch
import Foundation
import Sim

public struct FidelityResult: Sendable {
    public enum Verdict: String, Sendable {
        /// Within band, as expected.
        case within
        /// Outside band and marked so (the reason is in the suite).
        case knownOutside = "known-outside"
        /// Outside band but expected within: a fidelity regression.
        case outside
        /// Marked outside but now within: the mark is stale.
        case stale
        /// The run or the figure could not be made.
        case error
    }
    public var fidelityCase: FidelityCase
    public var machine: FidelityMachine
    /// In the case's unit (GB/s, or ns for latency); nil on error.
    public var simulated: Double?
    /// (simulated - published) / published.
    public var error: Double?
    public var flows: Int
    public var verdict: Verdict
    public var problems: [String]
    public var isWithinBand: Bool { verdict == .within || verdict == .stale }
    public var fails: Bool { verdict == .outside || verdict == .stale || verdict == .error }
}

public enum FidelityRunner {
    public static func run(_ suite: FidelitySuite, filter: String? = nil, jobs: Int = 1,
                           progress: (@Sendable (Int, Int) -> Void)? = nil) -> [FidelityResult] {
        let cases = suite.cases.filter { c in filter.map { globMatches($0.contains("*") ? $0 : "*\($0)*", c.id) } ?? true }
        // One run per distinct (topology, scenario, options, cmdline).
        var keys: [String] = []
        var runOf: [Int] = []
        for c in cases {
            let key = runKey(c, suite)
            if let k = keys.firstIndex(of: key) { runOf.append(k) } else { keys.append(key); runOf.append(keys.count - 1) }
        }
        let representative = keys.indices.map { k in cases[runOf.firstIndex(of: k)!] }
        let runs = keys.count
        let box = RunBox(runs)
        let queue = DispatchQueue(label: "pciesim.fidelity", attributes: .concurrent)
        let group = DispatchGroup()
        let semaphore = DispatchSemaphore(value: max(1, jobs))
        for (k, c) in representative.enumerated() {
            semaphore.wait()
            queue.async(group: group) {
                let r = runOnce(c, suite.machine(c.machine)!)
                let done = box.set(k, r)
                progress?(done, runs)
                semaphore.signal()
            }
        }
        group.wait()
        return cases.enumerated().map { i, c in judge(c, suite.machine(c.machine)!, box.get(runOf[i])) }
    }

    static func runKey(_ c: FidelityCase, _ suite: FidelitySuite) -> String {
        let topology = suite.machine(c.machine)?.topology ?? ""
        return ([topology, c.scenario, c.cmdline ?? ""] + c.optionText.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{1}")
    }

    static func runOnce(_ c: FidelityCase, _ machine: FidelityMachine) -> Result<RunReport, ScenarioError> {
        let loaded: LoadedTopology
        do { loaded = try LoadedTopology.load(path: machine.topology) } catch {
            return .failure(ScenarioError(error.diagnostics.map(\.description)))
        }
        var semantics = SemanticsOptions()
        if let cmdline = c.cmdline { semantics.kernel = KernelConfiguration(commandLine: cmdline, version: loaded.topology.kernel.version) }
        return Result { () throws(ScenarioError) -> RunReport in
            let runner = try WorkloadRunner(loaded, options: semantics, seed: 1, jobs: 1)
            let workload = try ScenarioSource.workload(c.scenario, fabric: runner.fabric, options: c.options, device: nil)
            return RunReport(result: try runner.run(workload), runner: runner, topologyFile: machine.topology)
        }
    }

    static func judge(_ c: FidelityCase, _ machine: FidelityMachine, _ run: Result<RunReport, ScenarioError>?) -> FidelityResult {
        var result = FidelityResult(fidelityCase: c, machine: machine, simulated: nil, error: nil, flows: 0, verdict: .error, problems: [])
        guard let run else { result.problems = ["the run did not happen"]; return result }
        let report: RunReport
        switch run {
        case .failure(let e): result.problems = e.problems; return result
        case .success(let r): report = r
        }
        let selected = report.flows.filter { globMatches(c.phase, $0.phase) && globMatches(c.kind, $0.phaseKind) && globMatches(c.flow, $0.label) }
        result.flows = selected.count
        guard !selected.isEmpty else {
            let phases = Array(Set(report.flows.map(\.phase))).sorted().prefix(8).joined(separator: "; ")
            result.problems = ["no flow matches phase=\"\(c.phase)\" flow=\"\(c.flow)\" (phases: \(phases))"]
            return result
        }
        if let bad = selected.first(where: { $0.status != "ok" }) {
            result.problems = ["flow '\(bad.label)' of phase '\(bad.phase)' did not complete: \(bad.status)"]
            return result
        }
        var values: [Double] = []
        switch c.metric {
        case .throughput: values = selected.map(\.gigabytesPerSecond)
        case .latency:
            for f in selected {
                guard let p50 = f.latencyP50ns else { result.problems = ["flow '\(f.label)' has no latency figure (flow mode?)"]; return result }
                values.append(p50)
            }
        }
        let value: Double = switch c.aggregate {
        case .sum: values.reduce(0, +)
        case .mean: values.reduce(0, +) / Double(values.count)
        case .min: values.min()!
        case .max: values.max()!
        }
        result.simulated = value
        let error = (value - c.published) / c.published
        result.error = error
        let within = abs(error) <= c.tolerance + 1e-12
        switch (within, c.outsideBandReason != nil) {
        case (true, false): result.verdict = .within
        case (true, true): result.verdict = .stale
        case (false, true): result.verdict = .knownOutside
        case (false, false): result.verdict = .outside
        }
        return result
    }
}

private final class RunBox: @unchecked Sendable {
    private var results: [Result<RunReport, ScenarioError>?]
    private var done = 0
    private let lock = NSLock()
    init(_ n: Int) { results = Array(repeating: nil, count: n) }
    func set(_ i: Int, _ r: Result<RunReport, ScenarioError>) -> Int {
        lock.lock(); defer { lock.unlock() }
        results[i] = r
        done += 1
        return done
    }
    func get(_ i: Int) -> Result<RunReport, ScenarioError>? {
        lock.lock(); defer { lock.unlock() }
        return results[i]
    }
}
