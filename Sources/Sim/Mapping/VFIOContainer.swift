// VFIO type1 IOMMU: VFIO_IOMMU_MAP_DMA and VFIO_IOMMU_UNMAP_DMA with their errors and limits
// (drivers/vfio/vfio_iommu_type1.c; reference §2 "VFIO type1").

/// `struct vfio_iommu_type1_dma_map` / `_unmap` flags (include/uapi/linux/vfio.h).
public struct VFIODMAFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// VFIO_DMA_MAP_FLAG_READ / WRITE / VADDR.
    public static let read = VFIODMAFlags(rawValue: 1 << 0)
    public static let write = VFIODMAFlags(rawValue: 1 << 1)
    public static let vaddr = VFIODMAFlags(rawValue: 1 << 2)
    /// Unmap flags share the field: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (1 << 0), _ALL (1 << 1), _VADDR (1 << 2).
    public static let unmapGetDirtyBitmap = VFIODMAFlags(rawValue: 1 << 0)
    public static let unmapAll = VFIODMAFlags(rawValue: 1 << 1)
    public static let unmapVaddr = VFIODMAFlags(rawValue: 1 << 2)
}

/// A type1 container: its DMA mappings (`struct vfio_dma`) over one IOMMU domain.
public struct VFIOContainer: Sendable {
    public struct Mapping: Sendable, Hashable {
        public var iova: UInt64
        public var vaddr: UInt64
        public var size: UInt64
        public var flags: VFIODMAFlags
        /// The vaddr range is an mmap of a device BAR (VM_PFNMAP): mapped without pinning (how a VM gets P2P).
        public var isPFNMap: Bool
        /// `vfio_dma.vaddr_invalid`: VFIO_DMA_UNMAP_FLAG_VADDR invalidated the vaddr; MAP_DMA with
        /// VFIO_DMA_MAP_FLAG_VADDR gives a new one.
        public var isVaddrInvalid = false
    }

    /// Wrong answers on purpose, for tests of the comparison (`simrun map --compare` must show them); never set
    /// otherwise.
    public enum Fault: String, Sendable, Hashable, CaseIterable {
        /// MAP_DMA over an existing mapping succeeds (the kernel answers -EEXIST).
        case acceptOverlap = "accept-overlap"
        /// The reserved ranges are left out of the valid IOVA ranges.
        case ignoreReservedRanges = "ignore-reserved-ranges"
    }
    public var fault: Fault?

    public private(set) var domain: IOMMUDomain
    public private(set) var mappings: [Mapping] = []   // sorted by iova
    /// `dma_entry_limit` module parameter (default U16_MAX = 65535).
    public var dmaEntryLimit: Int
    /// Reserved IOVA ranges (e.g. the x86 MSI window 0xfee00000-0xfeefffff), excluded from valid IOVAs.
    public var reservedRanges: [AddressRange]
    /// Address width of the IOMMU: IOVAs must lie below 1 << width.
    public var iovaWidth: Int
    /// The process's memory: vaddr -> physical. Plain memory is modelled as identity; BAR mmaps are registered.
    var barMaps: [(vaddr: AddressRange, physical: UInt64)] = []
    /// The process's mapped memory (its mmaps), when known: a MAP_DMA of a vaddr outside it and outside the BAR
    /// mmaps fails to pin (-EFAULT). nil: every vaddr is memory (the driver-side model).
    public var processMemory: [AddressRange]?

    public static let minimumMapSize = 32   // offsetofend(struct vfio_iommu_type1_dma_map, size)
    public static let minimumUnmapSize = 24  // offsetofend(struct vfio_iommu_type1_dma_unmap, size)

    public init(pageSizes: [UInt64] = [4096, 2 << 20, 1 << 30], dmaEntryLimit: Int = 65535,
                reservedRanges: [AddressRange] = [AddressRange(start: 0xFEE0_0000, end: 0xFEEF_FFFF)], iovaWidth: Int = 48) {
        domain = IOMMUDomain(type: .unmanaged, pageSizes: pageSizes)
        self.dmaEntryLimit = dmaEntryLimit
        self.reservedRanges = reservedRanges
        self.iovaWidth = iovaWidth
    }

    /// Registers an mmap of a device BAR at `vaddr` (what a VMM does before mapping guest RAM and BARs).
    public mutating func registerBARMapping(vaddr: UInt64, physical: UInt64, size: UInt64) {
        barMaps.append((AddressRange(start: vaddr, size: size), physical))
    }

    /// The valid IOVA ranges (`iommu->iova_list`): the aperture [0, 2^iovaWidth - 1] less the reserved ranges
    /// (vfio_iommu_aper_resize, vfio_iommu_resv_exclude), what VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE reports.
    public var validIOVARanges: [AddressRange] {
        var ranges = [AddressRange(start: 0, end: iovaWidth >= 64 ? .max : (UInt64(1) << UInt64(iovaWidth)) - 1)]
        guard fault != .ignoreReservedRanges else { return ranges }
        for r in reservedRanges.sorted(by: { $0.start < $1.start }) {
            ranges = ranges.flatMap { n -> [AddressRange] in
                guard r.overlaps(n) else { return [n] }
                var parts: [AddressRange] = []
                if r.start > n.start { parts.append(AddressRange(start: n.start, end: r.start - 1)) }
                if r.end < n.end { parts.append(AddressRange(start: r.end + 1, end: n.end)) }
                return parts
            }
        }
        return ranges
    }

    /// `iommu->dma_avail`: mappings left before `dma_entry_limit`.
    public var dmaAvailable: Int { max(0, dmaEntryLimit - mappings.count) }

    /// `VFIO_IOMMU_MAP_DMA`, checked in the order of vfio_iommu_type1_map_dma and vfio_dma_do_map
    /// (drivers/vfio/vfio_iommu_type1.c, Linux 6.1): argsz and flags, READ/WRITE against VADDR, alignment to the
    /// smallest IOMMU page, wrap-around, an existing mapping (-EEXIST; -ENOENT/-EINVAL for a vaddr update),
    /// dma_avail (-ENOSPC), the valid IOVA ranges (-EINVAL), then pinning (-EFAULT outside the process's memory).
    public mutating func mapDMA(argsz: Int = VFIOContainer.minimumMapSize, flags: VFIODMAFlags, vaddr: UInt64, iova: UInt64,
                                size: UInt64) throws(MappingError) {
        let fn = "VFIO_IOMMU_MAP_DMA"
        guard argsz >= VFIOContainer.minimumMapSize else { throw MappingError(fn, .EINVAL, "argsz \(argsz) < minsz \(VFIOContainer.minimumMapSize)") }
        guard flags.isSubset(of: [.read, .write, .vaddr]) else { throw MappingError(fn, .EINVAL, "unknown flags 0x\(hex(flags.rawValue, 1))") }
        let setVaddr = flags.contains(.vaddr)
        let hasProt = !flags.intersection([.read, .write]).isEmpty
        guard hasProt != setVaddr else {
            throw MappingError(fn, .EINVAL, setVaddr ? "VFIO_DMA_MAP_FLAG_VADDR with READ or WRITE" : "neither READ nor WRITE requested")
        }
        let page = domain.minimumPageSize
        guard size > 0, (size | iova | vaddr) & (page - 1) == 0 else {
            throw MappingError(fn, .EINVAL, size == 0 ? "size is 0" : "size, iova or vaddr not aligned to the IOMMU page size 0x\(hex(page, 1))")
        }
        guard iova &+ size &- 1 >= iova, vaddr &+ size &- 1 >= vaddr else { throw MappingError(fn, .EINVAL, "range wraps around") }
        let range = AddressRange(start: iova, size: size)
        let existing = mappings.firstIndex { AddressRange(start: $0.iova, size: $0.size).overlaps(range) }
        if setVaddr {
            // vfio_dma_do_map: vfio_find_dma, then the mapping must be exactly it and invalidated.
            guard let k = existing else { throw MappingError(fn, .ENOENT, "no mapping at IOVA range \(range) to update") }
            guard mappings[k].isVaddrInvalid, mappings[k].iova == iova, mappings[k].size == size else {
                throw MappingError(fn, .EINVAL, "the mapping at \(range) is not exactly this range with its vaddr invalidated")
            }
            mappings[k].vaddr = vaddr
            mappings[k].isVaddrInvalid = false
            return
        }
        if existing != nil, fault != .acceptOverlap {
            throw MappingError(fn, .EEXIST, "IOVA range \(range) overlaps an existing mapping")
        }
        guard mappings.count < dmaEntryLimit else { throw MappingError(fn, .ENOSPC, "dma_entry_limit \(dmaEntryLimit) reached (dma_avail 0)") }
        guard validIOVARanges.contains(where: { $0.contains(range) }) else {
            throw MappingError(fn, .EINVAL, "IOVA range \(range) is outside the valid IOVA ranges (vfio_iommu_iova_dma_valid)")
        }
        let vaddrRange = AddressRange(start: vaddr, size: size)
        let pfn = barMaps.first { $0.vaddr.contains(vaddrRange) }
        if pfn == nil, let memory = processMemory, !memory.contains(where: { $0.contains(vaddrRange) }) {
            throw MappingError(fn, .EFAULT, "vaddr range \(vaddrRange) is not mapped in the process (vaddr_get_pfns)")
        }
        let physical = pfn.map { $0.physical + (vaddr - $0.vaddr.start) } ?? vaddr
        var prot: IOMMUProt = [.cache]
        if flags.contains(.read) { prot.insert(.read) }
        if flags.contains(.write) { prot.insert(.write) }
        if pfn != nil { prot = prot.subtracting(.cache).union(.mmio) }
        if existing == nil {
            do {
                try domain.map(iova: iova, physical: physical, size: size, prot: prot)
            } catch {
                throw MappingError(fn, error.errno, "iommu_map failed: \(error.reason)")
            }
        }
        let m = Mapping(iova: iova, vaddr: vaddr, size: size, flags: flags, isPFNMap: pfn != nil)
        let at = mappings.firstIndex { $0.iova > iova } ?? mappings.count
        mappings.insert(m, at: at)
    }

    /// `VFIO_IOMMU_UNMAP_DMA` (v2 semantics), checked as vfio_iommu_type1_unmap_dma and vfio_dma_do_unmap do: returns
    /// the size unmapped (written back into `unmap.size`). A range that bisects a mapping at either end is -EINVAL;
    /// a range with no mapping in it unmaps 0 bytes. VFIO_DMA_UNMAP_FLAG_VADDR invalidates the vaddrs instead.
    public mutating func unmapDMA(argsz: Int = VFIOContainer.minimumUnmapSize, flags: VFIODMAFlags = [], iova: UInt64,
                                  size: UInt64) throws(MappingError) -> UInt64 {
        let fn = "VFIO_IOMMU_UNMAP_DMA"
        guard argsz >= VFIOContainer.minimumUnmapSize else { throw MappingError(fn, .EINVAL, "argsz \(argsz) < minsz") }
        guard flags.isSubset(of: [.unmapGetDirtyBitmap, .unmapAll, .unmapVaddr]) else { throw MappingError(fn, .EINVAL, "unknown flags") }
        if flags.contains(.unmapGetDirtyBitmap) {
            // With ALL or VADDR: -EINVAL in the ioctl; alone: -EINVAL in vfio_dma_do_unmap, dirty tracking being off.
            throw MappingError(fn, .EINVAL, "VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP without dirty page tracking")
        }
        let page = domain.minimumPageSize
        guard iova & (page - 1) == 0 else { throw MappingError(fn, .EINVAL, "iova not aligned to 0x\(hex(page, 1))") }
        var low = iova
        var high = iova &+ size &- 1
        if flags.contains(.unmapAll) {
            guard iova == 0, size == 0 else { throw MappingError(fn, .EINVAL, "VFIO_DMA_UNMAP_FLAG_ALL requires iova = size = 0") }
            low = 0
            high = .max
        } else {
            guard size > 0 else { throw MappingError(fn, .EINVAL, "size is 0") }
            guard size & (page - 1) == 0 else { throw MappingError(fn, .EINVAL, "size not aligned to 0x\(hex(page, 1))") }
            guard high >= iova else { throw MappingError(fn, .EINVAL, "range wraps around") }
            // v2: a range that bisects a mapping at either end is an error (vfio_find_dma at iova and iova+size-1).
            if mappings.contains(where: { $0.iova < low && $0.iova + $0.size - 1 >= low })
                || mappings.contains(where: { $0.iova <= high && $0.iova + $0.size - 1 > high }) {
                throw MappingError(fn, .EINVAL, "range bisects an existing mapping")
            }
        }
        let inRange = mappings.indices.filter { mappings[$0].iova >= low && mappings[$0].iova + mappings[$0].size - 1 <= high }
        if flags.contains(.unmapVaddr) {
            // An already invalid vaddr in the range undoes this call's invalidations: -EINVAL, nothing changed.
            if inRange.contains(where: { mappings[$0].isVaddrInvalid }) {
                throw MappingError(fn, .EINVAL, "a vaddr in the range is already invalid")
            }
            for k in inRange { mappings[k].isVaddrInvalid = true }
            return inRange.reduce(0) { $0 + mappings[$1].size }
        }
        var unmapped: UInt64 = 0
        for k in inRange.reversed() {
            let m = mappings.remove(at: k)
            // A mapping made under the accept-overlap fault may share its pages with another: unmap only what is left.
            _ = domain.unmap(iova: m.iova, size: m.size)
            unmapped += m.size
        }
        return unmapped
    }
}
