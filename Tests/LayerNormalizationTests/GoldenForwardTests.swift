// Forward against the PyTorch float64 golden files, in Float and in Double.

import LayerNormalization
import Testing

@Suite("Forward against PyTorch golden files")
struct GoldenForwardTests {
  @Test("LayerNorm", arguments: Fixtures.cases("layer_norm"))
  func layerNorm(_ golden: GoldenCase) throws {
    try check(Float.self, golden)
    try check(Double.self, golden)
  }

  func check<Scalar: TestScalar>(_ type: Scalar.Type, _ golden: GoldenCase) throws {
    var norm = try LayerNorm<Scalar>(
      normalizedShape: golden.normalizedShape, eps: golden.eps,
      elementwiseAffine: golden.weight, bias: golden.bias)
    if let weight = try golden.optionalArray("weight") { norm.weight = weight.values.converted(to: Scalar.self) }
    if let bias = try golden.optionalArray("bias") { norm.bias = bias.values.converted(to: Scalar.self) }
    let x = try golden.array("x")
    let input = try ShapedArray(shape: x.shape, scalars: x.values.converted(to: Scalar.self))
    let (y, mean, rstd) = try norm.forwardWithStatistics(input)
    #expect(y.shape == golden.shape)
    let tolerance = Scalar.forwardTolerance
    reportAccuracy(
      "forward \(Scalar.name) \(golden) y",
      expectClose(y.scalars.asDoubles, try golden.array("y").values, tolerance: tolerance, "\(Scalar.name) \(golden) y"))
    // Statistics of rows holding NaN or Inf are documented as NaN; PyTorch may say ±inf.
    let finiteRows = rowIsFinite(x.values, rows: mean.scalars.count)
    let expectedMean = try golden.array("mean").values
    let expectedRstd = try golden.array("rstd").values
    for row in finiteRows.indices {
      if finiteRows[row] {
        expectClose([Double(mean.scalars[row])], [expectedMean[row]], tolerance: tolerance, "\(Scalar.name) \(golden) mean[\(row)]")
        expectClose(
          [Double(rstd.scalars[row])], [expectedRstd[row]], tolerance: tolerance * max(1, expectedRstd[row]),
          "\(Scalar.name) \(golden) rstd[\(row)]")
      } else {
        #expect(mean.scalars[row].isNaN && rstd.scalars[row].isNaN, "\(golden) row \(row)")
      }
    }
  }

  @Test("RMSNorm", arguments: Fixtures.cases("rms_norm"))
  func rmsNorm(_ golden: GoldenCase) throws {
    try checkRMS(Float.self, golden)
    try checkRMS(Double.self, golden)
  }

  func checkRMS<Scalar: TestScalar>(_ type: Scalar.Type, _ golden: GoldenCase) throws {
    var norm = try RMSNorm<Scalar>(
      normalizedShape: golden.normalizedShape, eps: golden.eps, elementwiseAffine: golden.weight)
    if let weight = try golden.optionalArray("weight") { norm.weight = weight.values.converted(to: Scalar.self) }
    let x = try golden.array("x")
    let (y, rstd) = try norm.forwardWithStatistics(
      ShapedArray(shape: x.shape, scalars: x.values.converted(to: Scalar.self)))
    let tolerance = Scalar.forwardTolerance
    reportAccuracy(
      "forward \(Scalar.name) \(golden) y",
      expectClose(y.scalars.asDoubles, try golden.array("y").values, tolerance: tolerance, "\(Scalar.name) \(golden) y"))
    let expectedRstd = try golden.array("rstd").values
    expectClose(
      rstd.scalars.asDoubles, expectedRstd, tolerance: tolerance * (expectedRstd.max() ?? 1),
      "\(Scalar.name) \(golden) rstd")
  }

  @Test("Fused add-and-normalize", arguments: Fixtures.cases("add_layer_norm", "add_rms_norm"))
  func addAndNormalize(_ golden: GoldenCase) throws {
    try checkAdd(Float.self, golden)
    try checkAdd(Double.self, golden)
  }

  func checkAdd<Scalar: TestScalar>(_ type: Scalar.Type, _ golden: GoldenCase) throws {
    let x = try golden.array("x")
    let residual = try golden.array("residual")
    let xs = try ShapedArray(shape: x.shape, scalars: x.values.converted(to: Scalar.self))
    let rs = try ShapedArray(shape: residual.shape, scalars: residual.values.converted(to: Scalar.self))
    let result: (output: ShapedArray<Scalar>, sum: ShapedArray<Scalar>)
    if golden.op == "add_layer_norm" {
      var norm = try LayerNorm<Scalar>(normalizedShape: golden.normalizedShape, eps: golden.eps)
      norm.weight = try golden.array("weight").values.converted(to: Scalar.self)
      norm.bias = try golden.array("bias").values.converted(to: Scalar.self)
      result = try norm.addAndNormalize(xs, residual: rs)
    } else {
      var norm = try RMSNorm<Scalar>(normalizedShape: golden.normalizedShape, eps: golden.eps)
      norm.weight = try golden.array("weight").values.converted(to: Scalar.self)
      result = try norm.addAndNormalize(xs, residual: rs)
    }
    let tolerance = Scalar.forwardTolerance
    reportAccuracy(
      "forward \(Scalar.name) \(golden) y",
      expectClose(result.output.scalars.asDoubles, try golden.array("y").values, tolerance: tolerance, "\(Scalar.name) \(golden) y"))
    expectClose(result.sum.scalars.asDoubles, try golden.array("sum").values, tolerance: tolerance, "\(Scalar.name) \(golden) sum")
  }

  @Test(
    "Pre-norm and post-norm blocks with a linear sublayer",
    arguments: Fixtures.cases("pre_norm_layer_norm", "post_norm_layer_norm", "pre_norm_rms_norm", "post_norm_rms_norm"))
  func residualBlocks(_ golden: GoldenCase) throws {
    try checkBlock(Float.self, golden)
    try checkBlock(Double.self, golden)
  }

  func checkBlock<Scalar: TestScalar>(_ type: Scalar.Type, _ golden: GoldenCase) throws {
    let x = try golden.array("x")
    let input = try ShapedArray(shape: x.shape, scalars: x.values.converted(to: Scalar.self))
    let linear = Linear<Scalar>(
      weight: try golden.array("linear_weight").values.converted(to: Scalar.self),
      bias: try golden.array("linear_bias").values.converted(to: Scalar.self))
    let weight: [Scalar] = try golden.array("weight").values.converted(to: Scalar.self)
    let pre = golden.op.hasPrefix("pre")
    let y: ShapedArray<Scalar>
    if golden.op.hasSuffix("layer_norm") {
      var norm = try LayerNorm<Scalar>(normalizedShape: golden.normalizedShape, eps: golden.eps)
      norm.weight = weight
      norm.bias = try golden.array("bias").values.converted(to: Scalar.self)
      y = pre ? try norm.preNorm(input, sublayer: linear.callAsFunction) : try norm.postNorm(input, sublayer: linear.callAsFunction)
    } else {
      var norm = try RMSNorm<Scalar>(normalizedShape: golden.normalizedShape, eps: golden.eps)
      norm.weight = weight
      y = pre ? try norm.preNorm(input, sublayer: linear.callAsFunction) : try norm.postNorm(input, sublayer: linear.callAsFunction)
    }
    // The sublayer itself rounds in Scalar; allow it a few ulps more than the norm alone.
    reportAccuracy(
      "forward \(Scalar.name) \(golden) y",
      expectClose(y.scalars.asDoubles, try golden.array("y").values, tolerance: 4 * Scalar.forwardTolerance, "\(Scalar.name) \(golden) y"))
  }
}

/// `h W^T + c` over the last dimension, computed in Double and rounded: the fixed sublayer
/// the golden script uses.
struct Linear<Scalar: BLASScalar> {
  var weight: [Scalar]
  var bias: [Scalar]

  func callAsFunction(_ h: ShapedArray<Scalar>) throws -> ShapedArray<Scalar> {
    let d = bias.count
    var out = [Scalar](repeating: 0, count: h.scalars.count)
    for row in 0..<h.scalars.count / d {
      for j in 0..<d {
        var sum = Double(bias[j])
        for k in 0..<d { sum += Double(h.scalars[row * d + k]) * Double(weight[j * d + k]) }
        out[row * d + j] = Scalar(sum)
      }
    }
    return try ShapedArray(shape: h.shape, scalars: out)
  }
}

/// Whether each row of `values` (split into `rows` equal rows) is all finite.
func rowIsFinite(_ values: [Double], rows: Int) -> [Bool] {
  guard rows > 0 else { return [] }
  let features = values.count / rows
  return (0..<rows).map { row in values[row * features..<(row + 1) * features].allSatisfy(\.isFinite) }
}
