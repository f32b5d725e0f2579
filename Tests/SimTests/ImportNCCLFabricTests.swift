// NCCL files as dumped and published: virtual switches, NVLink/NVSwitch, NCCL's link readings, the full round
// trip; GPU links in the topology format; nvidia-smi topo -m printed, parsed and compared.
import Foundation
import Testing
@testable import Sim

/// Every element of an NCCL file NCCL reads, keyed by its path (`cpu[0]/pci[0000:17:00.0]/gpu/nvlink[...]`),
/// with its attributes.
func ncclNodes(_ xml: String) throws -> [String: [String: String]] {
    let root = try SafeXML.parse(Array(xml.utf8), file: "nccl.xml")
    var out: [String: [String: String]] = [:]
    func walk(_ e: XMLElement, path: String) {
        var counts: [String: Int] = [:]
        for c in e.children {
            let id: String
            switch c.name {
            case "cpu": id = c["numaid"] ?? "?"
            case "pci": id = (c["busid"] ?? "?").lowercased()
            case "nvlink", "pcilink": id = (c["target"] ?? "?").lowercased()
            case "net": id = c["name"] ?? "?"
            default:
                id = String(counts[c.name, default: 0])
                counts[c.name, default: 0] += 1
            }
            let key = "\(path)/\(c.name)[\(id)]"
            var attrs: [String: String] = [:]
            for a in c.attributes { attrs[a.name] = a.name == "busid" || a.name == "target" ? a.value.lowercased() : a.value }
            out[key] = attrs
            walk(c, path: key)
        }
    }
    walk(root, path: "system")
    return out
}

func importNCCL(_ text: String, file: String = "inline.xml") throws -> ImportResult {
    try NCCLImporter.read(bytes: Array(text.utf8), file: file)
}

/// The imported topology as the importer writes it, read back through the schema and the semantic checks.
func writtenAndReadBack(_ r: ImportResult) throws -> LoadedTopology {
    let doc = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "written.xml")
    return try LoadedTopology(topology: doc.topology)
}

@Suite("NCCL files as dumped: virtual switches, NVLink, NCCL's own readings; GPU links; topo -m")
struct ImportNCCLFabricTests {
    func fabric(_ loaded: LoadedTopology) -> Fabric { Fabric(loaded, acsControl: Semantics(loaded).acsControl) }

    @Test("a cloud NCCL file with virtual switches (DigitalOcean H100x8): GPU and NIC under one virtual switch are PIX")
    func virtualSwitches() throws {
        let r = try NCCLImporter.read(path: importFixture("nccl-digitalocean-h100x8.xml"))
        let loaded = try writtenAndReadBack(r)   // the importer's output validates
        let f = fabric(loaded)
        let t = loaded.topology
        func fn(_ name: String) throws -> Int { try #require(loaded.enumeration.function(named: name), "no \(name)") }
        // The GPUs have no <gpu> child in this file (NCCL fills it at run time): the class code makes them GPUs.
        let gpus = t.devices.indices.filter { t.devices[$0].endpoint?.endpointClass == .gpu }
        #expect(gpus.count == 8)
        for n in 0..<8 {
            let nic = try fn("mlx5_\(n)")
            // The GPU that shares mlx5_n's virtual switch: the device whose NCCL busid is 0000:0(n+1):01.0.
            let gpu = try #require(t.devices.firstIndex { $0.parameters.contains(Parameter(name: "nccl.busid", value: "0000:0\(n + 1):01.0")) })
            let g = try #require(loaded.enumeration.functions.firstIndex { $0.device == gpu })
            #expect(f.pathClass(g, nic) == .pix, "GPU of ffff:ff:0\(n + 1).0 and mlx5_\(n)")
            let sw = try #require(t.devices[gpu].parent.flatMap { t.devices[$0].parent })
            #expect(t.devices[sw].kind == .switchUpstreamPort)
            #expect(t.devices[sw].parameters.contains(Parameter(name: "nccl.busid", value: "ffff:ff:0\(n + 1).0")))
            #expect(t.devices[sw].parameters.contains { $0.name == "import.assumption" && $0.value.hasPrefix("virtual switch ffff:ff:0\(n + 1).0: a hypervisor's flattened PCIe view") })
        }
        // Across virtual switches of one <cpu>: through the CPU (NCCL's PHB); across <cpu>s: SYS.
        #expect(try f.pathClass(fn("mlx5_0"), fn("mlx5_1")) == .phb)
        #expect(try f.pathClass(fn("mlx5_0"), fn("mlx5_4")) == .sys)
        // The virtual domain is one no device of the file uses, one root complex per NUMA node.
        #expect(t.rootComplexes.map { [Int($0.segment), $0.socket] }.sorted { $0[1] < $1[1] } == [[0xFFFE, 0], [0xFFFD, 1]])
        // The x16 Gen5 links as NCCL reads "32 GT/s" (kvDictPciGen) and "32.0 GT/s PCIe".
        #expect(t.devices[gpus[0]].linkGeneration == .gen5 && t.devices[gpus[0]].linkWidth == 16)
        #expect(!r.warnings.contains { $0.message.contains("link_speed") })
    }

    @Test("NVSwitch links of an A100 dump (aliyun/SimAI): NV12 between every GPU pair, PCIe classes unchanged")
    func nvswitch() throws {
        let r = try NCCLImporter.read(path: importFixture("nccl-simai-4xa100.xml"))
        let loaded = try writtenAndReadBack(r)
        #expect(loaded.topology.gpuLinks.count == 24)
        #expect(loaded.topology.gpuLinks.allSatisfy { $0.kind == .nvswitch && $0.count == 2 && $0.targetClass == nil })
        #expect(Set(loaded.topology.gpuLinks.compactMap(\.fabricSwitch)) == ["0000:c0:00.0", "0000:c1:00.0", "0000:c2:00.0", "0000:c3:00.0", "0000:c4:00.0", "0000:c5:00.0"])
        let f = fabric(loaded)
        let (gpus, nics) = TopoMatrix.devices(f)
        #expect(gpus.count == 4 && nics.count == 3)
        let g = GPUFabric(loaded.topology)
        for a in gpus { for b in gpus where a != b { #expect(f.topoMatrixClass(a, b, gpuFabric: g) == .nvlink(12)) } }
        // GPU0 and GPU1 share the switch 0000:0c:00.0 three levels up: PXB over PCIe, as without NVLink.
        #expect(f.pathClass(gpus[0], gpus[1]) == .pxb)
        #expect(f.topoMatrixClass(gpus[0], nics[1], gpuFabric: g) == .pcie(.pxb))
        // "16 GT/s" is in NCCL's table (the kernel's string before 5.7): Gen4, no warning.
        #expect(loaded.topology.devices.filter { $0.endpoint?.endpointClass == .gpu }.allSatisfy { $0.linkGeneration == .gen4 })
        #expect(!r.warnings.contains { $0.message.contains("link_speed") })
    }

    static let speeds: [(String, LinkGeneration, Bool)] = [
        ("32 GT/s PCIe/s", .gen5, true), ("32 GT/s", .gen5, true), ("32.0 GT/s PCIe", .gen5, true),
        ("16.0 GT/s PCIe", .gen4, true), ("16 GT/s", .gen4, true), ("8.0 GT/s PCIe", .gen3, true),
        ("5 GT/s", .gen2, true), ("2.5 GT/s PCIe", .gen1, true), ("64.0 GT/s PCIe", .gen6, true),
        // Not in the table: NCCL falls back to 8 GT/s, the "16.0 GT/s" of xml.cc's NVML fallback included.
        ("16.0 GT/s", .gen3, false), ("", .gen3, false), ("Unknown", .gen3, false), ("64 GT/s", .gen3, false),
    ]

    @Test("link_speed strings as NCCL's kvDictPciGen reads them (prefix match, 8 GT/s fallback)", arguments: speeds)
    func linkSpeed(_ text: String, _ generation: LinkGeneration, _ known: Bool) {
        let r = NCCLImporter.ncclLinkSpeed(text)
        #expect(r.generation == generation && r.known == known)
    }

    static let switchWithDefaults = """
    <system version="1">
      <cpu numaid="0" arch="x86_64" vendor="GenuineIntel" familyid="6" modelid="143">
        <pci busid="0000:17:00.0" class="0x060400" vendor="0x1000" device="0xc030" link_speed="32.0 GT/s PCIe" link_width="16">
          <pci busid="0000:19:00.0" class="0x030200" vendor="0x10de" device="0x2330" link_speed="" link_width="0">
            <gpu dev="0" sm="90" rank="0" gdr="1">
              <nvlink target="0000:19:00.0" count="18" tclass="0x030200"/>
              <nvlink target="fffffff:ffff:ff" count="18" tclass="0x068000"/>
            </gpu>
          </pci>
          <pci busid="0000:1a:00.0" class="0x020700" vendor="0x15b3" device="0x1021" link_speed="16.0 GT/s" link_width="16">
            <nic><net name="mlx5_0" dev="0" speed="400000" port="1" gdr="1"/></nic>
          </pci>
        </pci>
      </cpu>
    </system>
    """

    @Test("link_width 0 and empty speeds take NCCL's defaults with a warning citing topo.cc; NCCL's self-loop is named")
    func ncclDefaults() throws {
        let r = try importNCCL(Self.switchWithDefaults)
        let loaded = try writtenAndReadBack(r)
        let t = loaded.topology
        let gpu = try #require(t.devices.first { $0.endpoint?.endpointClass == .gpu })
        #expect(gpu.linkWidth == 16 && gpu.linkGeneration == .gen3)
        let w = r.warnings.map(\.description)
        #expect(w.contains { $0.hasSuffix(":4: warning: link_width \"0\": NCCL takes x16 when the width is 0 or unreadable (src/graph/topo.cc, ncclTopoAddPci: \"if (width == 0) width = 16\"), and so does the model") })
        #expect(w.contains { $0.hasSuffix(":4: warning: link_speed \"\" is not in NCCL's table (src/graph/topo.cc, kvDictPciGen): NCCL falls back to 8 GT/s per lane, and so does the model (8GT/s)") })
        #expect(w.contains { $0.hasSuffix(":10: warning: link_speed \"16.0 GT/s\" is not in NCCL's table (src/graph/topo.cc, kvDictPciGen): NCCL falls back to 8 GT/s per lane, and so does the model (8GT/s)") })
        #expect(w.contains { $0.hasSuffix(":6: warning: <nvlink target=\"0000:19:00.0\"> of gpu0 points at the GPU itself (NCCL's self-loop: NVML reported the GPU's own address as the far end): kept as written, it joins no pair of GPUs and gives no NV# class") })
        #expect(t.gpuLinks == [GPULink(kind: .nvlink, a: "gpu0", b: "gpu0", count: 18),
                               GPULink(kind: .nvswitch, a: "gpu0", fabricSwitch: "fffffff:ffff:ff", count: 18)])
        #expect(t.gpuLinks[0].isSelfLoop)
        // The round trip writes the strings back as read.
        let nodes = try ncclNodes(NCCLExporter.write(loaded))
        let gpuNode = try #require(nodes["system/cpu[0]/pci[0000:17:00.0]/pci[0000:19:00.0]"])
        #expect(gpuNode["link_speed"] == "" && gpuNode["link_width"] == "0")
        #expect(nodes["system/cpu[0]/pci[0000:17:00.0]/pci[0000:19:00.0]/gpu[0]/nvlink[0000:19:00.0]"] == ["target": "0000:19:00.0", "count": "18", "tclass": "0x030200"])
    }

    /// The shape hypervisors give (synthetic, written for this test): a virtual switch without vendor attributes whose
    /// devices sit in PCI domains of their own, GPU-to-GPU NVLink, a second <cpu>.
    static let domainsPerDevice = """
    <system version="1">
      <cpu numaid="0" affinity="0000ffff,0000ffff" arch="x86_64" vendor="AuthenticAMD" familyid="25" modelid="1">
        <pci busid="ffff:ff:01.0" class="0x060400" link_speed="16 GT/s" link_width="16">
          <pci busid="0001:00:00.0" class="0x030200" link_speed="16 GT/s" link_width="16">
            <gpu dev="0" sm="80" rank="0" gdr="1"><nvlink target="0002:00:00.0" count="12" tclass="0x030200"/></gpu>
          </pci>
          <pci busid="0101:00:00.0" class="0x020700" link_speed="16 GT/s" link_width="16"/>
        </pci>
      </cpu>
      <cpu numaid="1" affinity="ffff0000,ffff0000" arch="x86_64" vendor="AuthenticAMD" familyid="25" modelid="1">
        <pci busid="ffff:ff:02.0" class="0x060400" link_speed="16 GT/s" link_width="16">
          <pci busid="0002:00:00.0" class="0x030200" link_speed="16 GT/s" link_width="16">
            <gpu dev="1" sm="80" rank="1" gdr="1"><nvlink target="0001:00:00.0" count="12" tclass="0x030200"/></gpu>
          </pci>
          <pci busid="0102:00:00.0" class="0x020700" link_speed="16 GT/s" link_width="16"/>
        </pci>
      </cpu>
    </system>
    """

    @Test("a virtual switch over devices in domains of their own: one switch, PIX inside, NV12 across, output validates")
    func virtualSwitchDomains() throws {
        let r = try importNCCL(Self.domainsPerDevice)
        let loaded = try writtenAndReadBack(r)
        let f = fabric(loaded)
        let (gpus, nics) = TopoMatrix.devices(f)
        #expect(gpus.count == 2 && nics.count == 2)
        let g = GPUFabric(loaded.topology)
        #expect(f.topoMatrixClass(gpus[0], nics[0], gpuFabric: g) == .pcie(.pix))
        #expect(f.topoMatrixClass(gpus[1], nics[1], gpuFabric: g) == .pcie(.pix))
        #expect(f.topoMatrixClass(gpus[0], gpus[1], gpuFabric: g) == .nvlink(12))
        #expect(f.pathClass(gpus[0], gpus[1]) == .sys)   // the PCIe answer stays the PCIe one
        #expect(r.warnings.allSatisfy { $0.severity == .warning })
        let nodes = try ncclNodes(NCCLExporter.write(loaded))
        #expect(nodes["system/cpu[1]/pci[ffff:ff:02.0]/pci[0002:00:00.0]/gpu[0]/nvlink[0001:00:00.0]"] == ["target": "0001:00:00.0", "count": "12", "tclass": "0x030200"])
        #expect(nodes["system/cpu[0]/pci[ffff:ff:01.0]/pci[0101:00:00.0]"]?["link_speed"] == "16 GT/s")
    }

    /// Virtual switches nested in a real switch and in each other, over devices on one bus (synthetic, for this test).
    static let nestedVirtualSwitches = """
    <system version="1">
      <cpu numaid="0" arch="x86_64" vendor="GenuineIntel" familyid="6" modelid="143">
        <pci busid="0000:17:00.0" class="0x060400" vendor="0x1000" device="0xc030" link_speed="32.0 GT/s PCIe" link_width="16">
          <pci busid="ffff:ff:01.0" class="0x060400" vendor="0xffff" device="0xffff" link_speed="32.0 GT/s PCIe" link_width="16">
            <pci busid="0000:19:00.0" class="0x030200" vendor="0x10de" device="0x2330" link_speed="32.0 GT/s PCIe" link_width="16"/>
            <pci busid="0000:1a:00.0" class="0x020700" vendor="0x15b3" device="0x1021" link_speed="32.0 GT/s PCIe" link_width="16"/>
          </pci>
        </pci>
        <pci busid="ffff:ff:02.0" class="0x060400" vendor="0xffff" device="0xffff" link_speed="32.0 GT/s PCIe" link_width="16">
          <pci busid="ffff:ff:03.0" class="0x060400" vendor="0xffff" device="0xffff" link_speed="32.0 GT/s PCIe" link_width="16">
            <pci busid="0000:10:1c.0" class="0x030200" vendor="0x10de" device="0x20b0" link_speed="16.0 GT/s PCIe" link_width="16"/>
            <pci busid="0000:10:1b.0" class="0x020000" vendor="0x1d0f" device="0xefa1" link_speed="16.0 GT/s PCIe" link_width="16"/>
          </pci>
        </pci>
      </cpu>
    </system>
    """

    @Test("virtual switches nested in a real switch or in each other: PIX below each, every busid kept by the round trip")
    func nestedVirtualSwitches() throws {
        let r = try importNCCL(Self.nestedVirtualSwitches)
        let loaded = try writtenAndReadBack(r)
        let f = fabric(loaded)
        let (gpus, nics) = TopoMatrix.devices(f)
        #expect(gpus.count == 2 && nics.count == 2)
        // PCI address order by NCCL busid: GPU0 is 0000:10:1c.0 with the EFA 0000:10:1b.0, GPU1 0000:19:00.0 with 1a:00.0.
        #expect(f.pathClass(gpus[0], nics[0]) == .pix && f.pathClass(gpus[1], nics[1]) == .pix)
        #expect(!r.warnings.contains { $0.message.contains("left out") || $0.message.contains("listed twice") })
        let before = try ncclNodes(Self.nestedVirtualSwitches)
        let after = try ncclNodes(NCCLExporter.write(loaded))
        #expect(Set(before.keys) == Set(after.keys))
    }

    static let roundTripFixtures = ["nccl-digitalocean-h100x8.xml", "nccl-simai-4xa100.xml", "nccl-h200-host-first-switch.xml",
                                    "nccl-two-sockets.xml", "nccl-cloud-vm.xml"]

    @Test("an H200 host dump (nccl-tests#256): GPU and NIC under one PEX890xx are PIX; 18 NVLinks over 4 NVSwitches")
    func h200() throws {
        let loaded = try writtenAndReadBack(NCCLImporter.read(path: importFixture("nccl-h200-host-first-switch.xml")))
        let f = fabric(loaded)
        let (gpus, nics) = TopoMatrix.devices(f)
        #expect(gpus.count == 1 && nics.count == 1)
        #expect(f.pathClass(gpus[0], nics[0]) == .pix)
        #expect(loaded.topology.gpuLinks.map(\.count).reduce(0, +) == 18)
        #expect(loaded.topology.rootComplexes.first?.parameters.first { $0.name == "nccl.cpu" }?.value.hasPrefix("host_hash=\"0x16fe256e956b115c\"") == true)
    }

    @Test("import nccl -> export nccl keeps every element and attribute NCCL reads", arguments: roundTripFixtures)
    func roundTrip(_ name: String) throws {
        let input = try String(contentsOfFile: importFixture(name), encoding: .utf8)
        let r = try NCCLImporter.read(path: importFixture(name))
        let output = NCCLExporter.write(try writtenAndReadBack(r))
        let before = try ncclNodes(input)
        let after = try ncclNodes(output)
        #expect(Set(before.keys) == Set(after.keys), "elements lost: \(Set(before.keys).subtracting(after.keys).sorted()), added: \(Set(after.keys).subtracting(before.keys).sorted())")
        for (key, attrs) in before {
            for (a, v) in attrs {
                #expect(after[key]?[a] == v, "\(key) \(a)=\"\(v)\" became \(after[key]?[a].map { "\"\($0)\"" } ?? "absent")")
            }
        }
        // Export, import, export again: a fixed point.
        let again = NCCLExporter.write(try writtenAndReadBack(importNCCL(output, file: "again.xml")))
        #expect(again == output)
    }

    @Test("<gpu-link> reads and writes back; bad references are file:line errors")
    func gpuLinkElement() throws {
        let path = importFixture("topo-m-4xh100-nv6.topology.xml")
        let doc = try TopologyReader.read(path: path)
        #expect(doc.topology.gpuLinks.count == 12 && doc.topology.gpuLinks[0] == GPULink(kind: .nvlink, a: "gpu0", b: "gpu1", count: 6))
        let again = try TopologyReader.read(text: TopologyWriter.write(doc.topology), file: "again.xml")
        #expect(again.topology == doc.topology)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let bad = text.replacingOccurrences(of: "</topology>", with: "  <gpu-link kind=\"nvswitch\" a=\"gpu9\" b=\"gpu0\"/>\n</topology>")
        let error = try #require(throws: DiagnosticError.self) { try TopologyReader.read(text: bad, file: "bad.xml") }
        let lines = error.errors.map(\.description)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        #expect(lines.contains("bad.xml:\(line): error: <gpu-link> a='gpu9' names no device"))
        #expect(lines.contains("bad.xml:\(line): error: <gpu-link kind=\"nvswitch\"> needs switch=\"...\" (the NVSwitch it reaches)"))
    }

    @Test("topo -m of NVIDIA/nccl#1617 parses and matches its model; a missing NVLink pair is found cell by cell")
    func topoMCompare() throws {
        let pasted = try TopoMatrix.parse(String(contentsOfFile: importFixture("topo-m-4xh100-nv6.txt"), encoding: .utf8), file: "topo-m.txt")
        #expect(pasted.names == ["GPU0", "GPU1", "GPU2", "GPU3", "NIC0", "NIC1", "NIC2", "NIC3"])
        #expect(pasted.cells[0] == ["X", "NV6", "NV6", "NV6", "PIX", "SYS", "SYS", "SYS"])
        #expect(pasted.cells[7] == ["SYS", "SYS", "SYS", "PIX", "SYS", "SYS", "SYS", "X"])
        let loaded = try LoadedTopology.load(path: importFixture("topo-m-4xh100-nv6.topology.xml"))
        let clean = TopoMatrix.compare(pasted, with: fabric(loaded))
        #expect(clean.differences.isEmpty && clean.problems.isEmpty)

        // GPU0 and GPU1 without their NVLinks: exactly those two cells differ, and the PCIe class takes their place.
        var t = loaded.topology
        t.gpuLinks.removeAll { Set([$0.a, $0.b]) == ["gpu0", "gpu1"] }
        let broken = TopoMatrix.compare(pasted, with: fabric(try LoadedTopology(topology: t)))
        #expect(broken.differences.map(\.description) == ["GPU0 GPU1: topology gives SYS, topo -m says NV6", "GPU1 GPU0: topology gives SYS, topo -m says NV6"])
    }

    @Test("p2p --format topo-m of an import parses back to no difference; the p2p table shows NV#")
    func topoMPrintParse() throws {
        let loaded = try writtenAndReadBack(NCCLImporter.read(path: importFixture("nccl-simai-4xa100.xml")))
        let f = fabric(loaded)
        let text = TopoMatrix.text(f)
        let parsed = try TopoMatrix.parse(text, file: "printed.txt")
        #expect(parsed.nicLegend == ["NIC0": "mlx5_bond_0", "NIC1": "mlx5_bond_1", "NIC2": "mlx5_bond_2"])
        let result = TopoMatrix.compare(parsed, with: f)
        #expect(result.differences.isEmpty && result.problems.isEmpty)
        #expect(parsed.cells[0] == ["X", "NV12", "NV12", "NV12", "NODE", "PXB", "NODE"])
        let gpus = TopoMatrix.devices(f).gpus
        let matrix = Semantics(loaded).distanceMatrix(providers: gpus, clients: gpus)
        #expect(P2PTable.text(matrix, fabric: f).contains(" NV12"))
    }

    @Test("a pasted matrix with a bad cell or a short row is a file:line error")
    func topoMErrors() throws {
        let text = "\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X \tNV4\t0-7\nGPU1\tNVX\t X \t0-7\n"
        let e = try #require(throws: DiagnosticError.self) { try TopoMatrix.parse(text, file: "m.txt") }
        #expect(e.errors.map(\.description) == ["m.txt:3: error: row GPU1, column GPU0: 'NVX' is not a topo -m class (X, PIX, PXB, PHB, NODE, SYS, NV#)"])
        let none = try #require(throws: DiagnosticError.self) { try TopoMatrix.parse("nothing here\n", file: "m.txt") }
        #expect(none.errors.first?.line == 1)
    }
}
