// The elementwise passes BLAS has no routine for, as explicit SIMD loops.
//
// Swift compiles for baseline x86-64 here (SSE2: 4 floats a vector) unless told otherwise;
// an 8-wide SIMD value lowers to two such registers, enough to keep the loads busy.

/// The vector width of the elementwise loops.
typealias Vector<Scalar: BLASScalar> = SIMD8<Scalar>
let vectorWidth = 8

extension UnsafePointer where Pointee: BLASScalar {
  @inline(__always)
  func loadVector(at index: Int) -> Vector<Pointee> {
    UnsafeRawPointer(self + index).loadUnaligned(as: Vector<Pointee>.self)
  }
}

extension UnsafeMutablePointer where Pointee: BLASScalar {
  @inline(__always)
  func storeVector(_ value: Vector<Pointee>, at index: Int) {
    UnsafeMutableRawPointer(self + index).storeBytes(of: value, as: Vector<Pointee>.self)
  }
}

/// Elements summed in `Scalar` lanes before the lane sums are added into `Double`: each
/// lane then adds at most 128 terms, so `Float` keeps its accuracy on long rows.
let laneFlushLength = 1024

/// `y[i] = x[i] - shift`, returning `(sum(y), sum(y * y))` accumulated in `Double`.
///
/// This is the second pass of the shifted two-pass moments: with `shift` within a few
/// standard deviations of the mean, `x - shift` is exact for close values and the sums do
/// not cancel.
@inline(__always)
func subtractAndMoments<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, shift: Scalar, into y: UnsafeMutablePointer<Scalar>, count n: Int
) -> (sum: Double, squares: Double) {
  var sum = 0.0
  var squares = 0.0
  let shiftVector = Vector<Scalar>(repeating: shift)
  var start = 0
  while start < n {
    let end = min(n, start + laneFlushLength)
    // Two accumulator pairs, so consecutive vector adds do not wait on each other.
    var s0 = Vector<Scalar>(), s1 = Vector<Scalar>()
    var q0 = Vector<Scalar>(), q1 = Vector<Scalar>()
    var i = start
    while i + 2 * vectorWidth <= end {
      let d0 = x.loadVector(at: i) - shiftVector
      let d1 = x.loadVector(at: i + vectorWidth) - shiftVector
      y.storeVector(d0, at: i)
      y.storeVector(d1, at: i + vectorWidth)
      s0 += d0
      s1 += d1
      q0 += d0 * d0
      q1 += d1 * d1
      i += 2 * vectorWidth
    }
    while i + vectorWidth <= end {
      let d = x.loadVector(at: i) - shiftVector
      y.storeVector(d, at: i)
      s0 += d
      q0 += d * d
      i += vectorWidth
    }
    let s = s0 + s1
    let q = q0 + q1
    var tailSum: Scalar = 0
    var tailSquares: Scalar = 0
    while i < end {
      let d = x[i] - shift
      y[i] = d
      tailSum += d
      tailSquares += d * d
      i += 1
    }
    sum += Double(s.sum()) + Double(tailSum)
    squares += Double(q.sum()) + Double(tailSquares)
    start = end
  }
  return (sum, squares)
}

/// `y[i] = (x[i] - center) * rstd * weight[i] + bias[i]`, a missing weight read as ones and
/// a missing bias as zeros; `x` may equal `y`. One loop per combination, so no branch sits
/// in the loop.
@inline(__always)
func scaleAndShift<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count n: Int,
  center: Scalar, rstd: Scalar, weight: UnsafePointer<Scalar>?, bias: UnsafePointer<Scalar>?
) {
  let c = Vector<Scalar>(repeating: center)
  let r = Vector<Scalar>(repeating: rstd)
  let vectorEnd = n - n % vectorWidth
  switch (weight, bias) {
  case (let w?, let b?):
    for i in stride(from: 0, to: vectorEnd, by: vectorWidth) {
      y.storeVector((x.loadVector(at: i) - c) * r * w.loadVector(at: i) + b.loadVector(at: i), at: i)
    }
    for i in vectorEnd..<n { y[i] = (x[i] - center) * rstd * w[i] + b[i] }
  case (let w?, nil):
    for i in stride(from: 0, to: vectorEnd, by: vectorWidth) {
      y.storeVector((x.loadVector(at: i) - c) * r * w.loadVector(at: i), at: i)
    }
    for i in vectorEnd..<n { y[i] = (x[i] - center) * rstd * w[i] }
  case (nil, let b?):
    for i in stride(from: 0, to: vectorEnd, by: vectorWidth) {
      y.storeVector((x.loadVector(at: i) - c) * r + b.loadVector(at: i), at: i)
    }
    for i in vectorEnd..<n { y[i] = (x[i] - center) * rstd + b[i] }
  case (nil, nil):
    for i in stride(from: 0, to: vectorEnd, by: vectorWidth) {
      y.storeVector((x.loadVector(at: i) - c) * r, at: i)
    }
    for i in vectorEnd..<n { y[i] = (x[i] - center) * rstd }
  }
}

/// `y[i] = a[i] + b[i]`; `y` may equal `a` or `b`.
@inline(__always)
func add<Scalar: BLASScalar>(
  _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>,
  count n: Int
) {
  let vectorEnd = n - n % vectorWidth
  for i in stride(from: 0, to: vectorEnd, by: vectorWidth) {
    y.storeVector(a.loadVector(at: i) + b.loadVector(at: i), at: i)
  }
  for i in vectorEnd..<n { y[i] = a[i] + b[i] }
}
