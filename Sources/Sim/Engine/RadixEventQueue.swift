// A radix heap of events with 16-way digits: a monotone priority queue for integer times.

/// A radix heap (Ahuja, Mehlhorn, Orlin & Tarjan 1990, "Faster algorithms for the shortest path
/// problem", J. ACM 37(2), doi:10.1145/77600.77615) with one level per 4-bit digit of the time, i.e.
/// the multi-level bucket structure of Denardo & Fox (1979) as studied by Cherkassky, Goldberg &
/// Silverstein (1999, "Buckets, heaps, lists, and monotone priority queues", SIAM J. Comput. 28(4),
/// doi:10.1137/S0097539796313490).
///
/// It exploits the discrete-event discipline: every pushed time is at or after the time of the last
/// popped event, `last`. An event whose time first differs from `last` in digit *L* lives in bucket
/// (*L*, value of that digit); events equal to `last` wait in a FIFO `ready` bucket. Popping takes
/// from `ready`; when it is empty, the lowest non-empty bucket (found with a bitmap) is emptied:
/// `last` becomes its minimum (tracked per bucket, so no search) and its events move to `ready` and
/// to buckets of lower levels. At level 0 all events of a bucket have the same time, so the bucket
/// is swapped with `ready` without moving anything. An event moves at most once per level (16); in
/// the hold model (10,000 pending, exponential increments with mean 1 us) it is written about 5
/// times, its push included. Push and pop are O(log C) amortized for a spread C of pending times
/// (independent of the number pending) and touch memory sequentially.
///
/// Equal times leave in push order without a sequence number: an event's bucket depends only on its
/// time and `last`, so events with equal times always share a bucket; a push appends to its bucket,
/// and emptying a bucket scans it in order into buckets that were empty, so every bucket keeps
/// equal-time events in push order.
///
/// Pushing a time earlier than the last popped one is a precondition failure; ``SimulationEngine``
/// never does (its clock never goes back). `popFirst(notAfter:)` never moves `last` past the
/// deadline, so after a run stops at a deadline, events can still be scheduled between the deadline
/// and the next pending event.
///
/// Storage: 257 growable buckets in one manually managed block, copy-on-write like `Array`. Bucket
/// buffers keep their capacity, so once they have grown to the working set a push or pop allocates
/// nothing. Events are moved, never copied, between buckets. The digit width was chosen by the hold
/// model (docs/PERFORMANCE.md): 1-, 2- and 8-bit digits measured slower at 10,000 pending.
public struct RadixEventQueue<Event>: EventQueue {
    @usableFromInline typealias Entry = RadixBucketEntry<Event>
    @usableFromInline typealias Bucket = RadixBucket<Event>
    @usableFromInline typealias Layout = RadixLayout

    /// Owns the buckets and the occupancy bitmap; the two pointers below are the same memory, read
    /// without going through the class (so without dynamic exclusivity checks).
    @usableFromInline var storage: RadixStorage<Event>
    /// Bucket `L << digitBits | d` holds events whose time first differs from `last` in digit L and
    /// has value d there; the last bucket is `ready` (time equal to `last`).
    @usableFromInline var buckets: UnsafeMutablePointer<Bucket>
    /// Bit i of word w set when bucket `w * 64 + i` is non-empty.
    @usableFromInline var occupancy: UnsafeMutablePointer<UInt64>
    /// Bit w set when occupancy word w may be non-zero; cleared lazily by the search, so emptying a
    /// bucket does not read back the bitmap word it has just written.
    @usableFromInline var occupiedWords: UInt64
    /// The key of the last popped event: a lower bound of every pending key.
    @usableFromInline var last: UInt64
    @usableFromInline var pending: Int

    @inlinable
    public init() {
        storage = RadixStorage()
        buckets = storage.buckets
        occupancy = storage.occupancy
        occupiedWords = 0
        last = 0
        pending = 0
    }

    /// The time with its sign bit flipped, so unsigned order is time order.
    @inlinable @inline(__always)
    static func key(_ time: Picoseconds) -> UInt64 { UInt64(bitPattern: time) ^ (1 << 63) }

    @inlinable @inline(__always)
    static func time(_ key: UInt64) -> Picoseconds { Picoseconds(bitPattern: key ^ (1 << 63)) }

    @inlinable
    public var count: Int { pending }

    @inlinable
    public var firstTime: Picoseconds? {
        if !buckets[Layout.readyIndex].isEmpty { return Self.time(last) }
        var words = occupiedWords
        while words != 0 {
            let word = words.trailingZeroBitCount
            if occupancy[word] != 0 {
                return Self.time(buckets[word &* 64 &+ occupancy[word].trailingZeroBitCount].minimum)
            }
            words &= words &- 1
        }
        return nil
    }

    /// The index of the lowest non-empty bucket, or `nil` when all are empty; clears the summary
    /// bits of the empty words it passes.
    @inlinable @inline(__always)
    mutating func lowestOccupiedBucket() -> Int? {
        while occupiedWords != 0 {
            let word = occupiedWords.trailingZeroBitCount
            if occupancy[word] != 0 { return word &* 64 &+ occupancy[word].trailingZeroBitCount }
            occupiedWords &= occupiedWords &- 1
        }
        return nil
    }

    @inlinable @inline(__always)
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
            buckets = storage.buckets
            occupancy = storage.occupancy
        }
    }

    @inlinable
    public mutating func push(_ event: Event, at time: Picoseconds) {
        let key = Self.key(time)
        precondition(key >= last, "RadixEventQueue: pushed time \(time) is before the last popped time \(Self.time(last))")
        makeUnique()
        pending &+= 1
        if key == last {
            buckets[Layout.readyIndex].append(Entry(key: key, event: event))
        } else {
            file(Entry(key: key, event: event))
        }
    }

    /// Appends `entry` (key > `last`) to the bucket of the first digit in which it differs from `last`.
    @inlinable @inline(__always)
    mutating func file(_ entry: __owned Entry) {
        let level = (63 &- (entry.key ^ last).leadingZeroBitCount) / Layout.digitBits
        let digit = Int(truncatingIfNeeded: entry.key >> UInt64(level &* Layout.digitBits)) & (Layout.digitsPerLevel &- 1)
        let index = level &* Layout.digitsPerLevel &+ digit
        buckets[index].minimum = Swift.min(buckets[index].minimum, entry.key)
        buckets[index].append(entry)
        occupancy[index >> 6] |= 1 &<< UInt64(index & 63)
        occupiedWords |= 1 &<< UInt64(index >> 6)
    }

    @inlinable
    public mutating func popFirst(notAfter deadline: Picoseconds) -> (time: Picoseconds, event: Event)? {
        if buckets[Layout.readyIndex].isEmpty {
            guard let index = lowestOccupiedBucket(), buckets[index].minimum <= Self.key(deadline) else { return nil }
            makeUnique()
            return refill(from: index)
        }
        guard last <= Self.key(deadline) else { return nil }
        makeUnique()
        pending &-= 1
        return (Self.time(last), buckets[Layout.readyIndex].removeFirst().event)
    }

    /// With `ready` empty: advances `last` to the minimum of bucket `index` (the lowest non-empty
    /// one), empties that bucket into `ready` and lower levels and pops the first event of `ready`.
    @inlinable
    mutating func refill(from index: Int) -> (time: Picoseconds, event: Event) {
        last = buckets[index].minimum
        buckets[index].minimum = .max
        occupancy[index >> 6] &= ~(1 &<< UInt64(index & 63))
        pending &-= 1
        if index < Layout.digitsPerLevel {
            // Every event of a level-0 bucket has time `last`: it becomes `ready` as it is.
            swap(&buckets[index], &buckets[Layout.readyIndex])
            return (Self.time(last), buckets[Layout.readyIndex].removeFirst().event)
        }
        let n = buckets[index].count
        let entries = buckets[index].base.unsafelyUnwrapped
        buckets[index].count = 0
        // The first entry with the minimum key is the earliest pushed: it is the result. `ready` and
        // the lower levels are empty and distinct from this bucket, so appending to them while moving
        // out of it never aliases.
        var i = 0
        while entries[i].key != last {
            file((entries + i).move())
            i &+= 1
        }
        let first = (entries + i).move()
        i &+= 1
        while i < n {
            let entry = (entries + i).move()
            if entry.key == last {
                buckets[Layout.readyIndex].append(entry)
            } else {
                file(entry)
            }
            i &+= 1
        }
        return (Self.time(last), first.event)
    }

    @inlinable
    public mutating func removeAll() {
        makeUnique()
        storage.removeAllEntries()
        occupiedWords = 0
        last = 0
        pending = 0
    }
}

extension RadixEventQueue: @unchecked Sendable where Event: Sendable {}

/// The shape of a ``RadixEventQueue``: the width of a digit fixes the number of levels and buckets.
@usableFromInline
enum RadixLayout {
    /// Bits per digit (a power of two).
    @inlinable static var digitBits: Int { 4 }
    @inlinable static var digitsPerLevel: Int { 1 << digitBits }
    @inlinable static var levels: Int { 64 / digitBits }
    /// Every (level, digit) bucket, then `ready`.
    @inlinable static var bucketCount: Int { levels * digitsPerLevel + 1 }
    @inlinable static var readyIndex: Int { levels * digitsPerLevel }
    @inlinable static var occupancyWords: Int { (levels * digitsPerLevel + 63) / 64 }
}

/// One pending event of a ``RadixEventQueue``.
@usableFromInline
struct RadixBucketEntry<Event> {
    /// The time with its sign bit flipped, so unsigned order is time order.
    @usableFromInline var key: UInt64
    @usableFromInline var event: Event

    @inlinable
    init(key: UInt64, event: Event) {
        self.key = key
        self.event = event
    }
}

/// A growable FIFO buffer of entries; `base[head..<count]` are initialized. Only `ready` is popped
/// from the front; the other buckets are emptied whole, so their head stays 0.
@usableFromInline
struct RadixBucket<Event> {
    @usableFromInline var base: UnsafeMutablePointer<RadixBucketEntry<Event>>?
    @usableFromInline var head: Int
    @usableFromInline var count: Int
    @usableFromInline var capacity: Int
    /// The smallest key in the bucket (`UInt64.max` when empty).
    @usableFromInline var minimum: UInt64

    @inlinable
    init() {
        base = nil
        head = 0
        count = 0
        capacity = 0
        minimum = .max
    }

    @inlinable
    var isEmpty: Bool { head == count }

    /// Moves out the first entry; the bucket must not be empty.
    @inlinable @inline(__always)
    mutating func removeFirst() -> RadixBucketEntry<Event> {
        let entry = (base.unsafelyUnwrapped + head).move()
        head &+= 1
        if head == count {
            head = 0
            count = 0
        }
        return entry
    }

    @inlinable @inline(__always)
    mutating func append(_ entry: __owned RadixBucketEntry<Event>) {
        if count == capacity { grow() }
        (base.unsafelyUnwrapped + count).initialize(to: entry)
        count &+= 1
    }

    @inlinable @inline(never)
    mutating func grow() {
        let newCapacity = Swift.max(8, capacity &* 2)
        let newBase = UnsafeMutablePointer<RadixBucketEntry<Event>>.allocate(capacity: newCapacity)
        if let base {
            (newBase + head).moveInitialize(from: base + head, count: count &- head)
            base.deallocate()
        }
        base = newBase
        capacity = newCapacity
    }
}

/// Owner of the buckets and occupancy bitmap of a ``RadixEventQueue``: frees them, and copies them
/// when a shared queue is about to be mutated.
@usableFromInline
final class RadixStorage<Event> {
    @usableFromInline typealias Layout = RadixLayout

    @usableFromInline let buckets: UnsafeMutablePointer<RadixBucket<Event>>
    @usableFromInline let occupancy: UnsafeMutablePointer<UInt64>

    @inlinable
    init() {
        buckets = .allocate(capacity: Layout.bucketCount)
        buckets.initialize(repeating: RadixBucket(), count: Layout.bucketCount)
        occupancy = .allocate(capacity: Layout.occupancyWords)
        occupancy.initialize(repeating: 0, count: Layout.occupancyWords)
    }

    @inlinable
    func copy() -> RadixStorage<Event> {
        let clone = RadixStorage()
        clone.occupancy.update(from: occupancy, count: Layout.occupancyWords)
        for k in 0..<Layout.bucketCount where !buckets[k].isEmpty {
            let bucket = buckets[k]
            let base = UnsafeMutablePointer<RadixBucketEntry<Event>>.allocate(capacity: bucket.count)
            (base + bucket.head).initialize(from: bucket.base.unsafelyUnwrapped + bucket.head, count: bucket.count - bucket.head)
            clone.buckets[k] = bucket
            clone.buckets[k].base = base
            clone.buckets[k].capacity = bucket.count
        }
        return clone
    }

    @inlinable
    func removeAllEntries() {
        for k in 0..<Layout.bucketCount where !buckets[k].isEmpty {
            let bucket = buckets[k]
            (bucket.base.unsafelyUnwrapped + bucket.head).deinitialize(count: bucket.count - bucket.head)
            buckets[k].head = 0
            buckets[k].count = 0
            buckets[k].minimum = .max
        }
        occupancy.update(repeating: 0, count: Layout.occupancyWords)
    }

    @inlinable
    deinit {
        removeAllEntries()
        for k in 0..<Layout.bucketCount { buckets[k].base?.deallocate() }
        buckets.deallocate()
        occupancy.deallocate()
    }
}
