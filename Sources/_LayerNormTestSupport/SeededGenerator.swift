// The one seeded random sequence of the tests, the fuzzer's support and the benchmark.

/// A fixed pseudo-random sequence (SplitMix64), so a failing case can be rerun exactly and
/// every benchmark run times the same data.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  /// The generator's state; the seed before the first draw.
  public var state: UInt64

  /// A sequence starting from `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [-1, 1), from the top 53 bits.
  public mutating func nextSigned() -> Double { Double(next() >> 11) / Double(1 << 52) - 1 }
}
