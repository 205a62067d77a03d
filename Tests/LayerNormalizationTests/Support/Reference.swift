// The independent float64 reference: plain loops with compensated sums, no BLAS.

/// Neumaier's compensated sum: exact to about one rounding for the row lengths tested.
func compensatedSum<S: Sequence>(_ values: S) -> Double where S.Element == Double {
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
/// variance, compensated sums. Returns the output, the means and the rstds.
func referenceLayerNorm(
  _ x: [Double], rows: Int, features: Int, weight: [Double]?, bias: [Double]?, eps: Double
) -> (y: [Double], mean: [Double], rstd: [Double]) {
  var y = [Double](repeating: 0, count: x.count)
  var means = [Double](), rstds = [Double]()
  for row in 0..<rows {
    let values = x[row * features..<(row + 1) * features]
    // The corrected two-pass algorithm: the mean rounded to Double is off by up to half an
    // ulp of the offset, which the mean of the deviations measures and removes.
    let roughMean = compensatedSum(values) / Double(features)
    let correction = compensatedSum(values.map { $0 - roughMean }) / Double(features)
    let deviations = values.map { ($0 - roughMean) - correction }
    let variance = compensatedSum(deviations.map { $0 * $0 }) / Double(features)
    let rstd = 1 / (variance + eps).squareRoot()
    for i in 0..<features {
      y[row * features + i] = deviations[i] * rstd * (weight?[i] ?? 1) + (bias?[i] ?? 0)
    }
    means.append(roughMean + correction)
    rstds.append(rstd)
  }
  return (y, means, rstds)
}

/// Float64 RMSNorm of `rows` rows of `features` values.
func referenceRMSNorm(
  _ x: [Double], rows: Int, features: Int, weight: [Double]?, eps: Double
) -> (y: [Double], rstd: [Double]) {
  var y = [Double](repeating: 0, count: x.count)
  var rstds = [Double]()
  for row in 0..<rows {
    let values = x[row * features..<(row + 1) * features]
    let rstd = 1 / (compensatedSum(values.map { $0 * $0 }) / Double(features) + eps).squareRoot()
    for i in 0..<features {
      y[row * features + i] = values[values.startIndex + i] * rstd * (weight?[i] ?? 1)
    }
    rstds.append(rstd)
  }
  return (y, rstds)
}
