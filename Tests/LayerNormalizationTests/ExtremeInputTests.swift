// The edges: magnitudes near the limits of each type, subnormals, eps = 0, NaN parameters.

import LayerNormalization
import _LayerNormTestSupport
import Testing

@Suite("Extreme inputs")
struct ExtremeInputTests {
  /// Rows of `shape` scaled to `magnitude`: a fixed pattern with spread, so the exact answer
  /// is that of the pattern itself (layer norm is scale-invariant when eps is negligible).
  func pattern(_ count: Int, seed: UInt64) -> [Double] {
    var generator = SeededGenerator(seed: seed)
    return generator.values(count, as: Float.self, scale: 1, offset: 0.25)
  }

  static let floatScales: [Double] = [1e20, 1e30, 1e36, 1e38, 1e-20, 1e-30, 1e-38, 1e-41]
  static let doubleScales: [Double] = [1e150, 1e200, 1e300, 1e307, 1e-150, 1e-300, 0x1p-1030]

  @Test("Float rows from 1e-41 to 1e38 give the scale-free answer", arguments: floatScales)
  func floatMagnitudes(_ magnitude: Double) throws {
    try check(Float.self, magnitude: magnitude)
  }

  @Test("Double rows from 1e-310 to 1e307 give the scale-free answer", arguments: doubleScales)
  func doubleMagnitudes(_ magnitude: Double) throws {
    try check(Double.self, magnitude: magnitude)
  }

  func check<Scalar: TestScalar>(_ type: Scalar.Type, magnitude: Double) throws {
    for features in [3, 8, 20, 33, 768, 5000, 40000] {
      let base = pattern(2 * features, seed: UInt64(features))
      let scaled: [Scalar] = base.map { Scalar($0 * magnitude) }
      // The reference: the same (rounded) values, normalized exactly after scaling back up.
      let unscaledValues = scaled.map { Double($0) / magnitude }
      var weight = [Double](repeating: 1, count: features)
      weight[0] = 2
      let bias = [Double](repeating: 0.5, count: features)
      let reference = referenceLayerNorm(unscaledValues, rows: 2, features: features, weight: weight, bias: bias, eps: 0)
      var norm = try LayerNorm<Scalar>(normalizedShape: [features], eps: 0)
      norm.weight = weight.converted(to: Scalar.self)
      norm.bias = bias.converted(to: Scalar.self)
      let input = try ShapedArray(shape: [2, features], scalars: scaled)
      let (y, mean, rstd) = try norm.forwardWithStatistics(input)
      let label = "\(Scalar.name) magnitude \(magnitude) D=\(features)"
      expectClose(y.scalars.asDoubles, reference.y, tolerance: Scalar.forwardTolerance, label + " y")
      // rstd is about 1/magnitude: finite and positive wherever the type can hold that.
      let representable = 10 / magnitude < Double(Scalar.greatestFiniteMagnitude)
      #expect(rstd.scalars.allSatisfy { $0 > 0 && ($0.isFinite || !representable) }, "\(label) rstd \(rstd.scalars)")
      for row in 0..<2 {
        let expectedMean = reference.mean[row] * magnitude
        #expect(abs(Double(mean.scalars[row]) - expectedMean) <= 1e-5 * abs(expectedMean) + Double(Scalar.leastNonzeroMagnitude) * 4, "\(label) mean")
      }
      // RMSNorm is scale-invariant too.
      let rms = try RMSNorm<Scalar>(normalizedShape: [features], eps: 0, elementwiseAffine: false)
      let z = try rms(input)
      let rmsReference = referenceRMSNorm(unscaledValues, rows: 2, features: features, weight: nil, eps: 0)
      expectClose(z.scalars.asDoubles, rmsReference.y, tolerance: Scalar.forwardTolerance, label + " RMS")
      // Backward on such rows: finite, and the same as for the unscaled rows up to the scale
      // (where the true input gradient, about 1/magnitude, fits in the type).
      guard representable else { continue }
      let dy = try ShapedArray(shape: [2, features], scalars: pattern(2 * features, seed: 3).converted(to: Scalar.self))
      let gradients = try norm.backward(dy, input: input)
      let unscaled = try norm.backward(dy, input: ShapedArray(shape: [2, features], scalars: unscaledValues.converted(to: Scalar.self)))
      #expect(gradients.input!.scalars.allSatisfy { $0.isFinite }, "\(label) dx finite")
      expectClose(gradients.weight!.asDoubles, unscaled.weight!.asDoubles, tolerance: 10 * Scalar.forwardTolerance, label + " dweight")
      let dxScaled = gradients.input!.scalars.map { Double($0) * magnitude }
      expectClose(dxScaled, unscaled.input!.scalars.asDoubles, tolerance: 10 * Scalar.forwardTolerance, label + " dx * magnitude")
    }
  }

  @Test("Tiny rows with eps > 0 give the bias plus almost nothing; rstd is 1/sqrt(eps)")
  func tinyRowsWithEpsilon() throws {
    let norm = try LayerNorm<Float>(normalizedShape: [16])
    let x: [Float] = pattern(32, seed: 9).map { Float($0 * 1e-30) }
    let (y, _, rstd) = try norm.forwardWithStatistics(ShapedArray(shape: [2, 16], scalars: x))
    #expect(y.scalars.allSatisfy { abs($0) < 1e-20 })
    #expect(rstd.scalars.allSatisfy { abs($0 - Float(1 / 1e-5.squareRoot())) < 1e-2 })
  }

  @Test("eps = 0 on a constant row gives NaN, as PyTorch; eps > 0 gives the bias")
  func zeroEpsilonConstantRow() throws {
    for features in [4, 8, 100] {
      var zero = try LayerNorm<Float>(normalizedShape: [features], eps: 0)
      zero.bias = Array(repeating: 0.25, count: features)
      let constant = try ShapedArray<Float>(repeating: 3, shape: [2, features])
      #expect(try zero(constant).scalars.allSatisfy { $0.isNaN }, "D=\(features)")
      var positive = zero
      positive.eps = 1e-5
      #expect(try positive(constant).scalars.allSatisfy { $0 == 0.25 }, "D=\(features)")
    }
  }

  @Test("Subnormal rows normalize like any other")
  func subnormals() throws {
    let values: [Float] = [1, 2, 3, 4, 5, 6, 7, 8].map { $0 * Float.leastNonzeroMagnitude * 16 }
    let norm = try LayerNorm<Float>(normalizedShape: [8], eps: 0)
    let y = try norm(ShapedArray(shape: [1, 8], scalars: values))
    let reference = referenceLayerNorm((1...8).map(Double.init), rows: 1, features: 8, weight: nil, bias: nil, eps: 0)
    expectClose(y.scalars.asDoubles, reference.y, tolerance: 2e-5, "subnormal row")
  }

  @Test("NaN in the weight or bias makes that feature NaN in every row, nothing else")
  func nanParameters() throws {
    var norm = try LayerNorm<Float>(normalizedShape: [8])
    norm.weight![2] = .nan
    norm.bias![5] = .nan
    let x: [Float] = pattern(24, seed: 4).converted(to: Float.self)
    let y = try norm(ShapedArray(shape: [3, 8], scalars: x))
    for (i, value) in y.scalars.enumerated() {
      #expect(value.isNaN == (i % 8 == 2 || i % 8 == 5), "element \(i)")
    }
  }

  @Test("Rows with Inf or NaN beside extreme rows: each row on its own")
  func mixedRows() throws {
    let features = 40
    var x: [Float] = pattern(4 * features, seed: 2).converted(to: Float.self)
    for i in 0..<features { x[features + i] *= 1e37 }
    x[2 * features + 7] = .infinity
    for i in 0..<features { x[3 * features + i] = 7 }
    let norm = try LayerNorm<Float>(normalizedShape: [features])
    let (y, mean, rstd) = try norm.forwardWithStatistics(ShapedArray(shape: [4, features], scalars: x))
    let first = try norm(ShapedArray(shape: [1, features], scalars: Array(x[0..<features])))
    #expect(sameBits(Array(y.scalars[0..<features]), first.scalars))
    #expect(y.scalars[features..<2 * features].allSatisfy { $0.isFinite })
    #expect(y.scalars[2 * features..<3 * features].allSatisfy { $0.isNaN } && mean.scalars[2].isNaN && rstd.scalars[2].isNaN)
    #expect(y.scalars[3 * features..<4 * features].allSatisfy { $0 == 0 } && mean.scalars[3] == 7)
  }

  @Test("Extreme rows inside groups of rows in cache: each row on its own", arguments: [40, 200, 700])
  func extremeRowsInGroups(features: Int) throws {
    // 16 rows in cache (groups of sixteen, eight or four, whose ordinary rows may be written
    // four at a time, see lnk_normalize4_avx512): a constant row, a row with Inf and a row of
    // huge values in different quads, each row equal to itself normalized alone.
    let rows = 16
    var x: [Float] = pattern(rows * features, seed: 9).converted(to: Float.self)
    for i in 0..<features { x[2 * features + i] = 7 }
    x[9 * features + 3] = .infinity
    for i in 0..<features { x[13 * features + i] *= 1e37 }
    var norm = try LayerNorm<Float>(normalizedShape: [features])
    norm.weight = pattern(features, seed: 4).map { Float(1 + $0 / 4) }
    norm.bias = pattern(features, seed: 5).map { Float($0 / 4) }
    let (y, mean, rstd) = try norm.forwardWithStatistics(ShapedArray(shape: [rows, features], scalars: x))
    for r in 0..<rows {
      let alone = try norm.forwardWithStatistics(
        ShapedArray(shape: [1, features], scalars: Array(x[r * features..<(r + 1) * features])))
      let same = sameBits(Array(y.scalars[r * features..<(r + 1) * features]), alone.output.scalars)
        && sameBits([mean.scalars[r], rstd.scalars[r]], [alone.mean.scalars[0], alone.rstd.scalars[0]])
      #expect(same, "D=\(features) row \(r)")
    }
    #expect(y.scalars[9 * features..<10 * features].allSatisfy { $0.isNaN })
    #expect(mean.scalars[2] == 7)
  }

  @Test("Fused add on long rows that leave the fast path in their first chunk", arguments: [Float(1e20), .infinity])
  func fusedLongExtremeRows(_ magnitude: Float) throws {
    // Rows of 40000 Float (long rows: their sum is formed a chunk at a time with their
    // statistics); row 1's first chunk overflows the Float squares or holds Inf, so the
    // fast path gives up on it early and the rest of its sum must still be formed.
    let features = 40000, rows = 3
    let shape = [rows, features]
    let x: [Float] = pattern(rows * features, seed: 5).converted(to: Float.self).enumerated().map {
      $0.offset / features == 1 && ($0.offset % features) % 7 == 0 ? $0.element * magnitude : $0.element
    }
    let residual: [Float] = pattern(rows * features, seed: 6).converted(to: Float.self)
    let exactSum = zip(x, residual).map { $0 + $1 }
    let norm = try LayerNorm<Float>(normalizedShape: [features])
    let unfused = try norm(ShapedArray(shape: shape, scalars: exactSum)).scalars
    var sum = [Float](repeating: 0, count: rows * features)
    var output = sum, sumless = sum
    try x.withUnsafeBufferPointer { x in
      try residual.withUnsafeBufferPointer { r in
        try sum.withUnsafeMutableBufferPointer { s in
          try output.withUnsafeMutableBufferPointer { y in
            try norm.addAndNormalize(x, residual: r, shape: shape, sum: s, output: y)
          }
        }
        try sumless.withUnsafeMutableBufferPointer { y in
          try norm.addAndNormalize(x, residual: r, shape: shape, output: y)
        }
      }
    }
    // (Compared first, so that a failure does not print the arrays.)
    let sumExact = sameBits(sum, exactSum)
    let withSum = sameBits(output, unfused), withoutSum = sameBits(sumless, unfused)
    #expect(sumExact, "the sum, all of it")
    #expect(withSum, "with the sum")
    #expect(withoutSum, "without the sum")
    #expect(output[features..<2 * features].allSatisfy { $0.isFinite } == magnitude.isFinite)
  }

  @Test("Backward: a non-finite row gives NaN input gradients there, other rows unchanged", arguments: [1, 2, 4])
  func nonFiniteRowBackward(_ threads: Int) throws {
    let features = 24
    let clean: [Float] = pattern(6 * features, seed: 6).converted(to: Float.self)
    let dy = try ShapedArray(shape: [6, features], scalars: pattern(6 * features, seed: 7).converted(to: Float.self))
    var norm = try LayerNorm<Float>(normalizedShape: [features])
    norm.maximumThreadCount = threads
    let base = try norm.backward(dy, input: ShapedArray(shape: [6, features], scalars: clean))
    for poison: Float in [.nan, .infinity, -.infinity] {
      var x = clean
      x[4 * features + 3] = poison
      let g = try norm.backward(dy, input: ShapedArray(shape: [6, features], scalars: x))
      for row in 0..<6 {
        let slice = Array(g.input!.scalars[row * features..<(row + 1) * features])
        if row == 4 {
          #expect(slice.allSatisfy { $0.isNaN }, "\(poison) row 4")
        } else {
          #expect(sameBits(slice, Array(base.input!.scalars[row * features..<(row + 1) * features])), "\(poison) row \(row)")
        }
      }
      #expect(g.weight!.allSatisfy { $0.isNaN } && g.bias!.allSatisfy { !$0.isNaN }, "dweight NaN, dbias finite")
    }
  }
}
