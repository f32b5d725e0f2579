// What an importer read about a real machine, fact by fact, before it becomes a `Topology`.
//
// Every importer (sysfs, lspci, hwloc, NCCL) fills these values; `TopologyAssembler` is the one place that
// turns them into topology values, so the rules for roles, names, unknown facts and assumptions exist once.

/// A memory or I/O BAR as the source described it.
public struct ImportedBAR: Sendable, Hashable {
    /// BAR register index (0 to 5).
    public var index: Int
    public var size: UInt64
    /// Base address; nil when the source does not give one or the BAR is unassigned.
    public var address: UInt64?
    public var is64Bit: Bool
    public var isPrefetchable: Bool
    /// An I/O-space BAR: PCIeSim models memory BARs only, so these are left out.
    public var isIO: Bool

    public init(index: Int, size: UInt64, address: UInt64?, is64Bit: Bool, isPrefetchable: Bool, isIO: Bool = false) {
        self.index = index
        self.size = size
        self.address = address
        self.is64Bit = is64Bit
        self.isPrefetchable = isPrefetchable
        self.isIO = isIO
    }
}

/// SR-IOV facts of a physical function.
public struct ImportedSRIOV: Sendable, Hashable {
    public var totalVFs: Int
    public var enabledVFs: Int
    /// First VF Offset and VF Stride; nil when the source does not say (defaults 1 and 1 apply).
    public var offset: Int?
    public var stride: Int?
    /// VF Device ID (the vendor is the PF's).
    public var vfDevice: UInt16?
    /// Per-VF BAR sizes (the SR-IOV capability's VF BARs, divided by TotalVFs where the source gives the total).
    public var bars: [ImportedBAR]

    public init(totalVFs: Int, enabledVFs: Int, offset: Int? = nil, stride: Int? = nil, vfDevice: UInt16? = nil,
                bars: [ImportedBAR] = []) {
        self.totalVFs = totalVFs
        self.enabledVFs = enabledVFs
        self.offset = offset
        self.stride = stride
        self.vfDevice = vfDevice
        self.bars = bars
    }
}

/// Peer-to-peer memory a driver registered (`/sys/bus/pci/devices/*/p2pmem`).
public struct ImportedP2PMem: Sendable, Hashable {
    /// Bytes registered with `pci_p2pdma_add_resource`.
    public var size: UInt64
    public var available: UInt64?
    public var isPublished: Bool
    public init(size: UInt64, available: UInt64? = nil, isPublished: Bool) {
        self.size = size
        self.available = available
        self.isPublished = isPublished
    }
}

/// One PCI function as an importer saw it. Every fact is optional: nil means the source did not say.
public struct ImportedFunction: Sendable, Hashable {
    public var bdf: BDF
    /// The bridge directly above; nil for a function on a root bus.
    public var parent: BDF?
    /// Line in the source file, for diagnostics (nil for sysfs).
    public var line: Int?
    /// The file `line` is in when it is not the machine's origin (an `lspci -tv` tree given as a file of its own);
    /// nil: the origin.
    public var file: String?
    public var id: PCIID?
    public var subsystemID: PCIID?
    /// 24-bit class code (base, sub, prog-if).
    public var classCode: UInt32?
    public var revision: UInt8?
    /// Device/Port Type of the PCIe capability, when it could be read.
    public var portType: PCIePortType?
    /// Has a PCIe capability; nil when unknown.
    public var isPCIe: Bool?
    /// Made up by the importer because the source leaves it out (NCCL omits root and downstream ports):
    /// its device and function numbers are not pinned.
    public var isSynthetic: Bool
    public var secondaryBus: UInt8?
    public var subordinateBus: UInt8?
    public var bars: [ImportedBAR]
    /// The source lists this function's BARs (false: BARs unknown, not "none").
    public var barsKnown: Bool
    public var memoryWindow: AddressRange?
    public var prefetchableWindow: AddressRange?
    /// LnkCap: maximum speed and width.
    public var maxLinkGeneration: LinkGeneration?
    public var maxLinkWidth: Int?
    /// LnkSta: the link as trained when the source was taken.
    public var linkGeneration: LinkGeneration?
    public var linkWidth: Int?
    /// DevCap Max_Payload_Size Supported, bytes.
    public var maxPayloadSupported: Int?
    /// DevCtl Max_Payload_Size as programmed, bytes.
    public var maxPayload: Int?
    /// DevCtl Max_Read_Request_Size, bytes.
    public var maxReadRequest: Int?
    /// LnkCtl Read Completion Boundary, bytes.
    public var readCompletionBoundary: Int?
    /// Tag field width its requester uses (5, 8 or 10 bits).
    public var tagBits: Int?
    /// The ACS capability; nil with `acsKnown` means the function has none.
    public var acs: ACSState?
    /// Whether the source could tell if the function has an ACS capability.
    public var acsKnown: Bool
    public var supportsATS: Bool?
    public var supportsPASID: Bool?
    public var p2pmem: ImportedP2PMem?
    public var sriov: ImportedSRIOV?
    public var driver: String?
    public var numaNode: Int?
    public var iommuGroup: Int?
    /// Device Serial Number capability (lspci `Device Serial Number 00-11-22-33-44-55-66-77`): switch upstream ports that
    /// share one are partitions of one physical chip.
    public var serialNumber: UInt64?
    /// Name of the IOMMU unit translating for it.
    public var iommuUnit: String?
    /// An SR-IOV virtual function: derived from its PF's SR-IOV capability, not imported on its own.
    public var isVirtualFunction: Bool
    /// Facts the importer had to assume for this function, in words.
    public var assumptions: [String]
    /// A name the source gives the function (NCCL's `<net name="mlx5_0">`); used when it is a valid, unused name.
    public var name: String?
    /// Parameters the importer passes to the device verbatim (NCCL's attributes kept for `export nccl`).
    public var parameters: [Parameter] = []
    /// Known only from a tree listing (`lspci -tv`, `-PP` paths): its place and little else.
    public var isTreeOnly = false
    /// Added by the assembler as function 0 of a device whose function 0 the input lacks (PCI requires one).
    public var isPlaceholder = false

    /// Whether facts missing here count as unknown (made-up functions report what made them up instead).
    public var reportsUnknownFacts: Bool { !isSynthetic && !isPlaceholder }

    public init(bdf: BDF, parent: BDF? = nil, line: Int? = nil) {
        self.bdf = bdf
        self.parent = parent
        self.line = line
        isSynthetic = false
        bars = []
        barsKnown = false
        acsKnown = false
        isVirtualFunction = false
        assumptions = []
    }

    /// A bridge by its class code (PCI-to-PCI 0x0604, semi-transparent 0x0609), port type or secondary bus.
    public var isBridge: Bool {
        // A host bridge (class 06 00) may carry a PCIe capability that calls it a Root Port (Intel Xeon E5 v3/v4's
        // DMI port at 00:00.0, 8086:2f00/6f00) yet has a type 0 header: a bridge only with a secondary bus.
        if let c = classCode, c >> 8 == 0x0600 { return secondaryBus != nil }
        if let t = portType, t.isBridge { return true }
        if let c = classCode, c >> 8 == 0x0604 || c >> 8 == 0x0609 { return true }
        return secondaryBus != nil
    }
}

/// A PCI host bridge (root bus) as the source describes it.
public struct ImportedHostBridge: Sendable, Hashable {
    public var segment: UInt16
    public var bus: UInt8
    public var busLimit: UInt8?
    /// NUMA node / socket it is attached to.
    public var socket: Int?
    public var iommu: String?
    public var line: Int?
    public init(segment: UInt16, bus: UInt8, busLimit: UInt8? = nil, socket: Int? = nil, iommu: String? = nil, line: Int? = nil) {
        self.segment = segment
        self.bus = bus
        self.busLimit = busLimit
        self.socket = socket
        self.iommu = iommu
        self.line = line
    }
}

/// The CPU model, as `/proc/cpuinfo`, hwloc or NCCL report it.
public struct ImportedCPU: Sendable, Hashable {
    public var vendor: CPUVendor
    public var family: Int?
    public var model: Int?
    public init(vendor: CPUVendor, family: Int? = nil, model: Int? = nil) {
        self.vendor = vendor
        self.family = family
        self.model = model
    }

    /// Maps an x86 `vendor_id` string (`GenuineIntel`, `AuthenticAMD`, ...) to a vendor.
    public static func vendor(fromVendorID text: some StringProtocol) -> CPUVendor {
        switch text.trimmingSpaces {
        case "GenuineIntel": .intel
        case "AuthenticAMD": .amd
        case "CentaurHauls", "Shanghai": .zhaoxin
        default: .other
        }
    }
}

/// Everything one importer read about a machine.
public struct ImportedMachine: Sendable, Hashable {
    /// Short name of the source format (`sysfs`, `lspci`, `hwloc`, `nccl`).
    public var format: String
    /// The file or directory read.
    public var origin: String
    /// Where each kind of fact came from, one line each ("BARs and windows: resource").
    public var sources: [String]
    /// Machine-wide facts the importer had to assume.
    public var assumptions: [String]
    /// CPU per socket id (NUMA node); an empty list means one socket 0 with `cpu`.
    public var sockets: [Int: ImportedCPU]
    /// The CPU when the source does not distinguish sockets; nil when unknown.
    public var cpu: ImportedCPU?
    public var iommus: [IOMMUUnit]
    public var hostBridges: [ImportedHostBridge]
    public var functions: [ImportedFunction]
    public var kernel: KernelConfiguration?
    /// The source lists IOMMU groups (lspci's `IOMMU group:`) without naming the IOMMU units.
    public var hasIOMMUGroups: Bool
    /// Warnings found while reading (unreadable lines, files).
    public var diagnostics: [Diagnostic]
    /// Functions the source lists that the reader could not keep (counted as read and dropped in the summary).
    public var leftOut: [LeftOut] = []

    /// A function read but not kept, with why and where.
    public struct LeftOut: Sendable, Hashable {
        public var bdf: BDF
        public var reason: String
        public var line: Int?
        public init(bdf: BDF, reason: String, line: Int?) {
            self.bdf = bdf
            self.reason = reason
            self.line = line
        }
    }

    /// The note every importer of live ACS control registers records (issue #17: observed vs firmware ACS).
    public static let liveACSControl = "ACS control is the register as read on the running kernel, written as observed (the acs-ctrl-source attribute): the simulator takes it as is and does not re-apply Linux's boot-time enable or the disable_acs_redir=/config_acs= parameters to it (firmware changes after boot, such as AMD Milan clearing SrcValid, are kept)"

    public init(format: String, origin: String) {
        self.format = format
        self.origin = origin
        sources = []
        assumptions = []
        sockets = [:]
        iommus = []
        hostBridges = []
        functions = []
        hasIOMMUGroups = false
        diagnostics = []
    }
}
