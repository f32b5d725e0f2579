// Uniform variates on [0, 1) from any generator (exponential ones are in ExponentialZiggurat.swift).

extension RandomNumberGenerator {
    /// A uniform `Double` in [0, 1) with 53 random bits (the top bits of one `next()`), as Vigna
    /// recommends for xoshiro; cheaper than `Double.random(in:using:)` and the same on every platform.
    @inlinable
    public mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}
