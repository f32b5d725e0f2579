// xoshiro256**: the engine's seeded random source.

/// xoshiro256** 1.0 (Blackman & Vigna 2021, "Scrambled linear pseudorandom number generators",
/// ACM TOMS 47(4), doi:10.1145/3460772), bit for bit as the reference `xoshiro256starstar.c`.
///
/// 256 bits of state, period 2^256 - 1, a few cycles per 64-bit output and no allocation. The state
/// is expanded from one 64-bit seed with ``SplitMix64`` (the authors' recommendation), so a run is
/// reproduced by its seed alone.
///
/// ```swift
/// var random = Xoshiro256StarStar(seed: 42)
/// let delay = Picoseconds(random.nextExponential() * 1e6)
/// ```
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable, Hashable {
    public var state: (UInt64, UInt64, UInt64, UInt64)

    /// The generator whose state is the first four outputs of `SplitMix64(seed: seed)`.
    @inlinable
    public init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        state = (mixer.next(), mixer.next(), mixer.next(), mixer.next())
    }

    /// A generator with an explicit state, which must not be all zero.
    @inlinable
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro256** state must not be all zero")
        self.state = state
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = (state.1 &* 5).rotatedLeft(by: 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3.rotatedLeft(by: 45)
        return result
    }

    public static func == (a: Self, b: Self) -> Bool { a.state == b.state }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(state.0)
        hasher.combine(state.1)
        hasher.combine(state.2)
        hasher.combine(state.3)
    }
}

extension UInt64 {
    @inlinable @inline(__always)
    func rotatedLeft(by k: UInt64) -> UInt64 { (self << k) | (self >> (64 - k)) }
}
