// P2PDMA map types and the values the p2pdma queries return (include/linux/pci-p2pdma.h, drivers/pci/p2pdma.c).

/// How a DMA between a P2PDMA provider and a client is mapped: Linux's `enum pci_p2pdma_map_type`
/// (include/linux/pci-p2pdma.h; reference §1.1). The raw values are the kernel's.
public enum P2PMapType: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `PCI_P2PDMA_MAP_UNKNOWN`: the per-pair cache has no entry yet. Never returned by the queries.
    case unknown = 0
    /// `PCI_P2PDMA_MAP_NONE`: not a P2PDMA page; ordinary memory.
    case none = 1
    /// `PCI_P2PDMA_MAP_NOT_SUPPORTED`: the path needs the host bridge and the host bridge is not allowed;
    /// DMA mapping fails with `-EREMOTEIO`.
    case notSupported = 2
    /// `PCI_P2PDMA_MAP_BUS_ADDR`: switch-local path; the device is programmed with PCI bus addresses
    /// (CPU physical + `bus_offset`) and the IOMMU is bypassed.
    case busAddress = 3
    /// `PCI_P2PDMA_MAP_THRU_HOST_BRIDGE`: allowed through the host bridge; mapped like RAM.
    case thruHostBridge = 4

    /// The kernel's constant name, `PCI_P2PDMA_MAP_BUS_ADDR`.
    public var kernelName: String { "PCI_P2PDMA_MAP_" + description }

    /// The short name: `BUS_ADDR`, `THRU_HOST_BRIDGE`, `NOT_SUPPORTED`, `NONE`, `UNKNOWN`.
    public var description: String {
        switch self {
        case .unknown: "UNKNOWN"
        case .none: "NONE"
        case .notSupported: "NOT_SUPPORTED"
        case .busAddress: "BUS_ADDR"
        case .thruHostBridge: "THRU_HOST_BRIDGE"
        }
    }

    /// Parses `BUS_ADDR`, `PCI_P2PDMA_MAP_BUS_ADDR` or the lower-case Swift name (`busAddress`).
    public init?(_ text: some StringProtocol) {
        var t = String(text)
        if t.hasPrefix("PCI_P2PDMA_MAP_") { t.removeFirst("PCI_P2PDMA_MAP_".count) }
        guard let found = P2PMapType.allCases.first(where: { $0.description == t || "\($0)" == t }) else {
            return nil
        }
        self = found
    }
}

/// A DMA client as `pci_p2pdma_distance_many` receives it: a `struct device` that is, or sits below, a PCI
/// function (`find_parent_pci_dev`), or a device with no PCI ancestor.
public enum P2PClient: Hashable, Sendable {
    /// A PCI function (index into `Enumeration.functions`); a child device such as `nvme0` is given as its
    /// PCI parent, which is what `find_parent_pci_dev` resolves it to.
    case function(Int)
    /// A device with no PCI ancestor (for example a platform device). `bus` is the bus or driver name
    /// `dev_warn` prints before the device name.
    case nonPCI(name: String, bus: String = "platform")
}

/// The answer of `calc_map_type_and_dist` for one provider/client pair (reference §1.3).
public struct P2PDMAResult: Hashable, Sendable {
    public var mapType: P2PMapType
    /// The hop count `calc_map_type_and_dist` computes; it is filled in even for `NOT_SUPPORTED`.
    public var distance: Int
    /// The common upstream device (`a` at `check_b_path_acs`); nil when the two share none.
    public var commonUpstream: Int?
    /// Devices whose ACS redirect bits counted (`acs_list`), in the kernel's order: provider side bottom-up
    /// including the common upstream device, then client side bottom-up. Empty on the no-common path,
    /// where the kernel does not report them.
    public var acsRedirectDevices: [Int]
    /// The `dev_warn` lines printed (only when the query was verbose), word for word.
    public var warnings: [String]

    public init(mapType: P2PMapType, distance: Int, commonUpstream: Int?, acsRedirectDevices: [Int], warnings: [String]) {
        self.mapType = mapType
        self.distance = distance
        self.commonUpstream = commonUpstream
        self.acsRedirectDevices = acsRedirectDevices
        self.warnings = warnings
    }

    /// What `pci_p2pdma_distance()` returns for this pair: -1 when not supported, else the distance.
    public var kernelDistance: Int { mapType == .notSupported ? -1 : distance }
}

/// The answer of `pci_p2pdma_distance_many` (reference §1.5).
public struct P2PDistanceManyResult: Hashable, Sendable {
    /// The summed distance, or -1 when any client is not supported, is not PCI, or the list is empty.
    public var distance: Int
    /// Per client actually evaluated, in order: the client and its `calc_map_type_and_dist` result.
    /// A non-verbose call stops at the first unsupported client, so later clients are absent.
    public var evaluated: [(client: Int, result: P2PDMAResult)]
    /// Every warning printed, in order.
    public var warnings: [String]

    public static func == (a: P2PDistanceManyResult, b: P2PDistanceManyResult) -> Bool {
        a.distance == b.distance && a.warnings == b.warnings && a.evaluated.count == b.evaluated.count
            && zip(a.evaluated, b.evaluated).allSatisfy { $0.client == $1.client && $0.result == $1.result }
    }
    public func hash(into h: inout Hasher) {
        h.combine(distance)
        h.combine(warnings)
        for e in evaluated {
            h.combine(e.client)
            h.combine(e.result)
        }
    }
}

/// Map types and distances for every provider/client pair of two lists, row-major by provider.
public struct P2PMatrix: Sendable, Hashable {
    public var providers: [Int]
    public var clients: [Int]
    public var mapTypes: [P2PMapType]
    /// `calc_map_type_and_dist` distances (filled in even where the map type is `NOT_SUPPORTED`).
    public var distances: [Int32]

    public subscript(provider p: Int, client c: Int) -> (mapType: P2PMapType, distance: Int) {
        let i = p * clients.count + c
        return (mapTypes[i], Int(distances[i]))
    }
}
