// simrun regress SUITE and simrun diff A.xml B.xml: the CI gate of a platform, BIOS or driver project.
import ArgumentParser
import Foundation
import Scenarios
import Sim

struct RegressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regress",
        abstract: "Run a regression suite: expectations and baselines; a table, JUnit XML, exit 0 (pass), 1 (a case failed), 2 (bad input).",
        discussion: "docs/REGRESSION.md describes suite files, baselines and how to wire this into GitHub Actions or GitLab CI.")

    @Argument(help: "Suite XML file.") var suite: String
    @Option(help: "Cases run in parallel (default: the cores).") var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Run only cases whose name contains this (or matches it, with *).") var filter: String?
    @Option(help: "Write JUnit XML here.") var junit: String?
    @Flag(help: "Rewrite every case's baseline from this run (stable order and formatting).") var updateBaselines = false
    @Option(help: "Terminal output: text (the table) or json (every case with its failures).") var format: OutputFormat = .text

    func run() throws {
        guard jobs >= 1 else { printError("error: --jobs must be at least 1"); throw ExitCode(2) }
        let loaded = Result { () throws(DiagnosticError) in try Suite.read(path: suite) }
        guard case .success(let s) = loaded else {
            if case .failure(let e) = loaded { report(e.diagnostics) }
            throw ExitCode(2)
        }
        let cases = Regression.selected(s, filter)
        if cases.isEmpty { printError("error: no case of \(suite) matches --filter \(filter ?? "")"); throw ExitCode(2) }
        let progress = ProgressBar(total: cases.count)
        let results = Regression.run(s, RegressionOptions(jobs: jobs, filter: filter, updateBaselines: updateBaselines)) { done, total in
            progress.update(done, total, unit: "cases")
        }
        progress.finish()
        switch format {
        case .text: print(Regression.table(results), terminator: "")
        case .json:
            print(JSON.object([
                ("suite", .string(suite)), ("passed", .int(Int64(results.filter { $0.verdict == .pass }.count))),
                ("failed", .int(Int64(results.filter { $0.verdict != .pass }.count))),
                ("cases", .array(results.map { r in
                    .object([("name", .string(r.name)), ("verdict", .string(r.verdict.rawValue)), ("figure", .string(r.figure)),
                             ("change", .string(r.change)), ("failures", .array(r.failures.map { .string($0) }))])
                })),
            ]).serialized())
        }
        if let junit { try writeAtomically(Regression.junit(s, results), to: junit, failureStatus: 2) }
        if results.contains(where: { $0.verdict == .error }) { throw ExitCode(2) }
        if results.contains(where: { $0.verdict == .fail }) { throw ExitCode(1) }
    }
}

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What differs between two machines: devices, links, ACS, IOMMU groups, p2p matrix cells with the reason, and every input that moves a number (kernel line, CPUs, socket links, IOMMUs, root complexes, tuning); exit 1 when P2P or a number is affected.")

    @Argument(help: "The machine before.") var before: String
    @Argument(help: "The machine after.") var after: String
    @Option(help: "text or json") var format: OutputFormat = .text

    func run() throws {
        func load(_ path: String) throws -> LoadedTopology {
            switch Result(catching: { () throws(DiagnosticError) in try LoadedTopology.load(path: path) }) {
            case .success(let l): return l
            case .failure(let e): report(e.diagnostics); throw ExitCode(2)
            }
        }
        let a = MachineFacts(Semantics(try load(before)))
        let b = MachineFacts(Semantics(try load(after)))
        let changes = a.changes(to: b)
        switch format {
        case .text:
            if !changes.contains(where: \.matters) { print("no differences that change P2P or a simulated number") }
            for c in changes { print("\(c.kind): \(c.text)") }
        case .json:
            print(JSON.object([
                ("before", .string(before)), ("after", .string(after)),
                ("affects_p2p", .bool(changes.contains { $0.affectsP2P })), ("moves_numbers", .bool(changes.contains { $0.movesNumbers })),
                ("changes", .array(changes.map { .object([("kind", .string($0.kind)), ("device", .string($0.device)),
                                                          ("text", .string($0.text)), ("affects_p2p", .bool($0.affectsP2P)),
                                                          ("moves_numbers", .bool($0.movesNumbers))]) })),
            ]).serialized())
        }
        if changes.contains(where: \.matters) { throw ExitCode(1) }
    }
}
