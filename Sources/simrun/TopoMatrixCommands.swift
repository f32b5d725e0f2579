// simrun check-topo-m: a topology's GPU/NIC path classes against a pasted `nvidia-smi topo -m`.
import ArgumentParser
import Foundation
import Sim

struct CheckTopoMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-topo-m",
        abstract: "Compare a topology's GPU/NIC path classes (PIX/PXB/PHB/NODE/SYS/NV#) with a pasted nvidia-smi topo -m; exit 1 when any cell differs.",
        discussion: "GPU<n> is the topology's n-th GPU in PCI address order, NIC<n> the device the NIC legend names (else the n-th NIC). Import a machine first (simrun import nccl|lspci|sysfs|hwloc ... -o machine.xml). A topology that does not know which functions are GPUs and NICs (an lspci -t import) takes them from --gpus and --nic; one without NUMA nodes takes them from the matrix with --numa-from-affinity.")

    @Argument(help: "Topology XML file.") var topology: String
    @Argument(help: "nvidia-smi topo -m output, as pasted (legend and affinity columns may stay).") var matrix: String
    @Option(help: "nvidia-smi --query-gpu=index,pci.bus_id --format=csv output: GPU<n> is the function at GPU n's bus id.") var gpus: String?
    @Option(help: ArgumentHelp("A NIC by its legend name or NIC<n>, and its function: mlx5_0=0000:8e:00.0 (repeatable).", valueName: "name=bdf"))
    var nic: [String] = []
    @Flag(help: "Take each GPU's root complex as on the NUMA node of topo -m's NUMA Affinity column (for imports without NUMA nodes); each one taken is printed.")
    var numaFromAffinity = false
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func run() throws {
        let loaded = try loadTopology(topology)
        let fabric = Fabric(Semantics(loaded))
        guard let data = FileManager.default.contents(atPath: matrix), let text = String(data: data, encoding: .utf8) else {
            printError("\(matrix): error: cannot read the file as UTF-8 text")
            throw ExitCode(1)
        }
        let pasted: TopoMatrix
        switch Result(catching: { () throws(DiagnosticError) in try TopoMatrix.parse(text, file: matrix) }) {
        case .success(let m): pasted = m
        case .failure(let error):
            report(error.diagnostics)
            throw ExitCode(1)
        }
        var map = TopoMatrix.DeviceMap(numaFromAffinity: numaFromAffinity)
        if let gpus {
            guard let data = FileManager.default.contents(atPath: gpus), let text = String(data: data, encoding: .utf8) else {
                printError("\(gpus): error: cannot read the file as UTF-8 text")
                throw ExitCode(1)
            }
            switch Result(catching: { () throws(DiagnosticError) in try TopoMatrix.gpuList(text, file: gpus) }) {
            case .success(let list): map.gpus = list
            case .failure(let error):
                report(error.diagnostics)
                throw ExitCode(1)
            }
        }
        for entry in nic {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let bdf = BDF(parts[1]) else {
                throw ValidationError("--nic takes name=bdf (mlx5_0=0000:8e:00.0), not '\(entry)'")
            }
            map.nics[parts[0]] = bdf
        }
        let (differences, problems, notes) = TopoMatrix.compare(pasted, with: fabric, map: map)
        let cells = pasted.names.count * pasted.names.count
        switch format {
        case .text:
            for n in notes { print("note: \(n)") }
            for p in problems { print("error: \(p)") }
            for d in differences { print(d.description) }
            print("\(cells) cells compared, \(differences.count) differ\(problems.isEmpty ? "" : ", \(problems.count) problem\(problems.count == 1 ? "" : "s")")")
        case .json:
            print(JSON.object([("cells", .int(Int64(cells))), ("differences", .array(differences.map { .string($0.description) })),
                               ("problems", .array(problems.map { .string($0) })), ("notes", .array(notes.map { .string($0) }))]).serialized())
        }
        if !differences.isEmpty || !problems.isEmpty { throw ExitCode(1) }
    }
}
