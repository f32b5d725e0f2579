// A d-ary implicit min-heap of events ordered by (time, insertion sequence).

/// The branching factor of a ``HeapEventQueue``, fixed at compile time so the sift loops are
/// specialized for it.
public protocol HeapArity {
    /// Children per node (at least 2).
    static var children: Int { get }
}

/// Two children per node: the classic binary heap (Williams 1964), as `std::priority_queue`.
public enum BinaryArity: HeapArity {
    @inlinable public static var children: Int { 2 }
}

/// Four children per node: half the depth of a binary heap, and a node's children share one or
/// two cache lines (LaMarca & Ladner 1996, "The influence of caches on the performance of heaps").
public enum QuaternaryArity: HeapArity {
    @inlinable public static var children: Int { 4 }
}

/// A binary-heap event queue.
public typealias BinaryHeapEventQueue<Event> = HeapEventQueue<Event, BinaryArity>
/// A 4-ary-heap event queue.
public typealias QuaternaryHeapEventQueue<Event> = HeapEventQueue<Event, QuaternaryArity>

/// An implicit d-ary min-heap (Johnson 1975) over `(time, sequence)`, where `sequence` counts pushes,
/// so events with equal times leave in push order.
///
/// `push` and `popFirst` are O(log_d n) comparisons of two integers; elements live in one
/// `ContiguousArray` that grows to the largest pending count and is then reused. Elements are moved
/// into a hole rather than swapped, and removal is bottom-up (as libstdc++'s `pop_heap`). Unlike
/// ``RadixEventQueue`` it accepts any push order: the monotone-time precondition of ``EventQueue``
/// is not needed here. Slower than ``RadixEventQueue`` from about 1,000 pending events on
/// (docs/PERFORMANCE.md); kept as the reference the radix queue is tested against.
///
/// ```swift
/// var q = QuaternaryHeapEventQueue<String>()
/// q.push("b", at: 20)
/// q.push("a", at: 10)
/// q.popFirst()  // (time: 10, event: "a")
/// ```
public struct HeapEventQueue<Event, Arity: HeapArity>: EventQueue {
    @usableFromInline
    struct Entry {
        @usableFromInline var time: Picoseconds
        @usableFromInline var sequence: UInt64
        @usableFromInline var event: Event

        @inlinable
        init(time: Picoseconds, sequence: UInt64, event: Event) {
            self.time = time
            self.sequence = sequence
            self.event = event
        }

        /// Earlier time first; equal times in push order.
        @inlinable @inline(__always)
        func precedes(_ other: Entry) -> Bool {
            time < other.time || (time == other.time && sequence < other.sequence)
        }
    }

    @usableFromInline var storage: ContiguousArray<Entry>
    @usableFromInline var nextSequence: UInt64

    @inlinable
    public init() {
        storage = []
        nextSequence = 0
    }

    /// An empty queue with room for `capacity` pending events before it grows.
    @inlinable
    public init(minimumCapacity capacity: Int) {
        self.init()
        storage.reserveCapacity(capacity)
    }

    @inlinable
    public var count: Int { storage.count }

    @inlinable
    public var firstTime: Picoseconds? { storage.first?.time }

    @inlinable
    public mutating func push(_ event: Event, at time: Picoseconds) {
        let entry = Entry(time: time, sequence: nextSequence, event: event)
        nextSequence &+= 1
        storage.append(entry)
        storage.withUnsafeMutableBufferPointer { heap in
            var hole = heap.count - 1
            while hole > 0 {
                let parent = (hole - 1) / Arity.children
                guard entry.precedes(heap[parent]) else { break }
                heap[hole] = heap[parent]
                hole = parent
            }
            heap[hole] = entry
        }
    }

    @inlinable
    public mutating func popFirst(notAfter deadline: Picoseconds) -> (time: Picoseconds, event: Event)? {
        guard let first = storage.first, first.time <= deadline else { return nil }
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage.withUnsafeMutableBufferPointer { heap in
                // Bottom-up (Wegener 1993): move the hole down to a leaf along the smallest children
                // without comparing with `last`, which usually belongs near the bottom, then sift
                // `last` up from there; d - 1 comparisons per level instead of d.
                let n = heap.count
                var hole = 0
                while true {
                    let firstChild = hole &* Arity.children &+ 1
                    if firstChild >= n { break }
                    var best = firstChild
                    var child = firstChild &+ 1
                    let end = Swift.min(firstChild &+ Arity.children, n)
                    while child < end {
                        if heap[child].precedes(heap[best]) { best = child }
                        child &+= 1
                    }
                    heap[hole] = heap[best]
                    hole = best
                }
                while hole > 0 {
                    let parent = (hole &- 1) / Arity.children
                    guard last.precedes(heap[parent]) else { break }
                    heap[hole] = heap[parent]
                    hole = parent
                }
                heap[hole] = last
            }
        }
        return (first.time, first.event)
    }

    @inlinable
    public mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        nextSequence = 0
    }
}

extension HeapEventQueue: Sendable where Event: Sendable {}
extension HeapEventQueue.Entry: Sendable where Event: Sendable {}
