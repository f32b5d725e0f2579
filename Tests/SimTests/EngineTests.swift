// The discrete-event engine: queue order, FIFO ties, agreement of the queues, run limits, the clock,
// and the seeded random source.

import Testing
@testable import Sim
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The engine's specification. Its helper types are nested and its helper functions file-private, so
/// other test files of this target can use the same names.
@Suite struct EngineTests {}

extension EngineTests {
    /// The event queues, so each ordering rule is checked against every implementation. Tests use
    /// them through `any EventQueue` (the engine never does).
    enum QueueKind: String, CaseIterable, CustomTestStringConvertible {
        case radix, quaternaryHeap, binaryHeap

        var testDescription: String { rawValue }

        func make<Event>(_: Event.Type) -> any EventQueue<Event> {
            switch self {
            case .radix: RadixEventQueue<Event>()
            case .quaternaryHeap: QuaternaryHeapEventQueue<Event>()
            case .binaryHeap: BinaryHeapEventQueue<Event>()
            }
        }
    }
}

/// Pops every event, in order.
fileprivate func drain<Q: EventQueue>(_ queue: inout Q) -> [(time: Picoseconds, event: Q.Event)] {
    var out: [(time: Picoseconds, event: Q.Event)] = []
    while let next = queue.popFirst() { out.append(next) }
    return out
}

// MARK: - Queue order

extension EngineTests {
    @Test(arguments: QueueKind.allCases)
    func queuePopsInTimeOrder(kind: QueueKind) {
        let times: [Picoseconds] = [50, 10, 40, 0, 30, 1_000_000_000_000, 20, 7, 1 << 40, 3]
        var queue = kind.make(Int.self)
        for (i, t) in times.enumerated() { queue.push(i, at: t) }
        #expect(queue.count == times.count)
        #expect(queue.firstTime == 0)
        #expect(drain(&queue).map(\.time) == times.sorted())
        #expect(queue.isEmpty && queue.firstTime == nil)
    }

    @Test(arguments: QueueKind.allCases)
    func equalTimesLeaveInPushOrder(kind: QueueKind) {
        // 300 events over 3 distinct times, pushed interleaved: within a time, push order must survive.
        var queue = kind.make(Int.self)
        for i in 0..<300 { queue.push(i, at: Picoseconds([700, 100, 400][i % 3])) }
        let order = drain(&queue).map(\.event)
        let expected = (0..<300).filter { $0 % 3 == 1 } + (0..<300).filter { $0 % 3 == 2 } + (0..<300).filter { $0 % 3 == 0 }
        #expect(order == expected)
    }

    @Test(arguments: QueueKind.allCases)
    func pushAtLastPoppedTimeGoesAfterPendingTies(kind: QueueKind) {
        // Pop one of three events at t = 5, then push two more at t = 5: they follow the two pending ones.
        var queue = kind.make(String.self)
        queue.push("a", at: 5)
        queue.push("b", at: 5)
        queue.push("c", at: 5)
        queue.push("z", at: 9)
        var order = [queue.popFirst()?.event]
        queue.push("d", at: 5)
        queue.push("e", at: 5)
        order += drain(&queue).map(\.event)
        #expect(order == ["a", "b", "c", "d", "e", "z"])
    }

    @Test(arguments: QueueKind.allCases)
    func popFirstNotAfterLeavesLaterEvents(kind: QueueKind) {
        var queue = kind.make(Int.self)
        queue.push(1, at: 100)
        queue.push(2, at: 300)
        #expect(queue.popFirst(notAfter: 200)?.event == 1)
        #expect(queue.popFirst(notAfter: 200) == nil)
        // A deadline must not advance the queue's idea of "now": pushing between it and the next
        // pending event is still allowed (and comes out first).
        queue.push(3, at: 250)
        #expect(queue.popFirst(notAfter: 299)?.event == 3)
        #expect(queue.count == 1 && queue.firstTime == 300)
    }

    @Test(arguments: QueueKind.allCases)
    func extremeTimes(kind: QueueKind) {
        let times: [Picoseconds] = [.max, 0, .max - 1, 1, .max, 1 << 62]
        var queue = kind.make(Int.self)
        queue.push(-1, at: .min)
        queue.push(-2, at: -5)
        #expect(drain(&queue).map(\.time) == [.min, -5])
        for (i, t) in times.enumerated() { queue.push(i, at: t) }
        #expect(drain(&queue).map(\.time) == times.sorted())
    }

    @Test(arguments: QueueKind.allCases)
    func removeAllEmptiesAndAcceptsAnyTimeAgain(kind: QueueKind) {
        var queue = kind.make(Int.self)
        for t in [10, 20, 30] as [Picoseconds] { queue.push(0, at: t) }
        _ = queue.popFirst()
        queue.removeAll()
        #expect(queue.isEmpty && queue.firstTime == nil && queue.popFirst() == nil)
        queue.push(1, at: 5)
        #expect(drain(&queue).map(\.time) == [5])
    }
}

// MARK: - The queues agree

/// A seeded random workload in discrete-event discipline: pushes at the last popped time or later
/// (many exact ties, short and very long delays), pops, and pops bounded by a deadline.
fileprivate func randomWorkload(_ kind: EngineTests.QueueKind, seed: UInt64, operations: Int) -> [String] {
    var random = Xoshiro256StarStar(seed: seed)
    var queue = kind.make(Int.self)
    var now: Picoseconds = 0
    var log: [String] = []
    for id in 0..<operations {
        switch random.next() % 10 {
        case 0...4:
            let delay: Picoseconds = switch random.next() % 4 {
            case 0: 0
            case 1: Picoseconds(random.next() % 8)
            case 2: Picoseconds(random.nextExponential() * 1e6)
            default: Picoseconds(random.next() % (1 << 50))
            }
            queue.push(id, at: now + delay)
        case 5...7:
            if let (t, e) = queue.popFirst() {
                now = t
                log.append("\(t):\(e)")
            }
        default:
            let deadline = now + Picoseconds(random.next() % 2_000_000)
            if let (t, e) = queue.popFirst(notAfter: deadline) {
                now = t
                log.append("\(t):\(e)")
            } else {
                log.append("none<=\(deadline)")
            }
        }
        if queue.firstTime.map({ $0 < now }) ?? false { log.append("firstTime before now") }
    }
    while let (t, e) = queue.popFirst() { log.append("\(t):\(e)") }
    log.append("count \(queue.count)")
    return log
}

extension EngineTests {
    @Test(arguments: [1, 2, 3, 42, 0xDEAD_BEEF] as [UInt64])
    func queuesAgreeOnRandomWorkload(seed: UInt64) {
        let reference = randomWorkload(.binaryHeap, seed: seed, operations: 20_000)
        for kind in [QueueKind.radix, .quaternaryHeap] {
            let log = randomWorkload(kind, seed: seed, operations: 20_000)
            let firstDifference = zip(log, reference).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(log == reference, "\(kind) differs from the binary heap (seed \(seed)) at entry \(firstDifference ?? -1)")
        }
    }
}

// MARK: - Radix queue storage

extension EngineTests {
    @Test func radixQueueIsCopyOnWrite() {
        var a = RadixEventQueue<Int>()
        for i in 0..<100 { a.push(i, at: Picoseconds(i % 7) * 1000) }
        _ = a.popFirst()
        var b = a
        b.push(1000, at: 3500)
        _ = b.popFirst()
        #expect(a.count == 99)
        #expect(b.count == 99)
        let fromA = drain(&a).map(\.event)
        let fromB = drain(&b).map(\.event)
        #expect(!fromA.contains(1000))
        #expect(fromB.contains(1000))
        #expect(fromA.count == 99 && fromB.count == 99)
    }
}

extension EngineTests {
    final class LifetimeCounter {
        var live = 0
    }
}

extension EngineTests {
    final class Tracked {
        let counter: LifetimeCounter
        init(_ counter: LifetimeCounter) {
            self.counter = counter
            counter.live += 1
        }
        deinit { counter.live -= 1 }
    }
}

extension EngineTests {
    @Test(arguments: QueueKind.allCases)
    func referencePayloadsAreReleasedExactlyOnce(kind: QueueKind) {
        let counter = LifetimeCounter()
        do {
            var queue = kind.make(Tracked.self)
            var random = Xoshiro256StarStar(seed: 9)
            for _ in 0..<2_000 { queue.push(Tracked(counter), at: Picoseconds(random.next() % 100_000)) }
            for _ in 0..<700 { _ = queue.popFirst() }
            #expect(counter.live == 1_300)
            var copy = queue
            copy.push(Tracked(counter), at: .max)
            #expect(counter.live == 1_301)
            queue.removeAll()
            #expect(counter.live == 1_301)  // the copy still holds them
            _ = copy.popFirst()
            #expect(counter.live == 1_300)
        }
        #expect(counter.live == 0)
    }
}

// MARK: - The engine

extension EngineTests {
    enum Step: Equatable {
        case tick(Int)
        case late
    }
}

extension EngineTests {
    @Test func simulatorHandlesEventsInOrderAndTiesFIFO() throws {
        var sim = Simulator<Step>(seed: 1)
        try sim.schedule(.tick(3), at: 300)
        try sim.schedule(.tick(1), at: 100)
        try sim.schedule(.tick(2), at: 100)
        var seen: [(Picoseconds, Step)] = []
        let reason = try sim.run { sim, event in
            seen.append((sim.now, event))
            // Zero delay: after the events already pending at this time.
            if event == .tick(1) { try sim.schedule(.late, after: 0) }
        }
        #expect(reason == .queueEmpty)
        #expect(seen.map(\.0) == [100, 100, 100, 300])
        #expect(seen.map(\.1) == [.tick(1), .tick(2), .late, .tick(3)])
        #expect(sim.eventsHandled == 4 && sim.now == 300)
    }

    @Test func schedulingInThePastThrowsAndSchedulesNothing() throws {
        var sim = Simulator<Int>(seed: 1)
        try sim.schedule(0, at: 1_000)
        sim.run { _, _ in }
        #expect(sim.now == 1_000)
        #expect(throws: SchedulingError(now: 1_000, requested: 999)) { try sim.schedule(1, at: 999) }
        #expect(throws: SchedulingError(now: 1_000, requested: 999, delay: -1)) { try sim.schedule(1, after: -1) }
        #expect(throws: SchedulingError(now: 1_000, requested: .max, delay: .max)) { try sim.schedule(1, after: .max) }
        #expect(sim.pendingCount == 0)
        try sim.schedule(2, at: 1_000)  // now itself is allowed
        #expect(sim.pendingCount == 1)
    }

    @Test func errorThrownByHandlerEndsTheRun() {
        struct Boom: Error, Equatable {}
        var sim = Simulator<Int>(seed: 1)
        for i in 0..<5 { try? sim.schedule(i, at: Picoseconds(i)) }
        #expect(throws: Boom()) {
            try sim.run { _, event in if event == 2 { throw Boom() } }
        }
        #expect(sim.eventsHandled == 3 && sim.pendingCount == 2 && sim.now == 2)
    }

    @Test func runStopsAtDeadlineAndAdvancesTheClock() throws {
        var sim = Simulator<Int>(seed: 1)
        for t in [10, 20, 30, 40] as [Picoseconds] { try sim.schedule(Int(t), at: t) }
        var handled: [Int] = []
        #expect(sim.run(until: 30) { _, e in handled.append(e) } == .deadlineReached)
        #expect(handled == [10, 20, 30])
        #expect(sim.now == 30 && sim.pendingCount == 1)

        #expect(sim.run(until: 35) { _, e in handled.append(e) } == .deadlineReached)
        #expect(sim.now == 35)  // advanced to the deadline with nothing to handle
        try sim.schedule(37, at: 37)  // between the deadline and the next event
        #expect(sim.run(until: 5) { _, e in handled.append(e) } == .deadlineReached)
        #expect(sim.now == 35)  // a deadline in the past leaves the clock alone

        #expect(sim.run(until: 100) { _, e in handled.append(e) } == .deadlineReached)
        #expect(handled == [10, 20, 30, 37, 40])
        #expect(sim.now == 100 && sim.pendingCount == 0)
    }

    @Test func runStopsAfterMaxEvents() throws {
        var sim = Simulator<Int>(seed: 1)
        try sim.schedule(0, at: 0)
        // Each event schedules the next: an endless chain, cut by the event limit.
        let reason = try sim.run(maxEvents: 1_000) { sim, n in try sim.schedule(n + 1, after: 10) }
        #expect(reason == .eventLimitReached)
        #expect(sim.eventsHandled == 1_000 && sim.now == 9_990 && sim.pendingCount == 1)
        // Both limits: whichever comes first.
        #expect(try sim.run(until: 10_100, maxEvents: 5) { sim, n in try sim.schedule(n + 1, after: 10) } == .eventLimitReached)
        #expect(sim.now == 10_040 && sim.eventsHandled == 1_005)
        #expect(try sim.run(until: 10_065, maxEvents: 5) { sim, n in try sim.schedule(n + 1, after: 10) } == .deadlineReached)
        #expect(sim.now == 10_065 && sim.eventsHandled == 1_007)
    }

    @Test func stopEndsTheRunAfterTheCurrentHandler() throws {
        var sim = Simulator<Int>(seed: 1)
        for i in 0..<10 { try sim.schedule(i, at: Picoseconds(i) * 10) }
        let reason = sim.run { sim, event in if event == 4 { sim.stop() } }
        #expect(reason == .stopped)
        #expect(sim.now == 40 && sim.eventsHandled == 5 && sim.pendingCount == 5)
        #expect(sim.run { _, _ in } == .queueEmpty)  // a new run is not stopped
        #expect(sim.eventsHandled == 10)
    }

    @Test(arguments: QueueKind.allCases)
    func clockIsMonotonicUnderRandomLoad(kind: QueueKind) {
        let (violations, handled) = switch kind {
        case .radix: monotonicRun(RadixEventQueue<Int>.self)
        case .quaternaryHeap: monotonicRun(QuaternaryHeapEventQueue<Int>.self)
        case .binaryHeap: monotonicRun(BinaryHeapEventQueue<Int>.self)
        }
        #expect(violations == 0)
        #expect(handled == 50_000)
    }
}

/// Runs a random load on an engine with queue `Q`; returns clock regressions seen and events handled.
fileprivate func monotonicRun<Q: EventQueue>(_: Q.Type) -> (Int, Int) where Q.Event == Int {
    var sim = SimulationEngine<Q>(seed: 77)
    for i in 0..<100 { try? sim.schedule(i, at: Picoseconds(sim.random.next() % 1_000_000)) }
    var last: Picoseconds = 0
    var violations = 0
    _ = try? sim.run(until: 1 << 50, maxEvents: 50_000) { sim, event in
        if sim.now < last { violations += 1 }
        last = sim.now
        let delay = sim.random.next() % 3 == 0 ? 0 : sim.random.nextExponential(mean: 1_000_000)
        try sim.schedule(event, after: delay)
    }
    return (violations, sim.eventsHandled)
}

extension EngineTests {
    @Test func seededRunsReplayExactly() throws {
        func trace(seed: UInt64) throws -> [Picoseconds] {
            var sim = Simulator<Int>(seed: seed)
            for i in 0..<10 { try sim.schedule(i, after: sim.random.nextExponential(mean: 1000)) }
            var times: [Picoseconds] = []
            try sim.run(maxEvents: 500) { sim, e in
                times.append(sim.now)
                try sim.schedule(e, after: sim.random.nextExponential(mean: 1000))
            }
            return times
        }
        #expect(try trace(seed: 5) == trace(seed: 5))
        #expect(try trace(seed: 5) != trace(seed: 6))
    }
}

// MARK: - Random source

extension EngineTests {
    @Test func splitMix64MatchesReference() {
        // Vigna's splitmix64.c with x = 0.
        var g = SplitMix64(seed: 0)
        #expect([g.next(), g.next(), g.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
    }

    @Test func xoshiro256StarStarMatchesReference() {
        // Blackman & Vigna's xoshiro256starstar.c from state {1, 2, 3, 4}.
        var g = Xoshiro256StarStar(state: (1, 2, 3, 4))
        #expect([g.next(), g.next(), g.next(), g.next()] == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
        // Seeded through splitmix64 (the reference programs chained), seed 42.
        var s = Xoshiro256StarStar(seed: 42)
        #expect([s.next(), s.next(), s.next(), s.next()]
            == [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1])
    }

    @Test func generatorIsDeterministicForASeed() {
        var a = Xoshiro256StarStar(seed: 1234)
        var b = Xoshiro256StarStar(seed: 1234)
        var c = Xoshiro256StarStar(seed: 1235)
        let sa = (0..<100).map { _ in a.next() }
        #expect(sa == (0..<100).map { _ in b.next() })
        #expect(sa != (0..<100).map { _ in c.next() })
        #expect(a == b)
    }

    @Test func unitIntervalStaysInRange() {
        var g = Xoshiro256StarStar(seed: 3)
        for _ in 0..<10_000 {
            let u = g.nextUnitInterval()
            #expect(u >= 0 && u < 1)
        }
    }

    @Test(arguments: [1, 99] as [UInt64])
    func exponentialVariatesFollowTheDistribution(seed: UInt64) {
        // Mean and variance 1, and the Kolmogorov-Smirnov distance to 1 - e^-x below the 0.1% critical
        // value (1.95 / sqrt(n)).
        var g = Xoshiro256StarStar(seed: seed)
        let n = 100_000
        var samples = (0..<n).map { _ in g.nextExponential() }
        let mean = samples.reduce(0, +) / Double(n)
        let variance = samples.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        #expect(abs(mean - 1) < 0.02, "seed \(seed): mean \(mean)")
        #expect(abs(variance - 1) < 0.05, "seed \(seed): variance \(variance)")
        #expect(samples.allSatisfy { $0 >= 0 && $0.isFinite })
        samples.sort()
        var distance = 0.0
        for (i, x) in samples.enumerated() {
            let cdf = 1 - exp(-x)
            distance = max(distance, abs(cdf - Double(i) / Double(n)), abs(cdf - Double(i + 1) / Double(n)))
        }
        #expect(distance < 1.95 / Double(n).squareRoot(), "seed \(seed): KS distance \(distance)")
        // The tail beyond r = 7.697 (layer 0 of the ziggurat) is reached: P(X > 7.697) = 4.5e-4.
        #expect(samples.last! > 7.7, "seed \(seed): largest \(samples.last!)")
    }

    @Test func zigguratTablesAreConsistent() {
        let x = ExponentialZiggurat.x, f = ExponentialZiggurat.f
        #expect(x.count == 257 && f.count == 257)
        #expect(x[1] == ExponentialZiggurat.r && x[256] == 0 && f[256] == 1)
        for i in 1..<257 { #expect(x[i] < x[i - 1] && f[i] > f[i - 1]) }
        // Every layer has the same area v: the rectangle x[i] * (f[i+1] - f[i]) for i >= 1.
        let v = 0.0039496598225815571993
        for i in 1..<256 { #expect(abs(x[i] * (f[i + 1] - f[i]) - v) < 1e-15) }
    }
}
