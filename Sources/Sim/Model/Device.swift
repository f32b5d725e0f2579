// Devices of the PCI hierarchy: host bridge functions, root ports, switch ports, bridges, endpoints.

/// What a device is in the PCI hierarchy (its PCIe capability's Device/Port Type, or a conventional role).
public enum DeviceKind: String, Sendable, Hashable, CaseIterable {
    case rootPort = "root-port"
    case switchUpstreamPort = "switch-upstream-port"
    case switchDownstreamPort = "switch-downstream-port"
    /// A PCIe-to-PCI bridge; functions below it are conventional PCI.
    case pciBridge = "pci-bridge"
    case endpoint

    /// A bridge has a secondary bus and windows.
    public var isBridge: Bool { self != .endpoint }
    /// Root ports and switch downstream ports: the ports where ACS P2P controls apply (PCIe §6.12).
    public var isDownstreamPort: Bool { self == .rootPort || self == .switchDownstreamPort }
}

/// The function class of an endpoint, which sets its default PCI class code.
public enum EndpointClass: String, Sendable, Hashable, CaseIterable {
    case gpu, nvme, nic, fpga, accelerator, generic
    /// A non-PCIe host bridge function on a root bus (e.g. AMD's dummy `1022:1482` at 00:01.0).
    case hostBridge = "host-bridge"

    /// Default PCI class code (base class, subclass, programming interface).
    public var defaultClassCode: UInt32 {
        switch self {
        case .gpu: 0x03_02_00          // 3D controller
        case .nvme: 0x01_08_02         // NVM Express
        case .nic: 0x02_00_00          // Ethernet controller
        case .fpga: 0x12_00_00         // Processing accelerator
        case .accelerator: 0x12_00_00
        case .generic: 0xff_00_00
        case .hostBridge: 0x06_00_00
        }
    }
}

/// A memory BAR. Sizes are powers of two and BARs are naturally aligned (PCI Local Bus §6.2.5.1).
public struct BAR: Hashable, Sendable {
    /// BAR register index (0 to 5; a 64-bit BAR uses two registers).
    public var index: Int
    public var size: UInt64
    public var is64Bit: Bool
    public var isPrefetchable: Bool
    /// Address given by the file (checked); nil means enumeration assigns it.
    public var address: UInt64?

    public init(index: Int, size: UInt64, is64Bit: Bool = true, isPrefetchable: Bool = false, address: UInt64? = nil) {
        self.index = index
        self.size = size
        self.is64Bit = is64Bit
        self.isPrefetchable = isPrefetchable
        self.address = address
    }
    /// Linux puts 64-bit prefetchable BARs in a bridge's 64-bit prefetchable window, everything else in the
    /// non-prefetchable window (drivers/pci/setup-bus.c, pbus_size_mem type masks).
    public var usesPrefetchableWindow: Bool { is64Bit && isPrefetchable }
}

/// Peer-to-peer memory a provider exposes (an NVMe CMB, a GPU or FPGA BAR), as `pci_p2pdma_add_resource`.
public struct P2PMemRegion: Hashable, Sendable {
    public var bar: Int
    /// Size in bytes; 0 means the rest of the BAR after `offset` (the kernel's convention).
    public var size: UInt64
    public var offset: UInt64
    /// `pci_p2pmem_publish(pdev, true)`: findable by `pci_p2pmem_find_many`.
    public var isPublished: Bool
    public init(bar: Int, size: UInt64 = 0, offset: UInt64 = 0, isPublished: Bool = true) {
        self.bar = bar
        self.size = size
        self.offset = offset
        self.isPublished = isPublished
    }
}

/// SR-IOV capability of a physical function (PCIe §9.3.3): VFs sit at PF RID + offset + stride × i.
public struct SRIOV: Hashable, Sendable {
    public var totalVFs: Int
    public var enabledVFs: Int
    public var vfID: PCIID
    public var firstVFOffset: Int
    public var vfStride: Int
    /// Per-VF BARs (each VF gets its own slice).
    public var bars: [BAR]
    public init(totalVFs: Int, enabledVFs: Int, vfID: PCIID, firstVFOffset: Int = 1, vfStride: Int = 1, bars: [BAR] = []) {
        self.totalVFs = totalVFs
        self.enabledVFs = enabledVFs
        self.vfID = vfID
        self.firstVFOffset = firstVFOffset
        self.vfStride = vfStride
        self.bars = bars
    }
}

/// The requester side of an endpoint: its DMA engine's limits.
public struct DMAEngine: Hashable, Sendable {
    /// Tag field width: 8-bit (256 tags), 10-bit (768 usable as requester, PCIe §2.2.6.2) or 5-bit legacy (32).
    public var tagBits: Int
    /// Outstanding non-posted (read) requests the engine keeps in flight; bounded by the tags.
    public var outstandingReads: Int
    /// Cap on TLPs issued per second, if the device is known to have one.
    public var maxIssueRate: Double?
    public init(tagBits: Int = 8, outstandingReads: Int? = nil, maxIssueRate: Double? = nil) {
        self.tagBits = tagBits
        self.outstandingReads = outstandingReads ?? DMAEngine.tagLimit(bits: tagBits)
        self.maxIssueRate = maxIssueRate
    }
    /// Tags a requester can use: 32 (5-bit), 256 (8-bit, Extended Tag), 768 (10-bit: tags 256-1023).
    public static func tagLimit(bits: Int) -> Int {
        switch bits {
        case 5: 32
        case 8: 256
        default: 768
        }
    }
}

/// Endpoint-only properties.
public struct EndpointInfo: Hashable, Sendable {
    public var endpointClass: EndpointClass
    public var p2pmem: [P2PMemRegion]
    public var supportsATS: Bool
    public var supportsPASID: Bool
    public var dma: DMAEngine
    public var sriov: SRIOV?
    /// The driver bound to the function (`nvme`, `mlx5_core`), as sysfs's `driver` link or `lspci -k`'s "Kernel
    /// driver in use:" names it; nil when none is bound. The kernel's runtime messages about the device (the
    /// p2pdma warnings) start with it (`dev_driver_string`: the driver's name, else the bus name `pci`).
    public var driver: String?
    public init(endpointClass: EndpointClass, p2pmem: [P2PMemRegion] = [], supportsATS: Bool = false,
                supportsPASID: Bool = false, dma: DMAEngine = DMAEngine(), sriov: SRIOV? = nil) {
        self.endpointClass = endpointClass
        self.p2pmem = p2pmem
        self.supportsATS = supportsATS
        self.supportsPASID = supportsPASID
        self.dma = dma
        self.sriov = sriov
    }
}

/// Bridge settings the file may give explicitly (enumeration assigns them otherwise).
public struct BridgeConfig: Hashable, Sendable {
    public var secondaryBus: UInt8?
    public var subordinateBus: UInt8?
    public var memoryWindow: AddressRange?
    public var prefetchableWindow: AddressRange?
    public init(secondaryBus: UInt8? = nil, subordinateBus: UInt8? = nil, memoryWindow: AddressRange? = nil,
                prefetchableWindow: AddressRange? = nil) {
        self.secondaryBus = secondaryBus
        self.subordinateBus = subordinateBus
        self.memoryWindow = memoryWindow
        self.prefetchableWindow = prefetchableWindow
    }
    public var isEmpty: Bool { self == BridgeConfig() }
}

/// A switch's upstream port carries the switch's own properties.
public struct SwitchInfo: Hashable, Sendable {
    /// Port-to-port cut-through latency (e.g. 105 ns for a Broadcom PEX88000, Gen4; vendor figure).
    public var latency: Picoseconds?
    /// Name of the physical switch chip when one chip is partitioned into several virtual switches.
    public var chip: String?
    public init(latency: Picoseconds? = nil, chip: String? = nil) {
        self.latency = latency
        self.chip = chip
    }
}

/// A named model parameter override (`<param name="..." value="..."/>`), read by the transport model.
public struct Parameter: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One PCI function (or a bridge) in the topology, as the file describes it.
///
/// Devices are stored flat in `Topology.devices`; `parent` is the index of the bridge above (nil on a root bus).
/// Children appear after their parent, in file order, so a single forward pass visits the tree depth-first.
public struct Device: Hashable, Sendable {
    public var name: String
    public var kind: DeviceKind
    /// Index of the upstream bridge in `Topology.devices`; nil for a device on a root bus.
    public var parent: Int?
    /// Index into `Topology.rootComplexes`.
    public var rootComplex: Int
    public var id: PCIID
    public var subsystemID: PCIID?
    /// PCI class code; nil means the default for the kind or endpoint class.
    public var classCode: UInt32?
    /// Device and function numbers given by the file; nil means enumeration assigns them.
    public var deviceNumber: UInt8?
    public var functionNumber: UInt8?
    /// LnkCap speed and width of this device's link port; nil inherits from the port above (root ports
    /// from their root complex), so a slot and its card agree unless the file says otherwise.
    public var linkGeneration: LinkGeneration?
    public var linkWidth: Int?
    /// LnkSta given by the file when a link trained below what both ends support; nil = trained to the best.
    public var trainedGeneration: LinkGeneration?
    public var trainedWidth: Int?
    /// Max Payload Size supported (DevCap), bytes.
    public var maxPayloadSupported: Int?
    /// Max Read Request Size (DevCtl), bytes.
    public var maxReadRequest: Int?
    /// Read Completion Boundary, bytes (64 or 128).
    public var readCompletionBoundary: Int?
    /// ACS extended capability; nil when the function has none.
    public var acs: ACSState?
    /// False for conventional PCI functions (below a PCIe-to-PCI bridge) and non-PCIe root-bus functions.
    public var isPCIe: Bool
    public var bars: [BAR]
    public var bridge: BridgeConfig
    public var endpoint: EndpointInfo?
    public var switchInfo: SwitchInfo?
    public var parameters: [Parameter]

    public init(name: String, kind: DeviceKind, parent: Int?, rootComplex: Int, id: PCIID, subsystemID: PCIID? = nil,
                classCode: UInt32? = nil, deviceNumber: UInt8? = nil, functionNumber: UInt8? = nil,
                linkGeneration: LinkGeneration? = nil, linkWidth: Int? = nil, trainedGeneration: LinkGeneration? = nil,
                trainedWidth: Int? = nil, maxPayloadSupported: Int? = nil,
                maxReadRequest: Int? = nil, readCompletionBoundary: Int? = nil, acs: ACSState? = nil,
                isPCIe: Bool = true, bars: [BAR] = [], bridge: BridgeConfig = BridgeConfig(),
                endpoint: EndpointInfo? = nil, switchInfo: SwitchInfo? = nil, parameters: [Parameter] = []) {
        self.name = name
        self.kind = kind
        self.parent = parent
        self.rootComplex = rootComplex
        self.id = id
        self.subsystemID = subsystemID
        self.classCode = classCode
        self.deviceNumber = deviceNumber
        self.functionNumber = functionNumber
        self.linkGeneration = linkGeneration
        self.linkWidth = linkWidth
        self.trainedGeneration = trainedGeneration
        self.trainedWidth = trainedWidth
        self.maxPayloadSupported = maxPayloadSupported
        self.maxReadRequest = maxReadRequest
        self.readCompletionBoundary = readCompletionBoundary
        self.acs = acs
        self.isPCIe = isPCIe
        self.bars = bars
        self.bridge = bridge
        self.endpoint = endpoint
        self.switchInfo = switchInfo
        self.parameters = parameters
    }

    /// The class code this function reports.
    public var effectiveClassCode: UInt32 {
        if let classCode { return classCode }
        if let endpoint { return endpoint.endpointClass.defaultClassCode }
        return kind == .pciBridge || kind.isBridge ? 0x06_04_00 : 0xff_00_00
    }
}
