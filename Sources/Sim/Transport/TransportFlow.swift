// The workload the transport model runs: DMA flows, as the scenarios layer produces them from the mapping API.

/// One DMA stream: a requester moving `bytes` to or from a target, from `start` on.
///
/// ```swift
/// let write = TransportFlow(requester: nic, target: .memory(0x1_0000_0000), operation: .write, bytes: 1 << 20)
/// let p2p = TransportFlow(requester: nvme, target: .peer(function: gpu), operation: .write, bytes: 1 << 20)
/// ```
public struct TransportFlow: Sendable, Hashable {
    /// Where the flow's bytes go to (writes) or come from (reads).
    public enum Target: Sendable, Hashable {
        /// System memory at this DMA address (an IOVA when the IOMMU translates).
        case memory(UInt64)
        /// A peer function's BAR: `bar` is the BAR register index (nil: its first prefetchable BAR, else its first),
        /// `offset` bytes into it.
        case peer(function: Int, bar: Int? = nil, offset: UInt64 = 0)
        /// Any bus address; the router decodes it.
        case address(UInt64)
    }

    public enum Operation: Sendable, Hashable {
        /// Posted memory writes (MWr), split at MPS and 4 KiB boundaries.
        case write
        /// Memory read requests (MRd) split at MRRS and 4 KiB; data returns in completions.
        case read
    }

    /// Function index of the requester (its DMA engine issues the TLPs).
    public var requester: Int
    public var target: Target
    public var operation: Operation
    public var bytes: Int
    public var start: Picoseconds
    /// Read requests this flow keeps in flight at most (like an I/O queue depth); the requester's tags and
    /// `outstanding-reads` bound all its flows together. nil: no per-flow bound. Writes are posted: unbounded.
    public var queueDepth: Int?
    /// When set, addresses wrap around inside `[base, base + workingSetBytes)`: a buffer reused while `bytes`
    /// stream through it (what stresses the IOTLB). A multiple of 4 KiB.
    public var workingSetBytes: Int?
    /// The page size the driver mapped the buffer with (IOMMU and ATC entries cover one such page). Must be one
    /// of the IOMMU's page sizes to use it; 4 KiB by default, 2 MiB for hugepage-backed buffers.
    public var mappingPageBytes: Int
    /// Use ATS: translate through the device's ATC and send translated TLPs (AT = 10b). The requester must have
    /// an ATS capability.
    public var usesATS: Bool
    /// Relaxed Ordering attribute on the requests (and their completions).
    public var relaxedOrdering: Bool
    /// When set, the flow is `bytes / transferBytes` DMAs of this many bytes each (pcie-bench's transfer size),
    /// each split at MPS/MRRS and 4 KiB on its own and placed in the window `[base, base + workingSetBytes)`
    /// by `access`. `queueDepth` then counts DMAs in flight: a read DMA (its requests issued together) until its
    /// last completion is back, a posted-write DMA until its last byte lands at the completer (a copy engine's
    /// fence: the next DMA waits for it); the flow's latency is recorded per DMA (first TLP issued to last
    /// completion back, or to last byte landed). nil: one stream of `bytes`.
    public var transferBytes: Int?
    /// Where each DMA of `transferBytes` starts inside the window.
    public var access: Access

    /// Where the DMAs of a flow with a transfer size start inside its window of `W` bytes (`W / S` slots of `S` bytes).
    public enum Access: Sendable, Hashable {
        /// DMA k at slot `k mod (W / S)`: consecutive, wrapping at the end of the window.
        case sequential
        /// DMA k at a slot drawn from a seeded generator (pcie-bench's random offsets; the same seed, the same slots).
        case random(seed: UInt64)
    }

    public init(requester: Int, target: Target, operation: Operation, bytes: Int, start: Picoseconds = 0,
                queueDepth: Int? = nil, workingSetBytes: Int? = nil, mappingPageBytes: Int = 4096,
                usesATS: Bool = false, relaxedOrdering: Bool = false, transferBytes: Int? = nil,
                access: Access = .sequential) {
        self.requester = requester
        self.target = target
        self.operation = operation
        self.bytes = bytes
        self.start = start
        self.queueDepth = queueDepth
        self.workingSetBytes = workingSetBytes
        self.mappingPageBytes = mappingPageBytes
        self.usesATS = usesATS
        self.relaxedOrdering = relaxedOrdering
        self.transferBytes = transferBytes
        self.access = access
    }
}

/// Why a workload or topology cannot be simulated; every problem is listed.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    public var problems: [String]
    public init(_ problems: [String]) { self.problems = problems }
    public var description: String { problems.map { "error: " + $0 }.joined(separator: "\n") }
}
