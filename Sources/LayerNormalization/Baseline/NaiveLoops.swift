// The naive loops: the benchmark's baseline and the test oracle's twin.

/// Plain loops with no BLAS, no vectors and no threads: the straightforward layer norm a
/// user would write by hand. The benchmark measures the package against them.
///
/// Public only so that the benchmark executable can call them; not part of the API.
public enum _NaiveLoops {
  /// Layer norm of `rows` rows of `features` elements: mean, then biased variance, both
  /// accumulated in `Scalar`, then `(x - mean) / sqrt(var + eps) * weight + bias`.
  ///
  /// - Parameters:
  ///   - input: `rows * features` elements.
  ///   - output: `rows * features` elements.
  ///   - weight: `features` elements, or `nil`.
  ///   - bias: `features` elements, or `nil`.
  ///   - rows: the number of rows.
  ///   - features: the row length.
  ///   - eps: added to the variance.
  @specialized(where Scalar == Float)
  @specialized(where Scalar == Double)
  public static func layerNorm<Scalar: BinaryFloatingPoint>(
    _ input: UnsafeBufferPointer<Scalar>, into output: UnsafeMutableBufferPointer<Scalar>,
    weight: UnsafeBufferPointer<Scalar>?, bias: UnsafeBufferPointer<Scalar>?,
    rows: Int, features: Int, eps: Scalar
  ) {
    precondition(input.count >= rows * features && output.count >= rows * features)
    let n = Scalar(features)
    for row in 0..<rows {
      let base = row * features
      var mean: Scalar = 0
      for i in 0..<features { mean += input[base + i] }
      mean /= n
      var variance: Scalar = 0
      for i in 0..<features {
        let d = input[base + i] - mean
        variance += d * d
      }
      variance /= n
      let rstd = 1 / (variance + eps).squareRoot()
      for i in 0..<features {
        var y = (input[base + i] - mean) * rstd
        if let weight { y *= weight[i] }
        if let bias { y += bias[i] }
        output[base + i] = y
      }
    }
  }

  /// RMSNorm of `rows` rows of `features` elements: `x / sqrt(mean(x^2) + eps) * weight`.
  ///
  /// - Parameters: as in ``layerNorm(_:into:weight:bias:rows:features:eps:)``, without bias.
  @specialized(where Scalar == Float)
  @specialized(where Scalar == Double)
  public static func rmsNorm<Scalar: BinaryFloatingPoint>(
    _ input: UnsafeBufferPointer<Scalar>, into output: UnsafeMutableBufferPointer<Scalar>,
    weight: UnsafeBufferPointer<Scalar>?, rows: Int, features: Int, eps: Scalar
  ) {
    precondition(input.count >= rows * features && output.count >= rows * features)
    for row in 0..<rows {
      let base = row * features
      var squares: Scalar = 0
      for i in 0..<features { squares += input[base + i] * input[base + i] }
      let rstd = 1 / (squares / Scalar(features) + eps).squareRoot()
      for i in 0..<features {
        var y = input[base + i] * rstd
        if let weight { y *= weight[i] }
        output[base + i] = y
      }
    }
  }

  /// Layer norm backward of `rows` rows of `features` elements from saved `mean` and
  /// `rstd`: `dx = rstd * (g - mean(g) - xhat * mean(g * xhat))` with `g = dy * weight`,
  /// `dweight += dy * xhat`, `dbias += dy`, all accumulated in `Scalar`, row after row.
  ///
  /// - Parameters:
  ///   - outputGradient: `rows * features` elements.
  ///   - input: `rows * features` elements.
  ///   - mean: `rows` elements.
  ///   - rstd: `rows` elements.
  ///   - weight: `features` elements, or `nil`.
  ///   - inputGradient: `rows * features` elements, written.
  ///   - weightGradient: `features` elements, written.
  ///   - biasGradient: `features` elements, written.
  ///   - rows: the number of rows.
  ///   - features: the row length.
  @specialized(where Scalar == Float)
  @specialized(where Scalar == Double)
  public static func layerNormBackward<Scalar: BinaryFloatingPoint>(
    _ outputGradient: UnsafeBufferPointer<Scalar>, input: UnsafeBufferPointer<Scalar>,
    mean: UnsafeBufferPointer<Scalar>, rstd: UnsafeBufferPointer<Scalar>,
    weight: UnsafeBufferPointer<Scalar>?, inputGradient: UnsafeMutableBufferPointer<Scalar>,
    weightGradient: UnsafeMutableBufferPointer<Scalar>,
    biasGradient: UnsafeMutableBufferPointer<Scalar>, rows: Int, features: Int
  ) {
    precondition(input.count >= rows * features && inputGradient.count >= rows * features)
    for i in 0..<features {
      weightGradient[i] = 0
      biasGradient[i] = 0
    }
    let n = Scalar(features)
    for row in 0..<rows {
      let base = row * features
      var sumG: Scalar = 0
      var sumGX: Scalar = 0
      for i in 0..<features {
        let xhat = (input[base + i] - mean[row]) * rstd[row]
        let g = outputGradient[base + i] * (weight?[i] ?? 1)
        sumG += g
        sumGX += g * xhat
        weightGradient[i] += outputGradient[base + i] * xhat
        biasGradient[i] += outputGradient[base + i]
      }
      for i in 0..<features {
        let xhat = (input[base + i] - mean[row]) * rstd[row]
        let g = outputGradient[base + i] * (weight?[i] ?? 1)
        inputGradient[base + i] = rstd[row] * (g - sumG / n - xhat * sumGX / n)
      }
    }
  }
}
