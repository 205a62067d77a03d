// The portable elementwise passes: explicit SIMD loops in Swift, for CPUs without AVX2.
//
// Swift compiles for baseline x86-64 here (SSE2: 4 floats a register) unless told otherwise,
// so on AVX2 machines the conformances call the C kernels of _LayerNormKernels instead,
// which compute the same expressions in the same order with 256-bit vectors.

/// The vector width of the portable loops.
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

/// `(sum(x - shift), sum((x - shift)^2))`, accumulated in `Double` every
/// ``laneFlushLength`` elements.
@inline(__always)
func shiftedMoments<Scalar: BLASScalar>(_ x: UnsafePointer<Scalar>, shift: Scalar, count n: Int)
  -> (sum: Double, squares: Double)
{
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
      s0 += d0
      s1 += d1
      q0 += d0 * d0
      q1 += d1 * d1
      i += 2 * vectorWidth
    }
    while i + vectorWidth <= end {
      let d = x.loadVector(at: i) - shiftVector
      s0 += d
      q0 += d * d
      i += vectorWidth
    }
    var tailSum: Scalar = 0
    var tailSquares: Scalar = 0
    while i < end {
      let d = x[i] - shift
      tailSum += d
      tailSquares += d * d
      i += 1
    }
    sum += Double((s0 + s1).sum()) + Double(tailSum)
    squares += Double((q0 + q1).sum()) + Double(tailSquares)
    start = end
  }
  return (sum, squares)
}

/// Two rows, each exactly as ``normalize(_:into:count:shift:center:rstd:weight:bias:)``
/// computes it: the portable version of the C kernel `lnk_normalize_pair`.
@inline(__always)
func normalizePair<Scalar: BLASScalar>(
  _ x0: UnsafePointer<Scalar>, into y0: UnsafeMutablePointer<Scalar>, shift0: Scalar,
  center0: Scalar, rstd0: Scalar, _ x1: UnsafePointer<Scalar>,
  into y1: UnsafeMutablePointer<Scalar>, shift1: Scalar, center1: Scalar, rstd1: Scalar,
  count: Int, weight: UnsafePointer<Scalar>?, bias: UnsafePointer<Scalar>?
) {
  normalize(
    x0, into: y0, count: count, shift: shift0, center: center0, rstd: rstd0, weight: weight,
    bias: bias)
  normalize(
    x1, into: y1, count: count, shift: shift1, center: center1, rstd: rstd1, weight: weight,
    bias: bias)
}

/// `y[i] = ((x[i] - shift) - center) * rstd * weight[i] + bias[i]`, a missing weight read as
/// ones and a missing bias as zeros; `x` may equal `y`. One loop per combination, so no
/// branch sits in the loop.
@inline(__always)
func normalize<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, count n: Int,
  shift: Scalar, center: Scalar, rstd: Scalar,
  weight: UnsafePointer<Scalar>?, bias: UnsafePointer<Scalar>?
) {
  let s = Vector<Scalar>(repeating: shift)
  let c = Vector<Scalar>(repeating: center)
  let r = Vector<Scalar>(repeating: rstd)
  let vectorEnd = n - n % vectorWidth
  @inline(__always) func centered(_ i: Int) -> Vector<Scalar> { ((x.loadVector(at: i) - s) - c) * r }
  @inline(__always) func centered(scalar i: Int) -> Scalar { ((x[i] - shift) - center) * rstd }
  switch (weight, bias) {
  case (let w?, let b?):
    for i in stride(from: 0, to: vectorEnd, by: vectorWidth) {
      y.storeVector(centered(i) * w.loadVector(at: i) + b.loadVector(at: i), at: i)
    }
    for i in vectorEnd..<n { y[i] = centered(scalar: i) * w[i] + b[i] }
  case (let w?, nil):
    for i in stride(from: 0, to: vectorEnd, by: vectorWidth) {
      y.storeVector(centered(i) * w.loadVector(at: i), at: i)
    }
    for i in vectorEnd..<n { y[i] = centered(scalar: i) * w[i] }
  case (nil, let b?):
    for i in stride(from: 0, to: vectorEnd, by: vectorWidth) {
      y.storeVector(centered(i) + b.loadVector(at: i), at: i)
    }
    for i in vectorEnd..<n { y[i] = centered(scalar: i) + b[i] }
  case (nil, nil):
    for i in stride(from: 0, to: vectorEnd, by: vectorWidth) {
      y.storeVector(centered(i), at: i)
    }
    for i in vectorEnd..<n { y[i] = centered(scalar: i) }
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

/// One row of the backward pass (see ``BLASScalar/_backwardRows(outputGradient:input:inputGradient:rows:count:shift:center:centersAreZero:rstd:kind:weight:weightPartial:biasPartial:streaming:)``),
/// in portable Swift: the sums in `Scalar` lanes flushed to `Double` every
/// ``laneFlushLength`` elements, as the C row kernel does.
@inline(__always)
func backwardRow<Scalar: BLASScalar>(
  outputGradient dy: UnsafePointer<Scalar>, input x: UnsafePointer<Scalar>,
  inputGradient dx: UnsafeMutablePointer<Scalar>?, count n: Int, shift: Scalar, center: Scalar,
  rstd: Scalar, kind: _NormalizationKind, weight: UnsafePointer<Scalar>?,
  weightPartial dw: UnsafeMutablePointer<Scalar>?, biasPartial db: UnsafeMutablePointer<Scalar>?
) {
  @inline(__always) func xhat(_ i: Int) -> Scalar { ((x[i] - shift) - center) * rstd }
  // The weight unwrapped once a row, not with `weight.map` per element: unspecialized (a
  // debug build, such as the sanitizers' test runs), each `map` looked up the generic
  // metadata of its optional under a runtime lock, and with several threads in the
  // backward at once they queued on it (the portable ThreadSanitizer run did not finish in
  // 25 minutes).
  let w = weight ?? dy
  let weighted = weight != nil
  @inline(__always) func g(_ i: Int) -> Scalar { weighted ? dy[i] * w[i] : dy[i] }
  var a = 0.0
  var b = 0.0
  var start = 0
  while start < n {
    let end = min(n, start + laneFlushLength)
    var la: Scalar = 0
    var lb: Scalar = 0
    for i in start..<end {
      let xh = xhat(i)
      la += g(i)
      lb += g(i) * xh
      dw?[i] += dy[i] * xh
      db?[i] += dy[i]
    }
    a += Double(la)
    b += Double(lb)
    start = end
  }
  guard let dx else { return }
  let ca = kind == .layer ? Scalar(a / Double(n)) : 0
  let cb = Scalar(b / Double(n))
  for i in 0..<n { dx[i] = rstd * ((g(i) - ca) - xhat(i) * cb) }
}
