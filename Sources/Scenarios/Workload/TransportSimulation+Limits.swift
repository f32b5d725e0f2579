// A discrete-event run under a work budget (issue #19): stops at WorkLimits' events or simulated time.
import Sim

extension ScenarioError {
    /// A work limit met.
    static func limit(_ problem: String) -> ScenarioError {
        var e = ScenarioError(problem)
        e.exceededLimit = true
        return e
    }
}

extension TransportSimulation {
    /// Events handled between two checks of the limits (and two progress reports); a few tenths of a second.
    public static let limitCheckInterval = 1 << 22

    /// Runs to completion like `run()`, in slices of events, and throws when the run needs more than
    /// `limits.maxEvents` events or reaches past `limits.maxSimulatedTime` (checked after each slice). The slices
    /// handle the same events in the same order as one call, so the result is identical to `run()` whenever no
    /// limit is met.
    public mutating func run(within limits: WorkLimits, progress: ((Int) -> Void)? = nil,
                             sliceEvents: Int = limitCheckInterval) throws -> TransportResult {
        while true {
            let before = eventsHandled
            let slice = min(max(1, sliceEvents), max(1, limits.maxEvents - before))
            let result = try run(maxEvents: slice)
            if result.endTime > limits.maxSimulatedTime {
                throw ScenarioError.limit("stopped at simulated time \(Duration.format(result.endTime)) after \(eventsHandled) events: over the "
                                          + "simulated-time limit of \(WorkLimits.describe(time: limits.maxSimulatedTime)) (raise with --max-sim-time)")
            }
            if result.isComplete || eventsHandled == before || eventsHandled - before < slice { return result }
            progress?(eventsHandled)
            if eventsHandled >= limits.maxEvents {
                throw ScenarioError.limit("stopped after \(eventsHandled) events at simulated time \(Duration.format(result.endTime)) with "
                                    + "\(result.flows.filter { $0.completionTime == nil }.count) of \(result.flows.count) flows unfinished: "
                                    + "over the limit of \(limits.maxEvents) events (raise with --max-events)")
            }
        }
    }
}
