// Row reductions: BLAS level-1 for rows long enough to pay for the call, a loop below that.

/// Rows shorter than this are reduced with a Swift loop: a BLAS call costs about 5 ns
/// before it does any work, more than a short row takes to sum.
let blasMinimumRowLength = 32

/// `sum(x[i] * y[i])`, accumulated in `Double`.
@inline(__always)
func rowDot<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, _ y: UnsafePointer<Scalar>, count: Int
) -> Double {
  if count >= blasMinimumRowLength {
    return Scalar._blasDot(x, y, count: count)
  }
  var sum = 0.0
  for i in 0..<count { sum += Double(x[i]) * Double(y[i]) }
  return sum
}

/// `sum(x[i])` against a vector of ones, accumulated in `Double`.
@inline(__always)
func rowSum<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, ones: UnsafePointer<Scalar>, count: Int
) -> Double {
  if count >= blasMinimumRowLength {
    return Scalar._blasDot(x, ones, count: count)
  }
  var sum = 0.0
  for i in 0..<count { sum += Double(x[i]) }
  return sum
}
