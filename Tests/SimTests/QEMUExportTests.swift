// The QEMU exporter's contract: the command line QEMU 7.2 needs for a machine, errors for what it cannot
// build, approximations applied to the guest topology, and BDFs the guest keeps.
import Foundation
import Testing
@testable import Sim

/// Reads a topology from text, failing the test with its diagnostics.
func loadQEMUTopology(_ xml: String, file: String = "<test>") throws -> LoadedTopology {
    try LoadedTopology(document: TopologyReader.read(text: xml, file: file))
}

/// The `-device` values of an exported machine, in order.
func qemuDevices(_ m: QEMUMachine) -> [String] {
    zip(m.arguments, m.arguments.dropFirst()).filter { $0.0 == "-device" }.map(\.1)
}

/// The value following option `name`.
func qemuOption(_ m: QEMUMachine, _ name: String) -> String? {
    zip(m.arguments, m.arguments.dropFirst()).first { $0.0 == name }?.1
}

/// Exports and returns the errors (empty when the export succeeded).
func qemuExportErrors(_ loaded: LoadedTopology) -> [Diagnostic] {
    do {
        _ = try QEMUExport.machine(loaded)
        return []
    } catch {
        return error.errors
    }
}

/// A q35-shaped topology wrapped around the given root complex body.
func q35Topology(_ body: String, rootComplex: String = #"host-bridge="8086:29c0" iommu="vtd0""#) -> String {
    """
    <topology name="t" version="1">
      <kernel cmdline="intel_iommu=on" version="6.1"/>
      <socket id="0" cpu-vendor="intel" cpu-family="6"/>
      <iommu name="vtd0" kind="vt-d"/>
      <root-complex name="q35" \(rootComplex)>
    \(body)
      </root-complex>
    </topology>
    """
}

let nvmeXML = #"<endpoint name="NAME" class="nvme" id="1b36:0010"><bar index="0" size="16K"/></endpoint>"#
func nvme(_ name: String) -> String { nvmeXML.replacingOccurrences(of: "NAME", with: name) }

@Suite("QEMU export")
struct QEMUExportTests {
    @Test("vm-flat exports to q35 + intel-iommu + root ports, virtio and NVMe with its CMB, without approximations")
    func vmFlat() throws {
        let loaded = try LoadedTopology.load(path: repositoryRoot.appendingPathComponent("topologies/vm-flat.xml").path)
        let m = try QEMUExport.machine(loaded, options: QEMUExportOptions(kernel: "vmlinuz", initrd: "initrd.gz",
                                                                          consoleArguments: "console=ttyS0",
                                                                          serial: ["file:console.log"]))
        #expect(m.approximations.isEmpty, "\(m.approximations)")
        #expect(m.arguments.first == "qemu-system-x86_64")
        #expect(qemuOption(m, "-machine") == "q35")   // vm-flat has the ICH9 SATA and SMBus functions
        #expect(qemuOption(m, "-accel") == "tcg")
        #expect(qemuOption(m, "-cpu") == "qemu64,vendor=GenuineIntel,family=6")
        #expect(m.arguments.contains("-nodefaults"))
        #expect(qemuDevices(m) == [
            "intel-iommu",
            "virtio-net-pci,bus=pcie.0,addr=01.0,disable-legacy=on",
            "pcie-root-port,id=pcie0.rp0,bus=pcie.0,addr=02.0,chassis=1,slot=1,port=1,x-speed=16,x-width=32",
            "virtio-blk-pci,bus=pcie0.rp0,addr=00.0,disable-legacy=on,drive=nullblk0",
            "pcie-root-port,id=pcie0.rp1,bus=pcie.0,addr=03.0,chassis=2,slot=2,port=2,x-speed=16,x-width=32",
            "nvme,bus=pcie0.rp1,addr=00.0,serial=nvme0,cmb_size_mb=1024",
            "pcie-root-port,id=pcie0.rp2,bus=pcie.0,addr=04.0,chassis=3,slot=3,port=3,x-speed=16,x-width=32",
            "nvme,bus=pcie0.rp2,addr=00.0,serial=nvme1",
        ])
        #expect(qemuOption(m, "-blockdev") == "driver=null-co,node-name=nullblk0")
        #expect(qemuOption(m, "-kernel") == "vmlinuz")
        #expect(qemuOption(m, "-initrd") == "initrd.gz")
        #expect(qemuOption(m, "-append") == "console=ttyS0 intel_iommu=on")
        #expect(qemuOption(m, "-serial") == "file:console.log")
        #expect(m.kernelCommandLine == "intel_iommu=on")
        // The guest is the topology plus QEMU's own root-port BAR; the same BDFs.
        let guest = try LoadedTopology(topology: m.guestTopology)
        #expect(guest.enumeration.functions.map(\.bdf) == loaded.enumeration.functions.map(\.bdf))
    }

    @Test("the script quotes what the shell would split and appends its own arguments")
    func script() throws {
        let loaded = try LoadedTopology.load(path: repositoryRoot.appendingPathComponent("topologies/vm-flat.xml").path)
        let m = try QEMUExport.machine(loaded, options: QEMUExportOptions(kernel: "/boot/my kernel", commandLine: "intel_iommu=on iommu=pt"))
        #expect(m.script.hasPrefix("#!/bin/sh\n"))
        #expect(m.script.contains("  -append 'intel_iommu=on iommu=pt' \\\n"))
        #expect(m.script.contains("  -kernel '/boot/my kernel' \\\n"))
        #expect(m.script.hasSuffix("  \"$@\"\n"))
        #expect(QEMUMachine.shellQuote("it's") == #"'it'\''s'"#)
        #expect(QEMUMachine.shellQuote("addr=02.0,chassis=1") == "addr=02.0,chassis=1")
        #expect(QEMUMachine.shellQuote("") == "''")
    }

    @Test("multifunction root ports use addr=S.F and multifunction=on; a port without ACS gets disable-acs=on")
    func multifunctionRootPorts() throws {
        let xml = q35Topology("""
            <root-port name="a" id="1b36:000c" device="2" function="0" acs-cap="SV TB RR CR UF DT">\(nvme("n0"))</root-port>
            <root-port name="b" id="1b36:000c" device="2" function="1">\(nvme("n1"))</root-port>
            <root-port name="c" id="1b36:000c" device="3" acs-cap="SV TB RR CR UF DT">\(nvme("n2"))\(nvme("n3"))</root-port>
            """)
        let m = try QEMUExport.machine(try loadQEMUTopology(xml))
        let devices = qemuDevices(m)
        #expect(devices.contains("pcie-root-port,id=a,bus=pcie.0,addr=02.0,chassis=1,slot=1,port=1,x-speed=16,x-width=16,multifunction=on"))
        #expect(devices.contains("pcie-root-port,id=b,bus=pcie.0,addr=02.1,chassis=2,slot=2,port=2,x-speed=16,x-width=16,multifunction=on,disable-acs=on"))
        #expect(devices.contains("nvme,bus=c,addr=00.0,multifunction=on,serial=n2"))
        #expect(devices.contains("nvme,bus=c,addr=00.1,multifunction=on,serial=n3"))
        // No ICH9 SATA or SMBus in the topology: turned off; the LPC bridge q35 always has is added to the guest.
        #expect(qemuOption(m, "-machine") == "q35,sata=off,smbus=off")
        let lpc = m.guestTopology.devices.last
        #expect(lpc?.id == PCIID(vendor: 0x8086, device: 0x2918))
        #expect(m.approximations.map(\.message) == ["q35 always has the ICH9 LPC bridge 8086:2918 at 00:1f.0; the guest has it as 'ich9-lpc'"])
        let guest = try LoadedTopology(topology: m.guestTopology)
        #expect(guest.enumeration.function(at: BDF(bus: 0, device: 0x1f, function: 0)) != nil)
        #expect(guest.enumeration.function(named: "b").map { guest.enumeration.functions[$0].bdf } == BDF(bus: 0, device: 2, function: 1))
    }

    @Test("switches: x3130-upstream and xio3130-downstream; their ACS is dropped from the guest, listed as an approximation")
    func switches() throws {
        let xml = q35Topology("""
            <root-port name="rp" id="1b36:000c" acs-cap="SV TB RR CR UF DT" acs-ctrl="RR CR">
              <switch name="sw" id="104c:8232">
                <downstream-port name="dp0" id="104c:8233" acs-cap="SV RR CR UF">\(nvme("n0"))</downstream-port>
                <downstream-port name="dp1" id="104c:8233">
                  <endpoint name="nic" class="nic" id="15b3:101b"><bar index="0" size="32M" prefetchable="true"/></endpoint>
                </downstream-port>
              </switch>
            </root-port>
            """)
        let loaded = try loadQEMUTopology(xml)
        let m = try QEMUExport.machine(loaded)
        let devices = qemuDevices(m)
        #expect(devices.contains("x3130-upstream,id=sw,bus=rp,addr=00.0"))
        #expect(devices.contains("xio3130-downstream,id=dp0,bus=sw,addr=00.0,chassis=2,slot=2,port=0"))
        #expect(devices.contains("xio3130-downstream,id=dp1,bus=sw,addr=01.0,chassis=3,slot=3,port=1"))
        #expect(devices.contains("e1000e,bus=dp1,addr=00.0"))
        let messages = m.approximations.map(\.message)
        #expect(messages.contains("'dp0' has an ACS capability (SV RR CR UF); QEMU 7.2's xio3130-downstream has none"))
        #expect(messages.contains("'rp' has firmware ACS control RR CR; QEMU resets ACS control to 0 and SeaBIOS leaves it"))
        #expect(messages.contains("'nic' is 15b3:101b in the topology; QEMU's e1000e is 8086:10d3"))
        // Approximations carry the topology line.
        #expect(m.approximations.first { $0.message.hasPrefix("'dp0'") }?.line == 8)
        let guest = m.guestTopology
        #expect(guest.devices[guest.deviceIndex(named: "dp0")!].acs == nil)
        #expect(guest.devices[guest.deviceIndex(named: "rp")!].acs == ACSState(capability: QEMUDeviceModel.rootPortACS, control: []))
        #expect(guest.devices[guest.deviceIndex(named: "nic")!].id == PCIID(vendor: 0x8086, device: 0x10d3))
    }

    @Test("what QEMU cannot build is an error, every one at once, at its line")
    func errors() throws {
        let xml = """
            <topology name="t" version="1">
              <socket id="0" cpu-vendor="intel" cpu-family="6"/>
              <root-complex name="a" host-bridge="8086:29c0">
                <root-port id="1b36:000c">
                  <endpoint name="gpu" class="gpu" id="10de:2330"><bar index="0" size="16M" bits="32"/></endpoint>
                </root-port>
              </root-complex>
              <root-complex name="b"/>
            </topology>
            """
        let errors = qemuExportErrors(try loadQEMUTopology(xml))
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("one PCI host bridge and this topology has 2 root complexes") == true)
        #expect(errors.first?.line == 8)

        let many = q35Topology("""
            <root-port id="1b36:000c">
              <endpoint name="gpu" class="gpu" id="10de:2330"><bar index="0" size="16M" bits="32"/></endpoint>
            </root-port>
            <root-port id="1b36:000c">
              <pci-bridge name="br" id="1b36:000e"><endpoint name="old" class="gpu" id="10de:0f00" pcie="false"/></pci-bridge>
            </root-port>
            <pci-bridge name="rootbr" id="1b36:000e"/>
            <root-port id="1b36:000c">
              <endpoint name="vfnic" class="nic" id="8086:10d3">
                <bar index="0" size="128K" bits="32"/>
                <sriov total-vfs="2" num-vfs="1" vf-id="8086:10ed"><bar index="0" size="16K"/></sriov>
              </endpoint>
            </root-port>
            <endpoint name="conv" id="8086:100e" pcie="false"/>
            <endpoint name="atf" id="1234:5678" device="0x1f" function="0" pcie="false"/>
            """)
        let messages = qemuExportErrors(try loadQEMUTopology(many)).map(\.message)
        #expect(messages.count == 6, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("'gpu' (gpu, 10de:2330) has no QEMU device model here") })
        #expect(messages.contains { $0.hasPrefix("'rootbr' is a PCIe-to-PCI bridge on the root bus") })
        #expect(messages.contains { $0.hasPrefix("'vfnic' has SR-IOV") })
        #expect(messages.contains { $0.hasPrefix("'conv' (8086:100e) is QEMU's conventional e1000, which the export puts only below a PCIe-to-PCI bridge") })
        #expect(messages.contains { $0.hasPrefix("'old' (gpu, 10de:0f00) has no QEMU device model") })
        #expect(messages.contains("'atf' (1234:5678) is at 0000:00:1f.0, where q35 has its ICH9 function 8086:2918"))
    }

    @Test("a PCIe-to-PCI bridge is pcie-pci-bridge with e1000, virtio and NVMe below; the guest's functions are conventional where QEMU's are")
    func pciePCIBridge() throws {
        let loaded = try loadQEMUTopology(q35Topology("""
            <root-port id="1b36:000c" acs-cap="SV TB RR CR UF DT">
              <pci-bridge name="br" id="1b36:000e">
                <endpoint name="old" class="nic" id="8086:100e" pcie="false" device="1"/>
                <endpoint name="vnet" class="nic" id="1af4:1041" device="2"/>
                <endpoint name="nv" class="nvme" id="1b36:0010" pcie="false" device="3"/>
              </pci-bridge>
            </root-port>
            """))
        let m = try QEMUExport.machine(loaded)
        let devices = qemuDevices(m)
        #expect(devices.contains { $0.hasPrefix("pcie-pci-bridge,id=br,bus=") && $0.hasSuffix(",addr=00.0") })
        #expect(devices.contains("e1000,bus=br,addr=01.0"))
        #expect(devices.contains("virtio-net-pci,bus=br,addr=02.0,disable-legacy=on"))
        #expect(devices.contains { $0.hasPrefix("nvme,bus=br,addr=03.0,") })
        let g = m.guestTopology
        func guest(_ name: String) throws -> Device { g.devices[try #require(g.deviceIndex(named: name))] }
        #expect(try guest("br").acs == nil)
        #expect(try guest("br").bars == [BAR(index: 0, size: 256)])
        #expect(try guest("old").isPCIe == false)
        #expect(try guest("vnet").isPCIe == false)
        #expect(try guest("nv").isPCIe == true)   // QEMU's nvme keeps its PCIe capability on a conventional bus
        #expect(m.approximations.contains { $0.message.contains("'vnet' is a PCIe function below a PCIe-to-PCI bridge") })
        #expect(m.approximations.contains { $0.message.contains("'nv' is a conventional function below a PCIe-to-PCI bridge") })
    }

    @Test("subsystem IDs: e1000e takes the topology's, other models keep QEMU's, which the guest topology has")
    func subsystemIDs() throws {
        let loaded = try loadQEMUTopology(q35Topology("""
            <root-port id="1b36:000c"><endpoint name="dell" class="nic" id="8086:10d3" subsystem="1028:0abc"/></root-port>
            <root-port id="1b36:000c"><endpoint name="plain" class="nic" id="8086:10d3"/></root-port>
            <root-port id="1b36:000c"><endpoint name="nv" class="nvme" id="1b36:0010" subsystem="144d:a801"/></root-port>
            """))
        let m = try QEMUExport.machine(loaded)
        #expect(qemuDevices(m).contains { $0.hasPrefix("e1000e,") && $0.hasSuffix(",subsys_ven=0x1028,subsys=0x0abc") })
        let g = m.guestTopology
        func sub(_ name: String) -> PCIID? { g.deviceIndex(named: name).flatMap { g.devices[$0].subsystemID } }
        #expect(sub("dell") == PCIID(vendor: 0x1028, device: 0x0abc))
        #expect(sub("plain") == PCIID(vendor: 0x8086, device: 0x0000))
        #expect(sub("nv") == PCIID(vendor: 0x1af4, device: 0x1100))
        #expect(sub("ich9-lpc") == PCIID(vendor: 0x1af4, device: 0x1100))
        let rootPort = try #require(g.devices.first { $0.kind == .rootPort })
        #expect(rootPort.subsystemID == PCIID(vendor: 0x1b36, device: 0x0000))
        #expect(m.approximations.contains { $0.message.contains("'nv' has subsystem 144d:a801; QEMU's nvme has 1af4:1100") })
    }

    @Test("an SMMUv3 has no q35 model; AMD-Vi is approximated by intel-iommu; the CPU keeps its vendor and family")
    func iommuAndCPU() throws {
        let smmu = q35Topology("<root-port id=\"1b36:000c\">\(nvme("n0"))</root-port>")
            .replacingOccurrences(of: #"kind="vt-d""#, with: #"kind="smmuv3""#)
        #expect(qemuExportErrors(try loadQEMUTopology(smmu)).first?.message.contains("SMMUv3") == true)

        let amd = q35Topology("<root-port id=\"1b36:000c\">\(nvme("n0"))</root-port>")
            .replacingOccurrences(of: #"kind="vt-d""#, with: #"kind="amd-vi""#)
            .replacingOccurrences(of: #"cpu-vendor="intel" cpu-family="6""#, with: #"cpu-vendor="amd" cpu-family="0x19""#)
        let m = try QEMUExport.machine(try loadQEMUTopology(amd))
        #expect(qemuOption(m, "-cpu") == "qemu64,vendor=AuthenticAMD,family=25")
        #expect(qemuDevices(m).first == "intel-iommu")
        #expect(m.guestTopology.iommus.first?.kind == .vtd)
        #expect(m.approximations.contains { $0.message.contains("is AMD-Vi; exported as intel-iommu") })

        let off = q35Topology("<root-port id=\"1b36:000c\">\(nvme("n0"))</root-port>")
            .replacingOccurrences(of: #"kind="vt-d""#, with: #"kind="vt-d" mode="off""#)
        // The unit is the hardware and the kernel line decides (KernelParameters.bootMode): with intel_iommu=on on
        // the line the guest gets the IOMMU to find; with nothing on the line, mode="off" stands for a kernel that
        // leaves it off, and the export leaves it out (the 6.1 oracle agrees on nvmeof-switch-acs-off).
        #expect(try qemuDevices(QEMUExport.machine(loadQEMUTopology(off))).contains("intel-iommu"))
        let offNoLine = off.replacingOccurrences(of: #"cmdline="intel_iommu=on""#, with: #"cmdline="""#)
        #expect(try !qemuDevices(QEMUExport.machine(loadQEMUTopology(offNoLine))).contains("intel-iommu"))
    }

    @Test("KVM: kernel-irqchip=split and interrupt remapping")
    func kvm() throws {
        let loaded = try loadQEMUTopology(q35Topology("<root-port id=\"1b36:000c\">\(nvme("n0"))</root-port>"))
        let m = try QEMUExport.machine(loaded, options: QEMUExportOptions(accelerator: .kvm))
        #expect(qemuOption(m, "-accel") == "kvm")
        #expect(qemuOption(m, "-machine") == "q35,sata=off,smbus=off,kernel-irqchip=split")
        #expect(qemuDevices(m).first == "intel-iommu,intremap=on")
    }

    @Test("an NVMe's CMB becomes cmb_size_mb and published p2pmem; Gen5 ports are capped at QEMU's 16 GT/s")
    func cmbAndLinks() throws {
        let xml = q35Topology("""
            <root-port id="1b36:000c" gen="5" width="8">
              <endpoint name="nv" class="nvme" id="144d:a80a">
                <bar index="0" size="16K"/><bar index="4" size="256M" prefetchable="true"/><p2pmem bar="4"/>
              </endpoint>
            </root-port>
            <root-port id="1b36:000c" gen="2" width="1">\(nvme("plain"))</root-port>
            """)
        let m = try QEMUExport.machine(try loadQEMUTopology(xml))
        let devices = qemuDevices(m)
        #expect(devices.contains("nvme,bus=q35.rp0,addr=00.0,serial=nv,cmb_size_mb=256"))
        #expect(devices.contains { $0.hasPrefix("pcie-root-port,id=q35.rp0,") && $0.contains("x-speed=16,x-width=8") })
        #expect(devices.contains { $0.hasPrefix("pcie-root-port,id=q35.rp1,") && $0.contains("x-speed=5,x-width=1") })
        let nv = m.guestTopology.devices[m.guestTopology.deviceIndex(named: "nv")!]
        #expect(nv.endpoint?.p2pmem == [P2PMemRegion(bar: 2)])
        #expect(nv.bars == [BAR(index: 0, size: 16 << 10), BAR(index: 2, size: 256 << 20, isPrefetchable: true)])
        let messages = m.approximations.map(\.message)
        #expect(messages.contains("'q35.rp0' is Gen5; QEMU's root port goes up to 16 GT/s (Gen4)"))
        #expect(messages.contains { $0.hasPrefix("'nv': its CMB is QEMU's BAR2 (256M)") })
    }

    @Test("bus numbers SeaBIOS would not give are an error")
    func busNumbers() throws {
        let xml = q35Topology("""
            <root-port id="1b36:000c" secondary="0x05" subordinate="0x05">\(nvme("n0"))</root-port>
            <root-port id="1b36:000c">\(nvme("n1"))</root-port>
            """)
        let errors = qemuExportErrors(try loadQEMUTopology(xml))
        #expect(errors.map(\.message) == ["'q35.rp0' gets secondary bus 05 in the topology, but SeaBIOS numbers buses depth-first in device order and gives it 01; list bridges in device order and leave bus numbers to the enumerator"])
    }

    @Test("a root complex without a host bridge gets q35's; a function at 00:00.0 is an error")
    func hostBridge() throws {
        let none = q35Topology("<root-port id=\"1b36:000c\" device=\"1\">\(nvme("n0"))</root-port>", rootComplex: #"iommu="vtd0""#)
        let m = try QEMUExport.machine(try loadQEMUTopology(none))
        #expect(m.guestTopology.rootComplexes[0].hostBridgeID == PCIID(vendor: 0x8086, device: 0x29c0))
        #expect(m.approximations.contains { $0.message.contains("has no host bridge function") })
        let taken = q35Topology("<root-port id=\"1b36:000c\">\(nvme("n0"))</root-port>", rootComplex: #"iommu="vtd0""#)
        #expect(qemuExportErrors(try loadQEMUTopology(taken)).first?.message.contains("is at 00:00.0") == true)
    }
}

/// Generated QEMU-compatible machines of every shape the oracle boots.
let qemuGeneratorCases: [GeneratorCase] = [
    GeneratorCase("endpoints on root ports, ACS") {
        $0.rootPortsPerRootComplex = 3; $0.switchLevels = 0; $0.gpusPerSwitch = 0; $0.nvmePerSwitch = 2
    },
    GeneratorCase("one switch level, no ACS") {
        $0.rootPortsPerRootComplex = 2; $0.gpusPerSwitch = 0; $0.acs = false
    },
    GeneratorCase("two switch levels, AMD") {
        $0.rootPortsPerRootComplex = 1; $0.switchLevels = 2; $0.fanout = 2; $0.gpusPerSwitch = 0; $0.cpuVendor = .amd
    },
    GeneratorCase("three switch levels, IOMMU off") {
        $0.rootPortsPerRootComplex = 1; $0.switchLevels = 3; $0.fanout = 1; $0.gpusPerSwitch = 0; $0.iommuMode = .off
    },
]

@Test("generated QEMU machines export without errors and keep their BDFs", arguments: qemuGeneratorCases)
func generatedMachinesExport(_ c: GeneratorCase) throws {
    var p = c.parameters
    p.qemuCompatible = true
    let loaded = try LoadedTopology(topology: TopologyGenerator.generate(p))
    let m = try QEMUExport.machine(loaded)
    let guest = try LoadedTopology(topology: m.guestTopology)
    let original = Dictionary(uniqueKeysWithValues: loaded.enumeration.functions.map { ($0.name, $0.bdf) })
    for f in guest.enumeration.functions {
        if let bdf = original[f.name] { #expect(bdf == f.bdf, "\(f.name)") }
    }
    // Only switch ports' ACS (QEMU 7.2's XIO3130 has none), the ICH9 LPC bridge and AMD-Vi differ.
    for a in m.approximations {
        let expected = a.message.contains("xio3130-downstream has none") || a.message.contains("ICH9 LPC")
            || (p.cpuVendor == .amd && a.message.contains("exported as intel-iommu"))
        #expect(expected, "\(a.message)")
    }
    #expect(qemuDevices(m).contains("intel-iommu") == (p.iommuMode != .off))
}
