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
    /// VFIO_DMA_UNMAP_FLAG_ALL (unmap flags share the field; GET_DIRTY_BITMAP is not modelled).
    public static let unmapAll = VFIODMAFlags(rawValue: 1 << 1)
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
    }

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

    /// `VFIO_IOMMU_MAP_DMA`.
    public mutating func mapDMA(argsz: Int = VFIOContainer.minimumMapSize, flags: VFIODMAFlags, vaddr: UInt64, iova: UInt64,
                                size: UInt64) throws(MappingError) {
        let fn = "VFIO_IOMMU_MAP_DMA"
        guard argsz >= VFIOContainer.minimumMapSize else { throw MappingError(fn, .EINVAL, "argsz \(argsz) < minsz \(VFIOContainer.minimumMapSize)") }
        guard flags.isSubset(of: [.read, .write, .vaddr]) else { throw MappingError(fn, .EINVAL, "unknown flags 0x\(hex(flags.rawValue, 1))") }
        if flags.contains(.vaddr) {
            // Update the vaddr of an existing mapping (live update): it must exist exactly.
            guard let k = mappings.firstIndex(where: { $0.iova == iova && $0.size == size }) else {
                throw MappingError(fn, mappings.contains { $0.iova == iova } ? .EINVAL : .ENOENT, "no mapping at that iova and size to update")
            }
            mappings[k].vaddr = vaddr
            return
        }
        guard !flags.intersection([.read, .write]).isEmpty else { throw MappingError(fn, .EINVAL, "neither READ nor WRITE requested") }
        guard size > 0 else { throw MappingError(fn, .EINVAL, "size is 0") }
        let page = domain.minimumPageSize
        guard (size | iova | vaddr) & (page - 1) == 0 else {
            throw MappingError(fn, .EINVAL, "size, iova or vaddr not aligned to the IOMMU page size 0x\(hex(page, 1))")
        }
        guard iova &+ size - 1 >= iova, vaddr &+ size - 1 >= vaddr else { throw MappingError(fn, .EINVAL, "range wraps around") }
        let range = AddressRange(start: iova, size: size)
        if iovaWidth < 64, range.end >= UInt64(1) << UInt64(iovaWidth) || reservedRanges.contains(where: { $0.overlaps(range) }) {
            throw MappingError(fn, .EINVAL, "IOVA range \(range) is outside the valid IOVA ranges")
        }
        if mappings.contains(where: { AddressRange(start: $0.iova, size: $0.size).overlaps(range) }) {
            throw MappingError(fn, .EEXIST, "IOVA range \(range) overlaps an existing mapping")
        }
        guard mappings.count < dmaEntryLimit else { throw MappingError(fn, .ENOSPC, "dma_entry_limit \(dmaEntryLimit) reached") }
        let pfn = barMaps.first { $0.vaddr.contains(AddressRange(start: vaddr, size: size)) }
        let physical = pfn.map { $0.physical + (vaddr - $0.vaddr.start) } ?? vaddr
        var prot: IOMMUProt = [.cache]
        if flags.contains(.read) { prot.insert(.read) }
        if flags.contains(.write) { prot.insert(.write) }
        if pfn != nil { prot = prot.subtracting(.cache).union(.mmio) }
        do {
            try domain.map(iova: iova, physical: physical, size: size, prot: prot)
        } catch {
            throw MappingError(fn, error.errno, "iommu_map failed: \(error.reason)")
        }
        let m = Mapping(iova: iova, vaddr: vaddr, size: size, flags: flags, isPFNMap: pfn != nil)
        let at = mappings.firstIndex { $0.iova > iova } ?? mappings.count
        mappings.insert(m, at: at)
    }

    /// `VFIO_IOMMU_UNMAP_DMA` (v2 semantics): returns the size unmapped (written back into `unmap.size`).
    public mutating func unmapDMA(argsz: Int = VFIOContainer.minimumUnmapSize, flags: VFIODMAFlags = [], iova: UInt64,
                                  size: UInt64) throws(MappingError) -> UInt64 {
        let fn = "VFIO_IOMMU_UNMAP_DMA"
        guard argsz >= VFIOContainer.minimumUnmapSize else { throw MappingError(fn, .EINVAL, "argsz \(argsz) < minsz") }
        guard flags.isSubset(of: [.unmapAll]) else { throw MappingError(fn, .EINVAL, "unknown flags") }
        var low = iova
        var high = iova &+ size &- 1
        if flags.contains(.unmapAll) {
            guard iova == 0, size == 0 else { throw MappingError(fn, .EINVAL, "VFIO_DMA_UNMAP_FLAG_ALL requires iova = size = 0") }
            low = 0
            high = .max
        } else {
            let page = domain.minimumPageSize
            guard size > 0 else { throw MappingError(fn, .EINVAL, "size is 0") }
            guard (iova | size) & (page - 1) == 0 else { throw MappingError(fn, .EINVAL, "iova or size not aligned to 0x\(hex(page, 1))") }
            guard high >= iova else { throw MappingError(fn, .EINVAL, "range wraps around") }
            // v2: a range that bisects a mapping at either end is an error.
            if mappings.contains(where: { $0.iova < low && $0.iova + $0.size - 1 >= low })
                || mappings.contains(where: { $0.iova <= high && $0.iova + $0.size - 1 > high }) {
                throw MappingError(fn, .EINVAL, "range bisects an existing mapping")
            }
        }
        var unmapped: UInt64 = 0
        mappings.removeAll { m in
            guard m.iova >= low, m.iova + m.size - 1 <= high else { return false }
            unmapped += domain.unmap(iova: m.iova, size: m.size)
            return true
        }
        return unmapped
    }
}
