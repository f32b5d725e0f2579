// simrun conformance: run the conformance case files and print a pass/fail table.
import ArgumentParser
import Foundation
import Scenarios
import Sim

struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Run conformance cases (files) against the simulated backend, or compare predicted IOMMU groups with a real machine's.")

    enum Backend: String, ExpressibleByArgument { case simulated, sysfs }

    @Argument(help: "Case files or folders (default: the shipped conformance/cases, found from any working directory; $PCIESIM_ROOT overrides).") var paths: [String] = []
    @Option(help: "simulated: every expectation of every case; sysfs: import this machine and compare groups with the kernel's.") var backend: Backend = .simulated
    @Option(help: "With --backend sysfs: the sysfs root to read (default /).") var root: String = "/"
    @Option(help: "Output format: text (the table) or json (every check).") var format: OutputFormat = .text
    @Option(help: ArgumentHelp("Run only the cases (or case instances) for this kernel version; a case without <kernel version> is mainline's (\(KernelVersion.knownList)).", valueName: "version"),
            transform: parseKernelVersion)
    var kernel: KernelVersion?

    func run() throws {
        switch backend {
        case .simulated:
            var files: [String] = []
            for p in paths.isEmpty ? [shippedPath("conformance/cases")] : paths {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
                    let list = (try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []
                    files += list.filter { $0.hasSuffix(".xml") }.sorted().map { p + "/" + $0 }
                } else {
                    files.append(p)
                }
            }
            guard !files.isEmpty else { throw ValidationError("no case files found") }
            var checks: [ConformanceCheck] = []
            var bad = false
            for f in files {
                switch Result(catching: { () throws(DiagnosticError) in try ConformanceCase.read(path: f) }) {
                case .success(let c): checks += ConformanceRunner.run(c, only: kernel)
                case .failure(let e):
                    report(e.diagnostics)
                    bad = true
                }
            }
            switch format {
            case .text: print(ConformanceRunner.table(checks), terminator: "")
            case .json:
                print(JSON.object([
                    ("passed", .int(Int64(checks.filter { $0.verdict == .pass }.count))),
                    ("failed", .int(Int64(checks.filter { $0.verdict == .fail }.count))),
                    ("checks", .array(checks.map { c in
                        .object([("case", .string(c.caseID)), ("file", .string(c.file)), ("line", .int(Int64(c.line))), ("what", .string(c.what)),
                                 ("verdict", .string(c.verdict.rawValue)), ("detail", .string(c.detail))])
                    })),
                ]).serialized())
            }
            if bad { throw ExitCode(2) }
            if checks.contains(where: { $0.verdict == .fail }) { throw ExitCode(1) }
        case .sysfs:
            try runSysfs()
        }
    }
}
