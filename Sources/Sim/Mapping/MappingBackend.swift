// The Linux-shaped mapping API: the calls a driver makes, with the kernel's names, arguments, results and
// errno values (reference §2), so a driver's mapping sequence can run against the model or a real machine.

/// `enum dma_data_direction`.
public enum DMADirection: Sendable, Hashable {
    case bidirectional, toDevice, fromDevice

    /// IOMMU prot for the direction (`dma_info_to_prot`).
    public var prot: IOMMUProt {
        switch self {
        case .bidirectional: [.read, .write]
        case .toDevice: .read
        case .fromDevice: .write
        }
    }
}

/// One scatterlist segment: its CPU physical address and length in, its DMA address out.
public struct ScatterlistEntry: Sendable, Hashable {
    public var physical: UInt64
    public var length: UInt64
    public var dmaAddress: UInt64?
    /// `sg_dma_mark_bus_address`: the segment carries a PCI bus address (P2P BUS_ADDR), not an IOVA.
    public var isBusAddress: Bool = false
    public init(physical: UInt64, length: UInt64) {
        self.physical = physical
        self.length = length
    }
}

/// `struct sg_table`.
public struct SGTable: Sendable, Hashable {
    public var entries: [ScatterlistEntry]
    public init(_ entries: [ScatterlistEntry]) { self.entries = entries }
}

/// Answers that a backend may not know (a read-only backend over a real machine without root).
public enum Knowable<Value: Sendable & Hashable>: Sendable, Hashable {
    case known(Value)
    case unknown(String)
    public var value: Value? { if case .known(let v) = self { return v } else { return nil } }
}

/// The mapping calls, in two facets: the kernel-side calls a driver makes (p2pdma, groups, ACS) and the user-space
/// calls a VMM or a DPDK/SPDK process makes through VFIO type1 or iommufd. Devices of the kernel-side calls are
/// function indices of the backend's enumeration; the user-space calls name a device by BDF, as `/dev/vfio` does.
/// A backend that cannot make a user-space call answers `-ENODEV` with the reason (the defaults in
/// `UserDMA.swift`); the simulated, `vfio` and `iommufd` backends make them. Kernel names are given in each
/// call's documentation; Swift spells them in camel case (`pci_p2pdma_add_resource` -> `pciP2PDMAAddResource`).
public protocol MappingBackend {
    var name: String { get }
    /// Kernel log lines the calls printed so far (dev_warn/dev_info/pr_* as the kernel words them).
    var kernelLog: [String] { get }

    /// `pci_p2pdma_distance(provider, client, verbose)`: the distance, or -1 when P2P is not supported.
    mutating func pciP2PDMADistance(provider: Int, client: Int, verbose: Bool) -> Knowable<Int>
    /// `pci_p2pdma_map_type(provider, client)` (cached per pair; warnings print at first use).
    mutating func pciP2PDMAMapType(provider: Int, client: Int) -> Knowable<P2PMapType>
    /// The IOMMU group of a device (`/sys/kernel/iommu_groups/N/devices`).
    func iommuGroup(of device: Int) -> Knowable<Int>
    /// ACS control as the device has it now.
    func acsControl(of device: Int) -> Knowable<ACSFlags?>

    // MARK: User-space DMA mapping (VFIO type1, iommufd). Each call answers what the kernel answers: a value, or
    // a `MappingError` carrying the errno.

    /// `mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)`: process memory for the maps; its address.
    mutating func userMemory(size: UInt64) throws(MappingError) -> UInt64
    /// `open("/dev/vfio/vfio")` (a container), `open("/dev/vfio/N")` of the device's group, `VFIO_GROUP_GET_STATUS`.
    mutating func vfioOpenGroup(device: BDF) throws(MappingError) -> VFIOGroupStatus
    /// `VFIO_GROUP_SET_CONTAINER` of the open group into the open container.
    mutating func vfioGroupSetContainer() throws(MappingError)
    /// `VFIO_SET_IOMMU` on the container (`VFIOIOMMUType.type1v2` and the rest).
    mutating func vfioSetIOMMU(_ type: UInt32) throws(MappingError)
    /// `VFIO_IOMMU_GET_INFO` with the IOVA-range and DMA-available capabilities.
    mutating func vfioIOMMUGetInfo() throws(MappingError) -> VFIOIOMMUInfo
    /// `VFIO_IOMMU_MAP_DMA`.
    mutating func vfioMapDMA(_ map: VFIODMAMap) throws(MappingError)
    /// `VFIO_IOMMU_UNMAP_DMA`: the size unmapped (written back into `unmap.size`).
    mutating func vfioUnmapDMA(_ unmap: VFIODMAUnmap) throws(MappingError) -> UInt64
    /// `open("/dev/iommu")`, `IOMMU_IOAS_ALLOC`; with a device, `VFIO_DEVICE_BIND_IOMMUFD` and
    /// `VFIO_DEVICE_ATTACH_IOMMUFD_PT` of its `/dev/vfio/devices/vfioX` (the device's reserved ranges then apply).
    mutating func iommufdIOASAlloc(device: BDF?) throws(MappingError) -> UInt32
    /// `IOMMU_IOAS_IOVA_RANGES`.
    mutating func iommufdIOVARanges(ioas: UInt32) throws(MappingError) -> IOMMUFDIOVARanges
    /// `IOMMU_IOAS_ALLOW_IOVAS`.
    mutating func iommufdAllowIOVAs(ioas: UInt32, _ ranges: [AddressRange]) throws(MappingError)
    /// `IOMMU_IOAS_MAP`: the IOVA mapped.
    mutating func iommufdMap(ioas: UInt32, flags: IOMMUFDMapFlags, userVA: UInt64, length: UInt64, iova: UInt64) throws(MappingError) -> UInt64
    /// `IOMMU_IOAS_UNMAP`: the bytes unmapped.
    mutating func iommufdUnmap(ioas: UInt32, iova: UInt64, length: UInt64) throws(MappingError) -> UInt64
}
