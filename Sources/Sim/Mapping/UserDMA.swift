// The user-space DMA mapping calls (VFIO type1 container and iommufd IOAS): their arguments and answers, shared by
// the simulated backend and the real ones (include/uapi/linux/vfio.h, include/uapi/linux/iommufd.h).

/// `VFIO_GROUP_GET_STATUS` flags.
public struct VFIOGroupStatus: Sendable, Hashable {
    /// VFIO_GROUP_FLAGS_VIABLE: no device of the group is bound to a driver that claimed DMA ownership.
    public var isViable: Bool
    /// VFIO_GROUP_FLAGS_CONTAINER_SET.
    public var isContainerSet: Bool
    public init(isViable: Bool, isContainerSet: Bool) {
        self.isViable = isViable
        self.isContainerSet = isContainerSet
    }
}

/// `VFIO_SET_IOMMU` argument: VFIO_TYPE1_IOMMU 1, VFIO_TYPE1v2_IOMMU 3; any other value is passed through.
public enum VFIOIOMMUType {
    public static let type1: UInt32 = 1
    public static let type1v2: UInt32 = 3
}

/// `VFIO_IOMMU_GET_INFO` with its capability chain.
public struct VFIOIOMMUInfo: Sendable, Hashable {
    public var flags: UInt32
    /// `iova_pgsizes`: the page sizes the container's domains all support.
    public var iovaPageSizes: UInt64
    /// VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE: the IOVA ranges a map may use (aperture less reserved regions).
    public var iovaRanges: [AddressRange]
    /// VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: mappings left before `dma_entry_limit`; nil without the capability.
    public var dmaAvailable: UInt32?
    public init(flags: UInt32, iovaPageSizes: UInt64, iovaRanges: [AddressRange], dmaAvailable: UInt32?) {
        self.flags = flags
        self.iovaPageSizes = iovaPageSizes
        self.iovaRanges = iovaRanges
        self.dmaAvailable = dmaAvailable
    }
}

/// `struct vfio_iommu_type1_dma_map`.
public struct VFIODMAMap: Sendable, Hashable {
    public var argsz: UInt32 = 32
    public var flags: VFIODMAFlags
    public var vaddr: UInt64
    public var iova: UInt64
    public var size: UInt64
    public init(argsz: UInt32 = 32, flags: VFIODMAFlags, vaddr: UInt64, iova: UInt64, size: UInt64) {
        self.argsz = argsz
        self.flags = flags
        self.vaddr = vaddr
        self.iova = iova
        self.size = size
    }
}

/// `struct vfio_iommu_type1_dma_unmap` (without the dirty bitmap).
public struct VFIODMAUnmap: Sendable, Hashable {
    public var argsz: UInt32 = 24
    public var flags: VFIODMAFlags
    public var iova: UInt64
    public var size: UInt64
    public init(argsz: UInt32 = 24, flags: VFIODMAFlags = [], iova: UInt64, size: UInt64) {
        self.argsz = argsz
        self.flags = flags
        self.iova = iova
        self.size = size
    }
}

/// `enum iommufd_ioas_map_flags`.
public struct IOMMUFDMapFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let fixedIOVA = IOMMUFDMapFlags(rawValue: 1 << 0)
    public static let writeable = IOMMUFDMapFlags(rawValue: 1 << 1)
    public static let readable = IOMMUFDMapFlags(rawValue: 1 << 2)
}

/// `IOMMU_IOAS_IOVA_RANGES`: the allowed ranges and `out_iova_alignment`.
public struct IOMMUFDIOVARanges: Sendable, Hashable {
    public var ranges: [AddressRange]
    public var alignment: UInt64
    public init(ranges: [AddressRange], alignment: UInt64) {
        self.ranges = ranges
        self.alignment = alignment
    }
}

/// The user-space calls a backend without them answers: the error says which backend and why.
func unsupportedUserDMA(_ backend: String, _ function: String) -> MappingError {
    MappingError(function, .ENODEV, "the \(backend) backend does not make user-space mapping calls (use --backend simulated, vfio or iommufd)")
}

public extension MappingBackend {
    mutating func userMemory(size: UInt64) throws(MappingError) -> UInt64 { throw unsupportedUserDMA(name, "mmap") }
    mutating func vfioOpenGroup(device: BDF) throws(MappingError) -> VFIOGroupStatus { throw unsupportedUserDMA(name, "VFIO_GROUP_GET_STATUS") }
    mutating func vfioGroupSetContainer() throws(MappingError) { throw unsupportedUserDMA(name, "VFIO_GROUP_SET_CONTAINER") }
    mutating func vfioSetIOMMU(_ type: UInt32) throws(MappingError) { throw unsupportedUserDMA(name, "VFIO_SET_IOMMU") }
    mutating func vfioIOMMUGetInfo() throws(MappingError) -> VFIOIOMMUInfo { throw unsupportedUserDMA(name, "VFIO_IOMMU_GET_INFO") }
    mutating func vfioMapDMA(_ map: VFIODMAMap) throws(MappingError) { throw unsupportedUserDMA(name, "VFIO_IOMMU_MAP_DMA") }
    mutating func vfioUnmapDMA(_ unmap: VFIODMAUnmap) throws(MappingError) -> UInt64 { throw unsupportedUserDMA(name, "VFIO_IOMMU_UNMAP_DMA") }
    mutating func iommufdIOASAlloc(device: BDF?) throws(MappingError) -> UInt32 { throw unsupportedUserDMA(name, "IOMMU_IOAS_ALLOC") }
    mutating func iommufdIOVARanges(ioas: UInt32) throws(MappingError) -> IOMMUFDIOVARanges { throw unsupportedUserDMA(name, "IOMMU_IOAS_IOVA_RANGES") }
    mutating func iommufdAllowIOVAs(ioas: UInt32, _ ranges: [AddressRange]) throws(MappingError) { throw unsupportedUserDMA(name, "IOMMU_IOAS_ALLOW_IOVAS") }
    mutating func iommufdMap(ioas: UInt32, flags: IOMMUFDMapFlags, userVA: UInt64, length: UInt64, iova: UInt64) throws(MappingError) -> UInt64 {
        throw unsupportedUserDMA(name, "IOMMU_IOAS_MAP")
    }
    mutating func iommufdUnmap(ioas: UInt32, iova: UInt64, length: UInt64) throws(MappingError) -> UInt64 { throw unsupportedUserDMA(name, "IOMMU_IOAS_UNMAP") }
}
