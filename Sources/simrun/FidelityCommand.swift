// simrun fidelity [SUITE]: the fidelity suite, published hardware measurements against the simulator's figures.
import ArgumentParser
import Foundation
import Scenarios
import Sim

struct FidelityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fidelity",
        abstract: "Published hardware measurements against the simulator: case, metric, published, simulated, error, within band; exit 0 (every case as expected), 1 (a case left its band), 2 (bad input or a run failed).",
        discussion: """
            SUITE defaults to fidelity/suite.xml. Prints one row per case and ends with `N of M within band`; \
            --out writes fidelity.json, fidelity.md and fidelity.html (a simulated-vs-published plot) into a folder. \
            A case marked <outside-band> is expected outside; one that comes back within band fails too (remove the \
            mark). docs/FIDELITY.md describes the suite and how each default was derived.
            """)

    @Argument(help: "Fidelity suite XML file (default: the shipped fidelity/suite.xml, found from any working directory).") var suite: String = shippedPath("fidelity/suite.xml")
    @Option(help: "Run only cases whose id contains this (or matches it, with *).") var filter: String?
    @Option(help: "Runs in parallel (default: the cores).") var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Write fidelity.json, fidelity.md and fidelity.html into this folder.") var out: String?
    @Option(help: "Terminal output: text (the table) or json.") var format: OutputFormat = .text

    func run() throws {
        guard jobs >= 1 else { printError("error: --jobs must be at least 1"); throw ExitCode(2) }
        let loaded = Result { () throws(DiagnosticError) in try FidelitySuite.read(path: suite) }
        guard case .success(let s) = loaded else {
            if case .failure(let e) = loaded { report(e.diagnostics) }
            throw ExitCode(2)
        }
        let progress = ProgressBar(total: s.cases.count)
        let results = FidelityRunner.run(s, filter: filter, jobs: jobs) { done, total in progress.update(done, total, unit: "runs") }
        progress.finish()
        if results.isEmpty { printError("error: no case of \(suite) matches --filter \(filter ?? "")"); throw ExitCode(2) }
        let fidelity = FidelityReport(suite: s, results: results)
        if let out {
            let files = [(name: "fidelity.json", contents: fidelity.json.serialized() + "\n"),
                         (name: "fidelity.md", contents: fidelity.markdown()),
                         (name: "fidelity.html", contents: fidelity.html())]
            if case .failure(let e) = Result(catching: { () throws(ScenarioError) in try ReportWriter.write(files, to: out) }) {
                for p in e.problems { printError("error: " + p) }
                throw ExitCode(2)
            }
        }
        print(format == .text ? fidelity.table() : fidelity.json.serialized(), terminator: format == .text ? "" : "\n")
        if results.contains(where: { $0.verdict == .error }) { throw ExitCode(2) }
        if results.contains(where: \.fails) { throw ExitCode(1) }
    }
}
