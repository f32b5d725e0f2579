// A real multi-switch GPU server, imported from its own report's lspci output and checked against the
// `nvidia-smi topo -m` printed in the same report (issue #17). Source and gaps: Fixtures/Import/README.md.
import Foundation
import Testing
@testable import Sim

@Suite("lspci -tv of a multi-switch GPU server against its nvidia-smi topo -m")
struct ImportTopoMRealTests {
    // mghpcc/aicr-benchmarks, node a0007, job 335183: one report, four of its sections (README.md there).
    static let tree = importFixture("lspci-tv-aicr-a0007.txt")
    static let bridges = importFixture("lspci-nn-bridges-aicr-a0007.txt")
    static let matrix = importFixture("topo-m-aicr-a0007.txt")
    static let gpuList = importFixture("gpus-aicr-a0007.csv")
    /// The NIC legend's RDMA devices and their functions (the inference is in README.md: ibstat's CA types,
    /// mlx5 numbering in PCI probe order).
    static let nics = ["mlx5_0": BDF("0000:8e:00.0")!, "mlx5_3": BDF("0001:05:00.0")!, "mlx5_bond_0": BDF("0000:c8:00.0")!]

    static func imported() throws -> (ImportResult, Fabric) {
        let r = try LspciImporter.read(path: bridges, treePath: tree)
        let loaded = try LoadedTopology(topology: r.topology)
        return (r, Fabric(loaded, acsControl: Semantics(loaded).acsControl))
    }

    static func pasted() throws -> TopoMatrix {
        try TopoMatrix.parse(String(contentsOfFile: matrix, encoding: .utf8), file: matrix)
    }

    static func gpus() throws -> [Int: BDF] {
        try TopoMatrix.gpuList(String(contentsOfFile: gpuList, encoding: .utf8), file: gpuList)
    }

    @Test("the report's tree and bridge headers import whole: 16 root complexes, 8 PEX890xx switches, one GPU below each")
    func structure() throws {
        let (r, f) = try Self.imported()
        let e = f.enumeration
        // 170 tree lines name 222 functions (69 of them also in the bridge list); every one placed, none dropped.
        #expect(r.summary.read == 222 && r.summary.placed == 222 && r.summary.dropped.isEmpty, "\(r.summary.text)")
        #expect(r.summary.treeOnly == 222 - 69)
        // Eight root buses in each of the PCI domains 0000 and 0001 (AMD Turin, two sockets).
        #expect(r.topology.rootComplexes.count == 16)
        #expect(Set(r.topology.rootComplexes.map(\.segment)) == [0, 1])

        // The switches: an upstream port with the ID `lspci -nn` gives (Broadcom PEX890xx, 1000:c030) below a
        // Turin GPP bridge (1022:153e) at 01.1 of a root bus.
        let upstream = e.functions.indices.filter { e.functions[$0].kind == .switchUpstreamPort }
        #expect(upstream.map { e.functions[$0].bdf.description }.sorted()
                == ["0000:01:00.0", "0000:3f:00.0", "0000:89:00.0", "0000:c5:00.0", "0001:01:00.0", "0001:3f:00.0", "0001:89:00.0", "0001:c5:00.0"])
        for u in upstream {
            #expect(e.functions[u].id == PCIID("1000:c030"))
            let rp = try #require(e.functions[u].upstreamBridge)
            #expect(e.functions[rp].kind == .rootPort && e.functions[rp].id == PCIID("1022:153e"))
            #expect(e.functions[rp].bdf.device == 1 && e.functions[rp].bdf.function == 1 && e.functions[rp].upstreamBridge == nil)
        }

        // Each GPU nvidia-smi lists sits one switch level down: GPU -> downstream port -> upstream port -> root
        // port; no two GPUs share a switch.
        let gpus = try Self.gpus()
        #expect(gpus.count == 8)
        var switchOf: [Int: Int] = [:]
        for (n, bdf) in gpus.sorted(by: { $0.key < $1.key }) {
            let g = try #require(e.function(at: bdf), "GPU\(n) \(bdf)")
            let dsp = try #require(e.functions[g].upstreamBridge)
            #expect(e.functions[dsp].kind == .switchDownstreamPort, "GPU\(n)")
            let usp = try #require(e.functions[dsp].upstreamBridge)
            #expect(upstream.contains(usp), "GPU\(n)")
            #expect(switchOf.values.contains(usp) == false, "GPU\(n) shares a switch")
            switchOf[n] = usp
        }
        // The NICs share a switch with GPU2, GPU3 and GPU4 (and are not on the GPU's own downstream port).
        for (nic, gpu) in [("0000:8e:00.0", 2), ("0000:c8:00.0", 3), ("0000:c8:00.1", 3), ("0001:05:00.0", 4)] {
            let n = try #require(e.function(at: BDF(nic)!))
            let dsp = try #require(e.functions[n].upstreamBridge)
            #expect(e.functions[dsp].upstreamBridge == switchOf[gpu], "\(nic)")
            #expect(dsp != e.functions[e.function(at: gpus[gpu]!)!].upstreamBridge, "\(nic)")
        }
        // lspci -tv says nothing of NUMA nodes: every root complex on socket 0, and the import says so.
        #expect(r.assumptions.contains { $0.contains("NUMA node of some root complexes unknown") })
    }

    @Test("warnings about functions only in a separate -tv file name that file and its line")
    func treeFileInWarnings() throws {
        let (r, _) = try Self.imported()
        // 0001:c4:00.2 is on line 2 of the tree file and in no line of the bridge list.
        let w = try #require(r.warnings.first { $0.message.hasPrefix("0001:c4:00.2:") })
        #expect(w.file == Self.tree && w.line == 2)
        let m = try LspciImporter.machine(text: String(contentsOfFile: Self.bridges, encoding: .utf8), file: Self.bridges,
                                          tree: String(contentsOfFile: Self.tree, encoding: .utf8), treeFile: Self.tree)
        let treeOnly = Set(m.functions.filter(\.isTreeOnly).map(\.bdf))
        #expect(treeOnly.count == 153)
        var checked = 0
        for w in r.warnings {
            guard let bdf = BDF(w.message.prefix(12)), w.message.dropFirst(12).hasPrefix(":") else { continue }
            #expect(w.file == (treeOnly.contains(bdf) ? Self.tree : Self.bridges), "\(w)")
            checked += 1
        }
        #expect(checked > 100)
        // The one-line summary of a drop names the file too (Loss.file): none here, so a hand-made one.
        let loss = ImportSummary(read: 2, placed: 1, dropped: [.init(bdf: BDF("0000:01:00.0")!, reason: "r", line: 7, file: "tree.txt")])
        #expect(loss.text.hasPrefix("2 functions read, 1 placed, 1 dropped: 0000:01:00.0 (tree.txt:7) r"))
    }

    @Test("every GPU/NIC cell of the printed topo -m matches once the NUMA nodes come from its affinity column")
    func matchesTopoM() throws {
        let (_, f) = try Self.imported()
        let pasted = try Self.pasted()
        #expect(pasted.names == ["GPU0", "GPU1", "GPU2", "GPU3", "GPU4", "GPU5", "GPU6", "GPU7", "NIC0", "NIC1", "NIC2"])
        #expect(pasted.nicLegend == ["NIC0": "mlx5_0", "NIC1": "mlx5_3", "NIC2": "mlx5_bond_0"])
        // NPS4 on two sockets: every GPU on a NUMA node of its own (the report's numactl lists 8 nodes).
        #expect(pasted.numaAffinity == ["GPU0": 1, "GPU1": 2, "GPU2": 3, "GPU3": 0, "GPU4": 5, "GPU5": 6, "GPU6": 7, "GPU7": 4])
        let map = TopoMatrix.DeviceMap(gpus: try Self.gpus(), nics: Self.nics, numaFromAffinity: true)
        let result = TopoMatrix.compare(pasted, with: f, map: map)
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(result.differences.isEmpty, "\(result.differences.map(\.description))")
        #expect(result.notes.count == 8)
        // What is checked: the three PIX pairs come from the tree's switches; every other pair is SYS.
        let pix = pasted.cells.joined().filter { $0 == "PIX" }.count
        #expect(pix == 6 && pasted.cells.joined().filter { $0 == "SYS" }.count == 121 - 11 - pix)
    }

    @Test("without NUMA nodes the import gives NODE where topo -m says SYS, and only there; a wrong NIC map is caught")
    func gapsAreReported() throws {
        let (_, f) = try Self.imported()
        let pasted = try Self.pasted()
        let gpus = try Self.gpus()
        let plain = TopoMatrix.compare(pasted, with: f, map: TopoMatrix.DeviceMap(gpus: gpus, nics: Self.nics))
        #expect(plain.problems.isEmpty && plain.notes.isEmpty)
        #expect(plain.differences.count == 104)
        #expect(plain.differences.allSatisfy { $0.topology == "NODE" && $0.pasted == "SYS" })

        // The two ConnectX-7 swapped: their PIX cells move, and the check says which.
        var swapped = Self.nics
        swapped["mlx5_0"] = Self.nics["mlx5_3"]
        swapped["mlx5_3"] = Self.nics["mlx5_0"]
        let wrong = TopoMatrix.compare(pasted, with: f, map: TopoMatrix.DeviceMap(gpus: gpus, nics: swapped, numaFromAffinity: true))
        #expect(wrong.differences.map(\.description).contains("GPU2 NIC0: topology gives SYS, topo -m says PIX"))
        #expect(wrong.differences.map(\.description).contains("GPU4 NIC0: topology gives PIX, topo -m says SYS"))

        // Without a GPU list the tree-only import has no GPUs to compare: said, not guessed.
        let none = TopoMatrix.compare(pasted, with: f)
        #expect(none.problems.contains("GPU0 is not a device of the topology (it has 0 GPUs and 0 NICs)"))
    }

    @Test("nvidia-smi --query-gpu lists: with index and other columns, noheader; bad lists are file:line errors")
    func gpuLists() throws {
        let gpus = try Self.gpus()
        #expect(gpus[2] == BDF("0000:8c:00.0") && gpus[7] == BDF("0001:c8:00.0"))
        #expect(try TopoMatrix.gpuList("00000000:01:00.0\n00000000:02:00.0\n", file: "l.csv") == [0: BDF("0000:01:00.0")!, 1: BDF("0000:02:00.0")!])
        #expect(try TopoMatrix.gpuList("pci.bus_id, index\n00000000:02:00.0, 1\n00000000:01:00.0, 0\n", file: "l.csv")
                == [0: BDF("0000:01:00.0")!, 1: BDF("0000:02:00.0")!])
        let noColumn = try #require(throws: DiagnosticError.self) { try TopoMatrix.gpuList("index, name\n0, GPU\n", file: "l.csv") }
        #expect(noColumn.errors.map(\.description) == ["l.csv:1: error: no pci.bus_id column in the header (expected nvidia-smi --query-gpu=index,pci.bus_id --format=csv output)"])
        let badRow = try #require(throws: DiagnosticError.self) { try TopoMatrix.gpuList("index, pci.bus_id\n0, 00000000:01:00.0\n0, nope\n0, 00000000:03:00.0\n", file: "l.csv") }
        #expect(badRow.errors.map(\.description) == ["l.csv:3: error: no PCI bus id in column 2", "l.csv:4: error: GPU 0 is listed twice"])
        #expect(throws: DiagnosticError.self) { try TopoMatrix.gpuList("\n", file: "l.csv") }
    }

    @Test("NUMA Affinity is read by column from tab-separated pastes (empty cells included) and from spaced ones only when complete")
    func numaAffinity() throws {
        // club-3090#1229: tabs, an empty column between NUMA Affinity and GPU NUMA ID.
        let club = try TopoMatrix.parse(String(contentsOfFile: importFixture("topo-m-club3090-1229.txt"), encoding: .utf8), file: "m.txt")
        #expect(club.numaAffinity == ["GPU0": 0, "GPU1": 0])
        // NVIDIA/nccl#1617: spaces.
        let nv6 = try TopoMatrix.parse(String(contentsOfFile: importFixture("topo-m-4xh100-nv6.txt"), encoding: .utf8), file: "m.txt")
        #expect(nv6.numaAffinity["GPU0"] == 3 && nv6.numaAffinity["GPU1"] == 1 && nv6.numaAffinity["NIC0"] == nil)
        // An empty CPU Affinity cell (aicr-benchmarks b0005 prints `\t\t1\t\tN/A`): by column with tabs; with the
        // tabs turned into spaces the columns cannot be told apart, so no affinity is taken.
        let tabs = "\tGPU0\tGPU1\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\nGPU0\t X \tSYS\t\t1\t\tN/A\nGPU1\tSYS\t X \t112\t7\t\tN/A\n"
        #expect(try TopoMatrix.parse(tabs, file: "m.txt").numaAffinity == ["GPU0": 1, "GPU1": 7])
        let spaces = tabs.replacingOccurrences(of: "\t", with: "    ")
        #expect(try TopoMatrix.parse(spaces, file: "m.txt").numaAffinity == ["GPU1": 7])
    }

    @Test("simrun import lspci + check-topo-m --gpus --nic --numa-from-affinity: exit 0, 121 cells, 0 differ; exit 1 without NUMA",
          .enabled(if: importSimrun != nil))
    func commandLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-topom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("a0007.xml").path
        let i = try runSimrun(["import", "lspci", Self.bridges, "--tree", Self.tree, "-o", out, "--quiet"])
        #expect(i.status == 0, "\(i.stderr)")
        let nicArgs = Self.nics.sorted { $0.key < $1.key }.flatMap { ["--nic", "\($0.key)=\($0.value)"] }
        let ok = try runSimrun(["check-topo-m", out, Self.matrix, "--gpus", Self.gpuList, "--numa-from-affinity"] + nicArgs)
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(ok.stdout.hasSuffix("121 cells compared, 0 differ\n"))
        #expect(ok.stdout.contains("note: GPU3: root complex pci0000-c4 taken as NUMA node 0"))
        let plain = try runSimrun(["check-topo-m", out, Self.matrix, "--gpus", Self.gpuList] + nicArgs)
        #expect(plain.status == 1 && plain.stdout.hasSuffix("121 cells compared, 104 differ\n"))
        let bad = try runSimrun(["check-topo-m", out, Self.matrix, "--nic", "mlx5_0"])
        #expect(bad.status != 0 && bad.stderr.contains("--nic takes name=bdf"))
    }
}
