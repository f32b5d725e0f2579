// lspci as users paste it (issue #17): -P/-PP path prefixes, -tv with -vvv (one file or two), tree-only devices,
// wrapped ACS lines, ports without an Express line, second PFs, missing function 0, the import summary.
import Foundation
import Testing
@testable import Sim

/// A root port in `lspci -vvv -nn` form; `express: false` leaves out the Express capability lines.
func lspciRootPort(_ address: String, secondary: String, express: Bool = true, acsCtl: String = "SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-") -> String {
    var s = """
    \(address) PCI bridge [0604]: Intel Corporation Device [8086:347a] (rev 04) (prog-if 00 [Normal decode])
    \tControl: I/O+ Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR+ FastB2B- DisINTx+
    \tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-
    \tBus: primary=00, secondary=\(secondary), subordinate=\(secondary), sec-latency=0

    """
    if express {
        s += """
        \tCapabilities: [40] Express (v2) Root Port (Slot+), MSI 00
        \t\tDevCap:\tMaxPayload 256 bytes, PhantFunc 0
        \t\tDevCtl:\tCorrErr- NonFatalErr- FatalErr- UnsupReq-
        \t\t\tMaxPayload 256 bytes, MaxReadReq 512 bytes
        \t\tLnkCap:\tPort #1, Speed 16GT/s, Width x16, ASPM not supported
        \t\tLnkSta:\tSpeed 16GT/s (ok), Width x16 (ok)

        """
    }
    s += """
    \tCapabilities: [220 v1] Access Control Services
    \t\tACSCap:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-
    \t\tACSCtl:\t\(acsCtl)
    \tKernel driver in use: pcieport

    """
    return s
}

/// An endpoint in `lspci -vvv -nn -k` form.
func lspciEndpoint(_ address: String, id: String = "10de:2330", classText: String = "3D controller [0302]", sriov: String? = nil) -> String {
    var s = """
    \(address) \(classText): NVIDIA Corporation Device [\(id)] (rev a1)
    \tSubsystem: NVIDIA Corporation Device [10de:16c1]
    \tControl: I/O- Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx+
    \tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-
    \tRegion 0: Memory at <unassigned> (64-bit, prefetchable) [size=16M]
    \tCapabilities: [60] Express (v2) Endpoint, MSI 00
    \t\tDevCap:\tMaxPayload 256 bytes, PhantFunc 0, Latency L0s unlimited, L1 <64us
    \t\tDevCtl:\tCorrErr- NonFatalErr- FatalErr- UnsupReq-
    \t\t\tMaxPayload 256 bytes, MaxReadReq 512 bytes
    \t\tLnkCap:\tPort #0, Speed 16GT/s, Width x16, ASPM not supported
    \t\tLnkSta:\tSpeed 16GT/s (ok), Width x16 (ok)
    \tCapabilities: [100 v1] Advanced Error Reporting

    """
    if let sriov { s += sriov }
    s += "\tKernel driver in use: nvidia\n\tKernel modules: nvidia\n\n"
    return s
}

@Suite("simrun import lspci: pasted shapes")
struct ImportLspciPasteTests {
    static func machine(_ text: String, tree: String? = nil) throws -> ImportedMachine {
        try LspciImporter.machine(text: text, file: "paste.txt", tree: tree, treeFile: tree == nil ? nil : "tree.txt")
    }

    static func pathClass(_ r: ImportResult, _ a: String, _ b: String) throws -> PathClass {
        let loaded = try LoadedTopology(topology: r.topology)
        let e = loaded.enumeration
        let ia = try #require(e.functions.firstIndex { $0.bdf == BDF(a) }, "no \(a)")
        let ib = try #require(e.functions.firstIndex { $0.bdf == BDF(b) }, "no \(b)")
        return Fabric(loaded).pathClass(ia, ib)
    }

    @Test("lspci -vvv -PP: every device is read and placed by its path; no device's lines land on another")
    func pathPrefixes() throws {
        // Hand-written in the -PP form pciutils' lspci.c show_slot_path prints ("/%02x:%02x.%d" per bridge).
        let text = lspciRootPort("00:01.0", secondary: "01")
            + lspciRootPort("00:02.0", secondary: "02", acsCtl: "SrcValid- TransBlk- ReqRedir- CmpltRedir- UpstreamFwd- EgressCtrl- DirectTrans-")
            + lspciEndpoint("00:01.0/01:00.0") + lspciEndpoint("00:02.0/02:00.0")
        let m = try Self.machine(text)
        #expect(m.functions.map(\.bdf) == ["0000:00:01.0", "0000:00:02.0", "0000:01:00.0", "0000:02:00.0"].map { BDF($0)! })
        #expect(m.functions.first { $0.bdf == BDF("0000:02:00.0") }?.parent == BDF("0000:00:02.0"))
        #expect(m.sources.contains { $0.contains("-PP path prefixes") })
        let r = try TopologyAssembler.assemble(m)
        #expect(r.topology.devices.map(\.name) == ["rp-00-01.0", "gpu0", "rp-00-02.0", "gpu1"])
        // The second root port keeps its own (empty) control; nothing of the GPUs' lines is taken for a port's.
        #expect(r.topology.devices[2].acs?.control == [])
        #expect(r.topology.devices[0].acs?.control == [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])
        #expect(r.summary.read == 4 && r.summary.placed == 4 && r.summary.dropped.isEmpty)
        #expect(try Self.pathClass(r, "0000:01:00.0", "0000:02:00.0") == .phb)
    }

    @Test("lspci -vvv -P: the bus of each path component comes from the bridge above; a bridge filtered out by -s is imported from the -PP path")
    func singleP() throws {
        let m = try Self.machine(lspciRootPort("00:01.0", secondary: "01") + lspciEndpoint("00:01.0/00.0"))
        #expect(m.functions.map(\.bdf).contains(BDF("0000:01:00.0")!))
        #expect(m.functions.first { $0.bdf == BDF("0000:01:00.0") }?.parent == BDF("0000:00:01.0"))

        // lspci -vvv -PP -s 03:00.0: only the GPU is listed, its path names the root port and a switch.
        let only = try Self.machine(lspciEndpoint("00:01.0/01:00.0/02:08.0/03:00.0"))
        let r = try TopologyAssembler.assemble(only)
        #expect(r.topology.devices.map(\.kind) == [.rootPort, .switchUpstreamPort, .switchDownstreamPort, .endpoint])
        #expect(r.warnings.contains { $0.message.contains("3 bridges only in -PP path prefixes") && $0.line == 1 })
        #expect(r.summary.treeOnly == 3)

        // -P without the bridge: the bus cannot be known; said so, nothing is guessed.
        let lost = try Self.machine(lspciRootPort("00:01.0", secondary: "01") + lspciEndpoint("00:01.0/00.0/00.0"))
        #expect(lost.diagnostics.contains { $0.message.contains("cannot tell the bus") })
        #expect(lost.functions.map(\.bdf) == [BDF("0000:00:01.0")!])
    }

    @Test("lspci -tv pasted with -vvv in one file places every device; tree-only root ports make the GPUs PHB, not NODE")
    func inlineTree() throws {
        // The -vvv part lists the GPUs only (lspci -vvv -d 10de:), the tree everything.
        let tree = """
        -[0000:00]-+-00.0  Intel Corporation Device 09a2
                   +-01.0-[01]----00.0  NVIDIA Corporation Device 2330
                   \\-02.0-[02]----00.0  NVIDIA Corporation Device 2330
        """
        let text = "$ lspci -tv\n" + tree + "\n$ sudo lspci -vvv -nn -d 10de:\n" + lspciEndpoint("01:00.0") + lspciEndpoint("02:00.0")
        let m = try Self.machine(text)
        #expect(m.sources.contains { $0.contains("pasted with the -vvv text") })
        #expect(m.functions.filter(\.isTreeOnly).map(\.bdf) == ["0000:00:00.0", "0000:00:01.0", "0000:00:02.0"].map { BDF($0)! })
        let r = try TopologyAssembler.assemble(m)
        #expect(r.topology.rootComplexes.count == 1)
        #expect(try Self.pathClass(r, "0000:01:00.0", "0000:02:00.0") == .phb)
        #expect(r.warnings.contains { $0.message.contains("3 functions only in the lspci -tv tree") && $0.line == 2 })
        #expect(r.summary.read == 5 && r.summary.placed == 5 && r.summary.treeOnly == 3)

        // lspci -tvnn prints the IDs: a tree-only function takes its ID from there.
        let nn = try Self.machine(lspciEndpoint("01:00.0"), tree: """
        -[0000:00]-+-00.0  Intel Corporation Device [8086:09a2]
                   \\-01.0-[01]----00.0  NVIDIA Corporation Device [10de:2330]
        """)
        #expect(nn.functions.first { $0.bdf == BDF("0000:00:00.0") }?.id == PCIID("8086:09a2"))
        #expect(nn.functions.first { $0.bdf == BDF("0000:00:01.0") }?.secondaryBus == 1)

        // The same tree as a second file gives the same machine.
        let two = try Self.machine(lspciEndpoint("01:00.0") + lspciEndpoint("02:00.0"), tree: tree)
        #expect(two.functions.map(\.bdf).sorted() == m.functions.map(\.bdf).sorted())
        #expect(two.functions.map(\.parent).count == m.functions.map(\.parent).count)
        #expect(two.diagnostics.contains { $0.message.contains("first at tree.txt:1") })
    }

    @Test("a real lspci -t (club-3090#1322) imports whole; its two GPUs are PHB as the same rig's nvidia-smi topo -m (club-3090#1229) says")
    func realTreeMatchesTopoM() throws {
        let r = try LspciImporter.read(path: importFixture("lspci-t-club3090-1322.txt"))
        #expect(r.topology.rootComplexes.map(\.rootBus) == [0x00, 0x20, 0x40, 0x60])
        // 58 entries in the tree (29 + 15 + 12 + 2 on the four root buses), every one placed.
        #expect(r.summary.read == 58, "\(r.summary.text)")
        #expect(r.summary.placed == 58 && r.summary.dropped.isEmpty, "\(r.summary.text)")
        // topo -m: GPU0-GPU1 PHB. The GPUs are the functions with an audio function beside them on the two
        // root ports of bus 00 (01:00.x and 02:00.x); nvidia-smi numbers GPUs in PCI bus order.
        let matrix = try String(contentsOfFile: importFixture("topo-m-club3090-1229.txt"), encoding: .utf8)
        let rows = matrix.split(separator: "\n").filter { $0.hasPrefix("GPU") }.map { $0.split(whereSeparator: { $0 == "\t" || $0 == " " }) }
        let gpus = ["0000:01:00.0", "0000:02:00.0"]
        for (i, row) in rows.enumerated() {
            for j in gpus.indices where j != i {
                #expect(try Self.pathClass(r, gpus[i], gpus[j]).rawValue == String(row[j + 1]), "GPU\(i)-GPU\(j)")
            }
        }
        // Across host bridges of one socket: NODE (sockets unknown in lspci: all on socket 0, said so).
        #expect(try Self.pathClass(r, "0000:01:00.0", "0000:21:00.0") == .node)
        #expect(r.assumptions.contains { $0.contains("NUMA node of some root complexes unknown") })
    }

    @Test("a real lspci -t with a chipset switch (club-3090#845): devices on two of its downstream ports are PIX, a GPU on a CPU root port PHB")
    func realSwitchTree() throws {
        let r = try LspciImporter.read(path: importFixture("lspci-t-club3090-845-x570.txt"))
        let t = r.topology
        #expect(t.devices.first { $0.name == "sw-02-00.0" }?.kind == .switchUpstreamPort)
        #expect(t.devices.filter { $0.kind == .switchDownstreamPort }.count == 6)
        #expect(try Self.pathClass(r, "0000:04:00.0", "0000:05:00.0") == .pix)
        #expect(try Self.pathClass(r, "0000:04:00.0", "0000:04:00.1") == .pix)
        #expect(try Self.pathClass(r, "0000:04:00.0", "0000:0a:00.0") == .phb)
        #expect(try Self.pathClass(r, "0000:0a:00.0", "0000:0b:00.0") == .phb)
        #expect(r.summary.dropped.isEmpty)
    }

    @Test("wrapped ACS lines keep every bit, wherever the wrap falls", arguments: [
        "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+\nUpstreamFwd+ EgressCtrl- DirectTrans-\n",
        "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ Upstrea\nmFwd+ EgressCtrl- DirectTrans-\n",
        "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+\n\t\t\tUpstreamFwd+ EgressCtrl- DirectTrans-\n",
    ])
    func wrappedACS(_ ctl: String) throws {
        let port = lspciRootPort("00:01.0", secondary: "01")
        let wrapped = port.replacingOccurrences(of: "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n", with: ctl)
        #expect(wrapped != port)
        let m = try Self.machine(wrapped)
        #expect(m.functions[0].acs?.control == [.sourceValidation, .requestRedirect, .completionRedirect, .upstreamForwarding])
    }

    @Test("a port without an Express line keeps its ACS and stays a root port")
    func noExpressLine() throws {
        let m = try Self.machine(lspciRootPort("00:01.0", secondary: "01", express: false) + lspciEndpoint("01:00.0"))
        let f = try #require(m.functions.first)
        #expect(f.isPCIe == true && f.acs?.control.contains(.upstreamForwarding) == true)
        #expect(m.diagnostics.contains { $0.line == 1 && $0.message.contains("no 'Capabilities: ... Express' line") })
        let r = try TopologyAssembler.assemble(m)
        #expect(r.topology.devices[0].kind == .rootPort)
        #expect(r.topology.devices[0].acs?.capability.contains(.sourceValidation) == true)
    }

    @Test("a second PF keeps its own BDF even when the first PF's VF offset line is missing")
    func secondPF() throws {
        let sriov = """
        \tCapabilities: [180 v1] Single Root I/O Virtualization (SR-IOV)
        \t\tIOVCap:\tMigration- 10BitTagReq- Interrupt Message Number: 000
        \t\tInitial VFs: 8, Total VFs: 8, Number of VFs: 2, Function Dependency Link: 00

        """
        let nic = { (a: String) in lspciEndpoint(a, id: "15b3:101d", classText: "Ethernet controller [0200]", sriov: sriov) }
        let m = try Self.machine(lspciRootPort("00:01.0", secondary: "01") + nic("01:00.0") + nic("01:00.1"))
        #expect(m.functions.filter(\.isVirtualFunction).isEmpty)
        #expect(m.diagnostics.contains { $0.message.contains("0000:01:00.1 sits where 0000:01:00.0's VF 0 would be") })
        let r = try TopologyAssembler.assemble(m)
        #expect(r.topology.devices.filter { $0.kind == .endpoint }.map(\.functionNumber) == [0, 1])
    }

    @Test("a root port whose function 0 is not in the paste keeps its function number")
    func rootPortFunctionNumber() throws {
        let m = try Self.machine(lspciRootPort("00:03.1", secondary: "01") + lspciEndpoint("01:00.0"))
        let r = try TopologyAssembler.assemble(m)
        let rp = try #require(r.topology.devices.first { $0.kind == .rootPort })
        #expect(rp.deviceNumber == 3 && rp.functionNumber == 1)
        let e = try LoadedTopology(topology: r.topology).enumeration
        #expect(e.functions.contains { $0.bdf == BDF("0000:00:03.1") })
        #expect(r.summary.placeholders == [BDF("0000:00:03.0")!])
        #expect(r.summary.text.hasPrefix("2 functions read, 2 placed, 0 dropped; 1 function-0 placeholder added"))
    }

    @Test("lspci -k: the driver is kept on the function")
    func drivers() throws {
        let r = try TopologyAssembler.assemble(try Self.machine(lspciRootPort("00:01.0", secondary: "01") + lspciEndpoint("01:00.0")))
        #expect(r.topology.devices[1].endpoint?.driver == "nvidia")
        #expect(r.topology.devices[0].parameters.contains(Parameter(name: "import.driver", value: "pcieport")))
    }

    @Test("what cannot be placed is counted, named and given a line in the summary")
    func summaryNamesLosses() throws {
        // lspci -PP -s filtered: 03:00.0's path names 00:05.0 as its bridge, which is imported from the path; a
        // second device on bus 01 below the root port that already leads to a switch has no place.
        let tree = """
        -[0000:00]-+-01.0-[01-02]----00.0-[02]----00.0
        """
        let text = lspciRootPort("00:01.0", secondary: "01") + lspciEndpoint("02:00.0") + lspciEndpoint("01:01.0")
        let m = try Self.machine(text, tree: tree)
        let r = try TopologyAssembler.assemble(m)
        #expect(r.summary.read == 4, "\(r.summary.text)")
        #expect(r.summary.dropped.map(\.bdf) == [BDF("0000:01:01.0")!])
        #expect(r.summary.text.contains("4 functions read, 3 placed, 1 dropped: 0000:01:01.0 (line "), "\(r.summary.text)")
        #expect(r.warnings.contains { $0.message.contains("0000:01:01.0 left out") && $0.line != nil })
        #expect(!r.summary.isLossless)
    }

    @Test("a real -vvv quoted in a reply (raspberrypi/linux#6190): the > markers are taken off; the root port is read")
    func quotedReply() throws {
        let r = try LspciImporter.read(path: importFixture("lspci-vvv-quoted-rpi-6190.txt"))
        let rp = try #require(r.topology.devices.first)
        #expect(r.topology.devices.count == 1 && rp.kind == .rootPort)
        #expect(rp.bridge.secondaryBus == 1 && rp.bridge.memoryWindow == AddressRange(start: 0xC000_0000, end: 0xC00F_FFFF))
        #expect(rp.maxPayloadSupported == 512)
        #expect(r.warnings.contains { $0.line == 1 && $0.message.contains("1 line before the first device header ignored") })
        #expect(try ImportFormat.detect(path: importFixture("lspci-vvv-quoted-rpi-6190.txt")) == .lspci)
    }

    @Test("a real -vvv -D with tabs turned into spaces (raspberry-pi-pcie-devices#679): the NVMe drive and its BAR; its missing bridge is said")
    func domainsAndSpaces() throws {
        let r = try LspciImporter.read(path: importFixture("lspci-vvv-D-spaces-rpi-679.txt"))
        let nvme = try #require(r.topology.devices.first)
        #expect(nvme.endpoint?.endpointClass == .nvme)
        #expect(nvme.bars == [BAR(index: 0, size: 16 << 10, address: 0x1B_0002_0000)])
        #expect(r.topology.rootComplexes.map(\.rootBus) == [1])
        #expect(r.warnings.contains { $0.line == 1 && $0.message.contains("no bridge in the input leads to bus 01") })
        #expect(r.summary.read == 1 && r.summary.placed == 1)
    }
}
