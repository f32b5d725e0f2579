// Latencies in picoseconds in an HdrHistogram (two significant digits), with quantiles as HdrHistogram reports them.
import Histogram

/// Latencies in HdrHistogram's sub-bucketed log-linear layout (G. Tene; the `hdrhistogram-swift` package): with two
/// significant digits each power of two is split into 128 sub-buckets (256 below the first octave), so every
/// recorded value is kept within 1/128 (0.78 %) of itself. Quantiles are HdrHistogram's `valueAtPercentile`: the
/// highest value equivalent to the bucket holding the rank (never below the true value, at most 0.78 % above it),
/// clamped to the exact minimum and maximum, so p0 and p100 are exact and p50, p99 and max differ whenever the
/// data do by more than the precision. The counts array grows with the largest value recorded (auto-resize), so a
/// flow of microsecond latencies holds about 2,000 counters; recording allocates only when a new maximum needs
/// more buckets.
///
/// Replaces a 1/8-octave histogram whose quantiles were bucket lower bounds (up to 12.5 % low; issue #18).
public struct LatencyHistogram: Sendable, Equatable {
    /// Decimal digits every recorded value keeps (HdrHistogram's `numberOfSignificantValueDigits`).
    public static let significantDigits = 2

    var histogram: Histogram<UInt64>
    public private(set) var count: Int = 0
    public private(set) var min: Picoseconds = .max
    public private(set) var max: Picoseconds = 0
    /// Sum of all samples, for the mean (exact).
    public private(set) var total: Double = 0

    public init() { histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .two) }

    public mutating func record(_ value: Picoseconds) {
        let v = Swift.max(0, value)
        histogram.record(UInt64(v))
        count += 1
        total += Double(v)
        if v < min { min = v }
        if v > max { max = v }
    }

    public mutating func merge(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        histogram.add(other.histogram)
        count += other.count
        total += other.total
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    public var mean: Picoseconds { count == 0 ? 0 : Picoseconds((total / Double(count)).rounded()) }

    /// The value at quantile `q` (0...1), as HdrHistogram reports it: the highest value equivalent to the one at
    /// rank ⌈q·count⌉, clamped to the exact minimum and maximum.
    public func value(atQuantile q: Double) -> Picoseconds {
        guard count > 0 else { return 0 }
        if q <= 0 { return min }
        if q >= 1 { return max }
        let v = Picoseconds(histogram.valueAtPercentile(q * 100))
        return Swift.min(Swift.max(v, min), max)
    }

    /// Sub-buckets per octave of `buckets` (1/8 octave: 12.5 % wide bars, enough for a chart).
    static let chartSubBuckets = 8

    /// The index of `value` in the chart's 1/8-octave layout.
    static func chartIndex(_ value: Picoseconds) -> Int {
        let v = UInt64(Swift.max(0, value))
        if v < UInt64(chartSubBuckets) { return Int(v) }
        let octave = 63 - v.leadingZeroBitCount
        let shift = octave - 3
        return (shift + 1) * chartSubBuckets + (Int(v >> UInt64(shift)) & (chartSubBuckets - 1))
    }

    /// The smallest value of chart bucket `i`.
    static func chartLowerBound(_ i: Int) -> Picoseconds {
        if i < chartSubBuckets { return Picoseconds(i) }
        let shift = i / chartSubBuckets - 1
        return Picoseconds((chartSubBuckets + i % chartSubBuckets) << shift)
    }

    /// Non-empty 1/8-octave buckets as (lower bound, count), for a report's histogram chart (the quantiles above
    /// keep two significant digits; a chart does not need them).
    public var buckets: [(lowerBound: Picoseconds, count: Int)] {
        var counts: [Int: Int] = [:]
        for v in histogram.recordedValues() {
            counts[Self.chartIndex(Picoseconds(histogram.lowestEquivalentForValue(v.value))), default: 0] += Int(v.count)
        }
        return counts.keys.sorted().map { (Self.chartLowerBound($0), counts[$0]!) }
    }

    public static func == (a: LatencyHistogram, b: LatencyHistogram) -> Bool {
        guard a.count == b.count, a.min == b.min, a.max == b.max, a.total == b.total else { return false }
        return Array(a.histogram.recordedValues().map { ($0.value, $0.count) }).elementsEqual(Array(b.histogram.recordedValues().map { ($0.value, $0.count) }), by: ==)
    }
}
