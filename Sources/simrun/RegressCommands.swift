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
        abstract: "What differs between two machines, or one machine under two kernels: devices, links, ACS, IOMMU groups, p2p matrix cells with the reason, and every input that moves a number (kernel line, CPUs, socket links, IOMMUs, root complexes, tuning); exit 1 when P2P or a number is affected.",
        discussion: """
            With --kernel twice (simrun diff A.xml --kernel 5.15 --kernel 6.12) the one machine boots under each \
            kernel version: every IOMMU group, ACS control, p2p cell, p2pdma warning line and boot line that differs \
            is listed with the kernel rule and upstream commit that explains it (docs/SEMANTICS.md); exit 1 when P2P \
            or isolation (a group, an ACS control, a p2p cell) is affected, 0 when only warning or log lines differ \
            or nothing does. With two files and one --kernel, both boot under that version.
            """)

    @Argument(help: "The machine before.") var before: String
    @Argument(help: "The machine after (leave out with --kernel given twice: the same machine).") var after: String?
    @Option(name: .customLong("kernel"), parsing: .singleValue,
            help: ArgumentHelp("Kernel version to boot with; twice: before and after (\(KernelVersion.knownList), or a uname -r string).", valueName: "version"),
            transform: parseKernelVersion)
    var kernels: [KernelVersion] = []
    @Option(help: "Kernel command line for both boots (replaces the topologies' <kernel cmdline>).") var cmdline: String?
    @Option(help: "text or json") var format: OutputFormat = .text

    func run() throws {
        func load(_ path: String) throws -> LoadedTopology {
            switch Result(catching: { () throws(DiagnosticError) in try LoadedTopology.load(path: path) }) {
            case .success(let l): return l
            case .failure(let e): report(e.diagnostics); throw ExitCode(2)
            }
        }
        guard kernels.count <= 2 else { throw ValidationError("--kernel is given at most twice (before and after)") }
        if after == nil, kernels.count != 2 {
            throw ValidationError("give two machines, or one machine and --kernel twice (e.g. --kernel 5.15 --kernel 6.12)")
        }
        let la = try load(before)
        let lb = try after.map(load) ?? la
        func boot(_ l: LoadedTopology, _ version: KernelVersion?) -> Semantics {
            guard version != nil || cmdline != nil else { return Semantics(l) }
            var options = SemanticsOptions()
            options.kernel = KernelConfiguration(commandLine: cmdline ?? l.topology.kernel.commandLine,
                                                 version: version ?? l.topology.kernel.version)
            return Semantics(l, options: options)
        }
        let sa = boot(la, kernels.first)
        let sb = boot(lb, kernels.count == 2 ? kernels[1] : kernels.first)
        let versions = kernels.count == 2
        let changes = versions ? KernelDiff.changes(sa, sb) : MachineFacts(sa).changes(to: MachineFacts(sb))
        let matters: (MachineChange) -> Bool = versions ? { $0.affectsP2P } : { $0.matters }
        let title = versions ? "\(before): kernel \(kernels[0]) -> \(kernels[1])" : nil
        switch format {
        case .text:
            if let title { print(title) }
            if changes.isEmpty {
                print(versions ? "no differences" : "no differences that change P2P or a simulated number")
            } else if !changes.contains(where: matters) {
                print(versions ? "no differences in groups, ACS or P2P" : "no differences that change P2P or a simulated number")
            }
            for c in changes {
                print("\(c.kind): \(c.text)")
                for r in c.rules { print("  rule \(r.rule.rawValue) (\(r.versions); \(r.commits.joined(separator: "; ")))") }
            }
        case .json:
            var fields: [(String, JSON)] = [("before", .string(before)), ("after", .string(after ?? before))]
            if versions { fields += [("kernel_before", .string(kernels[0].rawValue)), ("kernel_after", .string(kernels[1].rawValue))] }
            fields += [
                ("affects_p2p", .bool(changes.contains { $0.affectsP2P })), ("moves_numbers", .bool(changes.contains { $0.movesNumbers })),
                ("changes", .array(changes.map { c in
                    .object([("kind", .string(c.kind)), ("device", .string(c.device)),
                             ("text", .string(c.text)), ("affects_p2p", .bool(c.affectsP2P)),
                             ("moves_numbers", .bool(c.movesNumbers)),
                             ("rules", .array(c.rules.map { r in
                                 .object([("rule", .string(r.rule.rawValue)), ("versions", .string(r.versions)),
                                          ("commits", .array(r.commits.map { .string($0) })), ("file", .string(r.file))])
                             }))])
                })),
            ]
            print(JSON.object(fields).serialized())
        }
        if changes.contains(where: matters) { throw ExitCode(1) }
    }
}
