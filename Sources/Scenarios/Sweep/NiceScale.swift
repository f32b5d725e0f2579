// Chart axes scaled to the data with ticks at "nice" numbers: steps of 1, 2 or 5 × 10^n (Heckbert, "Nice numbers
// for graph labels", Graphics Gems, 1990), labels with as many decimals as the step needs and k/M for thousands
// and millions, so that values between 27.9 and 28.9 get their own axis and a cost prints as 105k, not 1.05e+05.
import Foundation

public struct NiceScale: Sendable, Equatable {
    public var lo: Double
    public var hi: Double
    public var step: Double
    /// lo, lo + step, ..., hi.
    public var ticks: [Double] {
        let first = (lo / step).rounded(), last = (hi / step).rounded()
        guard first <= last, last - first <= 1000 else { return [lo, hi] }
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    /// The 1, 2 or 5 × 10^n nearest to `raw` (rounded: 1.4 -> 1, 1.6 -> 2, 3.2 -> 5, 7.5 -> 10).
    public static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(raw)))
        let f = raw / magnitude
        return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude
    }

    /// An axis covering `values` with about `ticks` intervals, its ends on multiples of the step. It spans at least
    /// `minimumRelativeSpan` of the values' magnitude, centred on them (0 to 1 when every value is 0), so that
    /// differences in the fourth digit are not drawn as a cliff; never below 0 when no value is.
    public init(_ values: [Double], ticks: Int = 5, minimumRelativeSpan: Double = 0.02) {
        let finite = values.filter(\.isFinite)
        var a = finite.min() ?? 0, b = finite.max() ?? 1
        let minSpan = max(abs(a), abs(b)) * minimumRelativeSpan
        if a == 0, b == 0 {
            b = 1
        } else if b - a < minSpan {
            let c = (a + b) / 2
            (a, b) = (c - minSpan / 2, c + minSpan / 2)
            if finite.allSatisfy({ $0 >= 0 }) { a = max(a, 0) }
        }
        step = Self.niceStep((b - a) / Double(max(ticks, 1)))
        lo = floor(a / step + 1e-9) * step
        hi = ceil(b / step - 1e-9) * step
        if hi <= lo { hi = lo + step }
    }

    /// A tick label: decimals as the step needs (28.2, 0.25 -> 0.25 with step 0.05), thousands as k, millions as M.
    public func label(_ v: Double) -> String {
        let m = max(abs(lo), abs(hi))
        let (scale, suffix) = m >= 1e6 && step >= 1e4 ? (1e6, "M") : m >= 1e4 && step >= 10 ? (1e3, "k") : (1.0, "")
        let s = step / scale
        let decimals = max(0, Int(-floor(log10(s) + 1e-9)))
        var text = String(format: "%.\(decimals)f", v / scale)
        if text.hasPrefix("-"), Double(text) == 0 { text.removeFirst() }
        return text + suffix
    }
}
