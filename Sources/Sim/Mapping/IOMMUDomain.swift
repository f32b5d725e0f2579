// IOMMU domains and their page tables: iommu_map, iommu_unmap, iommu_iova_to_phys (drivers/iommu/iommu.c).

/// Domain types (include/linux/iommu.h IOMMU_DOMAIN_*).
public enum IOMMUDomainType: String, Sendable, Hashable, CaseIterable {
    case blocked, identity, unmanaged, dma, dmaFQ = "dma-fq"
    /// A paging domain has a page table (`__IOMMU_DOMAIN_PAGING`): unmanaged, DMA and DMA-FQ.
    public var isPaging: Bool { self == .unmanaged || self == .dma || self == .dmaFQ }
}

/// IOMMU_READ, IOMMU_WRITE, ... (include/linux/iommu.h).
public struct IOMMUProt: OptionSet, Sendable, Hashable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let read = IOMMUProt(rawValue: 1)
    public static let write = IOMMUProt(rawValue: 2)
    public static let cache = IOMMUProt(rawValue: 4)
    public static let noexec = IOMMUProt(rawValue: 8)
    public static let mmio = IOMMUProt(rawValue: 0x10)
    public static let priv = IOMMUProt(rawValue: 0x20)
}

/// What the driver does when a map lands on an existing leaf (reference §2: it differs by driver).
public enum OverlapBehaviour: String, Sendable, Hashable, CaseIterable {
    /// io-pgtable-arm: -EEXIST (with a WARN). The simulator's default.
    case eexist
    /// generic_pt (iommu_pt.h): -EADDRINUSE.
    case eaddrinuse
    /// Legacy Intel VT-d: "DMA PTE for vPFN ... already set", returns success, the old PTE is kept.
    case keepOld = "keep-old"
    /// Legacy AMD v1: silently replaces the old PTE.
    case replace
}

/// One leaf of a page table.
public struct IOMMULeaf: Sendable, Hashable {
    public var iova: UInt64
    public var physical: UInt64
    public var size: UInt64
    public var prot: IOMMUProt
}

/// An IOMMU domain with its page table. Leaves are kept per page size in hash maps keyed by page number,
/// so a translation is one probe per supported page size.
public struct IOMMUDomain: Sendable {
    public var type: IOMMUDomainType
    /// Supported page sizes as a bitmap (`pgsize_bitmap`); 0 means the driver has no map_pages.
    public var pageSizeBitmap: UInt64
    public var overlap: OverlapBehaviour
    /// Kernel log lines the calls printed (unaligned maps, VT-d overlap).
    public private(set) var log: [String] = []
    var leaves: [UInt64: [UInt64: IOMMULeaf]] = [:]   // page size -> (iova / size) -> leaf
    public private(set) var mappedBytes: UInt64 = 0

    public init(type: IOMMUDomainType, pageSizes: [UInt64] = [4096, 2 << 20, 1 << 30], overlap: OverlapBehaviour = .eexist) {
        self.type = type
        pageSizeBitmap = pageSizes.reduce(0) { $0 | $1 }
        self.overlap = overlap
    }

    public var minimumPageSize: UInt64 { pageSizeBitmap & (~pageSizeBitmap &+ 1) }
    public var leafCount: Int { leaves.values.reduce(0) { $0 + $1.count } }

    /// The leaf mapping `iova`, if any.
    public func leaf(containing iova: UInt64) -> IOMMULeaf? {
        var bitmap = pageSizeBitmap
        while bitmap != 0 {
            let size = bitmap & (~bitmap &+ 1)
            bitmap &= bitmap - 1
            if let l = leaves[size]?[iova / size] { return l }
        }
        return nil
    }

    /// `iommu_pgsize` (drivers/iommu/iommu.c): the largest supported page size not above `size` nor above the
    /// alignment of `iova | paddr`, and how many such pages to map before the next bigger page size's boundary
    /// (when iova and paddr are equally offset within that bigger page and the range reaches past it).
    func pageSize(iova: UInt64, paddr: UInt64, size: UInt64) -> (size: UInt64, count: UInt64) {
        let addrMerge = iova | paddr
        func genmask(_ high: Int) -> UInt64 { high >= 63 ? ~0 : (UInt64(1) << UInt64(high + 1)) - 1 }
        var pgsizes = pageSizeBitmap & genmask(63 - size.leadingZeroBitCount)
        if addrMerge != 0 { pgsizes &= genmask(addrMerge.trailingZeroBitCount) }
        guard pgsizes != 0 else { return (0, 0) }
        let index = 63 - pgsizes.leadingZeroBitCount
        let pgsize = UInt64(1) << UInt64(index)
        var remaining = size
        let bigger = pageSizeBitmap & ~genmask(index)
        if bigger != 0 {
            let next = UInt64(1) << UInt64(bigger.trailingZeroBitCount)
            if (iova ^ paddr) & (next - 1) == 0 {
                let offset = next - (addrMerge & (next - 1))
                if offset + next <= size { remaining = offset }
            }
        }
        return (pgsize, remaining >> UInt64(index))
    }

    /// `iommu_map(domain, iova, paddr, size, prot, gfp)`: maps with the largest pages alignment allows; on
    /// error unmaps what this call mapped and returns the error.
    public mutating func map(iova: UInt64, physical: UInt64, size: UInt64, prot: IOMMUProt) throws(MappingError) {
        guard type.isPaging else { throw MappingError("iommu_map", .EINVAL, "domain is not a paging domain (\(type.rawValue))") }
        guard pageSizeBitmap != 0 else { throw MappingError("iommu_map", .ENODEV, "domain has no page sizes (pgsize_bitmap == 0)") }
        let minimum = minimumPageSize
        if (iova | physical | size) & (minimum - 1) != 0 || size == 0 {
            let line = "unaligned: iova 0x\(hex(iova, 1)) pa 0x\(hex(physical, 16)) size 0x\(hex(size, 1)) min_pagesz 0x\(hex(minimum, 1))"
            log.append(line)
            throw MappingError("iommu_map", .EINVAL, line)
        }
        if iova &+ size < iova || physical &+ size < physical { throw MappingError("iommu_map", .EINVAL, "range wraps") }
        var done: UInt64 = 0
        var added: [IOMMULeaf] = []
        while done < size {
            let (pgsize, count) = pageSize(iova: iova + done, paddr: physical + done, size: size - done)
            guard pgsize > 0, count > 0 else { throw MappingError("iommu_map", .EINVAL, "no page size fits") }
            for i in 0..<count {
                let leaf = IOMMULeaf(iova: iova + done + i * pgsize, physical: physical + done + i * pgsize, size: pgsize, prot: prot)
                if let existing = overlapping(leaf.iova, leaf.size) {
                    switch overlap {
                    case .eexist, .eaddrinuse:
                        for a in added { remove(a) }
                        throw MappingError("iommu_map", overlap == .eexist ? .EEXIST : .EADDRINUSE,
                                           "IOVA 0x\(hex(leaf.iova, 1)) is already mapped (leaf at 0x\(hex(existing.iova, 1)))")
                    case .keepOld:
                        log.append("DMA PTE for vPFN 0x\(hex(leaf.iova >> 12, 1)) already set (to \(hex(existing.physical >> 12, 1)))")
                        continue
                    case .replace:
                        remove(existing)
                    }
                }
                insert(leaf)
                added.append(leaf)
            }
            done += pgsize * count
        }
    }

    /// `iommu_unmap(domain, iova, size)`: bytes unmapped; 0 for a non-paging domain or a misaligned range;
    /// stops at the first hole, and at a leaf the range would split.
    public mutating func unmap(iova: UInt64, size: UInt64) -> UInt64 {
        guard type.isPaging, pageSizeBitmap != 0 else { return 0 }
        let minimum = minimumPageSize
        guard (iova | size) & (minimum - 1) == 0, size > 0 else { return 0 }
        var done: UInt64 = 0
        while done < size {
            guard let leaf = leaf(containing: iova + done), leaf.iova == iova + done, leaf.size <= size - done else { break }
            remove(leaf)
            done += leaf.size
        }
        return done
    }

    /// `iommu_iova_to_phys`: identity returns the IOVA, blocked 0, otherwise the page-table walk (0 if unmapped).
    public func iovaToPhys(_ iova: UInt64) -> UInt64 {
        switch type {
        case .identity: return iova
        case .blocked: return 0
        default:
            guard let l = leaf(containing: iova) else { return 0 }
            return l.physical + (iova - l.iova)
        }
    }

    func overlapping(_ iova: UInt64, _ size: UInt64) -> IOMMULeaf? {
        var bitmap = pageSizeBitmap
        while bitmap != 0 {
            let s = bitmap & (~bitmap &+ 1)
            bitmap &= bitmap - 1
            guard let table = leaves[s] else { continue }
            if s >= size {
                if let l = table[iova / s] { return l }
            } else {
                var a = iova
                while a < iova + size {
                    if let l = table[a / s] { return l }
                    a += s
                }
            }
        }
        return nil
    }

    mutating func insert(_ leaf: IOMMULeaf) {
        leaves[leaf.size, default: [:]][leaf.iova / leaf.size] = leaf
        mappedBytes += leaf.size
    }
    mutating func remove(_ leaf: IOMMULeaf) {
        if leaves[leaf.size]?.removeValue(forKey: leaf.iova / leaf.size) != nil { mappedBytes -= leaf.size }
    }

    /// Every leaf, sorted by IOVA (for reports and tests).
    public var allLeaves: [IOMMULeaf] { leaves.values.flatMap(\.values).sorted { $0.iova < $1.iova } }
}
