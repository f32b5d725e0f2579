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
func writeAtomically(_ text: String, to path: String, failureStatus: Int32 = 1) throws {
    if let reason = AtomicFile.write(text, to: path) {
        printError("\(path): error: cannot write: \(reason)")
        throw ExitCode(failureStatus)
    }
}

/// The work budget flags (issue #19, docs/SECURITY.md): defaults a normal run never meets.
struct WorkLimitOptions: ParsableArguments {
    @Option(help: "Simulated events one phase may handle (default 1000000000).") var maxEvents: Int?
    @Option(help: "Simulated time one phase may reach (default 3600s; e.g. 7200s).") var maxSimTime: String?
    @Option(help: "Phases one scenario may have (default 100000).") var maxPhases: Int?
    @Option(help: "DMA operations one phase may have (default 100000).") var maxFlows: Int?
    @Option(help: "Lines an ftrace capture may have (default 5000000).") var maxTraceLines: Int?

    /// The limits, or exit 1 with every bad flag named.
    func limits() throws -> WorkLimits {
        var l = WorkLimits()
        var problems: [String] = []
        func positive(_ v: Int?, _ name: String, _ set: (Int) -> Void) {
            guard let v else { return }
            if v < 1 { problems.append("--\(name) must be at least 1") } else { set(v) }
        }
        positive(maxEvents, "max-events") { l.maxEvents = $0 }
        positive(maxPhases, "max-phases") { l.maxPhases = $0 }
        positive(maxFlows, "max-flows") { l.maxFlows = $0 }
        positive(maxTraceLines, "max-trace-lines") { l.maxTraceLines = $0 }
        if let maxSimTime {
            switch Duration.parseChecked(maxSimTime) {
            case .success(let t) where t > 0: l.maxSimulatedTime = t
            case .success: problems.append("--max-sim-time must be more than 0")
            case .failure(let why): problems.append(why.message(attribute: "--max-sim-time", value: maxSimTime, expected: "a time (e.g. 7200s)"))
            }
        }
        if !problems.isEmpty {
            for p in problems { printError("error: " + p) }
            throw ExitCode(1)
        }
        return l
    }
}

/// `--cmdline` and `--append-cmdline`: the kernel command line a command boots the machine with. The semantics
/// layer reads it as Linux does (ACS parameters, and the IOMMU mode: `intel_iommu=`, `amd_iommu=`, `iommu=pt`,
/// `iommu.passthrough=`, `iommu.strict=`).
struct KernelLineOptions: ParsableArguments {
    @Option(help: "Kernel command line (replaces the topology's <kernel cmdline>).") var cmdline: String?
    @Option(help: "Options appended to the topology's kernel command line (or to --cmdline's).") var appendCmdline: String?
    @Option(help: ArgumentHelp("Kernel version whose rules to boot with (replaces the topology's <kernel version>): \(KernelVersion.knownList), or a uname -r string.", valueName: "version"),
            transform: parseKernelVersion)
    var kernel: KernelVersion?

    /// The kernel to boot with; nil keeps the topology's `<kernel>`.
    func kernel(_ loaded: LoadedTopology) -> KernelConfiguration? {
        guard cmdline != nil || appendCmdline != nil || kernel != nil else { return nil }
        var k = cmdline.map { KernelConfiguration(commandLine: $0, version: loaded.topology.kernel.version) } ?? loaded.topology.kernel
        if let appendCmdline { k = k.appending(appendCmdline) }
        if let kernel { k.version = kernel }
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

/// `--kernel VERSION`: a release the version table knows (`5.15`, `6.12.57+deb13-amd64`) or `mainline`; anything
/// else is bad input naming the known versions.
@Sendable func parseKernelVersion(_ text: String) throws -> KernelVersion {
    switch KernelVersion.parse(text) {
    case .success(let v): return v
    case .failure(let why): throw ValidationError(why.description)
    }
}

/// Prints the command line's contradictions with the machine (`intel_iommu=on` on an AMD machine) as warnings.
func reportBootWarnings(_ semantics: Semantics, file: String) {
    for w in semantics.warnings { printError("\(file): warning: \(w)") }
}

/// Where a file shipped with the repository (`conformance/cases`, `fidelity/suite.xml`) is, from any working
/// directory: `$PCIESIM_ROOT/PATH` when the variable is set, else PATH itself when it exists relative to the
/// working directory, else PATH under the nearest folder above the simrun executable that holds it (the checkout
/// `swift build` ran in: `.build/debug/simrun` sits three levels below it). Falls back to PATH unchanged, so the
/// error names what was looked for.
func shippedPath(_ relative: String) -> String {
    let fm = FileManager.default
    if let root = ProcessInfo.processInfo.environment["PCIESIM_ROOT"], !root.isEmpty {
        return URL(fileURLWithPath: root).appendingPathComponent(relative).path
    }
    if fm.fileExists(atPath: relative) { return relative }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    if !CommandLine.arguments[0].contains("/"), let found = executableOnPath() { dir = found.deletingLastPathComponent() }
    for _ in 0..<8 {
        let candidate = dir.appendingPathComponent(relative).path
        if fm.fileExists(atPath: candidate) { return candidate }
        let parent = dir.deletingLastPathComponent()
        if parent.path == dir.path { break }
        dir = parent
    }
    return relative
}

/// The simrun found on $PATH (when started by bare name).
private func executableOnPath() -> URL? {
    for d in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let u = URL(fileURLWithPath: String(d)).appendingPathComponent(CommandLine.arguments[0])
        if FileManager.default.isExecutableFile(atPath: u.path) { return u.resolvingSymlinksInPath() }
    }
    return nil
}
