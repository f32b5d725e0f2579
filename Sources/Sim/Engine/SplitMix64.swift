// SplitMix64: the tiny generator used to expand one seed into a larger generator state.

/// SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators",
/// doi:10.1145/2714064.2660195), as in Vigna's reference `splitmix64.c`.
///
/// One 64-bit word of state, every seed valid; used to seed ``Xoshiro256StarStar`` as its authors
/// recommend, and usable on its own where a stream is short.
public struct SplitMix64: RandomNumberGenerator, Sendable, Hashable {
    public var state: UInt64

    @inlinable
    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
