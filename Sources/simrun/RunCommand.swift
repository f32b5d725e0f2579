// simrun TOPOLOGY SCENARIO [options]: the main job. Runs a built-in scenario, a scenario file or an ftrace
// trace on a machine, prints the terminal summary, and writes report.json, report.md and report.html.
import ArgumentParser
import Foundation
import Scenarios
import Sim

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario on a machine: throughput, latency, hot links, and where P2P TLPs were blocked and why.",
        discussion: """
            SCENARIO is a built-in name (\(BuiltInScenario.allCases.map(\.rawValue).joined(separator: ", "))), a scenario \
            file (.xml, see docs/SCENARIOS.md), or an ftrace text capture of iommu:map/unmap/io_page_fault (with --device). \
            `simrun TOPOLOGY SCENARIO` is short for `simrun run TOPOLOGY SCENARIO`. Exit status: 0 done, 1 bad input, \
            2 the run failed. The report folder appears only when every file of it is written.
            """)

    @Argument(help: "Topology XML file.") var topology: String
    @Argument(help: "Built-in scenario, scenario file, or ftrace capture.") var scenario: String
    @Option(help: "Bytes per flow (e.g. 256MiB).") var size: String?
    @Option(help: "Devices to use, by name or BDF, comma-separated.") var devices: String?
    @Option(help: "Read requests in flight per flow.") var queueDepth: Int?
    @Option(help: "Page size buffers are mapped with (4K or 2M).") var pageSize: String?
    @Option(help: "iotlb-thrash working sets, pcie-bench-window windows, pcie-bench-sizes window; comma-separated (e.g. 1M,16M,256M).") var workingSets: String?
    @Option(help: "pcie-bench-sizes: transfer sizes swept; pcie-bench-window, p2p-bandwidth-latency latency: the first is the DMA size (e.g. 64,128,4K).")
    var transferSizes: String?
    @Flag(help: "Use ATS where the requester supports it.") var ats = false
    @Flag(help: "P2P scenarios read the peer instead of writing it.") var read = false
    @Option(help: "Trace replay: the device whose IOMMU domain the trace's map/unmap events belong to.") var device: String?
    @OptionGroup var kernel: KernelLineOptions
    @Option(help: "Seed for every random choice.") var seed: UInt64 = 1
    @Option(help: "Phases run in parallel on this many threads (results do not depend on it).") var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Report folder (default: reports/runs/TOPOLOGY-SCENARIO).") var out: String?
    @Flag(help: "Print the summary only; write no report folder.") var noReport = false
    @Option(help: "Terminal output: text (the summary) or json (report.json).") var format: OutputFormat = .text
    @Option(help: "auto (flow where the flow model claims its answer: rates in milliseconds, no latency percentiles; else tlp), tlp (TLP by TLP everywhere: latencies too) or flow (steady-state max-min rates only).")
    var mode: SimulationMode = .auto
    @OptionGroup(title: "Work limits") var workLimits: WorkLimitOptions

    func run() throws {
        let limits = try workLimits.limits()
        let loaded = try loadTopology(topology)
        let semantics = kernel.semantics(loaded)
        var options = ScenarioOptions(ats: ats, operation: read ? .read : .write)
        var problems: [String] = []
        func bytes(_ text: String?, _ name: String) -> Int? {
            guard let text else { return nil }
            guard let v = ByteSize.parse(text), v > 0, v <= 1 << 40 else { problems.append("--\(name): '\(text)' is not a size (e.g. 64MiB)"); return nil }
            return Int(v)
        }
        options.size = bytes(size, "size")
        options.pageBytes = bytes(pageSize, "page-size")
        if let p = options.pageBytes, p != 4096, p != 2 << 20, p != 1 << 30 { problems.append("--page-size: \(pageSize!) is not 4K, 2M or 1G") }
        if let workingSets {
            options.workingSets = workingSets.split(separator: ",").compactMap { bytes(String($0), "working-sets") }
        }
        if let transferSizes {
            options.transferSizes = transferSizes.split(separator: ",").compactMap { bytes(String($0), "transfer-sizes") }
        }
        options.devices = devices.map { $0.split(separator: ",").map { String($0.trimmingSpaces) } }
        if let q = queueDepth, q < 1 { problems.append("--queue-depth must be at least 1") }
        options.queueDepth = queueDepth
        if jobs < 1 { problems.append("--jobs must be at least 1") }
        if !problems.isEmpty {
            for p in problems { printError("error: " + p) }
            throw ExitCode(1)
        }
        let prepared = Result { () throws(ScenarioError) -> (WorkloadRunner, Workload) in
            var runner = try WorkloadRunner(loaded, options: semantics, seed: seed, jobs: jobs)
            runner.mode = mode
            runner.limits = limits
            return (runner, try ScenarioSource.workload(scenario, fabric: runner.fabric, options: options, device: device, limits: limits))
        }
        guard case .success(let (runner, workload)) = prepared else {
            if case .failure(let e) = prepared { for p in e.problems { printError(p.contains(": error: ") ? p : "error: " + p) } }
            throw ExitCode(1)
        }
        reportBootWarnings(runner.booted.semantics, file: topology)
        let progress = ProgressBar(total: workload.phases.count)
        var observed = runner
        observed.eventProgress = { progress.events($0) }
        let notice = LongRunNotice(mode: mode)
        observed.tlpNotice = { notice.phase($0, reasons: $1, tlps: $2) }
        let ran = Result { () throws(ScenarioError) -> WorkloadResult in
            try observed.run(workload, progress: { done, total in progress.update(done, total) })
        }
        progress.finish()
        guard case .success(let result) = ran else {
            // A file's problems name the file (a limit met names the phase and the flag that raises it).
            let input = FileManager.default.fileExists(atPath: scenario) ? scenario + ": " : ""
            guard case .failure(let e) = ran else { throw ExitCode(2) }
            for p in e.problems { printError(input + "error: " + p) }
            throw ExitCode(e.exceededLimit ? 1 : 2)
        }
        let report = RunReport(result: result, runner: runner, topologyFile: topology)
        if !noReport {
            let name = URL(fileURLWithPath: topology).deletingPathExtension().lastPathComponent
            let scenarioName = URL(fileURLWithPath: scenario).deletingPathExtension().lastPathComponent
            let folder = out ?? "reports/runs/\(name)-\(scenarioName)"
            if case .failure(let e) = Result(catching: { () throws(ScenarioError) in try ReportWriter.write(ReportWriter.files(report), to: folder) }) {
                for p in e.problems { printError("error: " + p) }
                throw ExitCode(2)
            }
            if format == .text { print(report.terminalSummary() + "\nreport: \(folder)/report.html") } else { print(report.json.serialized()) }
        } else {
            print(format == .text ? report.terminalSummary() : report.json.serialized())
        }
    }
}

/// Progress on standard error, once a run has taken a couple of seconds: a bar on a terminal (not under `CI`),
/// else one line per stage at most every 10 seconds (`progress: 12/40 phases, 31 s, about 72 s left`), so logs of
/// long runs show they advance. Standard output and the report files never carry it.
final class ProgressBar: @unchecked Sendable {
    let total: Int
    let start = Date()
    let isTerminal = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
    var shown = false
    var lastLine = Date.distantPast
    var lastDone = 0
    let lock = NSLock()
    init(total: Int) { self.total = total }

    func update(_ done: Int, _ total: Int, unit: String = "phases") {
        lock.lock(); defer { lock.unlock() }
        lastDone = done
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let eta = done == 0 ? 0 : elapsed / Double(done) * Double(total - done)
        guard isTerminal else {
            guard elapsed > 2, now.timeIntervalSince(lastLine) >= 10 || (done == total && shown) else { return }
            shown = true
            lastLine = now
            FileHandle.standardError.write(Data("progress: \(done)/\(total) \(unit), \(Int(elapsed.rounded())) s, about \(Int(eta.rounded())) s left\n".utf8))
            return
        }
        guard elapsed > 1 || shown else { return }
        shown = true
        let width = 30
        let filled = total == 0 ? width : done * width / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) \(unit), \(Int(eta.rounded())) s left ".utf8))
    }

    /// Events handled by a phase still running: on a terminal after the bar, else a line at most every 10 seconds.
    func events(_ handled: Int) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        if isTerminal {
            guard now.timeIntervalSince(start) > 1, now.timeIntervalSince(lastLine) >= 0.5 else { return }
            shown = true
            lastLine = now
            FileHandle.standardError.write(Data("\r\u{1b}[K[\(lastDone)/\(total) phases] a phase has handled \(String(format: "%.1f", Double(handled) / 1e6)) M events, \(Int(now.timeIntervalSince(start).rounded())) s ".utf8))
            return
        }
        guard now.timeIntervalSince(start) > 2, now.timeIntervalSince(lastLine) >= 10 else { return }
        shown = true
        lastLine = now
        FileHandle.standardError.write(Data("progress: a phase has handled \(handled) events, \(Int(now.timeIntervalSince(start).rounded())) s\n".utf8))
    }

    func finish() {
        guard isTerminal else { return }
        lock.lock(); defer { lock.unlock() }
        if shown { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
    }
}

/// A hint on standard error before a phase that will take a while TLP by TLP (about 2 million TLPs or more: seconds
/// in a release build, far more in a debug one): why the flow model did not answer it and what answers sooner.
/// At most three phases are named; then one line says how many more.
final class LongRunNotice: @unchecked Sendable {
    static let threshold = 2_000_000
    let mode: SimulationMode
    let lock = NSLock()
    var named = 0
    var more = 0
    init(mode: SimulationMode) { self.mode = mode }

    func phase(_ name: String, reasons: [String], tlps: Int) {
        guard tlps >= Self.threshold else { return }
        lock.lock(); defer { lock.unlock() }
        named += 1
        guard named <= 3 else {
            more += 1
            if more == 1 { printError("note: more phases run TLP by TLP") }
            return
        }
        let size = String(format: "%.1f", Double(tlps) / 1e6)
        let why = mode == .tlp
            ? "--mode tlp; --mode auto uses the flow model where it claims a phase, without latency percentiles"
            : "the flow model does not claim it: \(reasons.isEmpty ? "no reason given" : reasons.joined(separator: ", "))"
        printError("note: phase '\(name)' runs TLP by TLP, about \(size) M TLPs (\(why)); a smaller --size gives the same steady-state rates sooner")
    }
}

extension SimulationMode: ExpressibleByArgument {}
