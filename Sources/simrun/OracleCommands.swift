// simrun export qemu, simrun oracle compare / extract-sysfs: the kernel oracle's command line (docs/ORACLE.md).
import ArgumentParser
import Foundation
import Sim

/// `simrun export qemu TOPOLOGY`: the QEMU command line of a machine, as a shell script.
struct ExportQEMU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qemu",
        abstract: "Write the QEMU 7.2 (q35) command line of a machine as a shell script; approximations are listed.",
        discussion: """
            Errors name what QEMU cannot build (exit 1); approximations (QEMU's IDs, ACS capabilities, BAR layout) \
            are listed as comments in the script and as warnings on standard error. Arguments given to the script \
            are appended to the QEMU command.
            """)

    @Argument(help: "Topology XML file.") var file: String
    @Option(help: "Guest kernel (-kernel); -initrd and -append are written only with it.") var kernel: String?
    @Option(help: "Initramfs (-initrd).") var initrd: String?
    @Option(help: "Kernel command line (default: the topology's <kernel cmdline>).") var cmdline: String?
    @Option(help: "Arguments put before the command line in -append, e.g. 'console=ttyS0 panic=-1'.") var console = ""
    @Option(help: "Accelerator: tcg or kvm.") var accel: QEMUExportOptions.Accelerator = .tcg
    @Option(help: "Guest memory (-m).") var memory = "512M"
    @Option(help: "A -serial back end (repeat for each port), e.g. file:console.log.") var serial: [String] = []
    @Flag(help: "Treat approximations as errors.") var strict = false
    @Option(name: [.customShort("o"), .customLong("out")], help: "Output file (default: standard output).") var out: String?
    /// `--output`, the spelling before `--out` was the one for every command (hidden, kept for old scripts).
    @Option(name: .customLong("output"), help: .hidden) var outputAlias: String?
    var output: String? { out ?? outputAlias }

    func run() throws {
        let loaded = try loadTopology(file)
        let options = QEMUExportOptions(accelerator: accel, memory: memory, kernel: kernel, initrd: initrd, commandLine: cmdline,
                                        consoleArguments: console, serial: serial)
        let machine: QEMUMachine
        switch Result(catching: { () throws(DiagnosticError) in try QEMUExport.machine(loaded, options: options) }) {
        case .success(let m): machine = m
        case .failure(let error):
            report(error.diagnostics)
            throw ExitCode(1)
        }
        if strict, !machine.approximations.isEmpty {
            report(machine.approximations.map { var d = $0; d.severity = .error; return d })
            throw ExitCode(1)
        }
        report(machine.approximations)
        if let output {
            try writeAtomically(machine.script, to: output)
            chmod(output, 0o755)
        } else {
            print(machine.script, terminator: "")
        }
    }
}

extension QEMUExportOptions.Accelerator: ExpressibleByArgument {}
extension OracleComparisonOptions.GroupCheck: ExpressibleByArgument {}

/// `simrun oracle ...`: the kernel oracle's comparison side.
struct Oracle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oracle",
        abstract: "Compare what a real Linux kernel under QEMU reported with the simulator (scripts/oracle/run.sh boots it).",
        subcommands: [OracleCompare.self, OracleExtractSysfs.self, OracleCompareImport.self])
}

/// `simrun oracle compare --topology T.xml GUEST_OUTPUT.txt`.
struct OracleCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare a guest's report with the simulator: IOMMU groups, ACS after boot, IDs, log lines (exit 1 on a mismatch).",
        discussion: """
            The simulator boots the machine as QEMU builds it (simrun export qemu's approximations applied) with \
            the guest's command line (less console=, panic=, loglevel=) and the guest kernel's rules (6.1.* follows \
            Linux 6.1). Every device is printed with both sides; each mismatch names both.
            """)

    @Option(help: "Topology XML file the guest was exported from.") var topology: String
    @Option(help: "Kernel command line for the simulator (default: the guest's).") var cmdline: String?
    @Option(help: "Kernel rules: mainline or 6.1 (default: from the guest's release).") var kernelVersion: String?
    @Option(help: "Group check: numbers (each device's group number) or partition (who shares a group).")
    var groups: OracleComparisonOptions.GroupCheck = .numbers
    @Flag(help: "Also compare p2pmem (the guest kernel has CONFIG_PCI_P2PDMA).") var p2pmem = false
    @Flag(help: "Do not compare the kernel's log lines about ACS and IOMMU groups.") var noLog = false
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @Argument(help: "The guest's output (its second serial port).") var guestOutput: String

    func run() throws {
        let loaded = try loadTopology(topology)
        let machine: QEMUMachine
        switch Result(catching: { () throws(DiagnosticError) in try QEMUExport.machine(loaded) }) {
        case .success(let m): machine = m
        case .failure(let error):
            report(error.diagnostics)
            throw ExitCode(2)
        }
        if !machine.approximations.isEmpty {
            printError("\(topology): note: compared with the machine as QEMU builds it (\(machine.approximations.count) approximations; simrun export qemu lists them)")
        }
        let expected: LoadedTopology
        switch Result(catching: { () throws(DiagnosticError) in try LoadedTopology(topology: machine.guestTopology) }) {
        case .success(let l): expected = l
        case .failure(let error):
            report(error.diagnostics)
            throw ExitCode(2)
        }
        let guest = try readGuest(guestOutput)
        var version: KernelVersion?
        if let kernelVersion {
            guard let v = KernelVersion(parsing: kernelVersion) else { throw ValidationError("--kernel-version: \(KernelVersionError(text: kernelVersion))") }
            version = v
        }
        let options = OracleComparisonOptions(groups: groups, p2pmem: p2pmem, kernelLog: !noLog, commandLine: cmdline, kernelVersion: version)
        let comparison = OracleComparison(expected: expected, guest: guest, options: options)
        switch format {
        case .text: print(comparison.text, terminator: "")
        case .json: print(comparison.json.serialized())
        }
        if !comparison.matches { throw ExitCode(1) }
    }
}

/// `simrun oracle extract-sysfs GUEST_OUTPUT.txt -o sysfs.tar.gz`: the guest's PCI sysfs files as a tarball.
struct OracleExtractSysfs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract-sysfs",
        abstract: "Write the sysfs archive a guest sent (its /sys/bus/pci/devices, /sys/devices/pci*, IOMMU groups) as a .tar.gz.")

    @Argument(help: "The guest's output.") var guestOutput: String
    @Option(name: [.customShort("o"), .customLong("out")], help: "Output .tar.gz file.") var out: String?
    @Option(name: .customLong("output"), help: .hidden) var outputAlias: String?
    var output: String { out ?? outputAlias ?? "" }
    func validate() throws { if out == nil && outputAlias == nil { throw ValidationError("give the output file with --out FILE") } }

    func run() throws {
        let guest = try readGuest(guestOutput)
        guard let text = guest.sysfsArchiveBase64 else {
            printError("\(guestOutput): error: the guest sent no sysfs archive (no SYSFS-BEGIN ... SYSFS-END)")
            throw ExitCode(1)
        }
        guard let data = Data(base64Encoded: text) else {
            printError("\(guestOutput): error: the sysfs archive is not valid base64 (the serial line corrupted it?)")
            throw ExitCode(1)
        }
        if let reason = AtomicFile.write(data, to: output) {
            printError("\(output): error: cannot write: \(reason)")
            throw ExitCode(1)
        }
    }
}

/// `simrun oracle compare-import --topology T.xml --guest GUEST.txt IMPORTED.xml`: the guest's sysfs, imported,
/// gives back the machine that was booted.
struct OracleCompareImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare-import",
        abstract: "Compare `simrun import sysfs` of a guest's sysfs with the machine QEMU booted: functions, IDs, kinds, parents, ACS capability, IOMMU groups (exit 1 on a mismatch).")

    @Option(help: "Topology XML file the guest was exported from.") var topology: String
    @Option(help: "The guest's report: its IOMMU groups are what the imported groups must say.") var guest: String?
    @Argument(help: "The topology simrun import sysfs wrote from the guest's sysfs.") var imported: String

    func run() throws {
        let loaded = try loadTopology(topology)
        let booted = Result { () throws(DiagnosticError) -> LoadedTopology in
            try LoadedTopology(topology: try QEMUExport.machine(loaded).guestTopology)
        }
        guard case .success(let expected) = booted else {
            if case .failure(let e) = booted { report(e.diagnostics) }
            throw ExitCode(2)
        }
        let back = try loadTopology(imported)
        var groups: [BDF: Int] = [:]
        if let guest { for d in try readGuest(guest).devices { if let g = d.group { groups[d.bdf] = g } } }
        let mismatches = GuestImportComparison.compare(expected: expected, imported: back, groups: groups)
        let n = expected.enumeration.functions.filter { $0.physicalFunction == nil }.count
        if mismatches.isEmpty {
            print("import: the guest's sysfs imports back to the booted machine (\(n) functions\(groups.isEmpty ? "" : ", IOMMU groups included"))")
        } else {
            for m in mismatches { print("mismatch \(m)") }
            throw ExitCode(1)
        }
    }
}

/// Reads and parses a guest's output, printing its problems; exits 2 (bad input) when it has errors.
func readGuest(_ path: String) throws -> GuestReport {
    let text: String
    // A regular file of at most 64 MiB (a FIFO would block); lenient decoding: a serial line may carry stray bytes
    // around the report.
    switch Result(catching: { () throws(DiagnosticError) in try SafeXML.readFile(path) }) {
    case .success(let bytes): text = String(decoding: bytes, as: UTF8.self)
    case .failure(let error):
        report(error.diagnostics)
        throw ExitCode(2)
    }
    switch Result(catching: { () throws(DiagnosticError) in try GuestReport.parse(text, file: path) }) {
    case .success(let r): return r
    case .failure(let error):
        report(error.diagnostics)
        throw ExitCode(2)
    }
}
