// The p2pdma oracle: what a CONFIG_PCI_P2PDMA kernel (Debian's linux-source-6.1, built by
// scripts/oracle/build-p2pdma-kernel.sh) answered under QEMU for every p2pmem provider / NVMe client pair,
// recorded by scripts/oracle/p2pdma/record.sh in scripts/oracle/p2pdma/records/<case>.txt, against the
// simulator's pci_p2pdma_distance for the same machine and kernel command line.
//
// The kernel was asked through nvmet: enabling a namespace whose p2pmem names the provider, over the
// client's block device, runs pci_p2pdma_distance(provider, client, verbose=true); the write to `enable`
// succeeds exactly when the distance is >= 0, i.e. when the map type is not NOT_SUPPORTED. The test expects
// that, and the kernel's p2p warning lines equal to the simulator's byte for byte (the records hold no dmesg
// timestamp). The guest had the nvme driver bound to every NVMe function the record lists, so the machine the
// simulator boots names that driver on them (`driver="nvme"`) and its lines start `nvme 0000:01:00.0: ` as the
// kernel's do; the host bridge has no driver and both sides print `pci 0000:00:00.0: `.
import Foundation
import Testing
@testable import Sim

/// One record file: its header, the NVMe functions each boot saw, and one entry per (provider, client, boot).
struct P2PDMARecord: Sendable {
    struct NVMe: Sendable {
        var bdf: String
        var name: String
        var hasP2PMem: Bool
    }

    struct Boot: Sendable {
        var commandLine: String
        var cpu: String
        var nvme: [NVMe] = []
    }

    struct Pair: Sendable {
        var provider: String
        var client: String
        var providerName: String
        var clientName: String
        var commandLine: String
        var enable: String
        var kernelLines: [String] = []
        var line: Int
    }

    var file: String
    var release: String = ""
    var topology: String = ""
    var boots: [Boot] = []
    var pairs: [Pair] = []

    static let directory = repositoryRoot.appendingPathComponent("scripts/oracle/p2pdma")

    /// The record directories, one per kernel: 6.1's `records/` and 6.12's `records-6.12/`.
    static let kernelDirectories = ["records", "records-6.12"]

    /// The record files of both kernels (`records/g05.txt`, `records-6.12/g05.txt`), sorted.
    static let files: [String] = kernelDirectories.flatMap { sub in
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent(sub).path)) ?? [])
            .filter { $0.hasSuffix(".txt") }.sorted().map { sub + "/" + $0 }
    }

    init(file: String) throws {
        self.file = file
        let text = try String(contentsOf: Self.directory.appendingPathComponent(file), encoding: .utf8)
        var current: Pair?
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            let (key, value) = line.firstIndex(of: " ").map { (String(line[..<$0]), String(line[line.index(after: $0)...])) } ?? (line, "")
            func field(_ name: String) -> String {
                for part in value.split(separator: " ") where part.hasPrefix(name + "=") { return String(part.dropFirst(name.count + 1)) }
                return ""
            }
            switch key {
            case "kernel" where current == nil:
                release = String(value.prefix { $0 != " " })
            case "topology":
                topology = value
            case "boot":
                boots.append(Boot(commandLine: value, cpu: ""))
            case "cpu":
                boots[boots.count - 1].cpu = value
            case "nvme" where current == nil:
                let parts = value.split(separator: " ").map(String.init)
                boots[boots.count - 1].nvme.append(NVMe(bdf: parts[0], name: parts[1], hasP2PMem: !value.hasSuffix("p2pmem=none")))
            case "pair":
                current = Pair(provider: field("provider"), client: field("client"), providerName: "", clientName: "",
                               commandLine: "", enable: "", line: n + 1)
            case "names":
                current?.providerName = field("provider")
                current?.clientName = field("client")
            case "cmdline":
                current?.commandLine = value
            case "enable":
                current?.enable = value
            case "kernel":
                current?.kernelLines.append(value)
            case "end":
                if let c = current { pairs.append(c) }
                current = nil
            default:
                break
            }
        }
    }

    /// The machine as QEMU built it (the export's approximations applied): the BDFs the kernel saw, with the
    /// nvme driver bound to every NVMe function a boot listed (record.sh reads them from the nvme driver).
    func machine() throws -> LoadedTopology {
        let loaded = try LoadedTopology.load(path: repositoryRoot.appendingPathComponent(topology).path)
        let guest = try LoadedTopology(topology: QEMUExport.machine(loaded).guestTopology)
        var t = guest.topology
        let bound = Set(boots.flatMap { $0.nvme.map(\.bdf) })
        for f in guest.enumeration.functions where bound.contains(f.bdf.description) {
            guard let d = f.device, t.devices[d].endpoint != nil else { continue }
            t.devices[d].endpoint?.driver = "nvme"
        }
        return try LoadedTopology(topology: t)
    }

    /// The simulator booted with a record's command line (less console= and panic=, as the oracle does) and
    /// the rules of the release the record names (6.1.* follows Linux 6.1, 6.12.* Linux 6.12).
    func semantics(_ machine: LoadedTopology, commandLine: String) -> Semantics {
        let kept = commandLine.split(separator: " ").filter { arg in
            !["console=", "panic=", "loglevel=", "rdinit=", "earlyprintk="].contains { arg.hasPrefix($0) } && arg != "quiet"
        }.joined(separator: " ")
        let version = KernelVersion(parsing: release) ?? .mainline
        return Semantics(machine, options: SemanticsOptions(kernel: KernelConfiguration(commandLine: kept, version: version)))
    }
}

@Suite("p2pdma oracle records")
struct OracleP2PDMATests {
    @Test("the records exist, name their kernel and topology, and hold pairs")
    func recordsExist() throws {
        for sub in P2PDMARecord.kernelDirectories {
            #expect(P2PDMARecord.files.filter { $0.hasPrefix(sub + "/") }.count >= 3, "no records in scripts/oracle/p2pdma/\(sub) (run record.sh)")
        }
        var pairs = 0
        for file in P2PDMARecord.files {
            let record = try P2PDMARecord(file: file)
            #expect(record.release.hasPrefix(file.hasPrefix("records-6.12/") ? "6.12." : "6.1."), "\(file): kernel \(record.release)")
            #expect(!record.topology.isEmpty, "\(file): no topology")
            #expect(!record.boots.isEmpty && !record.pairs.isEmpty, "\(file): no boots or pairs")
            pairs += record.pairs.count
        }
        #expect(pairs > 100)
    }

    @Test("the kernel's p2pmem providers are the simulator's", arguments: P2PDMARecord.files)
    func providers(file: String) throws {
        let record = try P2PDMARecord(file: file)
        let machine = try record.machine()
        let e = machine.enumeration
        for boot in record.boots {
            let semantics = record.semantics(machine, commandLine: boot.commandLine)
            let simulated = Set(semantics.p2pmemProviders.map { e.functions[$0].bdf.description })
            let kernel = Set(boot.nvme.filter(\.hasP2PMem).map(\.bdf))
            #expect(simulated == kernel, "\(file) [\(boot.commandLine)]: simulator \(simulated.sorted()), kernel \(kernel.sorted())")
            for n in boot.nvme {
                #expect(e.lookup(n.bdf).map { e.functions[$0].name } == n.name, "\(file): \(n.bdf) is not '\(n.name)'")
            }
        }
    }

    @Test("pci_p2pdma_distance: enable ok <=> not NOT_SUPPORTED, and the warning lines word for word",
          arguments: P2PDMARecord.files)
    func pairs(file: String) throws {
        let record = try P2PDMARecord(file: file)
        let machine = try record.machine()
        let e = machine.enumeration
        var semanticsByCommandLine: [String: Semantics] = [:]
        for pair in record.pairs {
            let semantics = semanticsByCommandLine[pair.commandLine] ?? record.semantics(machine, commandLine: pair.commandLine)
            semanticsByCommandLine[pair.commandLine] = semantics
            let at = "\(file):\(pair.line) \(pair.providerName) (\(pair.provider)) -> \(pair.clientName) (\(pair.client)) [\(pair.commandLine)]"
            guard let p = e.lookup(pair.provider), let c = e.lookup(pair.client) else {
                Issue.record("\(at): no such function in \(record.topology)")
                continue
            }
            #expect(e.functions[p].name == pair.providerName && e.functions[c].name == pair.clientName, "\(at): names differ")
            let r = semantics.p2pdma(provider: p, client: c, verbose: true)
            let simulatorOK = r.mapType != .notSupported
            #expect(simulatorOK == (pair.enable == "ok"),
                    "\(at): simulator \(r.mapType.kernelName) (distance \(r.kernelDistance)), kernel enable \(pair.enable)")
            #expect((semantics.distance(provider: p, client: c) >= 0) == (pair.enable == "ok"), "\(at): distance")
            #expect(r.warnings == pair.kernelLines, "\(at): simulator \(r.warnings), kernel \(pair.kernelLines)")
        }
    }

    @Test("the warning lines name the bound driver: nvme on the NVMe clients, pci on the host bridge, as the kernel printed")
    func driverPrefix() throws {
        var nvme = 0, pci = 0
        for file in P2PDMARecord.files {
            let record = try P2PDMARecord(file: file)
            let machine = try record.machine()
            for pair in record.pairs {
                let semantics = record.semantics(machine, commandLine: pair.commandLine)
                guard let p = machine.enumeration.lookup(pair.provider), let c = machine.enumeration.lookup(pair.client) else { continue }
                for line in semantics.p2pdma(provider: p, client: c, verbose: true).warnings {
                    if line.hasPrefix("nvme \(pair.client): ") { nvme += 1 } else if line.hasPrefix("pci 0000:00:00.0: Host bridge") { pci += 1 } else {
                        Issue.record("\(file):\(pair.line): unexpected prefix in '\(line)'")
                    }
                }
            }
        }
        #expect(nvme > 0 && pci > 0, "nvme lines \(nvme), host bridge lines \(pci)")
        // Without the driver in the topology the same lines start with the bus name.
        let record = try P2PDMARecord(file: P2PDMARecord.files[0])
        let plain = try LoadedTopology(topology: QEMUExport.machine(try LoadedTopology.load(path: repositoryRoot.appendingPathComponent(record.topology).path)).guestTopology)
        #expect(plain.topology.devices.allSatisfy { $0.endpoint?.driver == nil })
    }
}
