// A real multi-switch GPU server imported from its `sudo lspci -vv` and `lspci -tvnn` together, checked against the
// `nvidia-smi topo -m` of the same machine (issue #17). Source and gaps: Fixtures/Import/README.md.
import Foundation
import Testing
@testable import Sim

@Suite("lspci -vv + -tvnn of a two-switch GPU server against its nvidia-smi topo -m")
struct ImportLspciPairRealTests {
    // miminashi/llm-server-ops, host aws-gpu01 (Supermicro SYS-4028GR-TRT2, 2x Xeon E5-2687W v4, 7 Tesla P100 behind
    // two PLX PEX 9797, a ConnectX-4): four files, each cut from its report at line boundaries and not edited.
    static let vv = importFixture("lspci-vv-sys4028gr-gpu01.txt")
    static let tree = importFixture("lspci-tvnn-sys4028gr-gpu01.txt")
    static let matrix = importFixture("topo-m-sys4028gr-gpu01.txt")
    static let gpuList = importFixture("gpus-sys4028gr-gpu01.csv")
    /// NIC0 of the legend is mlx5_0: the machine's only Mellanox function (the tree's 0b:00.0, MT27700
    /// ConnectX-4; the report's `ip` lists its netdev as enp11s0np0, bus 0x0b).
    static let nics = ["mlx5_0": BDF("0000:0b:00.0")!]

    static func imported() throws -> (ImportResult, Fabric) {
        let r = try LspciImporter.read(path: vv, treePath: tree)
        let loaded = try LoadedTopology(topology: r.topology)
        return (r, Fabric(loaded, acsControl: Semantics(loaded).acsControl))
    }

    static func pasted() throws -> TopoMatrix {
        try TopoMatrix.parse(String(contentsOfFile: matrix, encoding: .utf8), file: matrix)
    }

    static func map(nics: [String: BDF] = nics) throws -> TopoMatrix.DeviceMap {
        TopoMatrix.DeviceMap(gpus: try TopoMatrix.gpuList(String(contentsOfFile: gpuList, encoding: .utf8), file: gpuList), nics: nics)
    }

    @Test("the pair imports whole: the tree's IDs fill the -vv text, two PEX 9797 below two root ports, observed ACS, NUMA nodes")
    func structure() throws {
        let (r, f) = try Self.imported()
        let t = r.topology
        let e = f.enumeration
        // The -vv lists all 213 functions the tree draws; the tree adds their IDs (the -vv has no -nn).
        #expect(r.summary.read == 213 && r.summary.placed == 213 && r.summary.dropped.isEmpty && r.summary.treeOnly == 0, "\(r.summary.text)")
        #expect(r.sources.contains("vendor:device of 193 functions the -vvv text lists without -nn: the lspci -tvnn tree"))
        // 00:00.0, the Broadwell-EP DMI port (8086:6f00), says "Express Root Port" with a type 0 header: the root
        // complex's host bridge, whose Intel ID names the CPU vendor, not a root port.
        #expect(t.rootComplexes.first { $0.rootBus == 0 }?.hostBridgeID == PCIID("8086:6f00"))
        #expect(e.function(at: BDF("0000:00:00.0")!) == nil)
        #expect(t.sockets.map(\.cpuVendor) == [.intel, .intel])
        // NUMA nodes from the -vv lines: bus 00 on node 0, bus 80 (the X540 and the SAS HBA) on node 1.
        #expect(t.rootComplexes.first { $0.rootBus == 0 }?.socket == 0 && t.rootComplexes.first { $0.rootBus == 0x80 }?.socket == 1)

        // Two switches, each below its own root port of bus 00; both upstream ports report one Device Serial Number,
        // so they import as one chip's partitions (the warning says why that routes as two chips do).
        let upstream = e.functions.indices.filter { e.functions[$0].kind == .switchUpstreamPort }
        #expect(upstream.map { e.functions[$0].bdf.description } == ["0000:02:00.0", "0000:09:00.0"])
        for u in upstream {
            let rp = try #require(e.functions[u].upstreamBridge)
            #expect(e.functions[rp].kind == .rootPort && e.functions[rp].bdf.bus == 0)
        }
        #expect(t.switchChips.count == 1)
        #expect(t.devices.filter { $0.switchInfo?.chip != nil && $0.switchInfo?.chip == t.switchChips.first?.name }.map(\.name).sorted()
                == upstream.map { e.functions[$0].name }.sorted())
        #expect(r.warnings.contains { $0.message.hasPrefix("switches 0000:02:00.0, 0000:09:00.0 share Device Serial Number 00-0e-df-10-b5-97-00-b0") })

        // The GPUs nvidia-smi lists, each directly below a downstream port of a switch; the -vv detail is theirs.
        let gpus = try Self.map().gpus
        #expect(gpus.count == 7)
        for (n, bdf) in gpus.sorted(by: { $0.key < $1.key }) {
            let g = try #require(e.function(at: bdf), "GPU\(n)")
            let dsp = try #require(e.functions[g].upstreamBridge)
            #expect(e.functions[dsp].kind == .switchDownstreamPort, "GPU\(n)")
            #expect(e.functions[dsp].upstreamBridge == upstream[n < 3 ? 0 : 1], "GPU\(n)")
            #expect(e.functions[g].id == PCIID("10de:15f8"), "GPU\(n)")
            // The ten downstream ports' ACS control as the running kernel left it (ACSCtl in the -vv).
            let port = try #require(t.devices.first { $0.name == e.functions[dsp].name })
            #expect(port.acs?.control == [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding] && port.acs?.controlSource == .observed)
            let device = try #require(t.devices.first { $0.name == e.functions[g].name })
            #expect(device.linkGeneration == .gen3 && device.linkWidth == 16 && device.trainedWidth == nil)
        }
    }

    @Test("every cell of the printed topo -m matches: PIX inside each switch, PHB between them; a wrong NIC map is caught")
    func matchesTopoM() throws {
        let (_, f) = try Self.imported()
        let pasted = try Self.pasted()
        #expect(pasted.names == ["GPU0", "GPU1", "GPU2", "GPU3", "GPU4", "GPU5", "GPU6", "NIC0"])
        let result = TopoMatrix.compare(pasted, with: f, map: try Self.map())
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(result.differences.isEmpty, "\(result.differences.map(\.description))")
        // The two Intel X540 ports (no RDMA device) are not in nvidia-smi's matrix: said, not an error.
        #expect(result.notes == ["NIC nic1 (0000:81:00.0, 8086:1528) is not in topo -m: nvidia-smi lists NICs with an RDMA device only",
                                 "NIC nic2 (0000:81:00.1, 8086:1528) is not in topo -m: nvidia-smi lists NICs with an RDMA device only"])
        let cells = pasted.cells.joined()
        #expect(cells.filter { $0 == "PIX" }.count == 26 && cells.filter { $0 == "PHB" }.count == 30)

        // NIC0 taken for an X540 port on the other socket: its 14 cells differ, each listed.
        let wrong = TopoMatrix.compare(pasted, with: f, map: try Self.map(nics: ["mlx5_0": BDF("0000:81:00.0")!]))
        #expect(wrong.differences.count == 14)
        #expect(wrong.differences.map(\.description).contains("GPU3 NIC0: topology gives SYS, topo -m says PIX"))
    }

    @Test("each half alone places the devices the same way; the pair adds what each lacks")
    func halves() throws {
        let (pair, f) = try Self.imported()
        let pasted = try Self.pasted()
        // The -vv alone: the same tree from its Bus: lines, but no IDs (no -nn, no pci.ids here): the host bridge
        // is then a device of its own and the CPU vendor unknown.
        let vvOnly = try LspciImporter.read(path: Self.vv)
        #expect(vvOnly.warnings.contains { $0.message.hasPrefix("vendor:device unknown: written as ffff:ffff for 213 functions") })
        // The tree alone: the same places, nothing of links or ACS.
        let treeOnly = try LspciImporter.read(path: Self.tree)
        #expect(treeOnly.warnings.contains { $0.message.hasPrefix("ACS unknown") })
        for r in [vvOnly, treeOnly] {
            let loaded = try LoadedTopology(topology: r.topology)
            let fabric = Fabric(loaded, acsControl: Semantics(loaded).acsControl)
            let c = TopoMatrix.compare(pasted, with: fabric, map: try Self.map())
            #expect(c.differences.isEmpty && c.problems.isEmpty, "\(c.differences.map(\.description)) \(c.problems)")
            #expect(Set(fabric.enumeration.functions.map(\.bdf)).isSuperset(of: Set(f.enumeration.functions.map(\.bdf))))
        }
        #expect(!pair.warnings.contains { $0.message.hasPrefix("vendor:device unknown: written as ffff:ffff for 213") })
    }

    @Test("simrun import lspci + check-topo-m: exit 0, 64 cells, 0 differ", .enabled(if: importSimrun != nil))
    func commandLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-gpu01-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("gpu01.xml").path
        let i = try runSimrun(["import", Self.vv, Self.tree, "-o", out, "--quiet"])
        #expect(i.status == 0, "\(i.stderr)")
        let ok = try runSimrun(["check-topo-m", out, Self.matrix, "--gpus", Self.gpuList, "--nic", "mlx5_0=0000:0b:00.0"])
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(ok.stdout.hasSuffix("64 cells compared, 0 differ\n"), "\(ok.stdout)")
    }
}
