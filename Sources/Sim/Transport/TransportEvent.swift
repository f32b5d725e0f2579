// The events the transport model puts on the engine: small values naming dense integer ids.

/// An event of the transport model. Each case names one entity by its dense index (a flow, a link direction, a
/// TLP slot, a rate server, a page walker), so the payload stays 5 bytes and nothing is allocated per event.
public enum TransportEvent: Sendable, Hashable {
    /// A flow's start time: its DMA engine begins issuing.
    case flowStart(Int32)
    /// A flow may issue again (its engine's issue-rate cap delayed it).
    case issue(Int32)
    /// A link direction finished sending its current TLP.
    case transmitted(Int32)
    /// A TLP reaches its next step (after link flight, cut-through or a fixed delay).
    case arrive(Int32)
    /// A link direction's Ack/UpdateFC coalescing timer.
    case flowControlTick(Int32)
    /// The UpdateFC DLLP of a link direction reaches its transmitter: credits return.
    case creditUpdate(Int32)
    /// A rate server (root complex cap, inter-socket link) finished its current TLP.
    case serverDone(Int32)
    /// An IOMMU page walker finished its walk.
    case walkDone(Int32)
}
