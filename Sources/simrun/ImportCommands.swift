// simrun import sysfs|lspci|hwloc|nccl and simrun export nccl: thin commands over Sim's importers.
import ArgumentParser
import Foundation
import Sim

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a real machine as topology XML; sources and assumptions are recorded in the file.",
        discussion: "simrun import FILE detects the format by content (a sysfs folder, lspci text, hwloc XML, NCCL XML).",
        subcommands: [ImportAuto.self, ImportSysfs.self, ImportLspci.self, ImportHwloc.self, ImportNCCL.self],
        defaultSubcommand: ImportAuto.self)
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a topology in another tool's format.",
        subcommands: [ExportNCCL.self, ExportQEMU.self])
}

/// Options every importer takes.
struct ImportCommonOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .customLong("out")], help: "Output file, written atomically (default: standard output).") var out: String?
    /// `--output`, the spelling before `--out` was the one for every command (hidden, kept for old scripts).
    @Option(name: .customLong("output"), help: .hidden) var outputAlias: String?
    var output: String? { out ?? outputAlias }
    @Option(help: "Topology name (default: imported-<format>).") var name: String?
    @Option(help: "Trained links: 'current' writes LnkSta below LnkCap as trained-gen/trained-width; 'capability' uses LnkCap only (idle GPUs slow their links).")
    var trainedLink: String = "current"
    @Option(help: "CPU vendor when the source does not say (or to override it): intel, amd, arm, zhaoxin, other.") var cpuVendor: String?
    @Option(help: "CPU family with --cpu-vendor (as /proc/cpuinfo 'cpu family': 25 or 0x19).") var cpuFamily: String?
    @Flag(help: "Do not print warnings.") var quiet = false
    @Flag(help: "Exit with status 3, writing nothing, when any function was dropped or any fact guessed or changed (any warning).")
    var strict = false

    func options() throws -> ImportOptions {
        guard let trained = ImportOptions.TrainedLink(rawValue: trainedLink) else {
            throw ValidationError("--trained-link must be current or capability")
        }
        var cpu: ImportedCPU?
        if let cpuVendor {
            guard let vendor = CPUVendor(rawValue: cpuVendor) else { throw ValidationError("--cpu-vendor must be intel, amd, arm, zhaoxin or other") }
            var family: Int?
            if let cpuFamily {
                guard let f = parseInteger(cpuFamily) else { throw ValidationError("--cpu-family must be a number") }
                family = Int(f)
            }
            cpu = ImportedCPU(vendor: vendor, family: family)
        } else if cpuFamily != nil {
            throw ValidationError("--cpu-family needs --cpu-vendor")
        }
        // lspci without -nn: IDs read back from the names in the pci.ids lspci itself uses (or PCIESIM_PCI_IDS).
        return ImportOptions(name: name, trainedLink: trained, cpu: cpu, pciNames: PCINames.shared)
    }

    /// Runs an importer: warnings to stderr, the topology to the output (atomically), exit 1 on bad input.
    func run(_ importer: (ImportOptions) throws(DiagnosticError) -> ImportResult) throws {
        let opts = try options()
        let result: ImportResult
        switch Result(catching: { () throws(DiagnosticError) in try importer(opts) }) {
        case .success(let r): result = r
        case .failure(let error):
            report(error.diagnostics)
            throw ExitCode(1)
        }
        if !quiet { report(result.warnings) }
        // The summary comes last, after every warning it counts (issue #17: nothing silently lost).
        printError("\(result.origin): \(result.summary.text)")
        if strict, !result.summary.isLossless {
            printError("\(result.origin): error: --strict: the import is not lossless (see the warnings above); nothing written")
            throw ExitCode(3)
        }
        let text = ImportedTopologyWriter.write(result)
        if let output { try writeAtomically(text, to: output) } else { print(text, terminator: "") }
        let t = result.topology
        let vfs = result.enumeration.functions.count - t.devices.count
        printError("\(result.origin): imported \(t.devices.count) devices\(vfs > 0 ? " and \(vfs) VF\(vfs == 1 ? "" : "s")" : "") on \(t.rootComplexes.count) root complex\(t.rootComplexes.count == 1 ? "" : "es"), \(result.warnings.count) warning\(result.warnings.count == 1 ? "" : "s")\(output.map { " -> " + $0 } ?? "")")
    }
}

/// `simrun import FILE [TREE]`: the format detected by content.
struct ImportAuto: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auto",
        abstract: "Import a file or folder whose format is detected by content: sysfs tree, lspci text (-vvv and/or -tv), hwloc XML, NCCL XML.")

    @Argument(help: "The file or folder; for lspci, optionally a second file with the -tv tree (either order).") var files: [String]
    @OptionGroup var common: ImportCommonOptions

    func run() throws {
        try common.run { options throws(DiagnosticError) in try ImportFormat.importAny(paths: files, options: options) }
    }
}

struct ImportSysfs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sysfs",
        abstract: "Import this machine (or a copied tree) from /sys and /proc: tree, IDs, BARs, windows, links, ACS, IOMMU groups, p2pmem.",
        discussion: "As non-root only the first 64 bytes of configuration space are readable: ACS, port types, MPS and MRRS are then unknown (one warning each) and marked with import.unknown parameters.")

    @Option(help: "Root directory that holds sys/ and proc/ (default /).") var root: String = "/"
    @OptionGroup var common: ImportCommonOptions

    func run() throws {
        try common.run { options throws(DiagnosticError) in try SysfsImporter.read(root: root, options: options) }
    }
}

struct ImportLspci: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lspci",
        abstract: "Import `lspci -vvv` output (with or without -nn, -D, -P/-PP, -k); the tree from `lspci -tv` (a second file or pasted in the same one), the -P/-PP paths, or the bridges' bus numbers.")

    @Argument(help: "A file with lspci -vvv output.") var file: String
    @Option(help: "A file with lspci -tv output for the tree (functions only in the tree are imported with what it says).") var tree: String?
    @OptionGroup var common: ImportCommonOptions

    func run() throws {
        try common.run { options throws(DiagnosticError) in try LspciImporter.read(path: file, treePath: tree, options: options) }
    }
}

struct ImportHwloc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hwloc",
        abstract: "Import an hwloc topology (lstopo --whole-io --of xml): bridges, PCI devices, link speeds, packages.")

    @Argument(help: "hwloc XML file.") var file: String
    @OptionGroup var common: ImportCommonOptions

    func run() throws {
        try common.run { options throws(DiagnosticError) in try HwlocImporter.read(path: file, options: options) }
    }
}

struct ImportNCCL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nccl",
        abstract: "Import an NCCL topology file (NCCL_TOPO_DUMP_FILE): CPUs, switches, GPUs, NICs, link speeds and widths.")

    @Argument(help: "NCCL topology XML file.") var file: String
    @OptionGroup var common: ImportCommonOptions

    func run() throws {
        try common.run { options throws(DiagnosticError) in try NCCLImporter.read(path: file, options: options) }
    }
}

struct ExportNCCL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nccl",
        abstract: "Write NCCL topology XML (for NCCL_TOPO_FILE): a <cpu> per socket, switches and endpoints as nested <pci>, <gpu>/<nic> children.")

    @Argument(help: "Topology XML file.") var file: String
    @Option(name: [.customShort("o"), .customLong("out")], help: "Output file, written atomically (default: standard output).") var out: String?
    /// `--output`, the spelling before `--out` was the one for every command (hidden, kept for old scripts).
    @Option(name: .customLong("output"), help: .hidden) var outputAlias: String?
    var output: String? { out ?? outputAlias }

    func run() throws {
        let loaded = try loadTopology(file)
        let text = NCCLExporter.write(loaded)
        if let output { try writeAtomically(text, to: output) } else { print(text, terminator: "") }
    }
}

