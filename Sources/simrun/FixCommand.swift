// simrun fix TOPOLOGY: one ACS change for the whole machine (Scenarios' MachineFix), with what it costs.
import ArgumentParser
import Foundation
import Scenarios
import Sim

struct FixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fix",
        abstract: "The shortest kernel command-line (or firmware) ACS change that lets the required pairs do P2P, and what it costs.",
        discussion: """
            By default every pair of endpoints that could map PCI_P2PDMA_MAP_BUS_ADDR must do so. The candidate line is \
            booted through the same semantics as --cmdline and checked before it is printed. Devices given with \
            --isolate must keep their IOMMU group (VFIO passthrough); when a required pair needs ACS redirect off at a \
            port such a device's group depends on, the conflict is named. Exit status: 0 the requirements hold (with \
            the fix printed), 1 bad input, a conflict, or a pair no ACS change can fix.
            """)

    @Argument(help: "Topology XML file.") var topology: String
    @Option(parsing: .singleValue, help: "A pair that must do P2P, as A,B (both directions where the provider has a BAR); or 'all'. Repeatable.")
    var need: [String] = []
    @Option(parsing: .singleValue, help: "A device whose IOMMU group must not merge with others (comma-separated or repeated).")
    var isolate: [String] = []
    @Option(help: "Kernel command line (replaces the topology's <kernel cmdline>).") var cmdline: String?
    @Option(help: ArgumentHelp("Kernel version whose rules to boot with: \(KernelVersion.knownList), or a uname -r string.", valueName: "version"),
            transform: parseKernelVersion)
    var kernel: KernelVersion?
    @Option(help: "Bytes each pair writes for the before/after throughput (e.g. 64MiB).") var size: String = "64MiB"
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func run() throws {
        let loaded = try loadTopology(topology)
        var options = SemanticsOptions()
        if cmdline != nil || kernel != nil {
            options.kernel = KernelConfiguration(commandLine: cmdline ?? loaded.topology.kernel.commandLine,
                                                 version: kernel ?? loaded.topology.kernel.version)
        }
        let e = loaded.enumeration
        var problems: [String] = []
        func lookup(_ name: String, _ flag: String) -> Int? {
            guard let f = e.lookup(name) else { problems.append("--\(flag): no device '\(name)' in \(topology)"); return nil }
            return f
        }
        var pairs: [ACSRedirectFix.Pair]?
        let probe = Semantics(loaded, options: options)
        let fabric = Fabric(loaded, acsControl: probe.acsControl)
        if !need.isEmpty, !need.contains("all") {
            var list: [ACSRedirectFix.Pair] = []
            for spec in need {
                let names = spec.split(separator: ",").map { String($0.trimmingSpaces) }
                guard names.count == 2 else { problems.append("--need: '\(spec)' is not a pair A,B"); continue }
                guard let a = lookup(names[0], "need"), let b = lookup(names[1], "need") else { continue }
                guard a != b else { problems.append("--need: '\(spec)' names one device twice"); continue }
                let directions = [(a, b), (b, a)].filter { fabric.defaultTargetAddress(function: $0.0) != nil }
                if directions.isEmpty { problems.append("--need: neither \(names[0]) nor \(names[1]) has a BAR to be a p2pdma provider") }
                for (p, c) in directions where !list.contains(ACSRedirectFix.Pair(provider: p, client: c)) {
                    list.append(ACSRedirectFix.Pair(provider: p, client: c))
                }
            }
            pairs = list
        }
        let isolated = isolate.flatMap { $0.split(separator: ",") }.compactMap { lookup(String($0.trimmingSpaces), "isolate") }
        if !isolated.isEmpty, probe.iommuGroups().isEmpty {
            problems.append("--isolate: no IOMMU is active on \(loaded.topology.name) (kernel line '\((options.kernel ?? loaded.topology.kernel).commandLine)'), so no device has an IOMMU group to keep; VFIO passthrough needs one")
        }
        guard let bytes = ByteSize.parse(size), bytes > 0, bytes <= 1 << 40 else {
            problems.append("--size: '\(size)' is not a size (e.g. 64MiB)")
            for p in problems { printError("error: " + p) }
            throw ExitCode(1)
        }
        if !problems.isEmpty {
            for p in problems { printError("error: " + p) }
            throw ExitCode(1)
        }
        let result = Result { () throws(ScenarioError) -> MachineFix in
            try MachineFix(loaded, options: options, need: pairs, isolate: isolated, bytesPerPair: Int(bytes))
        }
        switch result {
        case .failure(let error):
            for p in error.problems { printError("error: " + p) }
            throw ExitCode(2)
        case .success(let fix):
            print(format == .json ? fix.json.serialized() : fix.text(topologyFile: topology), terminator: format == .json ? "\n" : "")
            if !fix.holds { throw ExitCode(1) }
        }
    }
}
