// The simulated backend's user-space calls: a VFIO type1 container over the machine's IOMMU groups, as
// drivers/vfio/vfio_main.c, container.c and vfio_iommu_type1.c (Linux 6.1) answer them.

/// What the simulated process holds: its container, group and memory, and what the machine's drivers are.
public struct SimulatedVFIO: Sendable {
    /// Functions bound to vfio-pci. Every other endpoint has its own driver bound, which claims DMA ownership of
    /// its group (`iommu_device_use_default_domain` at probe); bridges bind pcieport, which sets
    /// `driver_managed_dma` and claims nothing.
    public var boundToVFIO: Set<Int> = []
    /// `vfio_iommu_type1.dma_entry_limit` (module parameter; default U16_MAX).
    public var dmaEntryLimit = 65535
    /// The IOMMU's input address width (VT-d MGAW): the aperture is [0, 2^width - 1]. 48 on 4-level VT-d
    /// hardware; QEMU 7.2's intel-iommu defaults to aw-bits=39 (hw/i386/intel_iommu.c, VTD_HOST_AW_39BIT).
    public var iovaWidth = 48
    /// A wrong answer on purpose (tests of the comparison only).
    public var fault: VFIOContainer.Fault?

    var group: Int?
    var groupDevice: Int?
    var groupInContainer = false
    public internal(set) var container: VFIOContainer?
    var memory: [AddressRange] = []
    /// Where the next anonymous mmap lands (a typical x86-64 user address; only its page alignment matters).
    var nextUserVA: UInt64 = 0x7F00_0000_0000

    public init() {}
}

extension SimulatedBackend {
    /// The reserved regions `iommu_get_group_resv_regions` reports for a device's group, by IOMMU kind, less the
    /// IOMMU_RESV_DIRECT_RELAXABLE ones VFIO ignores: VT-d the IOAPIC/MSI range 0xfee00000-0xfeefffff
    /// (intel_iommu_get_resv_regions); AMD-Vi the same MSI range and the HyperTransport range
    /// 0xfd00000000-0xffffffffff (amd_iommu_get_resv_regions); SMMUv3 its software MSI window
    /// 0x8000000-0x80fffff (arm_smmu_get_resv_regions, MSI_IOVA_BASE/LENGTH). No RMRRs or IVMD are modelled.
    func vfioReservedRanges(of device: Int) -> [AddressRange] {
        let rc = fabric.enumeration.functions[device].rootComplex
        let unit = fabric.topology.rootComplexes[rc].iommu.flatMap { n in fabric.topology.iommus.first { $0.name == n } }
        let msi = AddressRange(start: 0xFEE0_0000, end: 0xFEEF_FFFF)
        switch unit?.kind {
        case .amdVi?: return [msi, AddressRange(start: 0xFD_0000_0000, end: 0xFF_FFFF_FFFF)]
        case .smmuv3?: return [AddressRange(start: 0x800_0000, size: 0x10_0000)]
        default: return [msi]
        }
    }

    /// The function at a BDF.
    public func function(at bdf: BDF) -> Int? { fabric.enumeration.functions.firstIndex { $0.bdf == bdf } }

    public mutating func userMemory(size: UInt64) throws(MappingError) -> UInt64 {
        guard size > 0 else { throw MappingError("mmap", .EINVAL, "length 0") }
        let length = alignUp(size, SimulatedBackend.pageSize)
        let start = vfio.nextUserVA
        vfio.memory.append(AddressRange(start: start, size: length))
        vfio.nextUserVA += length + (1 << 20)   // a gap, as between two mmaps
        vfio.container?.processMemory = vfio.memory
        return start
    }

    /// `/dev/vfio/N` exists when a device of group N is bound to vfio-pci (vfio_group_find_or_alloc); opening it
    /// twice is -EBUSY (vfio_group_fops_open). Viable: no device of the group has a driver that claimed DMA
    /// ownership (vfio_group_ioctl_get_status, iommu_group_dma_owner_claimed).
    public mutating func vfioOpenGroup(device bdf: BDF) throws(MappingError) -> VFIOGroupStatus {
        guard let f = function(at: bdf) else { throw MappingError("open", .ENOENT, "no device \(bdf)") }
        guard let g = iommuGroup(of: f).value else { throw MappingError("open", .ENOENT, "\(bdf) has no IOMMU group") }
        let members = semantics.groupNumbers.indices.filter { semantics.groupNumbers[$0] == g }
        guard members.contains(where: { vfio.boundToVFIO.contains($0) }) else {
            throw MappingError("open", .ENOENT, "no /dev/vfio/\(g): no device of group \(g) is bound to vfio-pci")
        }
        guard vfio.group == nil else { throw MappingError("open", .EBUSY, "/dev/vfio/\(g) is already open") }
        vfio.group = g
        vfio.groupDevice = f
        return VFIOGroupStatus(isViable: vfio.groupInContainer || !groupDMAOwnerClaimed(g), isContainerSet: vfio.groupInContainer)
    }

    func groupDMAOwnerClaimed(_ g: Int) -> Bool {
        semantics.groupNumbers.indices.contains { f in
            semantics.groupNumbers[f] == g && fabric.enumeration.functions[f].kind == .endpoint && !vfio.boundToVFIO.contains(f)
        }
    }

    /// vfio_group_ioctl_set_container: -EINVAL when the group is already in a container; then
    /// vfio_container_attach_group: iommu_group_claim_dma_owner is -EPERM when a driver owns the group's DMA.
    public mutating func vfioGroupSetContainer() throws(MappingError) {
        let fn = "VFIO_GROUP_SET_CONTAINER"
        guard let g = vfio.group else { throw MappingError(fn, .EBADF, "no group is open") }
        guard !vfio.groupInContainer else { throw MappingError(fn, .EINVAL, "group \(g) is already in a container") }
        guard !groupDMAOwnerClaimed(g) else {
            throw MappingError(fn, .EPERM, "a device of group \(g) is bound to a driver that owns its DMA (iommu_group_claim_dma_owner)")
        }
        vfio.groupInContainer = true
    }

    /// vfio_ioctl_set_iommu: -EINVAL with no group in the container or a driver already set; -ENODEV when no
    /// IOMMU driver takes the type (type1 takes VFIO_TYPE1_IOMMU 1, VFIO_TYPE1v2_IOMMU 3, VFIO_TYPE1_NESTING_IOMMU 6).
    public mutating func vfioSetIOMMU(_ type: UInt32) throws(MappingError) {
        let fn = "VFIO_SET_IOMMU"
        guard vfio.groupInContainer, vfio.container == nil else {
            throw MappingError(fn, .EINVAL, vfio.container == nil ? "no group in the container" : "the container already has an IOMMU driver")
        }
        guard [1, 3, 6].contains(type) else { throw MappingError(fn, .ENODEV, "no IOMMU driver supports type \(type)") }
        guard type == VFIOIOMMUType.type1v2 else {
            throw MappingError(fn, .ENODEV, "the simulated backend models type1v2 only (type \(type) asked)")
        }
        let f = vfio.groupDevice!
        let rc = fabric.enumeration.functions[f].rootComplex
        let unit = fabric.topology.rootComplexes[rc].iommu.flatMap { n in fabric.topology.iommus.first { $0.name == n } }
        var c = VFIOContainer(pageSizes: unit?.pageSizes ?? [4096, 2 << 20, 1 << 30], dmaEntryLimit: vfio.dmaEntryLimit,
                              reservedRanges: vfioReservedRanges(of: f), iovaWidth: vfio.iovaWidth)
        c.processMemory = vfio.memory
        c.fault = vfio.fault
        vfio.container = c
    }

    /// Container ioctls without an IOMMU driver set answer -EINVAL (vfio_fops_unl_ioctl).
    mutating func withContainer<T>(_ fn: String, _ body: (inout VFIOContainer) throws(MappingError) -> T) throws(MappingError) -> T {
        guard var c = vfio.container else { throw MappingError(fn, .EINVAL, "the container has no IOMMU driver (VFIO_SET_IOMMU first)") }
        defer { vfio.container = c }
        return try body(&c)
    }

    /// vfio_iommu_type1_get_info: VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, the page sizes, the IOVA ranges
    /// and dma_avail.
    public mutating func vfioIOMMUGetInfo() throws(MappingError) -> VFIOIOMMUInfo {
        try withContainer("VFIO_IOMMU_GET_INFO") { c throws(MappingError) in
            VFIOIOMMUInfo(flags: 0b11, iovaPageSizes: c.domain.pageSizeBitmap, iovaRanges: c.validIOVARanges,
                          dmaAvailable: UInt32(c.dmaAvailable))
        }
    }

    public mutating func vfioMapDMA(_ map: VFIODMAMap) throws(MappingError) {
        try withContainer("VFIO_IOMMU_MAP_DMA") { c throws(MappingError) in
            try c.mapDMA(argsz: Int(map.argsz), flags: map.flags, vaddr: map.vaddr, iova: map.iova, size: map.size)
        }
    }

    public mutating func vfioUnmapDMA(_ unmap: VFIODMAUnmap) throws(MappingError) -> UInt64 {
        try withContainer("VFIO_IOMMU_UNMAP_DMA") { c throws(MappingError) in
            try c.unmapDMA(argsz: Int(unmap.argsz), flags: unmap.flags, iova: unmap.iova, size: unmap.size)
        }
    }
}
