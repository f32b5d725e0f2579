// A fixed-size log-bucket histogram of latencies in picoseconds (HdrHistogram's layout, 8 sub-buckets per octave).

/// Latencies in log-linear buckets: values below 8 ps are exact; above, each power of two is split into 8 equal
/// sub-buckets, so a bucket's width is at most 1/8 of its lower bound (12.5 % relative precision; HdrHistogram
/// with one significant digit, G. Tene). Fixed size (64 octaves × 8 = 512 counters), no allocation per sample.
///
/// Written here rather than depending on `hdrhistogram-swift`: the model needs recording, merging and
/// percentiles only, and a dependency would be the package's first outside the command-line parser.
public struct LatencyHistogram: Sendable, Hashable {
    static let subBucketBits = 3
    static let subBuckets = 1 << subBucketBits
    static let bucketCount = 64 * subBuckets

    var counts: [Int]
    public private(set) var count: Int = 0
    public private(set) var min: Picoseconds = .max
    public private(set) var max: Picoseconds = 0
    /// Sum of all samples, for the mean (exact).
    public private(set) var total: Double = 0

    public init() { counts = [Int](repeating: 0, count: Self.bucketCount) }

    @inline(__always)
    static func index(_ value: Picoseconds) -> Int {
        let v = UInt64(Swift.max(0, value))
        if v < UInt64(subBuckets) { return Int(v) }
        let octave = 63 - v.leadingZeroBitCount          // >= subBucketBits
        let shift = octave - subBucketBits
        let sub = Int(v >> UInt64(shift)) & (subBuckets - 1)
        return (shift + 1) * subBuckets + sub
    }

    /// The smallest value that falls in bucket `i`.
    static func lowerBound(_ i: Int) -> Picoseconds {
        if i < subBuckets { return Picoseconds(i) }
        let shift = i / subBuckets - 1
        let sub = i % subBuckets
        return Picoseconds((subBuckets + sub) << shift)
    }

    public mutating func record(_ value: Picoseconds) {
        counts[Self.index(value)] += 1
        count += 1
        total += Double(value)
        if value < min { min = value }
        if value > max { max = value }
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for i in counts.indices { counts[i] += other.counts[i] }
        count += other.count
        total += other.total
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    public var mean: Picoseconds { count == 0 ? 0 : Picoseconds((total / Double(count)).rounded()) }

    /// The value at quantile `q` (0...1): the lower bound of the bucket holding it, clamped to the exact
    /// minimum and maximum (so p0 and p100 are exact).
    public func value(atQuantile q: Double) -> Picoseconds {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, Int((q * Double(count)).rounded(.up)))
        if rank >= count { return max }
        var seen = 0
        for (i, c) in counts.enumerated() where c > 0 {
            seen += c
            if seen >= rank { return Swift.min(Swift.max(Self.lowerBound(i), min), max) }
        }
        return max
    }

    /// Non-empty buckets as (lower bound, count), for reports.
    public var buckets: [(lowerBound: Picoseconds, count: Int)] {
        counts.enumerated().filter { $0.element > 0 }.map { (Self.lowerBound($0.offset), $0.element) }
    }
}
