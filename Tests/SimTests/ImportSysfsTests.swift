// simrun import sysfs: fake /sys trees built in a temporary directory, with binary config spaces.
import Foundation
import Testing
@testable import Sim

/// Builds a configuration space the way hardware lays it out (PCI Local Bus 3.0 §6, PCIe Base §7).
struct ConfigSpaceBuilder {
    var bytes: [UInt8]
    private var lastExtended: Int?

    init(vendor: UInt16, device: UInt16, classCode: UInt32, headerType: UInt8 = 0, size: Int = 4096) {
        bytes = [UInt8](repeating: 0, count: size)
        set16(0x00, vendor)
        set16(0x02, device)
        set32(0x08, classCode << 8 | 0x01)
        bytes[0x0E] = headerType
    }

    mutating func set16(_ o: Int, _ v: UInt16) {
        bytes[o] = UInt8(v & 0xFF)
        bytes[o + 1] = UInt8(v >> 8)
    }
    mutating func set32(_ o: Int, _ v: UInt32) {
        set16(o, UInt16(v & 0xFFFF))
        set16(o + 2, UInt16(v >> 16))
    }

    /// Type 1 header bus numbers.
    mutating func buses(primary: UInt8, secondary: UInt8, subordinate: UInt8) {
        bytes[0x18] = primary
        bytes[0x19] = secondary
        bytes[0x1A] = subordinate
    }

    /// A PCI Power Management capability at 0x40 chained to the PCIe capability at 0x60.
    mutating func express(type: PCIePortType, mpsSupported: Int = 512, mps: Int = 256, mrrs: Int = 512,
                          maxGen: Int, maxWidth: Int, gen: Int, width: Int, extTag: Bool = true, rcb128: Bool = false) {
        bytes[0x06] |= 0x10                     // Status: Capabilities List
        bytes[0x34] = 0x40
        bytes[0x40] = 0x01                      // PM capability
        bytes[0x41] = 0x60
        bytes[0x60] = 0x10                      // PCI Express
        bytes[0x61] = 0x00
        set16(0x62, UInt16(type.rawValue) << 4 | 2)
        func code(_ bytes: Int) -> UInt32 { UInt32(bytes.trailingZeroBitCount - 7) }
        set32(0x64, code(mpsSupported))
        set16(0x68, UInt16(code(mps) << 5 | code(mrrs) << 12 | (extTag ? 0x100 : 0)))
        set32(0x6C, UInt32(maxGen) | UInt32(maxWidth) << 4)
        set16(0x70, rcb128 ? 0x08 : 0)
        set16(0x72, UInt16(gen) | UInt16(width) << 4)
    }

    /// Appends an extended capability; the previous one's Next pointer is patched.
    mutating func extended(id: UInt16, at offset: Int, body: [UInt32] = []) {
        if let last = lastExtended {
            let header = UInt32(bytes[last]) | UInt32(bytes[last + 1]) << 8 | UInt32(bytes[last + 2]) << 16 | UInt32(bytes[last + 3]) << 24
            set32(last, header & 0x000F_FFFF | UInt32(offset) << 20)
        }
        set32(offset, UInt32(id) | 1 << 16)
        for (i, word) in body.enumerated() { set32(offset + 4 + 4 * i, word) }
        lastExtended = offset
    }

    mutating func acs(at offset: Int = 0x100, capability: UInt16, control: UInt16, egress: [UInt32] = []) {
        extended(id: ExtendedCapability.acs, at: offset, body: [UInt32(capability) | UInt32(control) << 16] + egress)
    }
}

/// A fake sysfs tree: `sys/devices/pci<seg>:<bus>/...` directories, `sys/bus/pci/devices` links, and more.
struct FakeSysfs {
    let root: URL
    let fm = FileManager.default

    init() throws {
        root = fm.temporaryDirectory.appendingPathComponent("pciesim-sysfs-\(UUID().uuidString)")
        try fm.createDirectory(at: root.appendingPathComponent("sys/bus/pci/devices"), withIntermediateDirectories: true)
    }

    func remove() { try? fm.removeItem(at: root) }

    func write(_ relative: String, _ text: String) throws {
        let url = root.appendingPathComponent(relative)
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func link(_ relative: String, to target: String) throws {
        let url = root.appendingPathComponent(relative)
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: url.path, withDestinationPath: target)
    }

    /// One function: `chain` is the BDFs from the root bus down to it.
    func function(_ chain: [String], host: String = "pci0000:00", config: [UInt8], resources: [(UInt64, UInt64, UInt64)],
                  lineCount: Int, attributes: [String: String] = [:], links: [String: String] = [:]) throws {
        let bdf = chain.last!
        let dir = "sys/devices/\(host)/" + chain.joined(separator: "/")
        let cfg = ConfigReadback(config)
        try write(dir + "/vendor", String(format: "0x%04x\n", cfg.vendor))
        try write(dir + "/device", String(format: "0x%04x\n", cfg.device))
        try write(dir + "/class", String(format: "0x%06x\n", cfg.classCode))
        try write(dir + "/subsystem_vendor", String(format: "0x%04x\n", cfg.vendor))
        try write(dir + "/subsystem_device", "0x0001\n")
        try write(dir + "/numa_node", "0\n")
        var lines = resources.map { String(format: "0x%016llx 0x%016llx 0x%016llx", $0.0, $0.1, $0.2) }
        while lines.count < lineCount { lines.append("0x0000000000000000 0x0000000000000000 0x0000000000000000") }
        try write(dir + "/resource", lines.joined(separator: "\n") + "\n")
        let url = root.appendingPathComponent(dir + "/config")
        try Data(config).write(to: url)
        for (name, value) in attributes { try write(dir + "/" + name, value + "\n") }
        for (name, target) in links { try link(dir + "/" + name, to: target) }
        let depth = String(repeating: "../", count: 3)
        try link("sys/bus/pci/devices/\(bdf)", to: depth + "devices/\(host)/" + chain.joined(separator: "/"))
    }

    /// A function's resource lines; `nil` entries stay zero.
    static func resources(_ entries: [Int: (UInt64, UInt64, UInt64)]) -> [(UInt64, UInt64, UInt64)] {
        let n = (entries.keys.max() ?? -1) + 1
        return (0..<n).map { entries[$0] ?? (0, 0, 0) }
    }
}

struct ConfigReadback {
    var vendor: UInt16, device: UInt16, classCode: UInt32
    init(_ b: [UInt8]) {
        vendor = UInt16(b[0]) | UInt16(b[1]) << 8
        device = UInt16(b[2]) | UInt16(b[3]) << 8
        classCode = (UInt32(b[9]) | UInt32(b[10]) << 8 | UInt32(b[11]) << 16)
    }
}

// IORESOURCE flags as the kernel reports them in `resource`.
let memory64: UInt64 = 0x0014_0204
let memory64Prefetch: UInt64 = 0x0014_220C
let memory32: UInt64 = 0x0004_0200
let windowMemory: UInt64 = 0x0000_0200
let windowPrefetch: UInt64 = 0x0010_2201

/// A host bridge, a root port, a switch with two downstream ports, an NVMe with a CMB (p2pmem), an RDMA NIC
/// with SR-IOV (one VF enabled and listed), an ISA bridge; ACS capabilities and control bits in config space.
func buildSwitchMachine(_ fake: FakeSysfs, configBytes: Int = 4096) throws {
    func cut(_ b: ConfigSpaceBuilder) -> [UInt8] { Array(b.bytes.prefix(configBytes)) }
    var hb = ConfigSpaceBuilder(vendor: 0x8086, device: 0x09A2, classCode: 0x06_00_00, size: 256)
    hb.bytes[0x06] = 0
    try fake.function(["0000:00:00.0"], config: cut(hb), resources: [], lineCount: 13)

    var rp = ConfigSpaceBuilder(vendor: 0x8086, device: 0x347A, classCode: 0x06_04_00, headerType: 1)
    rp.buses(primary: 0, secondary: 1, subordinate: 4)
    rp.express(type: .rootPort, maxGen: 4, maxWidth: 16, gen: 4, width: 16, rcb128: true)
    rp.acs(capability: 0x1F, control: 0x00)
    try fake.function(["0000:00:01.0"], config: cut(rp),
                      resources: FakeSysfs.resources([14: (0x9000_0000, 0x900F_FFFF, windowMemory),
                                                      15: (0x60_0000_0000, 0x60_11FF_FFFF, windowPrefetch)]),
                      lineCount: 17,
                      attributes: ["max_link_speed": "16.0 GT/s PCIe", "max_link_width": "16",
                                   "current_link_speed": "16.0 GT/s PCIe", "current_link_width": "16"],
                      links: ["driver": "../../../bus/pci/drivers/pcieport", "iommu_group": "../../../kernel/iommu_groups/1",
                              "iommu": "../../virtual/iommu/dmar0"])

    var usp = ConfigSpaceBuilder(vendor: 0x1000, device: 0xC010, classCode: 0x06_04_00, headerType: 1)
    usp.buses(primary: 1, secondary: 2, subordinate: 4)
    usp.express(type: .upstreamPort, mpsSupported: 2048, maxGen: 4, maxWidth: 16, gen: 4, width: 16)
    try fake.function(["0000:00:01.0", "0000:01:00.0"], config: cut(usp),
                      resources: FakeSysfs.resources([14: (0x9000_0000, 0x900F_FFFF, windowMemory),
                                                      15: (0x60_0000_0000, 0x60_11FF_FFFF, windowPrefetch)]),
                      lineCount: 17,
                      attributes: ["max_link_speed": "16.0 GT/s PCIe", "max_link_width": "16",
                                   "current_link_speed": "16.0 GT/s PCIe", "current_link_width": "16"],
                      links: ["iommu_group": "../../../../kernel/iommu_groups/2", "iommu": "../../../virtual/iommu/dmar0"])

    // Downstream port 0: all seven ACS bits, firmware left RR and CR on, egress vector size 8 with port 1 set.
    var dp0 = ConfigSpaceBuilder(vendor: 0x1000, device: 0xC010, classCode: 0x06_04_00, headerType: 1)
    dp0.buses(primary: 2, secondary: 3, subordinate: 3)
    dp0.express(type: .downstreamPort, mpsSupported: 2048, maxGen: 4, maxWidth: 16, gen: 4, width: 4)
    dp0.extended(id: 0x0001, at: 0x100, body: [0, 0, 0])   // AER first, to walk a chain
    dp0.acs(at: 0x148, capability: 0x087F, control: 0x000C, egress: [0x0000_0002])
    try fake.function(["0000:00:01.0", "0000:01:00.0", "0000:02:00.0"], config: cut(dp0),
                      resources: FakeSysfs.resources([14: (0x9000_0000, 0x900F_FFFF, windowMemory),
                                                      15: (0x60_0000_0000, 0x60_0FFF_FFFF, windowPrefetch)]),
                      lineCount: 17,
                      attributes: ["max_link_speed": "16.0 GT/s PCIe", "max_link_width": "16",
                                   "current_link_speed": "16.0 GT/s PCIe", "current_link_width": "4"],
                      links: ["iommu_group": "../../../../../kernel/iommu_groups/3"])

    var dp1 = ConfigSpaceBuilder(vendor: 0x1000, device: 0xC010, classCode: 0x06_04_00, headerType: 1)
    dp1.buses(primary: 2, secondary: 4, subordinate: 4)
    dp1.express(type: .downstreamPort, mpsSupported: 2048, maxGen: 4, maxWidth: 8, gen: 3, width: 8)
    dp1.acs(capability: 0x007F, control: 0x0000)
    try fake.function(["0000:00:01.0", "0000:01:00.0", "0000:02:01.0"], config: cut(dp1),
                      resources: FakeSysfs.resources([15: (0x60_1000_0000, 0x60_11FF_FFFF, windowPrefetch)]),
                      lineCount: 17,
                      attributes: ["max_link_speed": "16.0 GT/s PCIe", "max_link_width": "8",
                                   "current_link_speed": "8.0 GT/s PCIe", "current_link_width": "8"],
                      links: ["iommu_group": "../../../../../kernel/iommu_groups/4"])

    // NVMe with a CMB in BAR 2, registered as p2pmem and published.
    var nvme = ConfigSpaceBuilder(vendor: 0x144D, device: 0xA824, classCode: 0x01_08_02)
    nvme.express(type: .endpoint, mpsSupported: 512, mps: 256, mrrs: 512, maxGen: 4, maxWidth: 4, gen: 4, width: 4)
    nvme.extended(id: ExtendedCapability.ats, at: 0x100, body: [0])
    try fake.function(["0000:00:01.0", "0000:01:00.0", "0000:02:00.0", "0000:03:00.0"], config: cut(nvme),
                      resources: FakeSysfs.resources([0: (0x9000_0000, 0x9000_3FFF, memory64),
                                                      2: (0x60_0000_0000, 0x60_0FFF_FFFF, memory64Prefetch)]),
                      lineCount: 13,
                      attributes: ["max_link_speed": "16.0 GT/s PCIe", "max_link_width": "4",
                                   "current_link_speed": "16.0 GT/s PCIe", "current_link_width": "4",
                                   "p2pmem/size": "268435456", "p2pmem/available": "268435456", "p2pmem/published": "1"],
                      links: ["driver": "../../../../../../bus/pci/drivers/nvme", "iommu_group": "../../../../../../kernel/iommu_groups/12",
                              "iommu": "../../../../../virtual/iommu/dmar0"])

    // RDMA NIC, Gen4 x16 capable, trained Gen3 x8 (its port is narrower: x8 when imported); SR-IOV, one VF listed.
    var nic = ConfigSpaceBuilder(vendor: 0x15B3, device: 0x101B, classCode: 0x02_07_00)
    nic.express(type: .endpoint, mpsSupported: 512, mps: 256, mrrs: 4096, maxGen: 4, maxWidth: 16, gen: 3, width: 8)
    try fake.function(["0000:00:01.0", "0000:01:00.0", "0000:02:01.0", "0000:04:00.0"], config: cut(nic),
                      resources: FakeSysfs.resources([0: (0x60_1000_0000, 0x60_11FF_FFFF, memory64Prefetch),
                                                      7: (0x60_2000_0000, 0x60_27FF_FFFF, memory64Prefetch)]),
                      lineCount: 13,
                      attributes: ["max_link_speed": "16.0 GT/s PCIe", "max_link_width": "16",
                                   "current_link_speed": "8.0 GT/s PCIe", "current_link_width": "8",
                                   "sriov_totalvfs": "8", "sriov_numvfs": "1", "sriov_offset": "1", "sriov_stride": "1",
                                   "sriov_vf_device": "101c"],
                      links: ["driver": "../../../../../../bus/pci/drivers/mlx5_core"])
    var vf = ConfigSpaceBuilder(vendor: 0xFFFF, device: 0xFFFF, classCode: 0x02_07_00)
    vf.express(type: .endpoint, maxGen: 4, maxWidth: 16, gen: 3, width: 8)
    try fake.function(["0000:00:01.0", "0000:01:00.0", "0000:02:01.0", "0000:04:00.1"], config: cut(vf), resources: [], lineCount: 13,
                      links: ["physfn": "../0000:04:00.0"])

    // A conventional ISA bridge on the root bus.
    var isa = ConfigSpaceBuilder(vendor: 0x8086, device: 0x1B81, classCode: 0x06_01_00, size: 256)
    isa.bytes[0x06] = 0
    try fake.function(["0000:00:1f.0"], config: cut(isa), resources: [], lineCount: 13)

    try fake.write("sys/class/iommu/dmar0/devices/.keep", "")
    try fake.write("sys/kernel/iommu_groups/12/type", "identity")
    try fake.write("sys/kernel/iommu_groups/1/type", "identity")
    try fake.write("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\nphysical id\t: 0\n\n")
    try fake.write("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=UUID=0 ro intel_iommu=on iommu=pt pci=disable_acs_redir=0000:02:00.0 quiet")
    try fake.write("proc/sys/kernel/osrelease", "6.1.0-18-amd64")
}

@Suite("simrun import sysfs")
struct ImportSysfsTests {
    @Test("the config-space decoder walks the capability chains: PCIe port type, DevCap/DevCtl, links, ACS with an egress vector")
    func configSpaceDecoding() throws {
        var b = ConfigSpaceBuilder(vendor: 0x1000, device: 0xC010, classCode: 0x06_04_00, headerType: 1)
        b.buses(primary: 2, secondary: 3, subordinate: 5)
        b.express(type: .downstreamPort, mpsSupported: 2048, mps: 256, mrrs: 1024, maxGen: 5, maxWidth: 16, gen: 4, width: 8, extTag: false, rcb128: true)
        b.extended(id: 0x0001, at: 0x100, body: [0, 0])
        b.acs(at: 0x150, capability: 0x087F, control: 0x001D, egress: [0x81])
        let cfg = PCIConfigSpace(bytes: b.bytes)
        #expect(cfg.vendorID == 0x1000)
        #expect(cfg.headerType == 1)
        #expect(cfg.secondaryBus == 3 && cfg.subordinateBus == 5)
        let e = try #require(cfg.express.value)
        #expect(e.portType == .downstreamPort)
        #expect(e.maxPayloadSupported == 2048 && e.maxPayload == 256 && e.maxReadRequest == 1024)
        #expect(e.maxLinkGeneration == .gen5 && e.maxLinkWidth == 16 && e.linkGeneration == .gen4 && e.linkWidth == 8)
        #expect(e.readCompletionBoundary == 128)
        #expect(e.tagBits == 5)
        let acs = try #require(cfg.acs.value)
        #expect(acs.capability == ACSFlags.all)
        #expect(acs.control == ACSFlags.linuxRequested)
        #expect(acs.egressVector == [0, 7])

        // As non-root: 64 bytes; the capability list is there but cannot be followed.
        let short = PCIConfigSpace(bytes: Array(b.bytes.prefix(64)))
        #expect(short.express == .unreadable)
        #expect(short.acs == .unreadable)
        #expect(short.secondaryBus == 3)
        // A conventional function: 256 bytes and no capability list.
        let conventional = PCIConfigSpace(bytes: ConfigSpaceBuilder(vendor: 0x8086, device: 0x1, classCode: 0x0C_03_00, size: 256).bytes)
        #expect(conventional.express == .absent)
        #expect(conventional.acs == .absent)
        // A loop in the chain ends the walk instead of hanging.
        var looped = ConfigSpaceBuilder(vendor: 1, device: 2, classCode: 0xFF_00_00)
        looped.bytes[0x06] = 0x10
        looped.bytes[0x34] = 0x40
        looped.bytes[0x40] = 0x05
        looped.bytes[0x41] = 0x40
        #expect(PCIConfigSpace(bytes: looped.bytes).express == .absent)
    }

    @Test("a fake sysfs tree imports with the machine's buses, numbers, addresses, links, ACS, p2pmem, SR-IOV and IOMMU")
    func sysfsSwitchMachine() throws {
        let fake = try FakeSysfs()
        defer { fake.remove() }
        try buildSwitchMachine(fake)

        let snapshot = try SysfsSnapshot.read(root: fake.root.path)
        #expect(snapshot.functions.count == 9)
        let dp0 = try #require(snapshot.function(at: BDF("0000:02:00.0")!))
        #expect(dp0.parent == BDF("0000:01:00.0"))
        #expect(dp0.express.value?.portType == .downstreamPort)
        #expect(dp0.acs.value?.control == [.requestRedirect, .completionRedirect])
        #expect(snapshot.function(at: BDF("0000:04:00.1")!)?.physicalFunction == BDF("0000:04:00.0"))
        #expect(snapshot.function(at: BDF("0000:03:00.0")!)?.iommuGroup == 12)
        #expect(snapshot.function(at: BDF("0000:03:00.0")!)?.driver == "nvme")
        #expect(snapshot.hostBridges.map(\.bus) == [0])
        #expect(snapshot.iommus.map(\.name) == ["dmar0"])

        let r = try SysfsImporter.read(root: fake.root.path)
        let t = r.topology
        #expect(t.rootComplexes.count == 1)
        #expect(t.rootComplexes[0].hostBridgeID == PCIID("8086:09a2"))
        #expect(t.rootComplexes[0].rootBus == 0)
        #expect(t.rootComplexes[0].iommu == "dmar0")
        #expect(t.iommus == [IOMMUUnit(name: "dmar0", kind: .vtd, mode: .passthrough)])
        #expect(t.sockets == [Socket(id: 0, cpuVendor: .intel, cpuFamily: 6, cpuModel: 143)])
        #expect(t.kernel == KernelConfiguration(commandLine: "intel_iommu=on iommu=pt pci=disable_acs_redir=0000:02:00.0", version: .linux61))

        func device(_ name: String) throws -> Device { try #require(t.devices.first { $0.name == name }, "no \(name)") }
        #expect(try device("rp-00-01.0").kind == .rootPort)
        #expect(try device("rp-00-01.0").acs == ACSState(capability: [.sourceValidation, .translationBlocking, .requestRedirect, .completionRedirect, .upstreamForwarding], control: [], controlSource: .observed))
        #expect(try device("rp-00-01.0").readCompletionBoundary == 128)
        #expect(try device("sw-01-00.0").kind == .switchUpstreamPort)
        #expect(try device("sw-01-00.0").maxPayloadSupported == 2048)
        #expect(try device("dp-02-00.0").kind == .switchDownstreamPort)
        #expect(try device("dp-02-00.0").acs == ACSState(capability: .all, control: [.requestRedirect, .completionRedirect], egressVector: [1], controlSource: .observed))
        #expect(try device("dp-02-00.0").bridge == BridgeConfig(secondaryBus: 3, subordinateBus: 3,
                                                               memoryWindow: AddressRange(start: 0x9000_0000, end: 0x900F_FFFF),
                                                               prefetchableWindow: AddressRange(start: 0x60_0000_0000, end: 0x60_0FFF_FFFF)))
        let nvme = try device("nvme0")
        #expect(nvme.endpoint?.endpointClass == .nvme)
        #expect(nvme.bars == [BAR(index: 0, size: 16 << 10, address: 0x9000_0000),
                              BAR(index: 2, size: 256 << 20, isPrefetchable: true, address: 0x60_0000_0000)])
        #expect(nvme.endpoint?.p2pmem == [P2PMemRegion(bar: 2, size: 0, offset: 0, isPublished: true)])
        #expect(nvme.endpoint?.supportsATS == true)
        #expect(nvme.maxPayloadSupported == 512 && nvme.maxReadRequest == 512)
        #expect(nvme.parameters.contains(Parameter(name: "import.iommu-group", value: "12")))
        #expect(nvme.endpoint?.driver == "nvme")
        let nic = try device("nic0")
        #expect(nic.endpoint?.endpointClass == .nic && nic.classCode == 0x02_07_00)
        #expect(nic.linkGeneration == .gen4 && nic.linkWidth == 16)
        #expect(nic.trainedGeneration == .gen3 && nic.trainedWidth == nil)   // x8 is its port's width, not a down-train
        #expect(nic.endpoint?.sriov?.totalVFs == 8 && nic.endpoint?.sriov?.enabledVFs == 1)
        #expect(nic.endpoint?.sriov?.vfID == PCIID("15b3:101c"))
        #expect(try device("isa0").isPCIe == false)

        // Explicit numbers and addresses survive enumeration: BDFs are the machine's.
        let e = r.enumeration
        #expect(e.function(named: "nvme0").map { e.functions[$0].bdf } == BDF("0000:03:00.0"))
        #expect(e.function(named: "nic0").map { e.functions[$0].bdf } == BDF("0000:04:00.0"))
        #expect(e.function(named: "nic0.vf0").map { e.functions[$0].bdf } == BDF("0000:04:00.1"))
        #expect(e.function(named: "nvme0").map { e.barAddresses[$0] } == [0x9000_0000, 0x60_0000_0000])
        #expect(e.function(named: "sw-01-00.0").map { e.busRanges[$0] } == 2...4)

        // Written, it reads back to the same topology and validates.
        let text = ImportedTopologyWriter.write(r)
        #expect(text.contains("<!-- Imported by simrun import sysfs"))
        let again = try TopologyReader.read(text: text, file: "imported.xml")
        #expect(again.topology == t)
        _ = try LoadedTopology(document: again)
    }

    @Test("as non-root (64-byte config): ACS, port type, MPS unknown with one warning each; roles from class and tree; still enumerates")
    func sysfsNonRoot() throws {
        let fake = try FakeSysfs()
        defer { fake.remove() }
        try buildSwitchMachine(fake, configBytes: 64)
        let r = try SysfsImporter.read(root: fake.root.path)
        let t = r.topology
        #expect(t.devices.first { $0.name == "rp-00-01.0" }?.kind == .rootPort)
        #expect(t.devices.first { $0.name == "sw-01-00.0" }?.kind == .switchUpstreamPort)
        #expect(t.devices.first { $0.name == "dp-02-01.0" }?.kind == .switchDownstreamPort)
        #expect(t.devices.allSatisfy { $0.acs == nil })
        // Bus numbers still come from the 64-byte header.
        #expect(t.devices.first { $0.name == "dp-02-00.0" }?.bridge.secondaryBus == 3)
        let messages = r.warnings.map(\.message)
        #expect(messages.filter { $0.hasPrefix("ACS unknown") }.count == 1)
        #expect(messages.filter { $0.hasPrefix("PCIe port type unknown") }.count == 1)
        #expect(messages.filter { $0.hasPrefix("Max Payload Size Supported unknown") }.count == 1)
        #expect(messages.contains { $0.contains("beyond 64 bytes") })
        let dp = try #require(t.devices.first { $0.name == "dp-02-00.0" })
        #expect(dp.parameters.contains { $0.name == "import.unknown" && $0.value.split(separator: " ").contains("acs") })
        #expect(r.topology.description?.contains("ACS unknown") == true)
        _ = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "imported.xml")
    }

    @Test("Device Serial Number in config space: upstream ports sharing one are one <switch-chip>, as lspci's import does")
    func sysfsDeviceSerialNumber() throws {
        let fake = try FakeSysfs()
        defer { fake.remove() }
        var hb = ConfigSpaceBuilder(vendor: 0x1022, device: 0x153A, classCode: 0x06_00_00, size: 256)
        hb.bytes[0x06] = 0
        try fake.function(["0000:00:00.0"], config: hb.bytes, resources: [], lineCount: 13)
        // Three root ports, each with a Broadcom upstream port and one downstream port below. The first two
        // upstream ports carry the serial of one chip split into two virtual switches, the third another; AER
        // comes first so the DSN is found by walking the chain.
        let serials: [UInt64] = [0x0011_2233_4455_6677, 0x0011_2233_4455_6677, 0x0011_2233_4455_6688]
        for (n, serial) in serials.enumerated() {
            let bus = UInt8(3 * n + 1)
            let rpBDF = String(format: "0000:00:%02x.0", n + 1)
            var rp = ConfigSpaceBuilder(vendor: 0x1022, device: 0x153B, classCode: 0x06_04_00, headerType: 1)
            rp.buses(primary: 0, secondary: bus, subordinate: bus + 1)
            rp.express(type: .rootPort, maxGen: 5, maxWidth: 16, gen: 5, width: 16)
            try fake.function([rpBDF], config: rp.bytes, resources: [], lineCount: 17)
            let uspBDF = String(format: "0000:%02x:00.0", bus)
            var usp = ConfigSpaceBuilder(vendor: 0x1000, device: 0xC030, classCode: 0x06_04_00, headerType: 1)
            usp.buses(primary: bus, secondary: bus + 1, subordinate: bus + 1)
            usp.express(type: .upstreamPort, maxGen: 5, maxWidth: 16, gen: 5, width: 16)
            usp.extended(id: 0x0001, at: 0x100, body: [0, 0, 0])
            usp.extended(id: ExtendedCapability.deviceSerialNumber, at: 0x148, body: [UInt32(serial & 0xFFFF_FFFF), UInt32(serial >> 32)])
            try fake.function([rpBDF, uspBDF], config: usp.bytes, resources: [], lineCount: 17)
            var dsp = ConfigSpaceBuilder(vendor: 0x1000, device: 0xC030, classCode: 0x06_04_00, headerType: 1)
            dsp.buses(primary: bus + 1, secondary: bus + 2, subordinate: bus + 2)
            dsp.express(type: .downstreamPort, maxGen: 5, maxWidth: 16, gen: 5, width: 16)
            try fake.function([rpBDF, uspBDF, String(format: "0000:%02x:00.0", bus + 1)], config: dsp.bytes, resources: [], lineCount: 17)
        }
        let snapshot = try SysfsSnapshot.read(root: fake.root.path)
        #expect(snapshot.function(at: BDF("0000:04:00.0")!)?.config?.serialNumber.value == 0x0011_2233_4455_6677)
        #expect(snapshot.function(at: BDF("0000:05:00.0")!)?.config?.serialNumber.isKnown == true)
        #expect(snapshot.function(at: BDF("0000:05:00.0")!)?.config?.serialNumber.value == nil)   // no DSN: absent

        let r = try SysfsImporter.read(root: fake.root.path)
        #expect(r.topology.switchChips == [SwitchChip(name: "chip-0011223344556677")])
        let chips = r.topology.devices.filter { $0.kind == .switchUpstreamPort }.map { $0.switchInfo?.chip ?? "-" }
        #expect(chips == ["chip-0011223344556677", "chip-0011223344556677", "-"])
        #expect(r.warnings.contains { $0.message.contains("share Device Serial Number 00-11-22-33-44-55-66-77") })
        let back = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "dsn.xml")
        _ = try LoadedTopology(document: back)
        #expect(back.topology.switchChips.map(\.name) == ["chip-0011223344556677"])
    }

    @Test("sysfs gaps: no cpuinfo, an unassigned BAR; a root without sys/bus/pci is an error")
    func sysfsGaps() throws {
        let fake = try FakeSysfs()
        defer { fake.remove() }
        var ep = ConfigSpaceBuilder(vendor: 0x10DE, device: 0x2330, classCode: 0x03_02_00)
        ep.express(type: .rootComplexIntegratedEndpoint, maxGen: 5, maxWidth: 16, gen: 5, width: 16)
        try fake.function(["0000:00:02.0"], config: ep.bytes,
                          resources: FakeSysfs.resources([0: (0x9100_0000, 0x91FF_FFFF, memory32),
                                                          2: (0, 0x3_FFFF_FFFF, memory64Prefetch | SysfsSnapshot.Resource.unsetFlag)]),
                          lineCount: 13)
        let r = try SysfsImporter.read(root: fake.root.path)
        #expect(r.topology.sockets.first?.cpuVendor == .other)
        #expect(r.warnings.contains { $0.message.contains("proc/cpuinfo not found") })
        // One BAR without an address: enumeration assigns the root complex's addresses.
        let gpu = try #require(r.topology.devices.first { $0.name == "gpu0" })
        #expect(gpu.bars.allSatisfy { $0.address == nil })
        #expect(r.warnings.contains { $0.message.hasPrefix("BAR addresses unknown") })

        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("pciesim-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: DiagnosticError.self) { try SysfsImporter.read(root: empty.path) }
    }

    @Test("this machine's /sys imports, validates and enumerates", .enabled(if: FileManager.default.fileExists(atPath: "/sys/bus/pci/devices")))
    func sysfsThisMachine() throws {
        let r = try SysfsImporter.read(root: "/")
        let again = try TopologyReader.read(text: ImportedTopologyWriter.write(r), file: "this-machine.xml")
        _ = try LoadedTopology(document: again)
        #expect(r.topology.devices.count + r.topology.rootComplexes.filter { $0.hostBridgeID != nil }.count >= 1)
    }
}
