// simrun import lspci: lspci -vvv (-nn, -D), the -tv tree, messy pastes, truncated and foreign input.
import Foundation
import Testing
@testable import Sim

/// A fixture under Tests/SimTests/Fixtures/Import.
func importFixture(_ name: String) -> String {
    repositoryRoot.appendingPathComponent("Tests/SimTests/Fixtures/Import").appendingPathComponent(name).path
}

@Suite("simrun import lspci")
struct ImportLspciTests {
    @Test("lspci -vvv -nn -D: roles from the Express capability, the machine's numbers, windows, BARs, ACS, SR-IOV; the VF folds into its PF")
    func lspciSwitch() throws {
        let r = try LspciImporter.read(path: importFixture("lspci-vvv-nn-switch.txt"))
        let t = r.topology
        func device(_ name: String) throws -> Device { try #require(t.devices.first { $0.name == name }, "no \(name)") }
        #expect(t.rootComplexes.map(\.hostBridgeID) == [PCIID("8086:09a2")])
        #expect(try device("rp-00-01.0").kind == .rootPort)
        #expect(try device("rp-00-01.0").acs == ACSState(capability: [.sourceValidation, .translationBlocking, .requestRedirect, .completionRedirect, .upstreamForwarding],
                                                      control: [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding],
                                                      controlSource: .observed))
        #expect(try device("rp-00-01.0").bridge == BridgeConfig(secondaryBus: 1, subordinateBus: 4,
                                                               memoryWindow: AddressRange(start: 0x9000_0000, end: 0x900F_FFFF),
                                                               prefetchableWindow: AddressRange(start: 0x60_0000_0000, end: 0x60_11FF_FFFF)))
        #expect(try device("sw-01-00.0").kind == .switchUpstreamPort)
        #expect(try device("sw-01-00.0").maxPayloadSupported == 2048)
        #expect(try device("dp-02-00.0").acs?.control == [.requestRedirect, .completionRedirect])
        #expect(try device("dp-02-00.0").linkWidth == 4)
        let nvme = try device("nvme0")
        #expect(nvme.classCode == nil && nvme.endpoint?.endpointClass == .nvme)   // 0x010802 is the nvme default
        #expect(nvme.bars == [BAR(index: 0, size: 16 << 10, address: 0x9000_0000),
                              BAR(index: 2, size: 256 << 20, isPrefetchable: true, address: 0x60_0000_0000)])
        #expect(nvme.endpoint?.supportsATS == true)
        #expect(nvme.acs == nil)   // extended capabilities listed, no ACS among them
        #expect(!nvme.parameters.contains { $0.name == "import.unknown" })
        let nic = try device("nic0")
        #expect(nic.trainedGeneration == .gen3 && nic.trainedWidth == 8)
        #expect(nic.maxReadRequest == 4096)
        #expect(nic.endpoint?.dma.tagBits == 10)
        #expect(nic.endpoint?.sriov?.enabledVFs == 1 && nic.endpoint?.sriov?.vfID == PCIID("15b3:101c"))
        #expect(nic.acs == ACSState(capability: [], control: [], controlSource: .observed))
        #expect(try device("isa0").isPCIe == false)
        #expect(!t.devices.contains { $0.id == PCIID("15b3:101c") })
        // No CPU given: the Intel host bridge says Intel (family unknown), so the listed IOMMU groups become one
        // VT-d unit; the warning sits at the host bridge's line.
        #expect(t.sockets.map(\.cpuVendor) == [.intel] && t.sockets.map(\.cpuFamily) == [0])
        #expect(r.warnings.contains { $0.line == 1 && $0.message.hasPrefix("CPU read from the host bridge ID (8086:09a2): cpu-vendor intel") })
        #expect(t.iommus.map(\.kind) == [.vtd])

        let e = r.enumeration
        #expect(e.function(named: "nic0.vf0").map { e.functions[$0].bdf } == BDF("0000:04:00.1"))
        #expect(e.function(named: "nvme0").map { e.functions[$0].bdf } == BDF("0000:03:00.0"))
        _ = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "lspci.xml")

        // With the CPU given, the listed IOMMU groups become one unit of the vendor's kind.
        let intel = try LspciImporter.read(path: importFixture("lspci-vvv-nn-switch.txt"), options: ImportOptions(cpu: ImportedCPU(vendor: .intel, family: 6)))
        #expect(intel.topology.iommus.map(\.kind) == [.vtd])
        #expect(intel.topology.rootComplexes.allSatisfy { $0.iommu == "iommu0" })
    }

    @Test("lspci -tv gives the same tree as the Bus: lines")
    func lspciTree() throws {
        let plain = try LspciImporter.machine(text: String(contentsOfFile: importFixture("lspci-vvv-nn-switch.txt"), encoding: .utf8), file: "vvv")
        let treed = try LspciImporter.machine(text: String(contentsOfFile: importFixture("lspci-vvv-nn-switch.txt"), encoding: .utf8), file: "vvv",
                                              tree: String(contentsOfFile: importFixture("lspci-tv-switch.txt"), encoding: .utf8), treeFile: "tv")
        #expect(plain.functions.map(\.parent) == treed.functions.map(\.parent))
        #expect(treed.functions.first { $0.bdf == BDF("0000:04:00.0") }?.parent == BDF("0000:02:01.0"))
        #expect(treed.sources.contains { $0.contains("lspci -tv") })
        // The VF's own listing gives the VF BAR size the PF's SR-IOV capability leaves out.
        let pf = try #require(treed.functions.first { $0.bdf == BDF("0000:04:00.0") })
        #expect(pf.sriov?.bars.map(\.size) == [1 << 20])
        #expect(treed.functions.first { $0.bdf == BDF("0000:04:00.1") }?.isVirtualFunction == true)

        var tree = LspciTreeParser(file: "tv")
        tree.parse(try String(contentsOfFile: importFixture("lspci-tv-switch.txt"), encoding: .utf8))
        #expect(tree.parents[BDF("0000:03:00.0")!] == .some(BDF("0000:02:00.0")))
        #expect(tree.parents[BDF("0000:04:00.1")!] == .some(BDF("0000:02:01.0")))
        #expect(tree.parents[BDF("0000:00:1f.0")!] == .some(nil))
        #expect(tree.parents.count == 9)
    }

    @Test("a messy paste: no -nn, spaces for tabs, CRLF, wrapped lines, an unreadable device, <access denied>, stray lines")
    func lspciMessy() throws {
        let r = try LspciImporter.read(path: importFixture("lspci-vvv-messy.txt"))
        let t = r.topology
        let messages = r.warnings.map(\.description)
        // The unknown-header device is left out with its line; stray lines are reported.
        #expect(messages.contains { $0.hasSuffix(":48: warning: 0000:00:1c.0: lspci could not read its configuration space (Unknown header type 7f) and the header has no IDs: left out") })
        #expect(messages.contains { $0.hasSuffix(":1: warning: 2 lines before the first device header ignored") })
        // The pasted windows do not hold BAR 3: the addresses are dropped for enumeration's, with a warning.
        #expect(messages.contains { $0.contains("BAR addresses and windows do not check out (BAR 3 of 'gpu0'") })
        #expect(messages.contains { $0.contains("vendor:device unknown") })
        #expect(!t.devices.contains { $0.name.contains("1c.0") })
        // Class names map to class codes; the wrapped header keeps its prog-if.
        let sata = try #require(t.devices.first { $0.name == "sata0" })
        #expect(sata.classCode == 0x01_06_01)
        #expect(sata.isPCIe == false)
        #expect(sata.bars.map(\.index) == [0, 5])   // the I/O BAR is not modeled
        let rp = try #require(t.devices.first { $0.name == "rp-00-02.0" })
        #expect(rp.acs?.capability == [.sourceValidation, .translationBlocking, .requestRedirect, .completionRedirect, .upstreamForwarding])
        #expect(rp.linkGeneration == .gen3 && rp.linkWidth == 16)
        // <access denied>: PCIe facts unknown, but the position below a root port makes it a PCIe endpoint.
        let gpu = try #require(t.devices.first { $0.name == "gpu0" })
        #expect(gpu.isPCIe == true && gpu.acs == nil)
        #expect(gpu.parameters.contains { $0.name == "import.unknown" && $0.value.contains("acs") })
        #expect(gpu.bars.count == 3)
        #expect(r.assumptions.contains { $0.contains("<access denied>") })
        #expect(r.topology.rootComplexes[0].hostBridgeID == PCIID(vendor: 0xFFFF, device: 0xFFFF) || r.topology.rootComplexes[0].hostBridgeID == nil)
        _ = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "messy.xml")
    }

    /// A few pci.ids entries (names and IDs as in https://pci-ids.ucw.cz) for the devices of lspci-vvv-messy.txt,
    /// plus two vendors of one name and a device name two IDs share.
    static let messyNames = PCINames.parse(Array("""
        8086  Intel Corporation
        \t2020  Sky Lake-E DMI3 Registers
        \t2030  Sky Lake-E PCI Express Root Port A
        \ta182  C620 Series Chipset Family SATA Controller [AHCI mode]
        10de  NVIDIA Corporation
        \t1bb3  GP104GL [Tesla P4]
        1234  Twin Vendor
        5678  Twin Vendor
        1af4  Red Hat, Inc.
        \t1000  Virtio network device
        \t1041  Virtio network device
        """.utf8), source: "test-pci.ids")

    @Test("no -nn: IDs read back from the device names in pci.ids, each said; an ambiguous name stays unknown")
    func lspciIDsFromNames() throws {
        let names = Self.messyNames
        let index = PCINameIndex(names)
        #expect(index.lookup(lspciName: "Intel Corporation Sky Lake-E PCI Express Root Port A (rev 04) (prog-if 00 [Normal decode])") == .id(PCIID(vendor: 0x8086, device: 0x2030)))
        #expect(index.lookup(lspciName: "Intel Corporation Device a190 (rev f0)") == .id(PCIID(vendor: 0x8086, device: 0xa190)))
        #expect(index.lookup(lspciName: "Red Hat, Inc. Virtio network device") == .deviceAmbiguous(vendor: 0x1af4, candidates: 2))
        #expect(index.lookup(lspciName: "Intel Corporation Ice Lake Memory Map/VT-d (rev 04)") == .deviceAmbiguous(vendor: 0x8086, candidates: 0))
        #expect(index.lookup(lspciName: "Twin Vendor Device 0001") == .unknown)
        #expect(index.lookup(lspciName: "Intel CorporationX Device 0001") == .unknown)

        let r = try LspciImporter.read(path: importFixture("lspci-vvv-messy.txt"), options: ImportOptions(pciNames: names))
        let t = r.topology
        #expect(t.rootComplexes[0].hostBridgeID == PCIID(vendor: 0x8086, device: 0x2020))
        #expect(t.devices.first { $0.name == "rp-00-02.0" }?.id == PCIID(vendor: 0x8086, device: 0x2030))
        #expect(t.devices.first { $0.name == "gpu0" }?.id == PCIID(vendor: 0x10de, device: 0x1bb3))
        #expect(t.devices.first { $0.name == "sata0" }?.id == PCIID(vendor: 0x8086, device: 0xa182))   // a wrapped header
        let messages = r.warnings.map(\.description)
        // Each ID read back is a warning at its header line and an import.assumption on the device.
        #expect(messages.contains { $0.hasSuffix(":14: warning: 0000:00:02.0: vendor:device 8086:2030 read back from its name in test-pci.ids (the paste has no -nn)") })
        #expect(messages.filter { $0.contains("read back from its name in test-pci.ids") }.count == 5)   // 00:1c.0's too ("Device a190")
        #expect(t.devices.first { $0.name == "gpu0" }?.parameters.contains { $0.name == "import.assumption" && $0.value.hasPrefix("vendor:device 10de:1bb3 read back") } == true)
        #expect(!messages.contains { $0.contains("vendor:device unknown") })
        // The same paste without names: every ID unknown, as before.
        let without = try LspciImporter.read(path: importFixture("lspci-vvv-messy.txt"))
        #expect(without.topology.devices.first { $0.name == "gpu0" }?.id == PCIID(vendor: 0xFFFF, device: 0xFFFF))
        // A device whose name pci.ids does not hold is named in a warning and stays unknown.
        var fewer = names
        fewer.devices[0x10de_1bb3] = nil
        let partial = try LspciImporter.read(path: importFixture("lspci-vvv-messy.txt"), options: ImportOptions(pciNames: fewer))
        #expect(partial.warnings.map(\.description).contains { $0.contains("0000:01:00.0: no -nn, and its name does not read back to one vendor:device (vendor 10de, but its device name is not in test-pci.ids)") })
        #expect(partial.topology.devices.first { $0.name == "gpu0" }?.id == PCIID(vendor: 0xFFFF, device: 0xFFFF))
        _ = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "messy-names.xml")
    }

    @Test("a truncated lspci file still imports what it has")
    func lspciTruncated() throws {
        let r = try LspciImporter.read(path: importFixture("lspci-vvv-truncated.txt"))
        let nic = try #require(r.topology.devices.first { $0.name == "nic0" })
        #expect(nic.linkGeneration == .gen4)
        #expect(nic.trainedGeneration == nil)   // "Speed 8GT/" was cut
        #expect(nic.endpoint?.sriov == nil)
    }

    @Test("input with no lspci device is an error with file and message")
    func lspciNothing() throws {
        let error = try #require(throws: DiagnosticError.self) { try LspciImporter.read(path: importFixture("lspci-not-lspci.txt")) }
        #expect(error.errors.first?.description.hasSuffix("error: no lspci device found (expected lines like '0000:00:01.0 PCI bridge [0604]: ...' from lspci -vvv)") == true)
        #expect(throws: DiagnosticError.self) { try LspciImporter.read(path: importFixture("no-such-file.txt")) }
    }

    @Test("lspci field readers", arguments: [
        ("Speed 16GT/s (ok), Width x16 (ok)", LinkGeneration.gen4, 16),
        ("Speed 2.5GT/s (downgraded), Width x8 (downgraded)", .gen1, 8),
        ("Port #0, Speed 32GT/s, Width x16, ASPM L1", .gen5, 16),
        ("Speed 8 GT/s, Width  x4", .gen3, 4),
    ])
    func lspciLinks(_ text: String, _ generation: LinkGeneration, _ width: Int) {
        let (g, w) = LspciParser.speedAndWidth(text)
        #expect(g == generation && w == width)
    }

    @Test("a Capabilities line whose offset tag is empty or blank is read, not a trap (a fuzz finding, docs/SECURITY.md)")
    func emptyCapabilityTag() throws {
        for tag in ["[]", "[ ]"] {
            let text = """
            00:1f.0 ISA bridge: Intel Corporation Device a30c (rev 10)
            \tCapabilities: \(tag) Power Management version 3

            """
            let m = try LspciImporter.machine(text: text, file: "paste.txt")
            #expect(m.functions.map(\.bdf.description) == ["0000:00:1f.0"])
            _ = try TopologyAssembler.assemble(m)
        }
    }

    @Test("lspci regions")
    func lspciRegions() {
        let a = LspciParser.region(0, "Memory at de000000 (32-bit, non-prefetchable) [size=16M]", sizeRequired: true)
        #expect(a == ImportedBAR(index: 0, size: 16 << 20, address: 0xDE00_0000, is64Bit: false, isPrefetchable: false))
        let b = LspciParser.region(1, "Memory at <unassigned> (64-bit, prefetchable) [virtual] [size=32G]", sizeRequired: true)
        #expect(b == ImportedBAR(index: 1, size: 32 << 30, address: nil, is64Bit: true, isPrefetchable: true))
        let c = LspciParser.region(4, "I/O ports at e000 [size=128]", sizeRequired: true)
        #expect(c?.isIO == true)
        #expect(LspciParser.region(2, "Memory at f0000000 (64-bit, prefetchable) [disabled]", sizeRequired: true) == nil)
        #expect(LspciParser.acsFlags("SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-") == ACSFlags.linuxRequested)
    }

    @Test("upstream ports sharing a Device Serial Number become one <switch-chip>, said as a warning; odd serials are ignored")
    func deviceSerialNumber() throws {
        func port(_ bdf: String, _ secondary: Int, _ subordinate: Int, _ type: String, _ dsn: String?) -> String {
            "\(bdf) PCI bridge: PLX Technology, Inc. Device 8747\n"
                + "\tBus: primary=\(bdf.prefix(2)), secondary=\(hex(secondary, 2)), subordinate=\(hex(subordinate, 2)), sec-latency=0\n"
                + "\tCapabilities: [68] Express (v2) \(type), MSI 00\n" + (dsn.map { "\tCapabilities: [100 v1] Device Serial Number \($0)\n" } ?? "")
        }
        /// Root port 00:0n.0 -> upstream port -> one downstream port, the upstream port with serial `dsn`.
        func branch(_ n: Int, _ dsn: String) -> String {
            let bus = 3 * n - 2
            return port("00:0\(n).0", bus, bus + 2, "Root Port (Slot+)", nil) + port("\(hex(bus, 2)):00.0", bus + 1, bus + 2, "Upstream Port", dsn)
                + port("\(hex(bus + 1, 2)):00.0", bus + 2, bus + 2, "Downstream Port (Slot+)", nil)
        }
        let text = branch(1, "00-11-22-33-44-55-66-77") + branch(2, "00-11-22-33-44-55-66-77") + branch(3, "00-11-22-33-44-55-66-88") + branch(4, "00-11-22")
        let m = try LspciImporter.machine(text: text, file: "dsn.txt")
        #expect(m.functions.first { $0.bdf == BDF("0000:07:00.0") }?.serialNumber == 0x0011_2233_4455_6688)
        #expect(m.functions.first { $0.bdf == BDF("0000:0a:00.0") }?.serialNumber == nil)   // three bytes: not a serial
        let r = try TopologyAssembler.assemble(m)
        #expect(r.topology.switchChips == [SwitchChip(name: "chip-0011223344556677")])
        #expect(r.topology.switchChips.first?.routing == .partitioned)
        let chips = r.topology.devices.filter { $0.kind == .switchUpstreamPort }.map { "\($0.name)=\($0.switchInfo?.chip ?? "-")" }
        #expect(chips == ["sw-01-00.0=chip-0011223344556677", "sw-04-00.0=chip-0011223344556677", "sw-07-00.0=-", "sw-0a-00.0=-"])
        let w = try #require(r.warnings.first { $0.message.hasPrefix("switches ") })
        #expect(w.line == 4 && w.message.hasPrefix("switches 0000:01:00.0, 0000:04:00.0 share Device Serial Number 00-11-22-33-44-55-66-77: partitions of one chip 'chip-0011223344556677'"))
        #expect(r.assumptions.contains { $0.hasPrefix("switch upstream ports sharing a Device Serial Number") })
        // The written topology reads back with the chip.
        let back = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "dsn.xml")
        #expect(back.topology.switchChips.map(\.name) == ["chip-0011223344556677"])
    }

    @Test("no CPU given: the host bridge ID names it (AMD family from Linux's amd_nb.c table); emulated, mixed or absent host bridges name none")
    func cpuFromHostBridge() throws {
        // AMD 1022:1480 (amd_nb.c 17H_M30H_ROOT, also Milan's): amd, family 17h at least, so p2pdma's CPU rule lets
        // the NVMe drives on two root ports reach each other through the host bridge. Without the inference the
        // vendor was "other" and every such pair was refused.
        let path = importFixture("lspci-vvv-srcvalid-cleared.txt")
        let r = try LspciImporter.read(path: path)
        #expect(r.topology.sockets.map(\.cpuVendor) == [.amd] && r.topology.sockets.map(\.cpuFamily) == [0x17])
        #expect(r.warnings.contains { $0.file == path && $0.line == 6 && $0.message.contains("cpu-vendor amd, cpu-family 0x17") })
        #expect(r.assumptions.contains { $0.contains("AMD root complex 1022:1480 (Linux amd_nb.c PCI_DEVICE_ID_AMD_17H_M30H_ROOT)") })
        #expect(!r.warnings.contains { $0.message.contains("CPU vendor and family unknown") })
        #expect(r.topology.iommus.map(\.kind) == [.amdVi])
        let loaded = try LoadedTopology(topology: r.topology)
        let s = Semantics(loaded)
        let e = loaded.enumeration
        let a = try #require(e.function(at: BDF("0000:01:00.0")!)), b = try #require(e.function(at: BDF("0000:02:00.0")!))
        #expect(s.p2pdma(provider: a, client: b, verbose: false).mapType == .thruHostBridge)
        // --cpu-vendor wins over the inference, and then nothing is said of the host bridge.
        let given = try LspciImporter.read(path: path, options: ImportOptions(cpu: ImportedCPU(vendor: .amd, family: 0x19)))
        #expect(given.topology.sockets.map(\.cpuFamily) == [0x19])
        #expect(!given.warnings.contains { $0.message.contains("CPU read from the host bridge") })

        // The table: family per amd_nb.c ID (the lowest one it is used with), Intel by vendor, nothing else.
        #expect(HostBridgeCPU.infer(PCIID("1022:153a")!)?.minimumFamily == 0x1a)
        #expect(HostBridgeCPU.infer(PCIID("1022:14a4")!)?.minimumFamily == 0x19)
        #expect(HostBridgeCPU.infer(PCIID("1022:14b5")!)?.minimumFamily == 0x17)
        #expect(HostBridgeCPU.infer(PCIID("1022:1410")!).map { ($0.vendor, $0.minimumFamily) } ?? (.other, 1) == (.amd, nil))
        #expect(HostBridgeCPU.infer(PCIID("8086:2020")!)?.vendor == .intel)
        #expect(HostBridgeCPU.infer(PCIID("8086:29c0")!) == nil)   // QEMU's Q35: an Intel ID on any host
        #expect(HostBridgeCPU.infer(PCIID("1b36:0008")!) == nil)

        func read(_ text: String) throws -> ImportResult { try TopologyAssembler.assemble(LspciImporter.machine(text: text, file: "hb.txt")) }
        func hostBridge(_ bus: String, _ id: String) -> String {
            "0000:\(bus):00.0 Host bridge [0600]: Some vendor Host bridge [\(id)]\n\tNUMA node: 0\n\n"
        }
        let nvme = "0000:00:01.0 Non-Volatile memory controller [0108]: Samsung Electronics Co Ltd NVMe SSD Controller [144d:a80a] (prog-if 02 [NVM Express])\n\tNUMA node: 0\n"
        // An AMD root complex Linux's table does not list (Family 15h's 1410): AMD, family unknown, written as 0.
        let old = try read(hostBridge("00", "1022:1410") + nvme)
        #expect(old.topology.sockets.map(\.cpuVendor) == [.amd] && old.topology.sockets.map(\.cpuFamily) == [0])
        #expect(old.warnings.contains { $0.line == 1 && $0.message.contains("below 17h, so Linux's p2pdma AMD CPU rule does not apply") })
        // A QEMU guest's Q35 host bridge, or Intel and AMD host bridges in one paste: nothing inferred, said so.
        for (text, said) in [(hostBridge("00", "8086:29c0") + nvme, "CPU vendor and family unknown"),
                             (hostBridge("00", "8086:2020") + hostBridge("80", "1022:1480") + nvme, "host bridges of more than one CPU vendor (amd, intel)")] {
            let got = try read(text)
            #expect(got.topology.sockets.allSatisfy { $0.cpuVendor == .other }, "\(said)")
            #expect(got.warnings.contains { $0.message.contains(said) }, "\(said)")
        }
    }

    /// lspci's hex dump of some bytes: `%02x:` offsets, 16 bytes a row (pciutils lspci.c show_hex_dump).
    static func hexDump(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: 16).map { o in
            hex(o, 2) + ":" + bytes[o..<min(o + 16, bytes.count)].map { " " + hex(Int($0), 2) }.joined()
        }.joined(separator: "\n") + "\n"
    }

    @Test("-x/-xxx/-xxxx hex dumps: config space decoded by the sysfs decoder, the bytes win over damaged text (each a warning), foreign or gapped dumps said")
    func hexDumps() throws {
        var rp = ConfigSpaceBuilder(vendor: 0x8086, device: 0x347a, classCode: 0x060400, headerType: 1)
        rp.buses(primary: 0, secondary: 1, subordinate: 1)
        rp.express(type: .rootPort, maxGen: 3, maxWidth: 16, gen: 3, width: 8)
        rp.acs(capability: 0x1F, control: 0x1D)        // SV RR CR UF on
        var gpu = ConfigSpaceBuilder(vendor: 0x10de, device: 0x20b0, classCode: 0x030200)
        gpu.express(type: .endpoint, maxGen: 4, maxWidth: 16, gen: 3, width: 8)
        gpu.extended(id: ExtendedCapability.deviceSerialNumber, at: 0x100, body: [0x4455_6677, 0x0011_2233])
        var nic = ConfigSpaceBuilder(vendor: 0x15b3, device: 0x101b, classCode: 0x020700)
        nic.express(type: .endpoint, maxGen: 4, maxWidth: 16, gen: 4, width: 16)
        let text = """
        0000:00:01.0 PCI bridge [0604]: Intel Corporation Device [8086:347a] (prog-if 00 [Normal decode])
        \tBus: primary=00, secondary=01, subordinate=01, sec-latency=0
        \tCapabilities: [60] Express (v2) Root Port (Slot+), MSI 00
        \t\tLnkSta:\tSpeed 8GT/s, Width x8
        \tCapabilities: [100 v1] Access Control Services
        \t\tACSCap:\tSrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-
        \t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+

        """ + Self.hexDump(rp.bytes) + """

        0000:01:00.0 3D controller [0302]: NVIDIA Corporation Device [10de:20b0] (rev a1)

        """ + Self.hexDump(gpu.bytes) + """

        0000:01:00.1 Infiniband controller [0207]: Mellanox Technologies MT27800 Family [ConnectX-5] [15b3:1017]

        """ + Self.hexDump(Array(nic.bytes.prefix(256))) + """

        0000:01:00.2 Infiniband controller [0207]: Mellanox Technologies MT27800 Family [ConnectX-5] [15b3:1017]
        \tCapabilities: [60] Express (v2) Endpoint, MSI 00
        \t\tLnkSta:\tSpeed 8GT/s, Width x16
        00: b3 15 17 10 00 00 10 00 00 00 07 02 00 00 80 00
        20: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

        """
        let r = try TopologyAssembler.assemble(LspciImporter.machine(text: text, file: "x.txt"))
        let e = r.enumeration
        func function(_ bdf: String) throws -> Enumeration.Function { try #require(e.function(at: BDF(bdf)!).map { e.functions[$0] }, "\(bdf)") }
        // The root port: the text's cut ACSCtl line lost UpstreamFwd; the dump has it, and says so.
        let port = try #require(r.topology.devices.first { $0.kind == .rootPort })
        #expect(port.acs?.control == [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])
        #expect(port.acs?.controlSource == .observed)
        #expect(port.linkGeneration == .gen3 && port.linkWidth == 16)   // LnkCap only in the dump
        #expect(r.warnings.contains { $0.line == 8 && $0.message == "0000:00:01.0: the text says ACS ACSCap: SrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans- ACSCtl: SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd- EgressCtrl- DirectTrans-, its configuration space dump ACSCap: SrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans- ACSCtl: SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-: the dump is taken" })
        // The GPU (lspci -xxxx, no -v): everything from the bytes: an endpoint, its links, its serial number.
        let g = try function("0000:01:00.0")
        #expect(g.kind == .endpoint)
        let gpuDevice = try #require(r.topology.devices.first { $0.id == PCIID("10de:20b0") })
        #expect(gpuDevice.linkGeneration == .gen4 && gpuDevice.linkWidth == 16 && gpuDevice.trainedWidth == 8)
        let machine = try LspciImporter.machine(text: text, file: "x.txt")
        #expect(machine.functions.first { $0.bdf == BDF("0000:01:00.0") }?.serialNumber == 0x0011_2233_4455_6677)
        // The header's "(rev a1)" against the dump's revision 01: the bytes are taken, and said.
        #expect(r.warnings.contains { $0.message == "0000:01:00.0: the text says revision 0xa1, its configuration space dump 0x01: the dump is taken" })
        // 01:00.1: 256 bytes (lspci -xxx), its ID 15b3:101b in the bytes against 15b3:1017 in the header: not used.
        #expect(r.warnings.contains { $0.message == "0000:01:00.1: its hex dump says 15b3:101b, its header 15b3:1017: the dump is not this function's and is not used" })
        // 01:00.2: a row missing at 0x10: the dump is used up to there (the header's IDs); the text's link stays.
        #expect(r.warnings.contains { $0.line != nil && $0.message.hasPrefix("0000:01:00.2: hex dump row at offset 20 where 10 was due") })
        #expect(r.sources.contains { $0.hasPrefix("configuration space: the lspci -x hex dumps of 3 functions") })
        #expect(r.assumptions.contains { $0.hasPrefix("hex dumps shorter than 256 bytes (1 of 16 bytes; 64 is lspci -x") })
        _ = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "hex.xml")

        // A VF's dump reads ffff:ffff (its ID registers): no ID check, the rest is taken.
        var vf = LspciParser(file: "vf.txt")
        var vfBytes = ConfigSpaceBuilder(vendor: 0xFFFF, device: 0xFFFF, classCode: 0x020000)
        vfBytes.express(type: .endpoint, maxGen: 4, maxWidth: 16, gen: 4, width: 16)
        vf.parse("0000:03:00.1 Ethernet controller [0200]: Mellanox Technologies Device [15b3:101c]\n" + Self.hexDump(Array(vfBytes.bytes.prefix(256))))
        #expect(vf.devices.first?.id == PCIID("15b3:101c") && vf.devices.first?.portType == .endpoint)
        #expect(vf.bag.diagnostics.isEmpty)
    }

    /// What the simulator uses of a device, to compare imports of one machine from different parts of a paste.
    static func usedFacts(_ d: Device) -> String {
        "\(d.name) \(d.kind) \(d.id) pcie=\(d.isPCIe) link=\(String(describing: d.linkGeneration)) x\(String(describing: d.linkWidth)) "
            + "trained=\(String(describing: d.trainedGeneration)) x\(String(describing: d.trainedWidth)) mps=\(String(describing: d.maxPayloadSupported)) "
            + "mrrs=\(String(describing: d.maxReadRequest)) acs=\(String(describing: d.acs)) bridge=\(d.bridge)"
    }

    @Test("a real lspci -vvxxxxx (SandyBridge, 2012): text and bytes agree on every function; the dump alone gives the same machine but BARs; a cut line is mended")
    func realHexDump() throws {
        // linux-media, Message-ID <2233216.7bl6QCud67@f17simon> (Fixtures/Import/README.md): no -nn, pciutils of 2012.
        let path = importFixture("lspci-vvxxxxx-sandybridge.txt")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let full = try LspciImporter.read(path: path)
        #expect(full.summary.read == 16 && full.summary.placed == 16 && full.summary.dropped.isEmpty)
        #expect(full.sources.contains { $0.hasPrefix("configuration space: the lspci -x hex dumps of 16 functions") })
        // lspci's text is a decoding of the same bytes: on an undamaged paste no fact differs. (This caught the
        // text reader taking old pciutils' "Express (v1) PCI/PCI-X Bridge" for no port type, and "USB Controller".)
        #expect(!full.warnings.contains { $0.message.contains("the text says") || $0.message.contains("unknown class name") }, "\(full.warnings)")
        let t = full.topology
        func device(_ name: String, in t: Topology) throws -> Device { try #require(t.devices.first { $0.name == name }, "\(name)") }
        // IDs from the dumps (no -nn, no pci.ids): the host bridge names the CPU vendor.
        #expect(t.rootComplexes.map(\.hostBridgeID) == [PCIID("8086:0100")] && t.sockets.map(\.cpuVendor) == [.intel])
        let pericom = try device("bridge-01-00.0", in: t)
        #expect(pericom.id == PCIID("12d8:e111") && pericom.kind == .pciBridge && pericom.linkGeneration == .gen1 && pericom.linkWidth == 1)
        let capture = try device("media0", in: t)
        #expect(capture.id == PCIID("1131:7133") && !capture.isPCIe && capture.parent.map { t.devices[$0].name } == "bridge-01-00.0")
        let rp = try device("rp-00-01.0", in: t)
        #expect(rp.linkGeneration == .gen2 && rp.linkWidth == 16 && rp.bridge.memoryWindow == AddressRange(start: 0xFE50_0000, end: 0xFE5F_FFFF))
        // The PCH root ports' 4 KiB dumps have no ACS capability: known absent. The text alone says the same: their
        // capability lists end before `Kernel driver in use` and name no ACS (the rule the bytes confirm here).
        for name in ["rp-00-1c.0", "rp-00-1c.1"] { #expect(try device(name, in: t).acs == nil) }
        let textOnly = try TopologyAssembler.assemble(LspciImporter.machine(
            text: text.split(separator: "\n", omittingEmptySubsequences: false).filter { LspciParser.hexRow($0.trimmingSpaces, line: 0) == nil }.joined(separator: "\n"), file: "text.txt"))
        #expect(!textOnly.warnings.contains { $0.message.hasPrefix("ACS unknown") } && !full.warnings.contains { $0.message.hasPrefix("ACS unknown") })
        #expect(textOnly.sources.allSatisfy { !$0.contains("hex dumps") })
        #expect(textOnly.topology.devices.filter { $0.kind == .rootPort }.map(Self.usedFacts).map { $0.replacingOccurrences(of: "ffff:ffff", with: "") }
                == t.devices.filter { $0.kind == .rootPort }.map(Self.usedFacts).map { $0.replacingOccurrences(of: "8086:0101", with: "").replacingOccurrences(of: "8086:1c10", with: "").replacingOccurrences(of: "8086:1c12", with: "") })

        // The dumps alone (every indented line removed, as `lspci -xxxx` prints): the same machine in every fact
        // the simulator uses, except the BARs (their sizes are not in config space): unknown, and said.
        let headersAndHex = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("\t") }.joined(separator: "\n")
        let hexOnly = try TopologyAssembler.assemble(LspciImporter.machine(text: headersAndHex, file: "hex.txt"))
        #expect(hexOnly.topology.devices.map(Self.usedFacts) == t.devices.map(Self.usedFacts))
        #expect(hexOnly.warnings.contains { $0.message.hasPrefix("BARs unknown: none modeled for 15 functions") })
        #expect(hexOnly.topology.devices.allSatisfy(\.bars.isEmpty) && t.devices.contains { !$0.bars.isEmpty })

        // A paste that lost the end of the root port's LnkCap line and has a wrong revision: the bytes mend both.
        let damaged = text.replacingOccurrences(of: "LnkCap:\tPort #2, Speed 5GT/s, Width x16, ASPM L0s L1", with: "LnkCap:\tPort #2, Speed 5GT/s")
            .replacingOccurrences(of: "Processor Family PCI Express Root Port (rev 09)", with: "Processor Family PCI Express Root Port (rev 08)")
        #expect(damaged != text)
        let mended = try TopologyAssembler.assemble(LspciImporter.machine(text: damaged, file: "damaged.txt"))
        #expect(mended.topology.devices.map(Self.usedFacts) == t.devices.map(Self.usedFacts))
        #expect(mended.warnings.map(\.message).filter { $0.contains("the text says") } == ["0000:00:01.0: the text says revision 0x08, its configuration space dump 0x09: the dump is taken"])
    }

    @Test("hex dump edges: all ones, a cut row, another function's class, the text's [disabled] windows, windows from the registers, VF Enable")
    func hexDumpEdges() throws {
        func read(_ text: String) throws -> (ImportResult, ImportedMachine) {
            let m = try LspciImporter.machine(text: text, file: "e.txt")
            return (try TopologyAssembler.assemble(m), m)
        }
        // A GPU that fell off the bus: `(rev ff)`, `!!! Unknown header type 7f`, every byte ff. Nothing is taken.
        let gone = "0000:01:00.0 3D controller [0302]: NVIDIA Corporation Device [10de:2330] (rev ff) (prog-if ff)\n\t!!! Unknown header type 7f\n"
            + Self.hexDump([UInt8](repeating: 0xFF, count: 256))
        let (g, gm) = try read(gone)
        #expect(g.warnings.contains { $0.message == "0000:01:00.0: lspci could not read its configuration space: the dump is not used" })
        #expect(gm.functions.first.map { ($0.classCode ?? 0) >> 8 } == 0x0302 && gm.functions.first?.isPCIe == nil && gm.functions.first?.acsKnown == false)
        let allOnes = "0000:01:00.0 3D controller [0302]: NVIDIA Corporation Device [10de:2330]\n" + Self.hexDump([UInt8](repeating: 0xFF, count: 64))
        #expect(try read(allOnes).0.warnings.contains { $0.message.hasSuffix("its hex dump reads all ones (the function did not answer): the dump is not used") })

        // A bridge: memory window fe500000-fe5fffff (base == limit: 1 MiB), 64-bit prefetchable 38000000000-38000ffffff (16 MiB).
        var b = ConfigSpaceBuilder(vendor: 0x10b5, device: 0x9797, classCode: 0x060400, headerType: 1)
        b.buses(primary: 2, secondary: 3, subordinate: 8)
        b.set16(0x04, 0x0006)                             // Memory Space + Bus Master
        b.set16(0x20, 0xFE50); b.set16(0x22, 0xFE50)
        b.set16(0x24, 0x0001); b.set16(0x26, 0x00F1)
        b.set32(0x28, 0x380); b.set32(0x2C, 0x380)
        b.express(type: .upstreamPort, maxGen: 3, maxWidth: 16, gen: 3, width: 16)
        let header = "0000:02:00.0 PCI bridge [0604]: PLX Technology, Inc. Device [10b5:9797] (rev ab) (prog-if 00 [Normal decode])\n"
        let (hexOnly, _) = try read(header + Self.hexDump(b.bytes))
        let usp = try #require(hexOnly.topology.devices.first { $0.id == PCIID("10b5:9797") })   // alone on a root bus: a root port
        #expect(usp.bridge.memoryWindow == AddressRange(start: 0xFE50_0000, end: 0xFE5F_FFFF))
        #expect(usp.bridge.prefetchableWindow == AddressRange(start: 0x380_0000_0000, end: 0x380_00FF_FFFF))
        // The same bytes under text that says the kernel has no windows: the text's `[disabled]` stands.
        let disabled = header + "\tBus: primary=02, secondary=03, subordinate=08, sec-latency=0\n\tMemory behind bridge: [disabled]\n\tPrefetchable memory behind bridge: [disabled]\n\tKernel driver in use: pcieport\n" + Self.hexDump(b.bytes)
        let (d, dm) = try read(disabled)
        #expect(dm.functions.first?.memoryWindow == nil && dm.functions.first?.prefetchableWindow == nil)
        #expect(!d.warnings.contains { $0.message.contains("window") })
        // Registers left at zero, or Memory Space Enable clear: no window (not [0-fffff]).
        var zero = b
        zero.set16(0x20, 0); zero.set16(0x22, 0)
        #expect(PCIConfigSpace(bytes: zero.bytes).memoryWindow == nil)
        var off = b
        off.set16(0x04, 0x0004)
        #expect(PCIConfigSpace(bytes: off.bytes).memoryWindow == nil && PCIConfigSpace(bytes: off.bytes).prefetchableWindow == nil)

        // A row cut short: the dump ends before it, said; the row is not glued onto a text line.
        let cut = header + Self.hexDump(Array(b.bytes.prefix(48))) + "30: 00 00 00 00 40 00\n"
        let (c, cm) = try read(cut)
        #expect(c.warnings.contains { $0.message == "0000:02:00.0: hex dump row at offset 30 has 6 bytes, not 16 (cut?): the dump is used up to offset 30 only" })
        #expect(cm.functions.first?.secondaryBus == 3)
        // Another function's dump (a shuffled paste with no IDs in the header): its class gives it away.
        let shuffled = "0000:02:00.0 PCI bridge: PLX Technology, Inc. Device 9797\n" + Self.hexDump(Array(ConfigSpaceBuilder(vendor: 0x10de, device: 0x2330, classCode: 0x030200).bytes.prefix(64)))
        let (sh, shm) = try read(shuffled)
        #expect(sh.warnings.contains { $0.message == "0000:02:00.0: its hex dump's class is 0302, its header's 0604: the dump is not this function's and is not used" })
        #expect(shm.functions.first?.id == nil)

        // SR-IOV from the bytes: NumVFs counts only with VF Enable set.
        var pf = ConfigSpaceBuilder(vendor: 0x15b3, device: 0x101b, classCode: 0x020700)
        pf.express(type: .endpoint, maxGen: 4, maxWidth: 16, gen: 4, width: 16)
        pf.extended(id: ExtendedCapability.sriov, at: 0x100, body: [0, 0x0000, 0x0008_0008, 0x0004, 0x0001_0001, 0x101c_0000])
        #expect(PCIConfigSpace(bytes: pf.bytes).sriov.value.map { ($0.totalVFs, $0.numVFs, $0.vfEnable) } ?? (0, 0, true) == (8, 4, false))
        var f = ImportedFunction(bdf: BDF("0000:05:00.0")!)
        f.adopt(PCIConfigSpace(bytes: pf.bytes))
        #expect(f.sriov?.totalVFs == 8 && f.sriov?.enabledVFs == 0)
    }
}
