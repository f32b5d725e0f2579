// The result of enumerating a topology like firmware and Linux do: BDFs, bus ranges, windows, BARs, links.

/// A topology after enumeration. Functions `0..<topology.devices.count` are the topology's devices (same
/// indices); SR-IOV virtual functions follow.
public struct Enumeration: Sendable, Hashable {
    /// One PCI function (a topology device or a VF).
    public struct Function: Sendable, Hashable {
        public var name: String
        public var bdf: BDF
        public var kind: DeviceKind
        /// Index in `Topology.devices`; nil for a virtual function.
        public var device: Int?
        /// For a VF: the function index of its physical function.
        public var physicalFunction: Int?
        public var id: PCIID
        /// The bridge directly above (Linux `pci_upstream_bridge` of the PF for a VF); nil on a root bus.
        public var upstreamBridge: Int?
        public var rootComplex: Int
        public var isPCIe: Bool
        /// The device number on its bus has more than one function (header type bit 7).
        public var isMultifunction: Bool
        public var isVirtualFunction: Bool { physicalFunction != nil }
    }

    /// Per-root-complex results.
    public struct RootComplexState: Sendable, Hashable {
        public var segment: UInt16
        public var busRange: ClosedRange<UInt8>
        public var mmio32: AddressRange?
        public var mmio64: AddressRange?
        /// The function Linux's p2pdma whitelist looks at (`pci_host_bridge_dev`): the host bridge at 00.0,
        /// or the lowest-numbered function on the root bus if that is devfn 00.0 or a root port; nil otherwise.
        public var hostBridgeFunctionID: PCIID?
    }

    public var functions: [Function] = []
    /// Per function: secondary..subordinate bus range of a bridge.
    public var busRanges: [ClosedRange<UInt8>?] = []
    public var memoryWindows: [AddressRange?] = []
    public var prefetchableWindows: [AddressRange?] = []
    /// Per function, per BAR: assigned base address (same order as the device's `bars`, or the SR-IOV BARs).
    public var barAddresses: [[UInt64]] = []
    /// Per function: the trained link to the port above (nil for root-bus and conventional PCI functions).
    public var links: [TrainedLink?] = []
    /// Per function: effective Max Payload Size (min of what the path supports, as pcie_bus_config=safe).
    public var maxPayload: [Int] = []
    public var maxReadRequest: [Int] = []
    public var readCompletionBoundary: [Int] = []
    public var rootComplexes: [RootComplexState] = []
    /// Warnings found while enumerating (for example down-trained links).
    public var warnings: [Diagnostic] = []

    private var byBDF: [BDF: Int] = [:]
    private var byName: [String: Int] = [:]

    public init() {}

    mutating func finishIndexes() {
        byBDF = Dictionary(functions.enumerated().map { ($1.bdf, $0) }, uniquingKeysWith: { a, _ in a })
        byName = Dictionary(functions.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func function(at bdf: BDF) -> Int? { byBDF[bdf] }
    public func function(named name: String) -> Int? { byName[name] }

    /// Finds a function by name or by BDF text (`0000:03:00.0` or `03:00.0`).
    public func lookup(_ text: String) -> Int? {
        if let i = byName[text] { return i }
        if let bdf = BDF(text) { return byBDF[bdf] }
        return nil
    }

    /// Functions directly below each bridge, in BDF order; index `functions.count` holds nothing.
    public func childrenByBridge() -> [[Int]] {
        var children = [[Int]](repeating: [], count: functions.count)
        for (i, f) in functions.enumerated() where f.physicalFunction == nil {
            if let p = f.upstreamBridge { children[p].append(i) }
        }
        return children.map { $0.sorted { functions[$0].bdf < functions[$1].bdf } }
    }
}
