// The transport model's state: links, queues, credits, TLP slots, flows, servers, IOMMUs, all in dense arrays.

/// Time finer than a picosecond for serialization: 1/1024 ps. Link rates are exact in it for every width that
/// is a power of two at Gen1-5 (a byte takes symbol time / width, and symbol times are multiples of 1/1024 ps),
/// and absolute times in it reach 9,000 s of simulated time.
typealias FineTime = Int64
let fineShift: Int64 = 10
let finePerPicosecond: Int64 = 1 << fineShift

@inline(__always) func fine(_ ps: Picoseconds) -> FineTime { ps << fineShift }
@inline(__always) func ceilPicoseconds(_ t: FineTime) -> Picoseconds { (t + finePerPicosecond - 1) >> fineShift }

/// A flow-control class (PCIe Base §2.6.1): index into per-class arrays.
enum CreditClass: Int {
    case posted = 0, nonPosted = 1, completion = 2
}

/// One step of a precomputed path. Paths are computed once per flow from the router's hops.
struct Step {
    enum Kind: UInt8 {
        /// Wait in output queue `b` (absolute queue index) for link direction `a`, then cross it.
        case link
        /// Cut-through switch traversal of `latency` (consumed when the TLP lands from the link before it).
        case cutThrough
        /// A fixed delay (root complex turn-around, memory, completer, socket link flight).
        case delay
        /// FIFO rate server `a` (root-complex cap, inter-socket link bandwidth).
        case server
        /// IOMMU unit `a` translates (IOTLB, page walks), in order per flow.
        case translate
        /// The destination takes the request (memory, a peer BAR, the translation agent): receive buffer freed.
        /// Writes end here.
        case accept
        /// The completer answers the read: completions along the path starting at step `a`.
        case complete
        /// A completion reaches the requester.
        case receive
        /// Blocked at block point `a`.
        case blocked
    }
    var kind: Kind
    var a: Int32 = 0
    var b: Int32 = 0
    var latency: Picoseconds = 0
}

/// A link direction's fixed configuration (read-only while running).
struct LinkConfig {
    /// Serialization time of one byte (TLP or DLLP byte after the line code), fine units.
    var byteTime: FineTime
    var framing: Int
    var latency: Picoseconds
    var ackInterval: Picoseconds
    /// Wire time of one DLLP (0 in flit mode).
    var dllpTime: FineTime
    /// Where a tick's DLLPs are charged (this direction or the reverse one).
    var chargeTarget: Int
    var skpInterval: FineTime
    var skpTime: FineTime
    var queueBase: Int = 0
    var queueSlots: Int = 0
}

/// A link direction's running state and statistics (one struct, so an event updates it with one uniqueness check).
struct LinkState {
    var busy = false
    var current: Int32 = -1
    var currentDuration: FineTime = 0
    /// End of the last transmission (TLP, DLLP or SKP), fine units.
    var freeAt: FineTime = 0
    /// DLLP time waiting for the next packet boundary.
    var pendingOverhead: FineTime = 0
    var nextSKP: FineTime = .max
    var tickActive = false
    var receivedSinceTick = 0
    var updatePending = false
    var roundRobin = 0
    var queued = 0
    var tlps = 0
    var payload = 0
    var wire = 0
    var dllps = 0
    var skps = 0
    var busyTime: FineTime = 0
    var stallSince: Picoseconds = -1
    var stallTime: Picoseconds = 0
    var queueArea: Double = 0
    var queueChanged: Picoseconds = 0
    var queueMax = 0
}

/// Flow-control state of one class on one link direction (PCIe Base §2.6.1): the receiver's limit (-1 infinite),
/// credits available at the transmitter, freed at the receiver since the last UpdateFC, in flight on an UpdateFC.
struct CreditState {
    var limitHeader: Int
    var limitData: Int
    var header: Int
    var data: Int
    var freedHeader = 0
    var freedData = 0
    var returningHeader = 0
    var returningData = 0
}

/// One class FIFO of one ingress slot of an output queue.
struct QueueFIFO {
    var head: Int32 = -1
    var tail: Int32 = -1
}

/// A TLP slot (reused through a free list).
struct TLPSlot {
    var flow: Int32 = 0
    var step: Int32 = 0
    var kind: TLPKind = .memoryWrite
    /// Payload bytes; for a read request the bytes it asks for.
    var payload: Int32 = 0
    /// Header + digest bytes (framing is the link's).
    var header: Int32 = 0
    /// The request record (tag) a read request or completion belongs to.
    var tag: Int32 = -1
    var next: Int32 = -1
    /// The link direction whose receive buffer holds the TLP (credits to free when it leaves), or -1.
    var held: Int32 = -1
    /// In translation: the walker it waits for (>= 0), ready (-1), waiting for a walker (-2), or faulted at block
    /// point `-3 - value`.
    var walk: Int32 = -1
    var nextWaiting: Int32 = -1
    var address: UInt64 = 0
    var issued: Picoseconds = 0
}

/// An outstanding read request (a tag).
struct RequestRecord {
    var flow: Int32
    var remaining: Int32
    var issued: Picoseconds
    /// The ATC page an ATS translation request fetches, or UInt64.max for a data read.
    var page: UInt64
    /// The last request of a DMA of a flow with a transfer size (TransportModel+DMA): its completion retires the DMA.
    var endsDMA = false
}

/// A flow's fixed configuration.
struct FlowConfig {
    var requester: Int
    var bytes: Int
    var start: Picoseconds
    var base: UInt64
    var workingSet: UInt64
    var isRead: Bool
    var maxRequest: Int
    var completionMPS: Int
    var rcb: Int
    var completionSize: TLPWireSplit.CompletionSize
    var header: Int32
    var completionHeader: Int32
    var atsHeader: Int32
    var requestStart: Int32
    var atsRequestStart: Int32
    var queueDepth: Int
    var pageBytes: UInt64
    var pageShift: Int
    var usesATS: Bool
    // Per-DMA transfers (TransportModel+DMA): bytes per DMA (0: one stream), slots of that size in the window,
    // and the seed of random slots (nil: sequential).
    var transfer: Int = 0
    var transferSlots: UInt64 = 1
    var randomSeed: UInt64? = nil
    /// Per write DMA: time from the engine taking it on to its first TLP (`dma.launchLatency`); 0: none.
    var launch: Picoseconds = 0
}

/// A flow's running state and results.
struct FlowState {
    var issuedBytes = 0
    var outstanding = 0
    var queuedAtSource = false
    var issueScheduled = false
    var waitingForTag = false
    /// Times the flow found its requester's tags all in use, or had to wait for an issue-rate slot (limited_by).
    var tagWaits = 0
    var paceWaits = 0
    var requestTLPs = 0
    var delivered = 0
    var blockedTLPs = 0
    var blockedBytes = 0
    var completion: Picoseconds? = nil
    var firstDelivery: Picoseconds? = nil
    var firstDeliveryBytes = 0
    var lastDelivery: Picoseconds? = nil
    var atcPage: UInt64 = .max
    /// Per-DMA transfers: when the write DMA being issued issued its first TLP (or was launched, with a launch latency).
    var dmaStart: Picoseconds = 0
    /// With a launch latency: when the DMA being launched may issue its first TLP (-1: none being launched), and when
    /// its launch began.
    var launchReadyAt: Picoseconds = -1
    var launchBegan: Picoseconds = 0
    var translationPending = false
    var atcLookups = 0
    var atcHits = 0
    var translationRequests = 0
    /// In-order commit at the IOMMU: the flow's TLPs in translation, oldest first.
    var translateHead: Int32 = -1
    var translateTail: Int32 = -1
}

/// The whole mutable state of a run: arrays indexed by dense ids (link directions, queue slots, TLP slots, tags,
/// flows, functions, servers, IOMMU units and walkers). The hot methods live in the `TransportModel+*.swift` facets.
struct TransportModel {
    /// The IOMMU's verdict on a page (the caller's `AddressTranslator`), asked once per page walk, off the hot path.
    var translate: (_ requester: Int, _ address: UInt64, _ isWrite: Bool) -> TranslationOutcome
    let parameters: TransportParameters
    var steps: [Step] = []

    // MARK: Link directions (2 per link: 2i upstream, 2i+1 downstream)
    var linkName: [String] = []
    var linkFunction: [Int] = []
    var linkGeneration: [LinkGeneration] = []
    var linkWidth: [Int] = []
    var linkConfig: [LinkConfig] = []
    var links: [LinkState] = []
    /// Per direction × class.
    var credits: [CreditState] = []
    /// Per queue slot × class.
    var queues: [QueueFIFO] = []
    /// The flow whose engine feeds this queue slot, or -1.
    var queueOwnerFlow: [Int32] = []

    // MARK: TLP slots and tags
    var tlps: [TLPSlot] = []
    var tlpFree: Int32 = -1
    var tlpLive = 0
    var tlpPeak = 0
    var requests: [RequestRecord] = []
    var requestFree: Int32 = -1

    // MARK: Flows
    var flows: [TransportFlow] = []
    var flowConfig: [FlowConfig] = []
    var flowState: [FlowState] = []
    var flowLatency: [LatencyHistogram] = []
    var unfinishedFlows = 0

    // MARK: Requester functions (DMA engines)
    var engineTagLimit: [Int] = []
    var engineTagsInUse: [Int] = []
    var engineIssueInterval: [FineTime] = []
    var engineNextIssue: [FineTime] = []
    var engineFlows: [[Int32]] = []
    var engineWaiters: [Int] = []
    /// Per-direction issue-rate caps (`dma.readIssueRate`, `dma.writeIssueRate`; TransportModel+DMA); empty
    /// when no requester has one.
    var engineReadInterval: [FineTime] = []
    var engineWriteInterval: [FineTime] = []
    var engineNextRead: [FineTime] = []
    var engineNextWrite: [FineTime] = []
    /// ATC storage per function: base index into `atcKeys` (-1: none) and entries.
    var atcBase: [Int] = []
    var atcEntries: [Int] = []
    var atcKeys: [UInt64] = []
    var atcStamps: [Int64] = []
    var atcClock: Int64 = 0

    // MARK: Rate servers
    var serverName: [String] = []
    var serverByteTime: [FineTime] = []
    /// Whether a read request is charged its requested bytes (DMA cap) or nothing (P2P cap, socket link).
    var serverChargesReads: [Bool] = []
    var serverFreeAt: [FineTime] = []
    /// Per server: time it spent serving, and payload bytes charged (limited_by, report links).
    var serverBusyTime: [FineTime] = []
    var serverPayload: [Int] = []
    var serverBusy: [Bool] = []
    var serverHead: [Int32] = []
    var serverTail: [Int32] = []

    // MARK: IOMMUs
    var iommuName: [String] = []
    var iommuSets: [Int] = []
    var iommuWays: [Int] = []
    var iommuWalkLevels: [Int] = []
    var iommuWalkLatency: [Picoseconds] = []
    var iommuLocation: [HopLocation] = []
    var iotlbKeys: [UInt64] = []
    var iotlbStamps: [Int64] = []
    var iotlbBase: [Int] = []
    var iotlbClock: Int64 = 0
    var iommuWalkerBase: [Int] = []
    var iommuWalkerCount: [Int] = []
    var iommuWaitHead: [Int32] = []
    var iommuWaitTail: [Int32] = []
    var iommuFlows: [[Int32]] = []
    var iommuLookups: [Int] = []
    var iommuHits: [Int] = []
    var iommuWalks: [Int] = []
    var iommuFaults: [Int] = []
    var iommuInFlight: [Int] = []
    var iommuMaxInFlight: [Int] = []
    /// Per IOMMU unit: walker time spent walking (summed over walkers).
    var iommuWalkTime: [Picoseconds] = []
    var walkerUnit: [Int] = []
    var walkerKey: [UInt64] = []
    var walkerAddress: [UInt64] = []
    var walkerRequester: [Int] = []
    var walkerIsWrite: [Bool] = []
    var walkerBusy: [Bool] = []
    /// The block point of the fault the walk found, or -1.
    var walkerFault: [Int32] = []

    // MARK: Blocked TLPs
    var blockLocation: [HopLocation] = []
    var blockReason: [BlockReason] = []
    var blockCount: [Int] = []
    var blockedRecords: [TransportResult.BlockedTLP] = []

    init(parameters: TransportParameters,
         translate: @escaping (_ requester: Int, _ address: UInt64, _ isWrite: Bool) -> TranslationOutcome) {
        self.translate = translate
        self.parameters = parameters
    }
}
