// Workloads: timed DMA operations issued through the mapping API, exactly as a driver issues them
// (map, DMA with the returned address, unmap). Built-in scenarios, scenario files and traces all become one.
import Sim

/// Where an operation's bytes live on the far side of the DMA.
public enum DMATarget: Sendable, Hashable {
    /// A buffer in system RAM, mapped for the requester with `dma_map_sgtable` (an IOVA under a DMA domain).
    case hostMemory
    /// A peer's BAR, mapped for the requester with `dma_map_resource` (how GPU and RDMA drivers map peer
    /// memory; the kernel makes no P2P check there, so the hardware decides).
    case peerBAR(device: Int)
    /// p2pdma memory allocated from a provider (`pci_alloc_p2pmem`) and mapped for the requester with
    /// `dma_map_sgtable`, which asks `pci_p2pdma_map_type` (BUS_ADDR, THRU_HOST_BRIDGE or -EREMOTEIO).
    case p2pmem(provider: Int)
}

/// How the driver maps the buffer before the DMA.
public enum MappingStyle: String, Sendable, Hashable {
    /// `dma_map_sgtable` / `dma_map_resource` as the target implies, then `dma_unmap_*` afterwards.
    case map
    /// No mapping at all: the device is handed a raw address (a driver bug). Under a DMA domain the IOMMU faults.
    case unmapped
}

/// One DMA stream as a driver sets it up.
public struct DMAOperation: Sendable, Hashable {
    /// The flow's name in reports (`gpu0 -> gpu1`).
    public var label: String
    /// Function index of the device whose DMA engine moves the bytes.
    public var requester: Int
    public var target: DMATarget
    /// `.write`: the requester writes into the target; `.read`: it reads from the target.
    public var operation: TransportFlow.Operation
    /// Bytes moved.
    public var bytes: Int
    /// Size of the mapped buffer; the DMA streams through it (wrapping) when it is smaller than `bytes`.
    public var bufferBytes: Int
    /// Read requests in flight at most (an I/O queue depth); nil: the device's tags bound it.
    public var queueDepth: Int?
    /// The page size the buffer is mapped with (IOTLB and ATC entries cover one such page).
    public var pageBytes: Int
    /// Use ATS (translated requests, routed under ACS DT and TB).
    public var usesATS: Bool
    public var mapping: MappingStyle
    /// Simulated start time.
    public var start: Picoseconds
    /// The buffer starts this many bytes into its first page (unaligned DMA splits at 4 KiB boundaries).
    public var offset: Int = 0
    /// pcie-bench's experiments: each DMA moves this many bytes (`bytes / transferBytes` DMAs), placed in the
    /// buffer (the window) by `access`; nil: one stream of `bytes` through the buffer.
    public var transferBytes: Int? = nil
    /// Where each DMA of `transferBytes` starts in the window (sequential, or seeded random).
    public var access: TransportFlow.Access = .sequential

    public init(label: String, requester: Int, target: DMATarget, operation: TransportFlow.Operation, bytes: Int,
                bufferBytes: Int? = nil, queueDepth: Int? = nil, pageBytes: Int = 4096, usesATS: Bool = false,
                mapping: MappingStyle = .map, start: Picoseconds = 0) {
        self.label = label
        self.requester = requester
        self.target = target
        self.operation = operation
        self.bytes = bytes
        self.bufferBytes = bufferBytes ?? min(bytes, Workload.defaultBufferBytes)
        self.queueDepth = queueDepth
        self.pageBytes = pageBytes
        self.usesATS = usesATS
        self.mapping = mapping
        self.start = start
    }
}

/// Operations that run at the same time (one discrete-event run of the fabric).
public struct WorkloadPhase: Sendable, Hashable {
    public var name: String
    /// What the phase measures, for the scenario's own tables (`uni`, `bidi`, `latency`, `ws=64M`, ...).
    public var kind: String
    public var operations: [DMAOperation]
    public init(name: String, kind: String = "", operations: [DMAOperation]) {
        self.name = name
        self.kind = kind
        self.operations = operations
    }
}

/// A scenario expanded: phases that run one after the other, each on a freshly booted machine.
public struct Workload: Sendable, Hashable {
    public var scenario: String
    /// The options as given (for the report header), in a stable order.
    public var options: [(String, String)]
    public var phases: [WorkloadPhase]
    /// acs-audit: every endpoint pair's verdicts (no DMA needed).
    public var auditAllPairs: Bool
    /// Trace replay: an ftrace capture replayed against the model's IOMMU, then its peak working set streamed.
    public var trace: TraceReplayRequest?

    /// Host buffers stream through at most this much mapped memory unless a scenario says otherwise.
    public static let defaultBufferBytes = 64 << 20

    public init(scenario: String, options: [(String, String)] = [], phases: [WorkloadPhase], auditAllPairs: Bool = false,
                trace: TraceReplayRequest? = nil) {
        self.scenario = scenario
        self.options = options
        self.phases = phases
        self.auditAllPairs = auditAllPairs
        self.trace = trace
    }

    public static func == (a: Workload, b: Workload) -> Bool {
        a.scenario == b.scenario && a.phases == b.phases && a.auditAllPairs == b.auditAllPairs
            && a.options.map(\.0) == b.options.map(\.0) && a.options.map(\.1) == b.options.map(\.1)
    }
    public func hash(into h: inout Hasher) {
        h.combine(scenario)
        h.combine(phases)
    }
}

/// A workload that cannot be built or run: every problem, in words.
public struct ScenarioError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    /// The run stopped at a work limit (WorkLimits): the input asked for too much, not a failure of the run.
    public var exceededLimit = false
    public init(_ problems: [String]) { self.problems = problems }
    public init(_ problem: String) { problems = [problem] }
    public var description: String { problems.map { "error: " + $0 }.joined(separator: "\n") }
}
