// The independent float64 reference: plain loops with compensated sums, no BLAS.
//
// Shared by the tests and the fuzzer; not part of the library product.

/// Neumaier's compensated sum: exact to about one rounding for the row lengths tested.
public func compensatedSum<S: Sequence>(_ values: S) -> Double where S.Element == Double {
  var sum = 0.0
  var compensation = 0.0
  for value in values {
    let t = sum + value
    if abs(sum) >= abs(value) {
      compensation += (sum - t) + value
    } else {
      compensation += (value - t) + sum
    }
    sum = t
  }
  return sum + compensation
}

/// Float64 layer norm of `rows` rows of `features` values: two-pass mean and biased
/// variance, compensated sums. Returns the output, the means and the rstds. Each row is
/// first scaled by a power of two (exact) so that its squares neither overflow nor
/// underflow, and the statistics scaled back; a row holding Inf or NaN gives NaN.
public func referenceLayerNorm(
  _ x: [Double], rows: Int, features: Int, weight: [Double]?, bias: [Double]?, eps: Double
) -> (y: [Double], mean: [Double], rstd: [Double]) {
  var y = [Double](repeating: 0, count: x.count)
  var means = [Double](), rstds = [Double]()
  for row in 0..<rows {
    let (values, scale) = scaledRow(x[row * features..<(row + 1) * features])
    // The corrected two-pass algorithm: the mean rounded to Double is off by up to half an
    // ulp of the offset, which the mean of the deviations measures and removes.
    let roughMean = compensatedSum(values) / Double(features)
    let correction = compensatedSum(values.map { $0 - roughMean }) / Double(features)
    let deviations = values.map { ($0 - roughMean) - correction }
    let variance = compensatedSum(deviations.map { $0 * $0 }) / Double(features)
    let factor = scaledFactor(variance: variance, eps: eps, scale: scale)
    for i in 0..<features {
      y[row * features + i] = deviations[i] * factor * (weight?[i] ?? 1) + (bias?[i] ?? 0)
    }
    means.append((roughMean + correction) / scale)
    let scaledEps = eps * scale * scale
    rstds.append(scaledEps.isFinite ? factor * scale : 1 / (variance / (scale * scale) + eps).squareRoot())
  }
  return (y, means, rstds)
}

/// Float64 RMSNorm of `rows` rows of `features` values.
public func referenceRMSNorm(
  _ x: [Double], rows: Int, features: Int, weight: [Double]?, eps: Double
) -> (y: [Double], rstd: [Double]) {
  var y = [Double](repeating: 0, count: x.count)
  var rstds = [Double]()
  for row in 0..<rows {
    let (values, scale) = scaledRow(x[row * features..<(row + 1) * features])
    let meanSquare = compensatedSum(values.map { $0 * $0 }) / Double(features)
    let factor = scaledFactor(variance: meanSquare, eps: eps, scale: scale)
    for i in 0..<features {
      y[row * features + i] = values[i] * factor * (weight?[i] ?? 1)
    }
    rstds.append(factor * scale)
  }
  return (y, rstds)
}

/// The row times `2^-e`, where `2^e` is its largest magnitude (capped so the scale is
/// finite), and that scale; NaN values when the row holds Inf or NaN.
func scaledRow(_ row: ArraySlice<Double>) -> (values: [Double], scale: Double) {
  guard row.allSatisfy(\.isFinite) else { return (row.map { _ in .nan }, .nan) }
  let largest = row.map(abs).max() ?? 0
  let exponent = largest == 0 ? 0 : min(1000, max(-1000, -Int(largest.exponent)))
  let scale = Double(sign: .plus, exponent: exponent, significand: 1)
  return (row.map { $0 * scale }, scale)
}

/// `1 / sqrt(variance + eps * scale^2)`, except that a zero variance with eps > 0 keeps the
/// finite `1 / (sqrt(eps) * scale)` even where `eps * scale^2` underflows to zero.
func scaledFactor(variance: Double, eps: Double, scale: Double) -> Double {
  if variance == 0 && eps > 0 { return min(1 / eps.squareRoot() / scale, .greatestFiniteMagnitude) }
  return 1 / (variance + eps * scale * scale).squareRoot()
}
