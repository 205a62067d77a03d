// Rows the fast passes cannot represent: squares that overflow or underflow, Inf and NaN.

/// Whether the fast passes' moments can be trusted: finite, and the mean square large
/// enough that no lane lost digits to underflow. Rows failing this (magnitudes near the
/// limits of `Scalar`, subnormals, constant rows, rows with Inf or NaN) take
/// ``extremeRowStatistics(_:count:kind:eps:)``.
///
/// Float lanes square in `Float`: a square below 2^-102 loses bits, so a mean square below
/// 2^-80 sends the row to the careful path; Double lanes likewise below 2^-900.
@inline(__always)
func momentsAreOrdinary<Scalar: BLASScalar>(
  sum: Double, squares: Double, count: Int, as type: Scalar.Type
) -> Bool {
  let threshold = Scalar.self == Float.self ? 0x1p-80 : 0x1p-900
  return sum.isFinite && squares.isFinite && squares >= threshold * Double(count)
}

/// A row's statistics computed on the row scaled by a power of two (exact), in `Double`:
/// what the fast passes compute, without overflow or underflow, for any finite row.
struct ExtremeRowStatistics {
  /// `2^-e`, with `2^e` the magnitude of the row's largest element.
  var scale: Double
  /// The mean of the scaled row, as the rounded first-pass mean and the correction the
  /// second pass measured: applied one after the other, `(x * scale - rough) - correction`
  /// keeps the digits that `rough + correction`, rounded, would lose.
  var roughMean: Double
  var correction: Double
  /// `1 / sqrt(var_scaled + eps * scale^2)`: the factor applied to `x * scale - mean`.
  var scaledFactor: Double
  /// The statistics in the row's own units.
  var mean: Double
  var rstd: Double

  /// The statistics of a row holding Inf or NaN: NaN throughout.
  static let notANumber = ExtremeRowStatistics(
    scale: .nan, roughMean: .nan, correction: .nan, scaledFactor: .nan, mean: .nan, rstd: .nan)
}

/// The careful statistics of one row: its largest magnitude sets a power-of-two scale, the
/// moments of the scaled row are taken in Double by the corrected two-pass algorithm, and
/// `rstd = scale / sqrt(var_s + eps * scale^2)`, or `1 / sqrt(var_s / scale^2 + eps)` when
/// `eps * scale^2` overflows, so neither `var` nor eps over- or underflows into a wrong
/// answer. (When the true rstd exceeds the type's range, as for a subnormal row with
/// eps = 0, it is infinite.)
func extremeRowStatistics<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, count n: Int, kind: _NormalizationKind, eps: Double
) -> ExtremeRowStatistics {
  var largest = 0.0
  var constant = true
  for i in 0..<n {
    let value = Double(x[i])
    guard value.isFinite else { return .notANumber }
    largest = max(largest, abs(value))
    constant = constant && x[i] == x[0]
  }
  // 2^-e brings the largest magnitude into [1, 2); capped so the scale itself is finite
  // (Double subnormals then land near 2^-30, still far from underflow).
  let exponent = largest == 0 ? 0 : min(1000, max(-1000, -Int(largest.exponent)))
  let scale = Double(sign: .plus, exponent: exponent, significand: 1)
  let count = Double(n)
  var roughMean = 0.0
  var correction = 0.0
  var spread = 0.0
  switch kind {
  case .layer:
    // A constant row is its own mean exactly, so its output is exactly the bias.
    if constant {
      roughMean = Double(x[0]) * scale
    } else {
      var sum = 0.0
      for i in 0..<n { sum += Double(x[i]) * scale }
      roughMean = sum / count
      for i in 0..<n { correction += Double(x[i]) * scale - roughMean }
      correction /= count
      for i in 0..<n {
        let d = (Double(x[i]) * scale - roughMean) - correction
        spread += d * d
      }
    }
  case .rms:
    for i in 0..<n {
      let v = Double(x[i]) * scale
      spread += v * v
    }
  }
  let variance = spread / count
  // eps in scaled units; it overflows only for tiny rows, where it dominates the variance:
  // the factor on the scaled row is then 0 and rstd is 1 / sqrt(eps) to within rounding.
  let scaledEps = eps * scale * scale
  // A constant row (variance 0) with eps > 0 has rstd = 1/sqrt(eps) however small eps *
  // scale^2 underflows; its deviations are exactly 0, so any finite factor gives the bias.
  let scaledFactor =
    variance == 0 && eps > 0
    ? min(1 / eps.squareRoot() / scale, .greatestFiniteMagnitude)
    : 1 / (variance + scaledEps).squareRoot()
  let rstd =
    scaledEps.isFinite ? scaledFactor * scale : 1 / (variance / (scale * scale) + eps).squareRoot()
  return ExtremeRowStatistics(
    scale: scale, roughMean: roughMean, correction: correction, scaledFactor: scaledFactor,
    mean: (roughMean + correction) / scale, rstd: rstd)
}

/// Normalizes one row the careful way (see ``extremeRowStatistics(_:count:kind:eps:)``),
/// every element computed in Double:
/// `y = ((x * scale - rough) - correction) * factor * weight + bias`.
func normalizeExtremeRow<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count n: Int,
  kind: _NormalizationKind, eps: Double, weight: UnsafePointer<Scalar>?,
  bias: UnsafePointer<Scalar>?, mean: UnsafeMutablePointer<Scalar>?,
  rstd: UnsafeMutablePointer<Scalar>?
) {
  let s = extremeRowStatistics(x, count: n, kind: kind, eps: eps)
  mean?.pointee = Scalar(s.mean)
  rstd?.pointee = Scalar(s.rstd)
  for i in 0..<n {
    var value = ((Double(x[i]) * s.scale - s.roughMean) - s.correction) * s.scaledFactor
    if let weight { value *= Double(weight[i]) }
    if kind == .layer, let bias { value += Double(bias[i]) }
    y[i] = Scalar(value)
  }
}
