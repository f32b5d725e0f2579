// simrun import hwloc: lstopo XML of hwloc 1.x and 2.x, odd exports, and the XML hardening.
import Foundation
import Testing
@testable import Sim

@Suite("simrun import hwloc")
struct ImportHwlocTests {
    @Test("hwloc 2.x: packages, host bridges with bus ranges, bridges by depth, link speeds decoded")
    func hwloc2() throws {
        let r = try HwlocImporter.read(path: importFixture("hwloc-2x-two-packages.xml"))
        let t = r.topology
        #expect(t.sockets == [Socket(id: 0, cpuVendor: .amd, cpuFamily: 25, cpuModel: 1), Socket(id: 1, cpuVendor: .amd, cpuFamily: 25, cpuModel: 1)])
        #expect(t.rootComplexes.map(\.rootBus) == [0x00, 0x80])
        #expect(t.rootComplexes.map(\.busLimit) == [0x04, 0x81])
        #expect(t.rootComplexes.map(\.socket) == [0, 1])
        func device(_ name: String) throws -> Device { try #require(t.devices.first { $0.name == name }, "no \(name)") }
        #expect(try device("rp-00-01.1").kind == .rootPort)
        // 00:01.0 (AMD's dummy host bridge) is not listed: the root port keeps function 1 beside a placeholder (issue #17).
        #expect(try device("rp-00-01.1").functionNumber == 1)
        #expect(try device("rp-00-01.1").subsystemID == nil)    // [0000:0000] means none
        #expect(try device("sw-01-00.0").kind == .switchUpstreamPort)
        #expect(try device("dp-02-00.0").kind == .switchDownstreamPort)
        // 7.876923 GB/s is Gen3 x8, Gen4 x4 or Gen5 x2: the Gen4 link above decides.
        #expect(try device("dp-02-00.0").linkGeneration == .gen4 && device("dp-02-00.0").linkWidth == 4)
        #expect(try device("nvme0").endpoint?.endpointClass == .nvme)
        #expect(try device("gpu0").linkGeneration == .gen4 && device("gpu0").linkWidth == 16)
        // 15.753846 GB/s below a root port with the same figure: the widest at most x16, Gen3 x16.
        #expect(try device("nic0").linkGeneration == .gen3 && device("nic0").linkWidth == 16)
        #expect(r.assumptions.contains { $0.contains("pci_link_speed is the trained link") })
        let e = r.enumeration
        #expect(e.function(named: "gpu0").map { e.functions[$0].bdf } == BDF("0000:04:00.0"))
        #expect(e.function(named: "nic0").map { e.functions[$0].bdf } == BDF("0000:81:00.0"))
        _ = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "hwloc.xml")
    }

    @Test("hwloc 1.x: Socket objects, a host bridge with no locality, root-bus devices, linkspeed 0")
    func hwloc1() throws {
        let r = try HwlocImporter.read(path: importFixture("hwloc-1x-workstation.xml"))
        let t = r.topology
        #expect(t.sockets.map(\.cpuVendor) == [.intel])
        #expect(t.rootComplexes.count == 1 && t.rootComplexes[0].socket == 0)
        #expect(r.assumptions.contains { $0.contains("NUMA node of some root complexes unknown") })
        let igpu = try #require(t.devices.first { $0.name == "gpu1" })   // names follow the tree, depth first
        #expect(igpu.parent == nil && igpu.classCode == 0x03_00_00 && igpu.linkGeneration == nil)
        let dgpu = try #require(t.devices.first { $0.name == "gpu0" })
        #expect(dgpu.linkGeneration == .gen3 && dgpu.linkWidth == 8)
        let nic = try #require(t.devices.first { $0.name == "nic0" })
        #expect(nic.parent == nil && nic.linkGeneration == nil)
    }

    @Test("odd hwloc exports: each problem is a warning with its line; the rest imports")
    func hwlocOdd() throws {
        let r = try HwlocImporter.read(path: importFixture("hwloc-odd.xml"))
        let messages = r.warnings.map(\.description)
        #expect(messages.contains { $0.hasSuffix(":6: warning: host bridge without bridge_pci=\"dddd:[ss-bb]\": its buses are unknown") })
        #expect(messages.contains { $0.hasSuffix(":7: warning: 0000:00:03.0: no pci_type attribute: class and IDs unknown") })
        #expect(messages.contains { $0.hasSuffix(":10: warning: 0000:10:01.0: pci_link_speed 3.3 GB/s matches no PCIe generation and width") })
        #expect(messages.contains { $0.hasSuffix(":11: warning: PCIDev without a readable pci_busid (zz:00.0); it and its children are left out") })
        #expect(r.topology.devices.contains { $0.name == "nic0" && $0.linkGeneration == .gen1 && $0.linkWidth == 1 })
    }

    @Test("lstopo's DOCTYPE line is accepted; any other DTD or entity is refused with its line")
    func hwlocHardening() throws {
        let plain = try HwlocImporter.machine(bytes: Array(try String(contentsOfFile: importFixture("hwloc-2x-two-packages.xml"), encoding: .utf8).utf8), file: "a.xml")
        #expect(plain.functions.count == 8)
        let entity = """
            <?xml version="1.0"?>
            <!DOCTYPE topology [ <!ENTITY x SYSTEM "file:///etc/hostname"> ]>
            <topology><object type="PCIDev" pci_busid="0000:00:01.0" pci_type="&x;"/></topology>
            """
        let error = try #require(throws: DiagnosticError.self) { try HwlocImporter.machine(bytes: Array(entity.utf8), file: "evil.xml") }
        #expect(error.diagnostics.first?.description.hasPrefix("evil.xml:2: error: <!DOCTYPE> declarations are not allowed") == true)
        let other = "<?xml version=\"1.0\"?>\n<!DOCTYPE topology SYSTEM \"http://example.com/x.dtd\">\n<topology/>\n"
        #expect(throws: DiagnosticError.self) { try HwlocImporter.machine(bytes: Array(other.utf8), file: "other.xml") }
        let empty = try #require(throws: DiagnosticError.self) {
            try HwlocImporter.machine(bytes: Array("<topology version=\"2.0\"><object type=\"Machine\"/></topology>".utf8), file: "noio.xml")
        }
        #expect(empty.diagnostics.first?.message.contains("no PCI objects") == true)
    }

    @Test("link bandwidth decoding", arguments: [
        (31.507692, nil, LinkGeneration.gen4, 16),
        (7.876923, LinkGeneration.gen4, .gen4, 4),
        (7.876923, nil, .gen3, 8),
        (15.753846, nil, .gen3, 16),
        (0.25, nil, .gen1, 1),
        (63.015384, nil, .gen5, 16),
        (4.0, nil, .gen1, 16),   // = Gen2 x8: the widest at most x16 wins
    ] as [(Double, LinkGeneration?, LinkGeneration, Int)])
    func hwlocLinks(_ speed: Double, _ preferred: LinkGeneration?, _ generation: LinkGeneration, _ width: Int) throws {
        let l = try #require(HwlocImporter.link(gigabytesPerSecond: speed, preferring: preferred))
        #expect(l.generation == generation && l.width == width)
        #expect(HwlocImporter.link(gigabytesPerSecond: 3.3) == nil)
    }
}
