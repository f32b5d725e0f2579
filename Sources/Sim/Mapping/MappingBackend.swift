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

/// The mapping calls. Devices are function indices of the backend's enumeration. Kernel names are given in each
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
}
