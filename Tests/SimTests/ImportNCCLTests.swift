// simrun import nccl / export nccl: NCCL topology XML both ways, and the round trip on every shipped topology.
import Foundation
import Testing
@testable import Sim

/// The PCI tree an NCCL file describes: per busid, its NCCL parent, class, link speed and width, GPU/NIC.
func ncclTree(_ xml: String) throws -> [String: String] {
    let root = try SafeXML.parse(Array(xml.utf8), file: "nccl.xml")
    var out: [String: String] = [:]
    func walk(_ e: XMLElement, parent: String, cpu: String) {
        for c in e.children where c.name == "pci" {
            let kind = c.children(named: "gpu").isEmpty ? (c.children(named: "nic").isEmpty ? "" : "nic") : "gpu"
            out[c["busid"] ?? "?"] = [cpu, parent, c["class"] ?? "", c["vendor"] ?? "", c["device"] ?? "",
                                      c["link_speed"] ?? "-", c["link_width"] ?? "-", kind].joined(separator: " ")
            walk(c, parent: c["busid"] ?? "?", cpu: cpu)
        }
    }
    for cpu in root.children(named: "cpu") { walk(cpu, parent: "cpu", cpu: cpu["numaid"] ?? "") }
    return out
}

@Suite("simrun import nccl and export nccl")
struct ImportNCCLTests {
    @Test("an NCCL dump: sockets, synthesized root and downstream ports, switches two levels deep, the machine's BDFs")
    func ncclTwoSockets() throws {
        let r = try NCCLImporter.read(path: importFixture("nccl-two-sockets.xml"))
        let t = r.topology
        #expect(t.sockets == [Socket(id: 0, cpuVendor: .intel, cpuFamily: 6, cpuModel: 85), Socket(id: 1, cpuVendor: .intel, cpuFamily: 6, cpuModel: 85)])
        #expect(t.rootComplexes.map(\.rootBus) == [0x16, 0x3A, 0x85])
        #expect(t.rootComplexes.map(\.socket) == [0, 0, 1])
        func device(_ name: String) throws -> Device { try #require(t.devices.first { $0.name == name }, "no \(name)") }
        #expect(try device("sw-17-00.0").kind == .switchUpstreamPort)
        #expect(try device("sw-89-00.0").parent.map { t.devices[$0].kind } == .switchDownstreamPort)
        #expect(try device("dp-18-00.0").id == PCIID("1000:c010"))   // takes its switch's ID
        #expect(try device("mlx5_0").endpoint?.endpointClass == .nic)
        #expect(try device("gpu1").linkGeneration == .gen3 && device("gpu1").linkWidth == 16)
        #expect(try device("nvme0").linkWidth == 4)
        #expect(try device("rp-16-00.0").parameters.contains { $0.name == "import.assumption" && $0.value.contains("synthesized root port") })
        let e = r.enumeration
        for (name, bdf) in [("gpu0", "0000:19:00.0"), ("mlx5_0", "0000:1a:00.0"), ("gpu2", "0000:8b:00.0"), ("mlx5_1", "0000:8c:00.0"), ("nic0", "0000:8c:00.1")] {
            #expect(e.function(named: name).map { e.functions[$0].bdf } == BDF(bdf), "\(name)")
        }
        // The two functions of one NIC sit below one downstream port.
        #expect(try device("mlx5_1").parent == device("nic0").parent)
        _ = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "nccl.xml")
    }

    @Test("a cloud VM: GPUs on the root bus with unknown link speeds, a NIC not on PCI")
    func ncclCloudVM() throws {
        let r = try NCCLImporter.read(path: importFixture("nccl-cloud-vm.xml"))
        #expect(r.topology.rootComplexes.map(\.rootBus) == [0])
        #expect(r.topology.devices.map(\.name) == ["gpu0", "gpu1"])
        #expect(r.topology.devices.allSatisfy { $0.parent == nil && $0.isPCIe && $0.deviceNumber != nil })
        #expect(r.warnings.map(\.description).contains { $0.hasSuffix(":10: warning: <nic> directly under <cpu> (a network device not on PCI, as NCCL attaches it to the CPU): not a PCIe device, kept for export nccl as parameters of NUMA node 0's root complex") })
        #expect(r.topology.rootComplexes[0].parameters.contains { $0.name == "nccl.cpu-net" && $0.value.hasPrefix("name=\"eth0\"") })
    }

    @Test("odd NCCL files warn by line; broken ones fail with file:line: error")
    func ncclOdd() throws {
        let r = try NCCLImporter.read(path: importFixture("nccl-odd.xml"))
        let messages = r.warnings.map(\.description)
        #expect(messages.contains { $0.hasSuffix(":4: warning: <cpu> without numaid: taken as NUMA node 0") })
        #expect(messages.contains { $0.hasSuffix(":5: warning: <pci> without a readable busid (missing); it and its children are left out") })
        #expect(messages.contains { $0.hasSuffix(":6: warning: <pci> without a readable busid (not-a-bdf); it and its children are left out") })
        #expect(messages.contains { $0.hasSuffix(":10: warning: <frobnicator> under <cpu> ignored") })
        let gpu = try #require(r.topology.devices.first { $0.name == "gpu0" })
        #expect(gpu.classCode == nil && gpu.endpoint?.endpointClass == .gpu)   // the <gpu> child decides
        #expect(gpu.linkGeneration == .gen5)

        let truncated = try #require(throws: DiagnosticError.self) { try NCCLImporter.read(path: importFixture("nccl-truncated.xml")) }
        #expect(truncated.errors.first?.line == 17)
        let wrong = try #require(throws: DiagnosticError.self) { try NCCLImporter.read(path: importFixture("nccl-wrong-root.xml")) }
        #expect(wrong.errors.first?.description.hasSuffix("nccl-wrong-root.xml:1: error: expected an NCCL <system> document, found <topology>") == true)
        let dtd = "<!DOCTYPE system [<!ENTITY e \"x\">]>\n<system version=\"1\"/>"
        #expect(throws: DiagnosticError.self) { try NCCLImporter.machine(bytes: Array(dtd.utf8), file: "dtd.xml") }
        let empty = try #require(throws: DiagnosticError.self) { try NCCLImporter.machine(bytes: Array("<system version=\"1\"><cpu numaid=\"0\"/></system>".utf8), file: "e.xml") }
        #expect(empty.errors.first?.message == "no <pci> devices under any <cpu>")
    }

    @Test("export nccl then import nccl keeps the tree, link speeds and widths", arguments: shippedTopologies)
    func ncclRoundTrip(_ file: String) throws {
        let loaded = try LoadedTopology.load(path: repositoryRoot.appendingPathComponent("topologies").appendingPathComponent(file).path)
        let first = NCCLExporter.write(loaded)
        let imported = try TopologyAssembler.assemble(NCCLImporter.machine(bytes: Array(first.utf8), file: "\(file).nccl.xml"))
        #expect(!imported.warnings.contains { $0.message.contains("do not check out") })
        let second = NCCLExporter.write(try LoadedTopology(topology: imported.topology))
        #expect(try ncclTree(second) == ncclTree(first))
        // From the first import on, export and import are a fixed point.
        let again = try TopologyAssembler.assemble(NCCLImporter.machine(bytes: Array(second.utf8), file: "again.xml"))
        #expect(NCCLExporter.write(try LoadedTopology(topology: again.topology)) == second)
    }

    @Test("export nccl: a <cpu> per socket, switches nested, GPUs and NICs marked, ports left out")
    func ncclExport() throws {
        let loaded = try LoadedTopology.load(path: repositoryRoot.appendingPathComponent("topologies/nvmeof-switch-acs-off.xml").path)
        let xml = NCCLExporter.write(loaded)
        let tree = try ncclTree(xml)
        let root = try SafeXML.parse(Array(xml.utf8), file: "x")
        #expect(root.name == "system" && root["version"] == "1")
        #expect(root.children(named: "cpu").count == loaded.topology.sockets.count)
        let switchBDF = try #require(loaded.enumeration.functions.first { $0.kind == .switchUpstreamPort }?.bdf.description)
        #expect(tree[switchBDF]?.hasPrefix("0 cpu 0x060400") == true)
        #expect(tree.values.filter { $0.contains(" \(switchBDF) ") }.count == 3)
        #expect(!xml.contains("<!--"))   // NCCL's own parser reads elements only
        #expect(!tree.keys.contains { k in loaded.enumeration.functions.contains { $0.bdf.description == k && ($0.kind == .rootPort || $0.kind == .switchDownstreamPort) } })
    }
}
