// Shared CLI plumbing: output formats, diagnostics to stderr, exit codes, atomic file writes.
import ArgumentParser
import Foundation
import Sim

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Writes to standard error.
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// Prints every diagnostic to stderr in `file:line: severity: message` form.
func report(_ diagnostics: [Diagnostic]) {
    for d in diagnostics { printError(d.description) }
}

/// Loads a topology file, printing its problems; exits 1 (bad input) when it has errors.
func loadTopology(_ path: String) throws -> LoadedTopology {
    switch Result(catching: { () throws(DiagnosticError) in try LoadedTopology.load(path: path) }) {
    case .success(let loaded):
        report(loaded.warnings)
        return loaded
    case .failure(let error):
        report(error.diagnostics)
        throw ExitCode(1)
    }
}

/// Writes a file atomically (temporary file then rename(2): AtomicFile), so a failed run never leaves half a file.
func writeAtomically(_ text: String, to path: String) throws {
    if let reason = AtomicFile.write(text, to: path) {
        printError("\(path): error: cannot write: \(reason)")
        throw ExitCode(1)
    }
}

/// `--cmdline` and `--append-cmdline`: the kernel command line a command boots the machine with. The semantics
/// layer reads it as Linux does (ACS parameters, and the IOMMU mode: `intel_iommu=`, `amd_iommu=`, `iommu=pt`,
/// `iommu.passthrough=`, `iommu.strict=`).
struct KernelLineOptions: ParsableArguments {
    @Option(help: "Kernel command line (replaces the topology's <kernel cmdline>).") var cmdline: String?
    @Option(help: "Options appended to the topology's kernel command line (or to --cmdline's).") var appendCmdline: String?

    /// The kernel to boot with; nil keeps the topology's `<kernel>`.
    func kernel(_ loaded: LoadedTopology) -> KernelConfiguration? {
        guard cmdline != nil || appendCmdline != nil else { return nil }
        var k = cmdline.map { KernelConfiguration(commandLine: $0, version: loaded.topology.kernel.version) } ?? loaded.topology.kernel
        if let appendCmdline { k = k.appending(appendCmdline) }
        return k
    }

    func semantics(_ loaded: LoadedTopology) -> SemanticsOptions {
        var o = SemanticsOptions()
        o.kernel = kernel(loaded)
        return o
    }

    /// Boots the machine with this line and prints where the line contradicts the machine.
    func boot(_ loaded: LoadedTopology, file: String) -> Semantics {
        let semantics = Semantics(loaded, options: semantics(loaded))
        reportBootWarnings(semantics, file: file)
        return semantics
    }
}

/// Prints the command line's contradictions with the machine (`intel_iommu=on` on an AMD machine) as warnings.
func reportBootWarnings(_ semantics: Semantics, file: String) {
    for w in semantics.warnings { printError("\(file): warning: \(w)") }
}
