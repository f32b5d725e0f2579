// The discrete-event core: a virtual clock, a queue of pending events and a run loop.

/// The engine the models use: events of type `Event` on the default queue (``RadixEventQueue``,
/// chosen by the hold-model measurement in docs/PERFORMANCE.md).
///
/// ```swift
/// enum Ping { case send(Int), receive(Int) }
/// var sim = Simulator<Ping>(seed: 7)
/// try sim.schedule(.send(1), at: 0)
/// try sim.run(until: 1_000_000) { sim, event in
///     if case .send(let n) = event { try sim.schedule(.receive(n), after: 150_000) }
/// }
/// ```
public typealias Simulator<Event> = SimulationEngine<RadixEventQueue<Event>>

/// A discrete-event simulator generic over its event queue (and through it over the event payload,
/// a value type the models define, typically an enum). It knows nothing of PCIe.
///
/// - Time is integer ``Picoseconds`` from 0; the clock (``now``) is the time of the event being
///   handled and never goes back.
/// - Events at equal times are handled in the order they were scheduled (FIFO).
/// - Scheduling before ``now`` throws ``SchedulingError`` and schedules nothing. Throwing rather
///   than clamping is deliberate: an event in the past is a model bug (a negative latency, an
///   overflowed sum), and clamping would hide it while silently reordering events; a trap would take
///   the whole run (and a regression suite) down without saying which model asked.
/// - ``random`` is the run's only random source, seeded once, so a seed replays a run exactly.
///
/// Per event the loop does one pop, one call of the handler and whatever pushes the handler makes;
/// none allocates once the queue's storage has grown to the working set. The run loop is
/// `@inlinable` and the handler a non-escaping closure, so a caller's loop is specialized for its
/// queue and event type and the handler is inlined.
public struct SimulationEngine<Queue: EventQueue> {
    public typealias Event = Queue.Event

    @usableFromInline var queue: Queue
    @usableFromInline var clock: Picoseconds
    @usableFromInline var handled: Int
    @usableFromInline var stopRequested: Bool

    /// The run's random source; draw from it in handlers (`sim.random.nextExponential()`).
    public var random: Xoshiro256StarStar

    /// An engine at time 0 with no pending event, its random source seeded with `seed`.
    @inlinable
    public init(seed: UInt64) {
        queue = Queue()
        clock = 0
        handled = 0
        stopRequested = false
        random = Xoshiro256StarStar(seed: seed)
    }

    /// The current simulated time: the time of the event being (or last) handled, or the deadline of
    /// the last run that reached it.
    @inlinable
    public var now: Picoseconds { clock }

    /// Events handled since the engine was created, over all runs.
    @inlinable
    public var eventsHandled: Int { handled }

    /// Events scheduled and not yet handled.
    @inlinable
    public var pendingCount: Int { queue.count }

    /// The time of the next pending event, or `nil` when none is pending.
    @inlinable
    public var nextEventTime: Picoseconds? { queue.firstTime }

    /// Schedules `event` at absolute time `time`, which must not be before ``now``.
    @inlinable
    public mutating func schedule(_ event: Event, at time: Picoseconds) throws(SchedulingError) {
        guard time >= clock else { throw SchedulingError(now: clock, requested: time) }
        queue.push(event, at: time)
    }

    /// Schedules `event` `delay` picoseconds after ``now``; `delay` must not be negative (zero
    /// schedules after every event already pending at ``now``).
    @inlinable
    public mutating func schedule(_ event: Event, after delay: Picoseconds) throws(SchedulingError) {
        let (time, overflow) = clock.addingReportingOverflow(delay)
        guard delay >= 0, !overflow else { throw SchedulingError(now: clock, requested: overflow ? .max : time, delay: delay) }
        queue.push(event, at: time)
    }

    /// Asks the current run to return after the handler in progress; pending events stay pending.
    @inlinable
    public mutating func stop() { stopRequested = true }

    /// Handles events in time order until one of the limits is reached.
    ///
    /// - Parameters:
    ///   - deadline: handle events at or before this time. When no such event remains the clock
    ///     advances to `deadline` (as SimPy's `run(until:)`), so the next run continues from there;
    ///     a deadline before ``now`` handles nothing and leaves the clock alone. `nil`: no time limit.
    ///   - maxEvents: handle at most this many events in this call. `nil`: no limit.
    ///   - handle: called with the engine (to read ``now``, schedule, draw random numbers, stop) and
    ///     each event, with ``now`` set to the event's time. An error it throws ends the run at once
    ///     and is rethrown; the event that threw counts as handled.
    /// - Returns: why the run stopped.
    @inlinable
    @discardableResult
    public mutating func run<Failure: Error>(
        until deadline: Picoseconds? = nil,
        maxEvents: Int? = nil,
        _ handle: (inout Self, Event) throws(Failure) -> Void
    ) throws(Failure) -> StopReason {
        stopRequested = false
        let limit = deadline ?? .max
        let budget = maxEvents ?? .max
        var count = 0
        while count < budget {
            guard let (time, event) = queue.popFirst(notAfter: limit) else {
                guard let deadline else { return .queueEmpty }
                if deadline > clock { clock = deadline }
                return .deadlineReached
            }
            clock = time
            count += 1
            handled += 1
            try handle(&self, event)
            if stopRequested { return .stopped }
        }
        return .eventLimitReached
    }

    /// Drops every pending event; the clock and the random source are unchanged.
    @inlinable
    public mutating func removeAllPending() {
        queue.removeAll()
    }
}

extension SimulationEngine: Sendable where Queue: Sendable {}

/// Why ``SimulationEngine/run(until:maxEvents:_:)`` returned.
public enum StopReason: Sendable, Hashable {
    /// No event was pending (and no deadline was given).
    case queueEmpty
    /// No event at or before the deadline remained; the clock is at the deadline.
    case deadlineReached
    /// The run handled `maxEvents` events.
    case eventLimitReached
    /// A handler called ``SimulationEngine/stop()``.
    case stopped
}

/// An event was scheduled before the current simulated time (or its time overflowed).
public struct SchedulingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The clock when the event was scheduled.
    public var now: Picoseconds
    /// The absolute time asked for (`Int64.max` when `now + delay` overflowed).
    public var requested: Picoseconds
    /// The relative delay asked for, when the event was scheduled with `after:`.
    public var delay: Picoseconds?

    @inlinable
    public init(now: Picoseconds, requested: Picoseconds, delay: Picoseconds? = nil) {
        self.now = now
        self.requested = requested
        self.delay = delay
    }

    public var description: String {
        if let delay {
            return "event scheduled with delay \(delay)ps at time \(now)ps: "
                + (delay < 0 ? "the delay is negative" : "the time overflows")
        }
        return "event scheduled at \(requested)ps, before the current time \(now)ps"
    }
}
