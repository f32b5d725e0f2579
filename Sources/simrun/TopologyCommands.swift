// simrun validate / show / generate / schema.
import ArgumentParser
import Foundation
import Sim

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate topology files: schema, then semantic checks; every problem as file:line: error: message.")

    @Argument(help: "Topology XML files.") var files: [String]
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func run() throws {
        var failed = false
        var results: [JSON] = []
        for file in files {
            let outcome = Result { () throws(DiagnosticError) -> LoadedTopology in try LoadedTopology.load(path: file) }
            switch outcome {
            case .success(let loaded):
                if format == .text {
                    report(loaded.warnings)
                    let t = loaded.topology
                    print("\(file): ok (\(t.rootComplexes.count) root complexes, \(t.devices.count) devices, \(loaded.enumeration.functions.count) functions, \(loaded.warnings.count) warnings)")
                }
                results.append(.object([("file", .string(file)), ("valid", .bool(true)),
                                        ("diagnostics", .array(loaded.warnings.map(\.json)))]))
            case .failure(let error):
                failed = true
                if format == .text { report(error.diagnostics) }
                results.append(.object([("file", .string(file)), ("valid", .bool(false)),
                                        ("diagnostics", .array(error.diagnostics.map(\.json)))]))
            }
        }
        if format == .json { print(JSON.array(results).serialized()) }
        if failed { throw ExitCode(1) }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the enumerated tree like lspci -tv: BDFs, names, links, ACS control; BARs and windows with --verbose.")

    @Argument(help: "Topology XML file.") var file: String
    @Flag(name: .shortAndLong, help: "Also list BARs, bus ranges, bridge windows and capabilities.") var verbose = false
    @Flag(help: "Show ACS control as firmware left it instead of as Linux leaves it after boot.") var firmwareACS = false
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var kernel: KernelLineOptions

    func run() throws {
        let file = try loadTopology(self.file)
        // ACS control after Linux's boot-time enable (pci_enable_acs + disable_acs_redir/config_acs), and each IOMMU
        // in the mode the command line booted it in; --firmware-acs shows the file as written.
        let semantics = kernel.boot(file, file: self.file)
        let loaded = firmwareACS ? file : semantics.loaded
        let acs = firmwareACS ? nil : semantics.acsControl
        switch format {
        case .text:
            print(TopologyTree.text(loaded.topology, loaded.enumeration, acsControl: acs, options: .init(verbose: verbose)), terminator: "")
            printACSControlSource(loaded.topology)
        case .json:
            print(TopologyTree.json(loaded.topology, loaded.enumeration, acsControl: acs).serialized())
        }
    }
}

extension Show {
    /// Says which ports carry ACS control observed on a running kernel, taken as is (issue #17).
    func printACSControlSource(_ topology: Topology) {
        // Firmware values (every shipped file) print as before: the tree shows them after Linux's boot-time enable.
        if let note = Semantics.observedACSNote(topology, listing: Int.max) { print("\n" + note) }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic machine from a few parameters (deterministic for a seed).")

    @Option(help: "Topology name.") var name = "generated"
    @Option(help: "CPU sockets.") var sockets = 1
    @Option(help: "Root complexes (host bridges) per socket.") var rootComplexes = 1
    @Option(help: "Root ports per root complex.") var rootPorts = 4
    @Option(help: "Switch levels below each root port (0 puts endpoints on root ports).") var switchLevels = 1
    @Option(help: "Downstream ports of each non-leaf switch.") var fanout = 4
    @Option(help: "GPUs per leaf switch.") var gpus = 2
    @Option(help: "NICs per leaf switch.") var nics = 1
    @Option(help: "NVMe drives per leaf switch.") var nvme = 1
    @Option(help: "FPGAs per leaf switch.") var fpgas = 0
    @Option(help: "Generic endpoints per leaf switch.") var generic = 0
    @Option(help: "Link generation 1-6.") var gen = 4
    @Option(help: "Link width.") var width = 16
    @Option(help: "ACS capability on root and downstream ports: on or off.") var acs = "on"
    @Option(help: "IOMMU mode: off, passthrough, dma, dma-fq.") var iommu = "dma"
    @Option(help: "CPU vendor: intel, amd, arm.") var cpu = "intel"
    @Flag(help: "Keep the machine expressible in QEMU (q35, pcie-root-port, x3130, nvme, e1000e).") var qemu = false
    @Option(help: "Seed for the deterministic choices.") var seed: UInt64 = 1
    @Option(name: [.customShort("o"), .customLong("out")], help: "Output file (default: standard output).") var out: String?
    /// `--output`, the spelling before `--out` was the one for every command (hidden, kept for old scripts).
    @Option(name: .customLong("output"), help: .hidden) var outputAlias: String?
    var output: String? { out ?? outputAlias }

    func run() throws {
        var p = GeneratorParameters()
        p.name = name
        p.sockets = sockets
        p.rootComplexesPerSocket = rootComplexes
        p.rootPortsPerRootComplex = rootPorts
        p.switchLevels = switchLevels
        p.fanout = fanout
        p.gpusPerSwitch = gpus
        p.nicsPerSwitch = nics
        p.nvmePerSwitch = nvme
        p.fpgasPerSwitch = fpgas
        p.genericPerSwitch = generic
        guard let g = LinkGeneration(rawValue: gen) else { throw ValidationError("--gen must be 1 to 6") }
        guard supportedLinkWidths.contains(width) else { throw ValidationError("--width must be one of \(supportedLinkWidths.map(String.init).joined(separator: ", "))") }
        guard acs == "on" || acs == "off" else { throw ValidationError("--acs must be on or off") }
        guard let mode = IOMMUMode(rawValue: iommu) else { throw ValidationError("--iommu must be off, passthrough, dma or dma-fq") }
        guard let vendor = CPUVendor(rawValue: cpu), [.intel, .amd, .arm].contains(vendor) else { throw ValidationError("--cpu must be intel, amd or arm") }
        for (label, v) in [("sockets", sockets), ("root-complexes", rootComplexes), ("root-ports", rootPorts)] where v < 1 {
            throw ValidationError("--\(label) must be at least 1")
        }
        for (label, v) in [("switch-levels", switchLevels), ("gpus", gpus), ("nics", nics), ("nvme", nvme), ("fpgas", fpgas), ("generic", generic)] where v < 0 {
            throw ValidationError("--\(label) must not be negative")
        }
        p.generation = g
        p.width = width
        p.acs = acs == "on"
        p.iommuMode = mode
        p.cpuVendor = vendor
        p.qemuCompatible = qemu
        p.seed = seed
        let topology: Topology
        switch Result(catching: { () throws(DiagnosticError) in try TopologyGenerator.generate(p) }) {
        case .success(let t): topology = t
        case .failure(let error):
            report(error.diagnostics)
            throw ExitCode(1)
        }
        let text = TopologyWriter.write(topology, comment: "Generated by simrun generate (seed \(seed)); synthetic, not a real machine.")
        if let output { try writeAtomically(text, to: output) } else { print(text, terminator: "") }
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the topology XSD schema compiled into simrun.")
    func run() throws { print(BuiltInSchema.topology.string, terminator: "") }
}
