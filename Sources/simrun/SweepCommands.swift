// simrun sweep PLAN: what-if capacity planning over a plan's grid (or a seeded sample, or one shard of it), in
// parallel, resumable; simrun sweep merge joins shard folders into exactly the files a single run writes.
import ArgumentParser
import Foundation
import Scenarios
import Sim

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "What-if sweeps: run a plan's machines, collect metrics, check constraints, rank by cost.",
        subcommands: [SweepRun.self, SweepMerge.self],
        defaultSubcommand: SweepRun.self)
}

/// Reads a plan, printing `file:line: error:` diagnostics; exits 1 on bad input.
func loadPlan(_ path: String, mode: SimulationMode) throws -> SweepRunner {
    let result = Result { () throws(DiagnosticError) -> SweepRunner in try SweepRunner(plan: try Plan.read(path: path), mode: mode) }
    switch result {
    case .success(let r): return r
    case .failure(let e):
        report(e.diagnostics)
        throw ExitCode(1)
    }
}

/// Writes the result files next to the journal as one set (AtomicFileSet: staged, renamed, `results.manifest`
/// last); a failure, out of disk included, exits 2 (the sweep failed) with the previous set untouched.
func writeSweepFiles(_ results: SweepResults, to directory: String) throws {
    if let reason = AtomicFileSet.write(results.files, to: directory, manifest: SweepResults.manifestName) {
        printError("error: cannot write the results: \(reason)")
        throw ExitCode(2)
    }
}

struct SweepRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a plan's points (simrun sweep PLAN is short for simrun sweep run PLAN).",
        discussion: """
            Writes DIR/points.tsv as points finish (a second run of the same command skips them), then results.csv, \
            results.json, summary.md and sweep.html. --shard I/N runs every N-th point starting at I (0 <= I < N); \
            `simrun sweep merge` joins the shards. Exit status: 0 done, 1 bad input, 2 the sweep failed.
            """)
    @Argument(help: "Plan XML file (plans/plan.xsd).") var plan: String
    @Option(help: "Points run in parallel.") var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "tlp, flow or auto (flow where the flow model claims its answer, else tlp).") var mode: SimulationMode = .auto
    @Option(help: "Run a seeded sample of this many points instead of the whole grid.") var sample: Int?
    @Option(help: "Seed of the sample.") var seed: UInt64 = 1
    @Option(help: "Run one deterministic slice: I/N.") var shard: String?
    @Option(help: "Results folder (default: reports/sweeps/PLAN).") var out: String?
    @OptionGroup(title: "Work limits (per point)") var workLimits: WorkLimitOptions

    func run() throws {
        var runner = try loadPlan(plan, mode: mode)
        runner.limits = try workLimits.limits()
        var selection = SweepSelection(sample: sample, seed: seed)
        if let s = sample, s < 1 { printError("error: --sample must be at least 1"); throw ExitCode(1) }
        if jobs < 1 { printError("error: --jobs must be at least 1"); throw ExitCode(1) }
        if let shard {
            let parts = shard.split(separator: "/")
            guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else {
                printError("error: --shard '\(shard)' is not I/N with 0 <= I < N"); throw ExitCode(1)
            }
            selection.shard = (i, n)
        }
        let folder = out ?? "reports/sweeps/\(URL(fileURLWithPath: plan).deletingPathExtension().lastPathComponent)"
        let opened = Result { () throws(SweepError) in try SweepJournalWriter.open(folder, plan: runner.plan, selection: selection, mode: mode) }
        guard case .success(let (journal, done)) = opened else {
            guard case .failure(let e) = opened else { throw ExitCode(1) }
            printError(e.description)
            throw ExitCode(e.isWriteFailure ? 2 : 1)
        }
        let points = selection.shardPoints(gridSize: runner.plan.gridSize)
        let finished = Set(done.map(\.point))
        let pending = points.filter { !finished.contains($0) }
        let collected = RowBox(done.filter { Set(points).contains($0.point) })
        let progress = ProgressBar(total: points.count)
        runner.run(pending, jobs: jobs) { row in
            journal.append(row)
            let n = collected.add(row)
            progress.update(n, points.count, unit: "points")
        }
        progress.finish()
        journal.close()
        if let failure = journal.failure {
            printError("error: \(folder)/\(SweepJournal.fileName): \(failure); \(journal.written) points were journaled, run the same command again to resume")
            throw ExitCode(2)
        }
        let results = SweepResults(runner: runner, selection: selection, rows: collected.rows)
        try writeSweepFiles(results, to: folder)
        let failed = results.rows.filter { $0.error != nil }.count
        print("\(runner.plan.name): \(results.rows.count) points (\(pending.count) run now, \(points.count - pending.count) from an earlier run), "
              + "\(results.rows.filter { results.ok($0) }.count) meet every constraint\(failed > 0 ? ", \(failed) could not be run" : "")")
        print("results: \(folder)/results.csv, results.json, summary.md, sweep.html (\(SweepResults.manifestName) lists the set)")
    }
}

struct SweepMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join shard folders of one sweep into the files a single run writes.")
    @Argument(help: "Shard results folders (each with points.tsv).") var folders: [String]
    @Option(help: "The plan the shards ran (to name axes and metrics).") var plan: String
    @Option(help: "Merged results folder.") var out: String

    func run() throws {
        guard !folders.isEmpty else { printError("error: give the shard folders"); throw ExitCode(1) }
        var headers: [SweepJournal.Header] = []
        var rows: [Int: SweepRow] = [:]
        for f in folders {
            let read = Result { () throws(SweepError) in try SweepJournal.read(f) }
            guard case .success(let got) = read, let (header, shardRows) = got else {
                if case .failure(let e) = read { printError(e.description) } else { printError("error: \(f): no \(SweepJournal.fileName)") }
                throw ExitCode(1)
            }
            headers.append(header)
            for r in shardRows where rows[r.point] == nil { rows[r.point] = r }
        }
        let first = headers[0]
        guard let mode = SimulationMode(rawValue: first.mode) else { printError("error: \(folders[0]): unknown mode \(first.mode)"); throw ExitCode(1) }
        let runner = try loadPlan(plan, mode: mode)
        for (h, f) in zip(headers, folders) where h.digest != runner.plan.digest || h.selection != first.selection || h.mode != first.mode {
            printError("error: \(f) holds another sweep (\(h.plan), \(h.selection), mode \(h.mode)) than \(plan) (\(first.selection), mode \(first.mode))")
            throw ExitCode(1)
        }
        let shards = headers.map(\.shard)
        let counts = Set(shards.compactMap { $0.split(separator: "/").last.flatMap { Int($0) } })
        guard counts.count == 1, let n = counts.first, Set(shards) == Set((0..<n).map { "\($0)/\(n)" }) else {
            printError("error: the folders hold shards \(shards.joined(separator: ", ")); merge needs every shard I/N of one N exactly once")
            throw ExitCode(1)
        }
        var selection = SweepSelection(seed: 1)
        let parts = first.selection.split(separator: " ")
        if parts.count == 4, parts[0] == "sample", let k = Int(parts[1]), let s = UInt64(parts[3]) { selection = SweepSelection(sample: k, seed: s) }
        let expected = selection.points(gridSize: runner.plan.gridSize)
        let missing = expected.filter { rows[$0] == nil }
        guard missing.isEmpty else {
            printError("error: \(missing.count) points are missing from the shards (first: \(missing.prefix(5).map(String.init).joined(separator: ", "))); run those shards again")
            throw ExitCode(2)
        }
        let results = SweepResults(runner: runner, selection: selection, rows: expected.map { rows[$0]! })
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            printError("error: \(out): \(error.localizedDescription)"); throw ExitCode(2)
        }
        try writeSweepFiles(results, to: out)
        print("merged \(folders.count) shards: \(results.rows.count) points -> \(out)/results.csv, results.json, summary.md, sweep.html")
    }
}

final class RowBox: @unchecked Sendable {
    private(set) var rows: [SweepRow]
    private let lock = NSLock()
    init(_ rows: [SweepRow]) { self.rows = rows }
    var count: Int { lock.lock(); defer { lock.unlock() }; return rows.count }
    func add(_ r: SweepRow) -> Int { lock.lock(); defer { lock.unlock() }; rows.append(r); return rows.count }
}
