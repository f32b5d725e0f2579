// The mapping API: every errno it returns, page-size selection, VFIO type1, p2pdma providers and the DMA API
// with P2P pages (reference §2, cases P23 and P24).
import Testing
@testable import Sim

// MARK: - iommu_map / iommu_unmap / iova_to_phys

@Test("iommu_map refuses non-paging domains, missing page sizes and unaligned ranges")
func iommuMapErrors() {
    var identity = IOMMUDomain(type: .identity)
    #expect(throws: MappingError("iommu_map", .EINVAL, "domain is not a paging domain (identity)")) {
        try identity.map(iova: 0, physical: 0, size: 4096, prot: .read)
    }
    var blocked = IOMMUDomain(type: .blocked)
    #expect((try? blocked.map(iova: 0, physical: 0, size: 4096, prot: .read)) == nil)
    var noPages = IOMMUDomain(type: .unmanaged, pageSizes: [])
    do { try noPages.map(iova: 0, physical: 0, size: 4096, prot: .read); Issue.record("expected ENODEV") } catch { #expect(error.errno == .ENODEV) }
    var d = IOMMUDomain(type: .dma)
    do { try d.map(iova: 0x1001, physical: 0x2000, size: 0x1000, prot: .read); Issue.record("expected EINVAL") } catch {
        #expect(error.errno == .EINVAL)
    }
    #expect(d.log == ["unaligned: iova 0x1001 pa 0x0000000000002000 size 0x1000 min_pagesz 0x1000"])
}

@Test("iommu_map picks the largest page alignment allows and stops at the next bigger page boundary")
func pageSizeSelection() throws {
    var d = IOMMUDomain(type: .dma)
    try d.map(iova: 0x4000_0000, physical: 0x8000_0000, size: 4 << 20, prot: [.read, .write])
    #expect(d.allLeaves.map(\.size) == [2 << 20, 2 << 20])
    var e = IOMMUDomain(type: .dma)
    // 4 KiB below a 2 MiB boundary, then a 2 MiB page, then the 4 KiB tail.
    try e.map(iova: 0x1F_F000, physical: 0x11F_F000, size: (2 << 20) + 0x2000, prot: .read)
    #expect(e.allLeaves.map(\.size) == [4096, 2 << 20, 4096])
    #expect(e.iovaToPhys(0x20_0123) == 0x120_0123)
    // iova and paddr offset differently within 2 MiB: only 4 KiB pages.
    var f = IOMMUDomain(type: .dma)
    try f.map(iova: 0x20_0000, physical: 0x1000, size: 2 << 20, prot: .read)
    #expect(f.allLeaves.count == 512)
    // A 1 GiB page when everything lines up.
    var g = IOMMUDomain(type: .dma)
    try g.map(iova: 1 << 30, physical: 3 << 30, size: 1 << 30, prot: .read)
    #expect(g.allLeaves.map(\.size) == [1 << 30])
}

@Test("mapping over an existing leaf follows the driver's behaviour", arguments: OverlapBehaviour.allCases)
func overlap(_ behaviour: OverlapBehaviour) throws {
    var d = IOMMUDomain(type: .unmanaged, overlap: behaviour)
    try d.map(iova: 0x10000, physical: 0xA0000, size: 0x1000, prot: .read)
    do {
        try d.map(iova: 0xF000, physical: 0xB0000, size: 0x3000, prot: .read)
        #expect(behaviour == .keepOld || behaviour == .replace)
    } catch {
        #expect(error.errno == (behaviour == .eexist ? .EEXIST : .EADDRINUSE))
        #expect(d.leafCount == 1)   // the call's own pages were unwound
    }
    switch behaviour {
    case .keepOld:
        #expect(d.iovaToPhys(0x10000) == 0xA0000)
        #expect(d.log.contains { $0.hasPrefix("DMA PTE for vPFN 0x10 already set") })
    case .replace:
        #expect(d.iovaToPhys(0x10000) == 0xB1000)
    default:
        #expect(d.iovaToPhys(0x10000) == 0xA0000)
    }
}

@Test("iommu_unmap returns bytes unmapped, stops at holes, never splits a leaf, and is 0 when misaligned")
func iommuUnmap() throws {
    var d = IOMMUDomain(type: .dma)
    try d.map(iova: 0x20_0000, physical: 0x40_0000, size: 2 << 20, prot: .read)
    try d.map(iova: 0x40_0000, physical: 0x1000, size: 0x2000, prot: .read)
    #expect(d.unmap(iova: 0x20_0000, size: 0x1000) == 0)           // would split the 2 MiB leaf
    #expect(d.unmap(iova: 0x20_0800, size: 0x1000) == 0)           // misaligned
    #expect(d.unmap(iova: 0x20_0000, size: 0x30_0000) == 0x20_2000)  // 2 MiB + 8 KiB, then a hole
    #expect(d.iovaToPhys(0x20_0000) == 0)
    var identity = IOMMUDomain(type: .identity)
    #expect(identity.unmap(iova: 0, size: 0x1000) == 0)
    #expect(identity.iovaToPhys(0x1234) == 0x1234)
    #expect(IOMMUDomain(type: .blocked).iovaToPhys(0x1234) == 0)
}

// MARK: - VFIO type1

@Test("VFIO_IOMMU_MAP_DMA errors", arguments: [
    ("argsz", 16, VFIODMAFlags([.read]), UInt64(0x10000), UInt64(0x10000), UInt64(0x1000), Errno.EINVAL),
    ("unknown flag", 32, VFIODMAFlags(rawValue: 0x80), 0x10000, 0x10000, 0x1000, .EINVAL),
    ("no read or write", 32, VFIODMAFlags(), 0x10000, 0x10000, 0x1000, .EINVAL),
    ("size 0", 32, [.read], 0x10000, 0x10000, 0, .EINVAL),
    ("misaligned", 32, [.read], 0x10800, 0x10000, 0x1000, .EINVAL),
    ("wraps", 32, [.read], 0x10000, 0xFFFF_FFFF_FFFF_F000, 0x2000, .EINVAL),
    ("MSI window", 32, [.read, .write], 0x10000, 0xFEE0_0000, 0x1000, .EINVAL),
    ("beyond the IOVA width", 32, [.read], 0x10000, 1 << 48, 0x1000, .EINVAL),
    ("VADDR update of nothing", 32, [.vaddr], 0x10000, 0x90000, 0x1000, .ENOENT),
    ("VADDR with READ", 32, [.vaddr, .read], 0x10000, 0x90000, 0x1000, .EINVAL),
] as [(String, Int, VFIODMAFlags, UInt64, UInt64, UInt64, Errno)])
func vfioMapErrors(_ label: String, _ argsz: Int, _ flags: VFIODMAFlags, _ vaddr: UInt64, _ iova: UInt64, _ size: UInt64, _ errno: Errno) {
    var c = VFIOContainer()
    do {
        try c.mapDMA(argsz: argsz, flags: flags, vaddr: vaddr, iova: iova, size: size)
        Issue.record("\(label): expected \(errno)")
    } catch {
        #expect(error.errno == errno, "\(label)")
    }
}

@Test("VFIO type1: overlaps, the entry limit, v2 unmap rules, and BAR mmaps mapped without pinning")
func vfioContainer() throws {
    var c = VFIOContainer(dmaEntryLimit: 2)
    try c.mapDMA(flags: [.read, .write], vaddr: 0x7000_0000, iova: 0x10_0000, size: 0x4000)
    do { try c.mapDMA(flags: [.read], vaddr: 0x7100_0000, iova: 0x10_2000, size: 0x4000); Issue.record("EEXIST") } catch { #expect(error.errno == .EEXIST) }
    c.registerBARMapping(vaddr: 0x8000_0000, physical: 0x38_0000_0000, size: 1 << 20)
    try c.mapDMA(flags: [.read, .write], vaddr: 0x8000_0000, iova: 0x20_0000, size: 1 << 20)
    #expect(c.mappings.last?.isPFNMap == true)
    #expect(c.domain.iovaToPhys(0x20_0010) == 0x38_0000_0010)
    do { try c.mapDMA(flags: [.read], vaddr: 0x9000_0000, iova: 0x40_0000, size: 0x1000); Issue.record("ENOSPC") } catch { #expect(error.errno == .ENOSPC) }
    // VADDR update (vfio_dma_do_map): of a mapping whose vaddr is still valid it is EINVAL (Linux 6.1 under QEMU
    // answers so, mapping/type1-vaddr.xml); after UNMAP_DMA with FLAG_VADDR it works, with the exact size only.
    do { try c.mapDMA(flags: [.vaddr], vaddr: 0x7200_0000, iova: 0x10_0000, size: 0x4000); Issue.record("valid vaddr") } catch { #expect(error.errno == .EINVAL) }
    do { try c.mapDMA(flags: [.vaddr, .read], vaddr: 0x7200_0000, iova: 0x10_0000, size: 0x4000); Issue.record("VADDR and READ") } catch { #expect(error.errno == .EINVAL) }
    #expect(try c.unmapDMA(flags: .unmapVaddr, iova: 0x10_0000, size: 0x4000) == 0x4000)
    do { try c.mapDMA(flags: [.vaddr], vaddr: 0x7200_0000, iova: 0x10_0000, size: 0x1000); Issue.record("EINVAL") } catch { #expect(error.errno == .EINVAL) }
    try c.mapDMA(flags: [.vaddr], vaddr: 0x7200_0000, iova: 0x10_0000, size: 0x4000)
    #expect(c.mappings.first?.vaddr == 0x7200_0000 && c.mappings.first?.isVaddrInvalid == false)
    // Unmap: bisecting is EINVAL (v2), nothing mapped is success with size 0, whole ranges return their size.
    do { _ = try c.unmapDMA(iova: 0x10_1000, size: 0x1000); Issue.record("bisect") } catch { #expect(error.errno == .EINVAL) }
    do { _ = try c.unmapDMA(iova: 0x10_0000, size: 0); Issue.record("size 0") } catch { #expect(error.errno == .EINVAL) }
    do { _ = try c.unmapDMA(iova: 0x10_0800, size: 0x1000); Issue.record("misaligned") } catch { #expect(error.errno == .EINVAL) }
    do { _ = try c.unmapDMA(flags: .unmapAll, iova: 0x1000, size: 0); Issue.record("FLAG_ALL") } catch { #expect(error.errno == .EINVAL) }
    do { _ = try c.unmapDMA(argsz: 8, iova: 0x10_0000, size: 0x4000); Issue.record("argsz") } catch { #expect(error.errno == .EINVAL) }
    #expect(try c.unmapDMA(iova: 0x90_0000, size: 0x1000) == 0)
    #expect(try c.unmapDMA(iova: 0x10_0000, size: 0x4000) == 0x4000)
    #expect(try c.unmapDMA(flags: .unmapAll, iova: 0, size: 0) == 1 << 20)
    #expect(c.mappings.isEmpty && c.domain.leafCount == 0)
}

// MARK: - p2pdma providers and the DMA API

/// A switch with an NVMe CMB provider and two clients; `acs` gives the DSPs an ACS capability (Linux then enables
/// RR/CR with the IOMMU on); `cpu` picks the host-bridge rule.
func p2pMachine(acs: Bool, amd: Bool = false, iommu: String = "dma") -> String {
    let cap = acs ? " acs-cap=\"SV RR CR UF\"" : ""
    return topologyXML("""
      <socket id="0" cpu-vendor="\(amd ? "amd" : "intel")" cpu-family="\(amd ? "0x19" : "6")"/>
      <iommu name="u" kind="\(amd ? "amd-vi" : "vt-d")" mode="\(iommu)"/>
      <root-complex name="rc0" host-bridge="\(amd ? "1022:1480" : "8086:4c43")" iommu="u">
        <root-port id="8086:347a">
          <switch name="sw" id="1000:c010">
            <downstream-port\(cap)>
              <endpoint name="nvme" class="nvme" id="144d:a824"><bar index="0" size="16K"/><bar index="2" size="64M" prefetchable="true"/><p2pmem bar="2"/></endpoint>
            </downstream-port>
            <downstream-port\(cap)>
              <endpoint name="nic" class="nic" id="15b3:101b"><bar index="0" size="32M" prefetchable="true"/></endpoint>
            </downstream-port>
          </switch>
        </root-port>
      </root-complex>
    """)
}

func backend(_ xml: String) throws -> SimulatedBackend {
    SimulatedBackend(try LoadedTopology(document: TopologyReader.read(text: xml)))
}

extension SimulatedBackend {
    func f(_ name: String) -> Int { fabric.enumeration.function(named: name)! }
}

@Test("pci_p2pdma_add_resource errors, the pool, and virt_to_bus")
func p2pdmaProvider() throws {
    var b = try backend(p2pMachine(acs: false))
    let nvme = b.f("nvme")
    #expect(b.pciAllocP2PMem(nvme, size: 4096) == nil)          // no p2pdma state yet
    #expect(b.pciP2PMemVirtToBus(nvme, address: 0x1000) == 0)
    for (bar, size, offset) in [(4, UInt64(0), UInt64(0)), (2, 0, 64 << 20), (2, 64 << 20, 4096)] as [(Int, UInt64, UInt64)] {
        do { try b.pciP2PDMAAddResource(nvme, bar: bar, size: size, offset: offset); Issue.record("EINVAL") } catch { #expect(error.errno == .EINVAL) }
    }
    try b.pciP2PDMAAddResource(nvme, bar: 2, size: 8192, offset: 0)
    let base = b.fabric.barAddress(function: nvme, index: 2)!
    #expect(b.kernelLog.last == "pci \(b.fabric.bdf(nvme)): added peer-to-peer DMA memory 0x\(hex(base, 1))-0x\(hex(base + 8191, 1))")
    b.pciP2PMemPublish(nvme, true)
    let aValue = b.pciAllocP2PMem(nvme, size: 100)
    let a = try #require(aValue)   // rounded up to a page
    let cValue = b.pciAllocP2PMem(nvme, size: 4096)
    let c = try #require(cValue)
    #expect(c == a + 4096)
    #expect(b.pciAllocP2PMem(nvme, size: 1) == nil)           // exhausted
    #expect(b.p2pmemSysfs(nvme)! == (8192, 0, true))
    b.pciFreeP2PMem(nvme, address: a, size: 100)
    #expect(b.pciAllocP2PMem(nvme, size: 4096) == a)
    #expect(b.pciP2PMemVirtToBus(nvme, address: a) == a)
    #expect(b.pciP2PMemVirtToBus(nvme, address: nil) == 0)
}

@Test("P23: dma_map_sgtable over a NOT_SUPPORTED P2P page is -EREMOTEIO; dma_map_sg_attrs returns 0")
func p23() throws {
    var b = try backend(p2pMachine(acs: true))
    let nvme = b.f("nvme"), nic = b.f("nic")
    try b.pciP2PDMAAddResource(nvme, bar: 2, size: 0, offset: 0)
    let pageValue = b.pciAllocP2PMem(nvme, size: 4096)
    let page = try #require(pageValue)
    var table = SGTable([ScatterlistEntry(physical: 0x1_0000_0000, length: 4096), ScatterlistEntry(physical: page, length: 4096)])
    do { try b.dmaMapSGTable(nic, &table, direction: .toDevice); Issue.record("expected EREMOTEIO") } catch {
        #expect(error.errno == .EREMOTEIO)
    }
    #expect(table.entries.allSatisfy { $0.dmaAddress == nil })                   // the RAM segment was unwound
    #expect(b.domains.allSatisfy { $0.mappedBytes == 0 })
    #expect(b.kernelLog.contains { $0.contains("do not share an upstream bridge or whitelisted host bridge") })
    #expect(b.dmaMapSGAttrs(nic, &table, direction: .toDevice) == 0)
}

@Test("P24: a BUS_ADDR page gets its bus address and no IOVA; RAM in the same list gets an IOVA")
func p24() throws {
    var b = try backend(p2pMachine(acs: false))
    let nvme = b.f("nvme"), nic = b.f("nic")
    try b.pciP2PDMAAddResource(nvme, bar: 2, size: 0, offset: 0)
    let pageValue = b.pciAllocP2PMem(nvme, size: 8192)
    let page = try #require(pageValue)
    var table = SGTable([ScatterlistEntry(physical: page, length: 8192), ScatterlistEntry(physical: 0x2_0000_0000, length: 4096)])
    try b.dmaMapSGTable(nic, &table, direction: .bidirectional)
    #expect(table.entries[0].dmaAddress == page && table.entries[0].isBusAddress)
    let iova = try #require(table.entries[1].dmaAddress)
    #expect(iova != 0x2_0000_0000 && !table.entries[1].isBusAddress)
    let domainValue = b.iommuGetDomainForDev(nic)
    let domain = try #require(domainValue)
    #expect(b.domains[domain].mappedBytes == 4096)                                 // only the RAM page
    #expect(b.iommuIOVAToPhys(domain: domain, iova: iova) == 0x2_0000_0000)
    b.dmaUnmapSGTable(nic, &table)
    #expect(b.domains[domain].mappedBytes == 0)
}

@Test("THRU_HOST_BRIDGE pages are mapped like RAM (AMD Zen with ACS redirect on)")
func thruHostBridge() throws {
    var b = try backend(p2pMachine(acs: true, amd: true))
    let nvme = b.f("nvme"), nic = b.f("nic")
    try b.pciP2PDMAAddResource(nvme, bar: 2, size: 0, offset: 0)
    let pageValue = b.pciAllocP2PMem(nvme, size: 4096)
    let page = try #require(pageValue)
    #expect(b.pciP2PDMAMapType(provider: nvme, client: nic) == .known(.thruHostBridge))
    var table = SGTable([ScatterlistEntry(physical: page, length: 4096)])
    try b.dmaMapSGTable(nic, &table, direction: .toDevice)
    let iova = try #require(table.entries[0].dmaAddress)
    #expect(!table.entries[0].isBusAddress && iova != page)
    // The router follows the mapping: the NIC's DMA to the IOVA is redirected at its port, translated by the
    // IOMMU to the CMB, and forwarded back down to the NVMe drive.
    let route = Router(b.fabric).route(TLPRequest(kind: .memoryRead, requester: nic, address: iova), translator: DomainTranslator(b))
    #expect(route.outcome == .delivered(.function(nvme)))
    #expect(route.throughRootComplex)
    // A DMA to an address that was never mapped faults in the IOMMU.
    let stray = Router(b.fabric).route(TLPRequest(kind: .memoryWrite, requester: nic, address: 0x1234_5000), translator: DomainTranslator(b))
    if case .blocked(_, .iommuFault) = stray.outcome {} else { Issue.record("expected an IOMMU fault, got \(stray.outcome)") }
}

@Test("dma_map_resource: an IOVA under a DMA domain, the physical address under passthrough")
func dmaMapResource() throws {
    var dma = try backend(p2pMachine(acs: false))
    let nic = dma.f("nic"), nvme = dma.f("nvme")
    let bar = dma.fabric.barAddress(function: nvme, index: 2)!
    let iova = try dma.dmaMapResource(nic, physical: bar + 0x10, size: 0x2000, direction: .bidirectional)
    #expect(iova & 0xFFF == 0x10 && iova < 1 << 32)
    let dValue = dma.iommuGetDomainForDev(nic)
    let d = try #require(dValue)
    #expect(dma.iommuIOVAToPhys(domain: d, iova: iova) == bar + 0x10)
    dma.dmaUnmapResource(nic, address: iova, size: 0x2000)
    #expect(dma.domains[d].mappedBytes == 0)
    var pt = try backend(p2pMachine(acs: false, iommu: "passthrough"))
    #expect(try pt.dmaMapResource(pt.f("nic"), physical: bar, size: 4096, direction: .toDevice) == bar)
}

@Test("iommu_map through the backend logs the kernel's unaligned line and attach moves a group")
func backendIOMMU() throws {
    var b = try backend(p2pMachine(acs: true))
    let nic = b.f("nic")
    let domain = b.iommuDomainAlloc(.unmanaged)
    let group = try #require(b.iommuGroup(of: nic).value)
    try b.iommuAttachGroup(domain: domain, group: group)
    try b.iommuMap(domain: domain, iova: 0x10_0000, physical: 0x5000_0000, size: 0x1000, prot: [.read, .write])
    #expect(b.translation(requester: nic, address: 0x10_0010) == .translated(0x5000_0010))
    do { try b.iommuMap(domain: domain, iova: 0x10_0100, physical: 0, size: 0x1000, prot: .read); Issue.record("EINVAL") } catch { #expect(error.errno == .EINVAL) }
    #expect(b.kernelLog.last?.hasPrefix("unaligned: iova 0x100100") == true)
    do { try b.iommuAttachGroup(domain: 99, group: group); Issue.record("EINVAL") } catch { #expect(error.errno == .EINVAL) }
    #expect(b.iommuUnmap(domain: domain, iova: 0x10_0000, size: 0x1000) == 0x1000)
}

@Test("dma_map_resource: -EIO on a blocked domain, -ENOMEM when the IOVA space is exhausted")
func dmaMapResourceErrors() throws {
    var b = try backend(p2pMachine(acs: false))
    let nic = b.f("nic")
    let group = try #require(b.iommuGroup(of: nic).value)
    let blocked = b.iommuDomainAlloc(.blocked)
    try b.iommuAttachGroup(domain: blocked, group: group)
    do { _ = try b.dmaMapResource(nic, physical: 0x1000, size: 0x1000, direction: .toDevice); Issue.record("EIO") } catch { #expect(error.errno == .EIO) }
    var c = try backend(p2pMachine(acs: false))
    do { _ = try c.dmaMapResource(c.f("nic"), physical: 0, size: 8 << 30, direction: .toDevice); Issue.record("ENOMEM") } catch { #expect(error.errno == .ENOMEM) }
}

@Test("iommu_group/type: -EACCES unprivileged, -EPERM with a driver bound (except DMA to DMA-FQ), -EINVAL for a bad type")
func groupType() throws {
    var b = try backend(p2pMachine(acs: true))
    let nic = b.f("nic")
    let group = try #require(b.iommuGroup(of: nic).value)
    do { try b.iommuGroupStoreType(group: group, "identity", privileged: false, driverBound: false); Issue.record("EACCES") } catch { #expect(error.errno == .EACCES) }
    do { try b.iommuGroupStoreType(group: group, "identity", privileged: true, driverBound: true); Issue.record("EPERM") } catch { #expect(error.errno == .EPERM) }
    do { try b.iommuGroupStoreType(group: group, "fast", privileged: true, driverBound: false); Issue.record("EINVAL") } catch { #expect(error.errno == .EINVAL) }
    try b.iommuGroupStoreType(group: group, "DMA-FQ", privileged: true, driverBound: true)
    let domain = b.iommuGetDomainForDev(nic)!
    #expect(b.domains[domain].type == .dmaFQ)
    try b.iommuGroupStoreType(group: group, "identity", privileged: true, driverBound: false)
    #expect(b.translation(requester: nic, address: 0x1234) == .identity)
}
