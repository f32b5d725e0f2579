// What a transport run reports: per flow, per link direction, per output port, blocked TLPs, IOMMU and ATC.

public struct TransportResult: Sendable {
    public struct Flow: Sendable {
        public var flow: TransportFlow
        /// Payload bytes delivered (writes: accepted by memory or the peer; reads: completion data received).
        public var bytes: Int
        /// TLPs issued by the requester (MWr or MRd; ATS translation requests not included).
        public var requestTLPs: Int
        /// Requests (with their bytes) that were blocked somewhere (see ``TransportResult/blocked``).
        public var blockedTLPs: Int
        public var blockedBytes: Int
        /// When the last byte was delivered or blocked; nil when the run stopped first.
        public var completionTime: Picoseconds?
        /// When the first and last payload byte arrived.
        public var firstDelivery: Picoseconds?
        public var lastDelivery: Picoseconds?
        /// Bytes that arrived in the first delivery (excluded from the steady-state rate).
        var firstDeliveryBytes: Int
        /// Per request TLP: writes from issue to delivery, reads from MRd issue to its last completion.
        public var latency: LatencyHistogram
        /// ATS: ATC lookups (one per page the engine moves to), hits, translation requests sent.
        public var atcLookups: Int
        public var atcHits: Int
        public var translationRequests: Int
        /// What limits the flow: the busiest shared resource on its path when it ran at (nearly) full use (a link
        /// direction, a root-complex cap, a socket link, an IOMMU's page walkers), else the mechanism that held it
        /// back (outstanding reads, the DMA engine's issue rate, a queue depth); nil when nothing did (latency).
        public var limitedBy: String? = nil

        /// Bytes over (completion − start).
        public var throughput: DataRate {
            guard let end = completionTime, end > flow.start else { return DataRate(bytesPerSecond: 0) }
            return DataRate(bytesPerSecond: Double(bytes) / (Double(end - flow.start) * 1e-12))
        }

        /// The delivery rate between the first and the last delivery: start-up latency excluded.
        public var steadyStateThroughput: DataRate {
            guard let a = firstDelivery, let b = lastDelivery, b > a else { return DataRate(bytesPerSecond: 0) }
            return DataRate(bytesPerSecond: Double(bytes - firstDeliveryBytes) / (Double(b - a) * 1e-12))
        }
    }

    /// One direction of one link.
    public struct LinkDirection: Sendable {
        /// `A -> rc0.rp0` (upstream) or `rc0.rp0 -> A` (downstream).
        public var name: String
        /// The function whose upstream link this is, and whether this is its upstream direction.
        public var function: Int
        public var isUpstream: Bool
        public var generation: LinkGeneration
        public var width: Int
        public var tlps: Int
        public var payloadBytes: Int
        /// TLP bytes on the wire (framing, header, digest, payload).
        public var wireBytes: Int
        public var dllps: Int
        public var skpOrderedSets: Int
        /// Time the direction was transmitting anything (TLPs, DLLPs charged to it, SKP ordered sets).
        public var busyTime: Picoseconds
        /// Time it had TLPs waiting and was idle for lack of the receiver's credits.
        public var creditStallTime: Picoseconds
        /// busy time / run time.
        public var utilization: Double
        /// Output queue in front of it (TLPs waiting to be sent): time average and maximum.
        public var meanQueueTLPs: Double
        public var maxQueueTLPs: Int
        /// Payload rate over the run.
        public var payloadRate: DataRate
    }

    /// A shared resource the model accounts like a link (rate servers: root-complex P2P and DMA caps, socket links,
    /// switch-chip fabrics, peer write ingress; IOMMU page walkers).
    public struct SharedResource: Sendable {
        public var name: String
        public var busyTime: Picoseconds
        /// busy time / run time (for page walkers: walk time / (walkers x run time)).
        public var utilization: Double
        /// Payload rate through it over the run (0 for page walkers).
        public var payloadRate: DataRate
    }

    /// A blocked TLP recorded in full.
    public struct BlockedTLP: Sendable, Hashable {
        public var time: Picoseconds
        public var flow: Int
        public var kind: TLPKind
        public var address: UInt64
        public var location: HopLocation
        public var reason: BlockReason
    }

    /// Blocked TLPs counted per place and reason.
    public struct BlockCount: Sendable, Hashable {
        public var location: HopLocation
        public var reason: BlockReason
        public var count: Int
    }

    public struct IOMMUStatistics: Sendable, Hashable {
        public var name: String
        public var lookups: Int
        public var hits: Int
        public var walks: Int
        public var faults: Int
        /// Most walks in flight at once.
        public var maxWalksInFlight: Int
        public var hitRate: Double { lookups == 0 ? 1 : Double(hits) / Double(lookups) }
    }

    public var flows: [Flow]
    public var links: [LinkDirection]
    /// The first ``TransportParameters/blockedRecordLimit`` blocked TLPs.
    public var blocked: [BlockedTLP]
    public var blockCounts: [BlockCount]
    public var iommus: [IOMMUStatistics]
    /// Simulated time at the end of the run.
    public var endTime: Picoseconds
    public var eventsHandled: Int
    /// Largest number of TLPs alive at once (the model's storage; it does not grow with transfer size).
    public var peakTLPsInFlight: Int
    /// True when every flow completed.
    public var isComplete: Bool
    /// The shared resources that are not links (root-complex caps, socket links, page walkers, ...).
    public var shared: [SharedResource] = []

    /// The result for a link direction by name (`"A -> rc0.rp0"`).
    public func link(_ name: String) -> LinkDirection? { links.first { $0.name == name } }
}
