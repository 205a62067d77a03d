// Forward against the independent float64 reference, on many shapes and data.

import LayerNormalization
import _LayerNormTestSupport
import Testing

/// A random case: shape, how many trailing dims are normalized, the data's scale and offset.
struct RandomCase: CustomStringConvertible, Sendable {
  var shape: [Int]
  var normalizedDims: Int
  var scale: Double
  var offset: Double
  var seed: UInt64

  var normalizedShape: [Int] { Array(shape.suffix(normalizedDims)) }
  var rows: Int { shape.dropLast(normalizedDims).reduce(1, *) }
  var features: Int { normalizedShape.reduce(1, *) }
  var description: String { "\(shape) over \(normalizedShape), data \(offset)±\(scale)" }

  static let all: [RandomCase] = {
    var cases: [RandomCase] = []
    var seed: UInt64 = 1
    let shapes: [([Int], Int)] = [
      ([1, 1], 1), ([3, 1], 1), ([1, 2], 1), ([4, 7], 1), ([5, 8], 1), ([9, 15], 1), ([2, 16], 1),
      ([3, 17], 1), ([6, 31], 1), ([6, 32], 1), ([6, 33], 1), ([2, 64], 1), ([3, 100], 1),
      ([2, 3, 128], 1), ([2, 2, 255], 1), ([1, 768], 1), ([4, 1000], 1), ([2, 4097], 1),
      ([2, 9000], 1), ([3, 4, 5], 2), ([2, 3, 4, 5], 2), ([2, 2, 3, 4, 5], 3), ([300, 8], 1),
      ([70, 3], 1), ([2, 1, 8, 16], 2), ([9, 4], 1), ([33, 8], 1),
      // Long rows (128 KiB and more: statistics a chunk at a time, written a column chunk at
      // a time): both types, and Double only.
      ([3, 40000], 1), ([2, 3, 6000], 2),
    ]
    for (shape, dims) in shapes {
      for (scale, offset) in [(1.0, 0.0), (0.01, 100.0), (1.0, 2000.0), (1e-3, -3.0), (100.0, 50.0)] {
        cases.append(RandomCase(shape: shape, normalizedDims: dims, scale: scale, offset: offset, seed: seed))
        seed += 1
      }
    }
    return cases
  }()
}

@Suite("Forward against the float64 reference")
struct ReferenceTests {
  @Test("LayerNorm, Float and Double, with and without affine", arguments: RandomCase.all)
  func layerNorm(_ c: RandomCase) throws {
    try check(Float.self, c)
    try check(Double.self, c)
  }

  func check<Scalar: TestScalar>(_ type: Scalar.Type, _ c: RandomCase) throws {
    var generator = SeededGenerator(seed: c.seed)
    let x = generator.values(c.rows * c.features, as: Scalar.self, scale: c.scale, offset: c.offset)
    let weight = generator.values(c.features, as: Scalar.self, scale: 0.5, offset: 1)
    let bias = generator.values(c.features, as: Scalar.self, scale: 0.5)
    let input = try ShapedArray(shape: c.shape, scalars: x.converted(to: Scalar.self))
    for (useWeight, useBias) in [(true, true), (true, false), (false, false)] {
      var norm = try LayerNorm<Scalar>(normalizedShape: c.normalizedShape, elementwiseAffine: useWeight, bias: useBias)
      if useWeight { norm.weight = weight.converted(to: Scalar.self) }
      if useBias { norm.bias = bias.converted(to: Scalar.self) }
      let reference = referenceLayerNorm(
        x, rows: c.rows, features: c.features, weight: useWeight ? weight : nil,
        bias: useBias ? bias : nil, eps: norm.eps)
      let (y, mean, rstd) = try norm.forwardWithStatistics(input)
      let label = "\(Scalar.name) \(c) weight \(useWeight) bias \(useBias)"
      expectClose(y.scalars.asDoubles, reference.y, tolerance: Scalar.forwardTolerance, label + " y")
      expectClose(mean.scalars.asDoubles, reference.mean, tolerance: Scalar.forwardTolerance * max(1, c.scale), label + " mean")
      for (actual, expected) in zip(rstd.scalars, reference.rstd) {
        expectClose([Double(actual) / expected], [1], tolerance: Scalar.forwardTolerance, label + " rstd")
      }
    }
  }

  /// The vector kernels take a row's moments about the mean of its first 32 elements, and
  /// again about the rounded mean where that lies too far from it (`LNK_ROUGH_SHIFTS`):
  /// rows whose first 32 elements are pushed off by 0 to 1000 half-widths of the rest's
  /// spread (both sides of where the kernel takes them again), a sorted row and a row
  /// with an outlier first, at three offsets.
  @Test("Rows whose first 32 elements lie apart from the rest", arguments: [32, 33, 100, 768, 4097, 16000, 32000, 40000])
  func firstElementsApart(_ n: Int) throws {
    try checkFirstElementsApart(Float.self, n)
    try checkFirstElementsApart(Double.self, n)
  }

  func checkFirstElementsApart<Scalar: TestScalar>(_ type: Scalar.Type, _ n: Int) throws {
    var generator = SeededGenerator(seed: UInt64(n))
    for (offset, scale) in [(0.0, 1.0), (2000.0, 1.0), (100.0, 0.01)] {
      func row(pushingFirst push: Double) -> [Double] {
        (0..<n).map { i in
          offset + scale * (Double.random(in: -1...1, using: &generator) + (i < 32 ? push : 0))
        }
      }
      var rows = [0, 0.3, 0.5, 0.7, 0.75, 0.8, 1, 2, 8, -50, 1000].map { row(pushingFirst: $0) }
      rows.append(row(pushingFirst: 0).sorted())
      var outlier = row(pushingFirst: 0)
      outlier[0] = offset + 1e4 * scale
      rows.append(outlier)
      let x = rows.joined().map { Double(Scalar($0)) }
      let weight = generator.values(n, as: Scalar.self, scale: 0.5, offset: 1)
      let bias = generator.values(n, as: Scalar.self, scale: 0.5)
      var norm = try LayerNorm<Scalar>(normalizedShape: [n])
      norm.weight = weight.converted(to: Scalar.self)
      norm.bias = bias.converted(to: Scalar.self)
      let reference = referenceLayerNorm(
        x, rows: rows.count, features: n, weight: weight, bias: bias, eps: norm.eps)
      let (y, mean, rstd) = try norm.forwardWithStatistics(
        ShapedArray(shape: [rows.count, n], scalars: x.converted(to: Scalar.self)))
      let label = "\(Scalar.name) n \(n) data \(offset)±\(scale)"
      // Eight ulps, tighter than forwardTolerance: these rows measured within 2 ulps with the
      // moments taken again, and up to 110 (Float, 32000 elements) without.
      let tolerance = 8 * Double(Scalar.ulpOfOne)
      expectClose(y.scalars.asDoubles, reference.y, tolerance: tolerance, label + " y")
      expectClose(mean.scalars.asDoubles, reference.mean, tolerance: tolerance, label + " mean")
      for (actual, expected) in zip(rstd.scalars, reference.rstd) {
        expectClose([Double(actual) / expected], [1], tolerance: tolerance, label + " rstd")
      }
    }
  }

  @Test("RMSNorm, Float and Double", arguments: RandomCase.all)
  func rmsNorm(_ c: RandomCase) throws {
    try checkRMS(Float.self, c)
    try checkRMS(Double.self, c)
  }

  func checkRMS<Scalar: TestScalar>(_ type: Scalar.Type, _ c: RandomCase) throws {
    var generator = SeededGenerator(seed: c.seed)
    let x = generator.values(c.rows * c.features, as: Scalar.self, scale: c.scale, offset: c.offset)
    let weight = generator.values(c.features, as: Scalar.self, scale: 0.5, offset: 1)
    var norm = try RMSNorm<Scalar>(normalizedShape: c.normalizedShape)
    norm.weight = weight.converted(to: Scalar.self)
    let reference = referenceRMSNorm(x, rows: c.rows, features: c.features, weight: weight, eps: norm.eps)
    let (y, rstd) = try norm.forwardWithStatistics(ShapedArray(shape: c.shape, scalars: x.converted(to: Scalar.self)))
    expectClose(y.scalars.asDoubles, reference.y, tolerance: Scalar.forwardTolerance, "\(Scalar.name) \(c) y")
    for (actual, expected) in zip(rstd.scalars, reference.rstd) {
      expectClose([Double(actual) / expected], [1], tolerance: Scalar.forwardTolerance, "\(Scalar.name) \(c) rstd")
    }
  }

  @Test("Fused add-and-normalize equals normalizing the sum", arguments: RandomCase.all.filter { $0.offset == 0 })
  func addAndNormalize(_ c: RandomCase) throws {
    try checkAdd(Float.self, c)
    try checkAdd(Double.self, c)
  }

  func checkAdd<Scalar: TestScalar>(_ type: Scalar.Type, _ c: RandomCase) throws {
    var generator = SeededGenerator(seed: c.seed)
    let count = c.rows * c.features
    let x: [Scalar] = generator.values(count, as: Scalar.self).converted(to: Scalar.self)
    let r: [Scalar] = generator.values(count, as: Scalar.self).converted(to: Scalar.self)
    let norm = try LayerNorm<Scalar>(normalizedShape: c.normalizedShape)
    let (output, sum) = try norm.addAndNormalize(
      ShapedArray(shape: c.shape, scalars: x), residual: ShapedArray(shape: c.shape, scalars: r))
    let expectedSum = zip(x, r).map { $0 + $1 }
    #expect(sameBits(sum.scalars, expectedSum), "\(c): the sum is x + residual in Scalar")
    let unfused = try norm(ShapedArray(shape: c.shape, scalars: expectedSum))
    #expect(sameBits(output.scalars, unfused.scalars), "\(c): fused equals unfused bit for bit")
  }
}
