// The readers under coverage-guided fuzzing: one target per input format, each feeding bytes to its reader as simrun does.
import Foundation
import Scenarios
import Sim

/// One reader of untrusted input. `run` hands it one input and reports what it made of it; a thrown reader error
/// is a clean rejection, and anything else (a trap, an address-sanitizer report) is a finding. The fuzzer binary
/// (`simfuzz`, built by scripts/fuzz/build.sh) and the corpus replay test call the same `run`.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Topology XML: schema, semantic checks, enumeration and the compiled fabric (`simrun TOPOLOGY ...`).
    case topology
    /// Scenario XML resolved against a fixed generated machine (`simrun TOPOLOGY SCENARIO.xml`).
    case scenario
    /// Fidelity suite XML (`simrun fidelity SUITE`).
    case fidelity
    /// Sweep plan XML, its points expanded (`simrun sweep PLAN`).
    case plan
    /// Conformance case XML (`simrun conformance CASE`); the reader takes a path, so the input goes through a file.
    case conformance
    /// Regression suite XML (`simrun regress SUITE`).
    case suite
    /// `lspci -vvv` / `-tv` text, assembled into a topology and written out (`simrun import lspci`).
    case lspci
    /// hwloc XML, assembled and written out (`simrun import hwloc`).
    case hwloc
    /// NCCL topology XML, assembled and written out (`simrun import nccl`).
    case nccl
    /// An ftrace capture of iommu map/unmap events (`simrun TOPOLOGY TRACE --device D`).
    case ftrace
    /// A guest's oracle report, compared with a fixed generated machine (`simrun oracle compare`).
    case oracle
    /// Mapping script XML (`simrun map SCRIPT`): schema and the checks of every call.
    case mapping

    /// What the reader made of one input.
    public enum Outcome: Sendable, Equatable {
        case accepted
        /// The reader's diagnostics, `file:line: error: message`.
        case rejected(String)
    }

    /// The name inputs carry in diagnostics.
    static let inputName = "fuzz-input"

    /// Feeds one input to the reader. Inputs are bounded by the fuzzer's `-max_len`, not here.
    public func run(_ bytes: [UInt8]) -> Outcome {
        switch Result(catching: { () throws(DiagnosticError) in try read(bytes) }) {
        case .success: .accepted
        case .failure(let error): .rejected(error.description)
        }
    }

    private func read(_ bytes: [UInt8]) throws(DiagnosticError) {
        let file = Self.inputName
        switch self {
        case .topology:
            let loaded = try LoadedTopology(document: TopologyReader.read(bytes: bytes, file: file))
            _ = Fabric(loaded)
        case .scenario:
            _ = try ScenarioFile.parse(bytes, file: file, fabric: FuzzMachine.shared.fabric)
        case .fidelity:
            _ = try FidelitySuite.parse(bytes, file: file)
        case .plan:
            // As a sweep starts: the grid's size and the coordinates of its last point.
            let plan = try Plan.parse(bytes, file: file)
            _ = plan.coordinates(max(0, plan.gridSize - 1))
        case .conformance:
            _ = try ConformanceCase.read(path: FuzzScratch.write(bytes))
        case .suite:
            _ = try Suite.parse(bytes, file: file)
        case .lspci:
            // As simrun reads it: NUL bytes refused, the rest decoded leniently.
            if bytes.contains(0) { throw DiagnosticError(file: file, "file contains NUL bytes: not lspci text output") }
            let machine = try LspciImporter.machine(text: String(decoding: bytes, as: UTF8.self), file: file)
            _ = ImportedTopologyWriter.write(try TopologyAssembler.assemble(machine))
        case .hwloc:
            _ = ImportedTopologyWriter.write(try TopologyAssembler.assemble(HwlocImporter.machine(bytes: bytes, file: file)))
        case .nccl:
            _ = ImportedTopologyWriter.write(try NCCLImporter.read(bytes: bytes, file: file))
        case .ftrace:
            _ = try FtraceTrace.parse(String(decoding: bytes, as: UTF8.self), file: file)
        case .mapping:
            _ = try MappingScript.parse(bytes, file: file)
        case .oracle:
            let guest = try GuestReport.parse(String(decoding: bytes, as: UTF8.self), file: file)
            _ = OracleComparison(expected: FuzzMachine.shared.loaded, guest: guest).mismatches.count
        }
    }
}

/// The machine that scenario and oracle inputs are resolved against: generated (no file needed at run time),
/// with the device names the shipped scenarios use (gpu0-gpu7, nvme0-nvme3, nic0-nic3).
final class FuzzMachine: Sendable {
    let loaded: LoadedTopology
    let fabric: Fabric

    static let shared = FuzzMachine()

    private init() {
        var p = GeneratorParameters()
        p.name = "fuzz-machine"
        do {
            loaded = try LoadedTopology(topology: TopologyGenerator.generate(p))
        } catch {
            fatalError("the fuzz machine's generated topology does not load: \(error)")
        }
        fabric = Fabric(loaded)
    }
}

/// A file per process for readers that only take paths, named as the other targets name their input; removed at exit.
enum FuzzScratch {
    static let directory: String = {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("simfuzz-\(getpid())")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: FuzzScratch.directory) }
        return dir
    }()

    static func write(_ bytes: [UInt8]) -> String {
        let path = (directory as NSString).appendingPathComponent(FuzzTarget.inputName)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}
