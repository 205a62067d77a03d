// Backward against PyTorch autograd (float64 golden files), in Float and in Double.

import LayerNormalization
import Testing

/// The gradient accuracy each scalar type promises: within `tolerance * scale` where the
/// scale is `max(max|ref|, max|grad_out|)`.
extension TestScalar {
  static var gradientTolerance: Double { Self.self == Float.self ? 1e-4 : 1e-10 }
}

/// Checks a gradient against its reference at the scale, and returns the error
/// relative to that scale.
@discardableResult
func expectGradient(
  _ actual: [Double], _ expected: [Double], outputGradient: [Double], tolerance: Double,
  _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) -> Double {
  let scale = max(expected.map(abs).max() ?? 0, outputGradient.map(abs).max() ?? 0, 1e-300)
  #expect(actual.count == expected.count, "\(what()): count", sourceLocation: sourceLocation)
  var worst = 0.0
  for (a, e) in zip(actual, expected) {
    let error = abs(a - e) / scale
    if !(error <= worst) { worst = error.isNaN ? .infinity : error }
  }
  #expect(worst <= tolerance, "\(what()): error \(worst) of scale \(scale) > \(tolerance)", sourceLocation: sourceLocation)
  reportAccuracy("gradient \(what())", worst)
  return worst
}

@Suite("Backward against PyTorch autograd")
struct GoldenBackwardTests {
  @Test("LayerNorm and RMSNorm gradients", arguments: Fixtures.cases("layer_norm_backward", "rms_norm_backward"))
  func gradients(_ golden: GoldenCase) throws {
    try check(Float.self, golden)
    try check(Double.self, golden)
  }

  func layer<Scalar: TestScalar>(_ type: Scalar.Type, _ golden: GoldenCase) throws -> any Normalization<Scalar> {
    if golden.op.contains("rms") {
      var norm = try RMSNorm<Scalar>(normalizedShape: golden.normalizedShape, eps: golden.eps, elementwiseAffine: golden.weight)
      if let w = try golden.optionalArray("weight") { norm.weight = w.values.converted(to: Scalar.self) }
      return norm
    }
    var norm = try LayerNorm<Scalar>(
      normalizedShape: golden.normalizedShape, eps: golden.eps, elementwiseAffine: golden.weight, bias: golden.bias)
    if let w = try golden.optionalArray("weight") { norm.weight = w.values.converted(to: Scalar.self) }
    if let b = try golden.optionalArray("bias") { norm.bias = b.values.converted(to: Scalar.self) }
    return norm
  }

  func check<Scalar: TestScalar>(_ type: Scalar.Type, _ golden: GoldenCase) throws {
    let norm = try layer(Scalar.self, golden)
    let x = try golden.array("x")
    let dy = try golden.array("dy")
    let gradients = try norm.backward(
      ShapedArray(shape: dy.shape, scalars: dy.values.converted(to: Scalar.self)),
      input: ShapedArray(shape: x.shape, scalars: x.values.converted(to: Scalar.self)))
    let label = "\(Scalar.name) \(golden)"
    let tolerance = Scalar.gradientTolerance
    expectGradient(gradients.input!.scalars.asDoubles, try golden.array("dx").values, outputGradient: dy.values, tolerance: tolerance, label + " dx")
    if let dweight = try golden.optionalArray("dweight") {
      expectGradient(gradients.weight!.asDoubles, dweight.values, outputGradient: dy.values, tolerance: tolerance, label + " dweight")
    } else {
      #expect(gradients.weight == nil)
    }
    if let dbias = try golden.optionalArray("dbias") {
      expectGradient(gradients.bias!.asDoubles, dbias.values, outputGradient: dy.values, tolerance: tolerance, label + " dbias")
    } else {
      #expect(gradients.bias == nil)
    }
    if golden.normalizedShape == [1], !golden.op.contains("rms") {
      // D = 1: every row is its own mean, so the input and weight gradients are exactly zero.
      #expect(gradients.input!.scalars.allSatisfy { $0 == 0 }, "\(label) D=1 dx")
      #expect(gradients.weight!.allSatisfy { $0 == 0 }, "\(label) D=1 dweight")
    }
  }

  @Test("Saved statistics give the same gradients as recomputed ones", arguments: Fixtures.cases("layer_norm_backward"))
  func savedStatistics(_ golden: GoldenCase) throws {
    var norm = try LayerNorm<Double>(
      normalizedShape: golden.normalizedShape, eps: golden.eps, elementwiseAffine: golden.weight, bias: golden.bias)
    if let w = try golden.optionalArray("weight") { norm.weight = w.values }
    if let b = try golden.optionalArray("bias") { norm.bias = b.values }
    let x = try ShapedArray(shape: golden.shape, scalars: try golden.array("x").values)
    let dy = try ShapedArray(shape: golden.shape, scalars: try golden.array("dy").values)
    let forward = try norm.forwardWithStatistics(x)
    let saved = try norm.backward(dy, input: x, mean: forward.mean, rstd: forward.rstd)
    expectGradient(saved.input!.scalars, try golden.array("dx").values, outputGradient: dy.scalars, tolerance: 1e-10, "\(golden) saved dx")
  }

  @Test("Fused add-and-normalize backward", arguments: Fixtures.cases("add_layer_norm_backward", "add_rms_norm_backward"))
  func addAndNormalize(_ golden: GoldenCase) throws {
    try checkAdd(Float.self, golden)
    try checkAdd(Double.self, golden)
  }

  func checkAdd<Scalar: TestScalar>(_ type: Scalar.Type, _ golden: GoldenCase) throws {
    let norm = try layer(Scalar.self, golden)
    let x = try golden.array("x").values.converted(to: Scalar.self)
    let r = try golden.array("residual").values.converted(to: Scalar.self)
    let (_, sum) = try norm.addAndNormalize(ShapedArray(shape: golden.shape, scalars: x), residual: ShapedArray(shape: golden.shape, scalars: r))
    let dy = try golden.array("dy")
    let dsum = try golden.array("dsum")
    let gradients = try norm.addAndNormalizeBackward(
      outputGradient: ShapedArray(shape: golden.shape, scalars: dy.values.converted(to: Scalar.self)),
      sumGradient: ShapedArray(shape: golden.shape, scalars: dsum.values.converted(to: Scalar.self)), sum: sum)
    let label = "\(Scalar.name) \(golden)"
    let scale = dy.values + dsum.values
    expectGradient(gradients.input!.scalars.asDoubles, try golden.array("dx").values, outputGradient: scale, tolerance: Scalar.gradientTolerance, label + " dx")
    expectGradient(gradients.input!.scalars.asDoubles, try golden.array("dresidual").values, outputGradient: scale, tolerance: Scalar.gradientTolerance, label + " dresidual")
    expectGradient(gradients.weight!.asDoubles, try golden.array("dweight").values, outputGradient: scale, tolerance: Scalar.gradientTolerance, label + " dweight")
    if let dbias = try golden.optionalArray("dbias") {
      expectGradient(gradients.bias!.asDoubles, dbias.values, outputGradient: scale, tolerance: Scalar.gradientTolerance, label + " dbias")
    }
  }

  @Test(
    "Pre-norm and post-norm block backward with a linear sublayer",
    arguments: Fixtures.cases("pre_norm_layer_norm_backward", "post_norm_layer_norm_backward", "pre_norm_rms_norm_backward", "post_norm_rms_norm_backward"))
  func blocks(_ golden: GoldenCase) throws {
    try checkBlock(Float.self, golden)
    try checkBlock(Double.self, golden)
  }

  func checkBlock<Scalar: TestScalar>(_ type: Scalar.Type, _ golden: GoldenCase) throws {
    let norm = try layer(Scalar.self, golden)
    let linear = Linear<Scalar>(
      weight: try golden.array("linear_weight").values.converted(to: Scalar.self),
      bias: try golden.array("linear_bias").values.converted(to: Scalar.self))
    let x = try ShapedArray(shape: golden.shape, scalars: try golden.array("x").values.converted(to: Scalar.self))
    let dy = try golden.array("dy")
    let dout = try ShapedArray(shape: golden.shape, scalars: dy.values.converted(to: Scalar.self))
    let gradients: NormalizationGradients<Scalar>
    if golden.op.hasPrefix("pre") {
      gradients = try norm.preNormBackward(x, outputGradient: dout, sublayerBackward: linear.backward)
    } else {
      let sum = try ShapedArray(shape: golden.shape, scalars: try golden.array("sum").values.converted(to: Scalar.self))
      gradients = try norm.postNormBackward(sum: sum, outputGradient: dout, sublayerBackward: linear.backward)
    }
    let label = "\(Scalar.name) \(golden)"
    let tolerance = 4 * Scalar.gradientTolerance
    expectGradient(gradients.input!.scalars.asDoubles, try golden.array("dx").values, outputGradient: dy.values, tolerance: tolerance, label + " dx")
    expectGradient(gradients.weight!.asDoubles, try golden.array("dweight").values, outputGradient: dy.values, tolerance: tolerance, label + " dweight")
    if let dbias = try golden.optionalArray("dbias") {
      expectGradient(gradients.bias!.asDoubles, dbias.values, outputGradient: dy.values, tolerance: tolerance, label + " dbias")
    }
  }
}

extension Linear {
  /// `d loss / d h = d loss / d out · W`, for `out = h W^T + c`.
  func backward(_ gradient: ShapedArray<Scalar>) throws -> ShapedArray<Scalar> {
    let d = bias.count
    var out = [Scalar](repeating: 0, count: gradient.scalars.count)
    for row in 0..<gradient.scalars.count / d {
      for k in 0..<d {
        var sum = 0.0
        for j in 0..<d { sum += Double(gradient.scalars[row * d + j]) * Double(weight[j * d + k]) }
        out[row * d + k] = Scalar(sum)
      }
    }
    return try ShapedArray(shape: gradient.shape, scalars: out)
  }
}
