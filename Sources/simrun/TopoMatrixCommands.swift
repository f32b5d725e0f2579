// simrun check-topo-m: a topology's GPU/NIC path classes against a pasted `nvidia-smi topo -m`.
import ArgumentParser
import Foundation
import Sim

struct CheckTopoMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-topo-m",
        abstract: "Compare a topology's GPU/NIC path classes (PIX/PXB/PHB/NODE/SYS/NV#) with a pasted nvidia-smi topo -m; exit 1 when any cell differs.",
        discussion: "GPU<n> is the topology's n-th GPU in PCI address order, NIC<n> the device the NIC legend names (else the n-th NIC). Import a machine first (simrun import nccl|lspci|sysfs|hwloc ... -o machine.xml).")

    @Argument(help: "Topology XML file.") var topology: String
    @Argument(help: "nvidia-smi topo -m output, as pasted (legend and affinity columns may stay).") var matrix: String
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
        let (differences, problems) = TopoMatrix.compare(pasted, with: fabric)
        let cells = pasted.names.count * pasted.names.count
        switch format {
        case .text:
            for p in problems { print("error: \(p)") }
            for d in differences { print(d.description) }
            print("\(cells) cells compared, \(differences.count) differ\(problems.isEmpty ? "" : ", \(problems.count) problem\(problems.count == 1 ? "" : "s")")")
        case .json:
            print(JSON.object([("cells", .int(Int64(cells))), ("differences", .array(differences.map { .string($0.description) })),
                               ("problems", .array(problems.map { .string($0) }))]).serialized())
        }
        if !differences.isEmpty || !problems.isEmpty { throw ExitCode(1) }
    }
}
