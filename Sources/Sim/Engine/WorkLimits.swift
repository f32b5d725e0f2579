// The work budget of one run (issue #19): a small input must not buy unbounded work.

/// How much work one run may do: simulated events and simulated time per discrete-event run, phases per
/// workload, flows (DMA operations) per phase, lines of a trace. The defaults sit far above what any shipped
/// scenario, plan, suite or trace needs (docs/SECURITY.md gives the measured figures), so a normal run never meets
/// them; `simrun` flags raise them. Past a limit a run stops with a message naming the input and the flag.
public struct WorkLimits: Sendable, Hashable {
    /// Events one discrete-event run (one phase) may handle. Every TLP costs at least one event.
    public var maxEvents: Int
    /// Simulated time one run may reach.
    public var maxSimulatedTime: Picoseconds
    /// Phases one workload may have.
    public var maxPhases: Int
    /// DMA operations (flows) one phase may have, `count` copies included.
    public var maxFlows: Int
    /// Lines a trace capture may have.
    public var maxTraceLines: Int

    public init(maxEvents: Int = 1_000_000_000, maxSimulatedTime: Picoseconds = 3_600 * 1_000_000_000_000,
                maxPhases: Int = 100_000, maxFlows: Int = 100_000, maxTraceLines: Int = 5_000_000) {
        self.maxEvents = maxEvents
        self.maxSimulatedTime = maxSimulatedTime
        self.maxPhases = maxPhases
        self.maxFlows = maxFlows
        self.maxTraceLines = maxTraceLines
    }

    public static let `default` = WorkLimits()

    /// The fewest TLPs that move `bytes`: a TLP carries at most 4096 bytes of payload (Max_Payload_Size and
    /// Max_Read_Request_Size top out at 4096, PCIe Base §7.5.3.4), so a real run needs at least this many events.
    public static func minimumTLPs(bytes: Int) -> Int { bytes / 4096 + (bytes % 4096 == 0 ? 0 : 1) }

    /// A time limit as messages and flags write it: `3600s`, or `ns`/`ps` when not whole seconds.
    public static func describe(time: Picoseconds) -> String {
        time % 1_000_000_000_000 == 0 ? "\(time / 1_000_000_000_000)s" : Duration.format(time)
    }
}
