// The machine: sockets, inter-socket links, IOMMU units, root complexes and the device tree.

/// CPU vendors the kernel's p2pdma host-bridge rule distinguishes (drivers/pci/p2pdma.c, cpu_supports_p2pdma).
public enum CPUVendor: String, Sendable, Hashable, CaseIterable {
    case intel, amd, arm, zhaoxin, other
}

/// A CPU socket, also its NUMA node.
public struct Socket: Hashable, Sendable {
    public var id: Int
    public var cpuVendor: CPUVendor
    /// x86 family as /proc/cpuinfo "cpu family" (AMD Zen is 0x17 and later).
    public var cpuFamily: Int
    public var cpuModel: Int?
    /// Latency of a DMA access to this socket's memory, as seen from its root complex.
    public var memoryLatency: Picoseconds?
    public init(id: Int, cpuVendor: CPUVendor, cpuFamily: Int, cpuModel: Int? = nil, memoryLatency: Picoseconds? = nil) {
        self.id = id
        self.cpuVendor = cpuVendor
        self.cpuFamily = cpuFamily
        self.cpuModel = cpuModel
        self.memoryLatency = memoryLatency
    }
}

/// Inter-socket interconnect kinds.
public enum SocketLinkKind: String, Sendable, Hashable, CaseIterable {
    case upi, qpi, xgmi, other
}

/// A link between two sockets (UPI, xGMI) with its bandwidth per direction and added latency.
public struct SocketLink: Hashable, Sendable {
    public var a: Int
    public var b: Int
    public var kind: SocketLinkKind
    /// Peer-to-peer bandwidth per direction; nil: the platform default of the CPU (PlatformDefaults).
    public var bandwidth: DataRate?
    /// Both directions together carry `2 × duplexShare × bandwidth` (1: independent directions). nil: the
    /// platform's share where the bandwidth is the platform's default, else 1.
    public var duplexShare: Double?
    public var latency: Picoseconds
    public init(a: Int, b: Int, kind: SocketLinkKind, bandwidth: DataRate?, duplexShare: Double? = nil, latency: Picoseconds) {
        self.a = a
        self.b = b
        self.kind = kind
        self.bandwidth = bandwidth
        self.duplexShare = duplexShare
        self.latency = latency
    }
}

/// IOMMU hardware families.
public enum IOMMUKind: String, Sendable, Hashable, CaseIterable {
    case vtd = "vt-d", amdVi = "amd-vi", smmuv3, none
}

/// Default domain type for DMA (Linux iommu_def_domain_type; `off` means no IOMMU translation at all).
public enum IOMMUMode: String, Sendable, Hashable, CaseIterable {
    case off, passthrough, dma, dmaFQ = "dma-fq"
}

/// An IOMMU unit (DMAR unit, AMD-Vi IVHD, SMMUv3) and the parameters of its IOTLB and page walker.
public struct IOMMUUnit: Hashable, Sendable {
    public var name: String
    public var kind: IOMMUKind
    public var mode: IOMMUMode
    /// IOTLB entries; the pcie-bench paper estimates about 64 on Intel VT-d (4 KiB pages).
    public var iotlbEntries: Int
    public var iotlbWays: Int
    /// Supported page sizes in bytes (the driver's pgsize_bitmap).
    public var pageSizes: [UInt64]
    public var walkLevels: Int
    /// Latency of one page-table level read during a walk (page-walk caches included: an effective figure); nil:
    /// the platform's default, else the kind's (`Topology.iommuWalk`).
    public var walkLatencyPerLevel: Picoseconds?
    /// Translations the unit walks at once; nil: the kind's default (`IOMMUUnit.defaultWalksInFlight`).
    public var walksInFlight: Int?
    /// The walk latency per level a unit of `kind` gets when neither the file nor its CPU platform gives one. VT-d:
    /// 52.6 ns, what 4 walks in flight over 4 levels need to reproduce the IOTLB-miss-bound reads pcie-bench measures
    /// on Broadwell-EP and Haswell-EP (64 B random reads in a 64 MiB window, 4 KiB pages: 9.64 and 9.84 Gb/s;
    /// scripts/fidelity/derive.py): the same walk throughput as those platforms' own rows (27 walks of 1.2 us), with
    /// the short walk of a stream whose page-walk caches hit (the model has no page-walk cache). Others: 90 ns, an
    /// assumption (no public measurement).
    public static func defaultWalkLatency(_ kind: IOMMUKind) -> Picoseconds {
        kind == .vtd ? PlatformDefaults.derivedVTdWalkLatency : 90_000
    }
    /// Walks in flight a unit gets when neither the file nor its CPU platform gives a number: 4 (with the kind's
    /// walk latency above).
    public static let defaultWalksInFlight = 4
    public init(name: String, kind: IOMMUKind, mode: IOMMUMode, iotlbEntries: Int = 64, iotlbWays: Int = 4,
                pageSizes: [UInt64] = [4096, 2 << 20, 1 << 30], walkLevels: Int = 4,
                walkLatencyPerLevel: Picoseconds? = nil, walksInFlight: Int? = nil) {
        self.name = name
        self.kind = kind
        self.mode = mode
        self.iotlbEntries = iotlbEntries
        self.iotlbWays = iotlbWays
        self.pageSizes = pageSizes
        self.walkLevels = walkLevels
        self.walkLatencyPerLevel = walkLatencyPerLevel
        self.walksInFlight = walksInFlight
    }
}

/// What a root complex does with a peer-to-peer request between two of its root ports. PCIe leaves it
/// implementation-defined (§1.3.1); see the performance reference §4 for the observed behaviours.
public enum P2PForwarding: String, Sendable, Hashable, CaseIterable {
    /// Forwarded (at a rate cap if one is given).
    case forward
    /// Writes forwarded, reads not (Intel client CPUs; NVIDIA open-gpu-kernel-modules#1253).
    case writesOnly = "writes-only"
    /// Silently dropped: reads return all ones (intel/compute-runtime#935).
    case drop
    /// Answered with Unsupported Request.
    case unsupportedRequest = "unsupported-request"
}

/// A root complex / PCI host bridge with its root bus.
public struct RootComplex: Hashable, Sendable {
    public var name: String
    public var socket: Int
    public var segment: UInt16
    /// Root bus number; nil means the first bus after the previous root complex of the same segment.
    public var rootBus: UInt8?
    /// Last bus number this host bridge decodes; nil means up to the next root complex's bus (or 0xff).
    public var busLimit: UInt8?
    /// vendor:device of the host bridge function at 00.0 of the root bus; nil when there is none there.
    public var hostBridgeID: PCIID?
    /// Name of the IOMMU unit that translates for this root complex.
    public var iommu: String?
    public var p2pForwarding: P2PForwarding
    public var p2pRateCap: DataRate?
    /// P2P in both directions together: `2 × p2pDuplexShare × cap`; nil: the platform's share where the cap is the
    /// platform's default, else 1 (independent directions).
    public var p2pDuplexShare: Double?
    public var p2pLatency: Picoseconds?
    /// Aggregate DMA bandwidth cap of the root complex.
    public var dmaCap: DataRate?
    /// MMIO apertures given by the file; nil means enumeration carves them out.
    public var mmio32: AddressRange?
    public var mmio64: AddressRange?
    /// Link capability root ports get when they do not give one.
    public var defaultLink: LinkCapability
    public var parameters: [Parameter]

    public init(name: String, socket: Int = 0, segment: UInt16 = 0, rootBus: UInt8? = nil, busLimit: UInt8? = nil,
                hostBridgeID: PCIID? = nil, iommu: String? = nil, p2pForwarding: P2PForwarding = .forward,
                p2pRateCap: DataRate? = nil, p2pLatency: Picoseconds? = nil, dmaCap: DataRate? = nil,
                mmio32: AddressRange? = nil, mmio64: AddressRange? = nil,
                defaultLink: LinkCapability = LinkCapability(generation: .gen4, width: 16), parameters: [Parameter] = []) {
        self.name = name
        self.socket = socket
        self.segment = segment
        self.rootBus = rootBus
        self.busLimit = busLimit
        self.hostBridgeID = hostBridgeID
        self.iommu = iommu
        self.p2pForwarding = p2pForwarding
        self.p2pRateCap = p2pRateCap
        self.p2pLatency = p2pLatency
        self.dmaCap = dmaCap
        self.mmio32 = mmio32
        self.mmio64 = mmio64
        self.defaultLink = defaultLink
        self.parameters = parameters
    }
}

/// Which kernel's rules to follow where Linux versions differ. Each release the simulator knows is a case,
/// ordered by release; what changed between them is data (`KernelRules`, Semantics/KernelRules.swift), and the
/// semantics asks that table ("does this version have rule R") instead of comparing versions.
///
/// `mainline` is the PCI maintainer tree the reference was written from (`cd2698d7`, 2026): newer than every
/// numbered release here, so it has every rule that was introduced up to then.
public enum KernelVersion: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case linux54 = "5.4"
    /// 5.9: `pci_enable_acs` returned before the device-specific enable for ports without an ACS capability.
    case linux59 = "5.9"
    case linux510 = "5.10"
    case linux515 = "5.15"
    /// Linux 6.1 (Debian 12): `disable_acs_redir` clears RR/CR/EC from the kernel-enabled control; no `config_acs`.
    case linux61 = "6.1"
    case linux66 = "6.6"
    case linux68 = "6.8"
    /// 6.11: `pci=config_acs=` ("PCI: Extend ACS configurability").
    case linux611 = "6.11"
    /// 6.12 (Debian 13).
    case linux612 = "6.12"
    /// 6.15: `disable_acs_redir`/`config_acs` start from the firmware control ("PCI: Fix 'pci=config_acs=' parameter").
    case linux615 = "6.15"
    case linux618 = "6.18"
    /// Newest mainline: the PCI tree snapshot `cd2698d7` of the reference (after 6.18).
    case mainline

    /// `(major, minor)` of the release; mainline sorts after every numbered release.
    public var release: (major: Int, minor: Int) {
        guard self != .mainline else { return (Int.max, Int.max) }
        let parts = rawValue.split(separator: ".").compactMap { Int($0) }
        return (parts[0], parts[1])
    }

    public static func < (a: KernelVersion, b: KernelVersion) -> Bool { a.release < b.release }

    public var description: String { rawValue }

    /// The known versions as a user types them, for error messages: `5.4, 5.9, ..., 6.18, mainline`.
    public static var knownList: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// A version as a user or `uname -r` writes it: `6.12`, `v6.12`, `6.12.57+deb13-amd64`, `6.1.0-56-amd64`,
    /// `5.15.0-91-generic` (the first two numbers decide), or `mainline`. nil for a release the table does not
    /// know.
    public init?(parsing text: String) {
        var t = Substring(text)
        while t.first == " " { t = t.dropFirst() }
        while t.last == " " { t = t.dropLast() }
        if t == "mainline" { self = .mainline; return }
        if t.hasPrefix("v") || t.hasPrefix("V") { t = t.dropFirst() }
        var numbers: [Int] = []
        var current = ""
        for c in t {
            if c.isASCII, c.isNumber {
                current.append(c)
            } else {
                guard !current.isEmpty else { return nil }
                numbers.append(Int(current) ?? -1)
                current = ""
                if c != "." || numbers.count == 2 { break }
            }
        }
        if !current.isEmpty, numbers.count < 2 { numbers.append(Int(current) ?? -1) }
        guard numbers.count >= 2,
              let v = KernelVersion.allCases.first(where: { $0 != .mainline && $0.release == (numbers[0], numbers[1]) })
        else { return nil }
        self = v
    }

    /// `parsing`, or a message naming the known versions.
    public static func parse(_ text: String) -> Result<KernelVersion, KernelVersionError> {
        if let v = KernelVersion(parsing: text) { return .success(v) }
        return .failure(KernelVersionError(text: text))
    }
}

/// A kernel version the simulator does not know.
public struct KernelVersionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var text: String
    public init(text: String) { self.text = text }
    public var description: String {
        "unknown kernel version '\(text)'; known: \(KernelVersion.knownList) (a uname string such as 6.12.57+deb13-amd64 names its release)"
    }
}

/// The kernel command line the machine boots with.
public struct KernelConfiguration: Hashable, Sendable {
    public var commandLine: String
    public var version: KernelVersion
    public init(commandLine: String = "", version: KernelVersion = .mainline) {
        self.commandLine = commandLine
        self.version = version
    }
}

/// A whole machine, as a topology file describes it. Plain values; derived structures come from `enumerate()`.
public struct Topology: Hashable, Sendable {
    public var name: String
    public var description: String?
    public var kernel: KernelConfiguration
    public var sockets: [Socket]
    public var socketLinks: [SocketLink]
    public var iommus: [IOMMUUnit]
    public var rootComplexes: [RootComplex]
    /// All devices, parents before children, in file order.
    public var devices: [Device]
    /// Physical switch chips that switches name with `chip` (a chip not listed here routes as `partitioned`).
    public var switchChips: [SwitchChip] = []
    /// Links between switch chips' fabric ports.
    public var chipLinks: [ChipLink] = []
    /// NVLink, NVSwitch and xGMI links between devices (GPUFabric.swift); no PCIe rule reads them.
    public var gpuLinks: [GPULink] = []

    public init(name: String, description: String? = nil, kernel: KernelConfiguration = KernelConfiguration(),
                sockets: [Socket] = [], socketLinks: [SocketLink] = [], iommus: [IOMMUUnit] = [],
                rootComplexes: [RootComplex] = [], devices: [Device] = []) {
        self.name = name
        self.description = description
        self.kernel = kernel
        self.sockets = sockets
        self.socketLinks = socketLinks
        self.iommus = iommus
        self.rootComplexes = rootComplexes
        self.devices = devices
    }

    /// Index of the device with this name.
    public func deviceIndex(named name: String) -> Int? { devices.firstIndex { $0.name == name } }

    /// Children of each device (and root-bus devices per root complex), in file order.
    public func childrenIndex() -> (children: [[Int]], rootBus: [[Int]]) {
        var children = [[Int]](repeating: [], count: devices.count)
        var rootBus = [[Int]](repeating: [], count: rootComplexes.count)
        for (i, d) in devices.enumerated() {
            if let p = d.parent { children[p].append(i) } else { rootBus[d.rootComplex].append(i) }
        }
        return (children, rootBus)
    }
}
