// The interface every pending-event queue of the engine implements.

/// A priority queue of pending events keyed by integer simulated time, earliest first.
///
/// Events with equal times come out in the order they were pushed (FIFO), so a run is
/// deterministic and independent of the queue chosen. Queues may rely on the discrete-event
/// discipline that ``SimulationEngine`` guarantees: a pushed time is never earlier than the time of
/// the last event popped (the clock never goes back). Pushing earlier is a precondition failure.
///
/// Conformers are concrete value types, used as a generic parameter of ``SimulationEngine`` so that
/// the hot loop is specialized (no existential calls, no allocation per event once the storage has
/// grown to the working-set size).
public protocol EventQueue<Event> {
    /// The payload carried with each scheduled time.
    associatedtype Event

    /// An empty queue.
    init()

    /// The number of pending events.
    var count: Int { get }

    /// The time of the earliest pending event, or `nil` when the queue is empty.
    var firstTime: Picoseconds? { get }

    /// Adds `event` at `time`. Requires `time` not earlier than the last popped time.
    mutating func push(_ event: Event, at time: Picoseconds)

    /// Removes and returns the earliest event if its time is at or before `deadline`; otherwise
    /// returns `nil` and leaves the queue unchanged.
    mutating func popFirst(notAfter deadline: Picoseconds) -> (time: Picoseconds, event: Event)?

    /// Removes every pending event, keeping the storage, and forgets the last popped time.
    mutating func removeAll()
}

extension EventQueue {
    /// `true` when no event is pending.
    @inlinable
    public var isEmpty: Bool { count == 0 }

    /// Removes and returns the earliest event, or `nil` when the queue is empty.
    @inlinable
    public mutating func popFirst() -> (time: Picoseconds, event: Event)? {
        popFirst(notAfter: .max)
    }
}
