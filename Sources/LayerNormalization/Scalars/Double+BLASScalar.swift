// Double's BLAS level-1 routines: the only place `cblas_d*` is called.

internal import CBLAS
internal import _LayerNormKernels

extension Double: BLASScalar {
  /// `cblas_dsum` (an OpenBLAS extension of CBLAS) over blocks of ``blasBlockLength``
  /// elements, added in order: one stream read where a dot against ones reads two.
  @inline(__always)
  public static func _blasSum(_ x: UnsafePointer<Double>, count: Int) -> Double {
    var total = 0.0
    var start = 0
    while start < count {
      let length = min(blasBlockLength, count - start)
      total += cblas_dsum(blasint(length), x + start, 1)
      start += length
    }
    return total
  }

  /// The AVX2 kernel `lnk_row_moments` (only where the CPU has it).
  @inline(__always)
  public static func _kernelMoments(
    _ x: UnsafePointer<Double>, count: Int, fetching next: UnsafePointer<Double>?
  ) -> (shift: Double, sum: Double, squares: Double) {
    var shift: Double = 0
    var sum = 0.0
    var squares = 0.0
    lnk_row_moments_f64(x, count, next, &shift, &sum, &squares)
    return (shift, sum, squares)
  }

  /// `cblas_ddot` over blocks of ``blasBlockLength`` elements, added in order, so that
  /// no call is long enough for OpenBLAS to split it over its own threads.
  @inline(__always)
  public static func _blasDot(
    _ x: UnsafePointer<Double>, _ y: UnsafePointer<Double>, count: Int
  ) -> Double {
    var total = 0.0
    var start = 0
    while start < count {
      let length = min(blasBlockLength, count - start)
      total += cblas_ddot(blasint(length), x + start, 1, y + start, 1)
      start += length
    }
    return total
  }

  /// BLAS `axpy` (see ``BLASScalar/_blasAxpy(_:_:_:count:)``).
  @inline(__always)
  public static func _blasAxpy(
    _ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int
  ) {
    cblas_daxpy(blasint(count), alpha, x, 1, y, 1)
  }

  /// The AVX2 kernel `lnk_moments` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _shiftedMoments(
    _ x: UnsafePointer<Double>, shift: Double, count: Int, fetching next: UnsafePointer<Double>?
  ) -> (sum: Double, squares: Double) {
    guard hasVectorKernels else { return shiftedMoments(x, shift: shift, count: count) }
    var sum = 0.0
    var squares = 0.0
    lnk_moments_f64(x, shift, count, &sum, &squares, next)
    return (sum, squares)
  }

  /// The AVX2 kernel `lnk_normalize` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _normalize(
    _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, count: Int, shift: Double,
    center: Double, rstd: Double, weight: UnsafePointer<Double>?, bias: UnsafePointer<Double>?,
    streaming: Bool, fetching ahead: UnsafeRawPointer?
  ) {
    guard hasVectorKernels else {
      return normalize(
        x, into: y, count: count, shift: shift, center: center, rstd: rstd, weight: weight,
        bias: bias)
    }
    lnk_normalize_f64(x, y, count, shift, center, rstd, weight, bias, streaming ? 1 : 0, ahead)
  }

  /// The AVX2 kernel `lnk_normalize_pair` where the CPU has it, else the portable loops.
  @inline(__always)
  public static func _normalizePair(
    _ x0: UnsafePointer<Double>, into y0: UnsafeMutablePointer<Double>, shift0: Double, center0: Double,
    rstd0: Double, _ x1: UnsafePointer<Double>, into y1: UnsafeMutablePointer<Double>, shift1: Double,
    center1: Double, rstd1: Double, count: Int, weight: UnsafePointer<Double>?,
    bias: UnsafePointer<Double>?, streaming: Bool
  ) {
    guard hasVectorKernels else {
      return normalizePair(
        x0, into: y0, shift0: shift0, center0: center0, rstd0: rstd0, x1, into: y1,
        shift1: shift1, center1: center1, rstd1: rstd1, count: count, weight: weight, bias: bias)
    }
    lnk_normalize_pair_f64(
      x0, y0, shift0, center0, rstd0, x1, y1, shift1, center1, rstd1, count, weight, bias,
      streaming ? 1 : 0)
  }

  /// The AVX2 kernel `lnk_add` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _add(
    _ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>,
    count: Int, streamingCopy: UnsafeMutablePointer<Double>?, ahead: Int
  ) {
    guard hasVectorKernels else {
      add(a, b, into: y, count: count)
      streamingCopy?.update(from: y, count: count)
      return
    }
    lnk_add_f64(a, b, y, count, streamingCopy, ahead)
  }

  /// The AVX2 kernel `lnk_finish_rows` where the CPU has it, else the portable loops.
  @inline(__always)
  public static func _finishRows(
    _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, rows: Int, count: Int,
    sums: UnsafePointer<Double>?, kind: _NormalizationKind, eps: Double,
    weight: UnsafePointer<Double>?, bias: UnsafePointer<Double>?,
    mean: UnsafeMutablePointer<Double>?, rstd: UnsafeMutablePointer<Double>?, streaming: Bool,
    inCache: Bool, prefetch: UnsafeBufferPointer<Double>?, alsoPrefetch: UnsafePointer<Double>?,
    extreme: UnsafeMutablePointer<Int>
  ) -> Int {
    guard hasVectorKernels else {
      return finishRows(
        x, into: y, rows: rows, count: count, sums: sums, kind: kind, eps: eps,
        weight: weight, bias: bias, mean: mean, rstd: rstd, extreme: extreme)
    }
    return lnk_finish_rows_f64(
      x, y, rows, count, sums, eps, kind == .layer ? 1 : 0, weight, bias, mean, rstd,
      streaming ? 1 : 0, inCache ? 1 : 0, prefetch?.baseAddress, alsoPrefetch,
      (prefetch?.count ?? 0) * MemoryLayout<Double>.size, extreme)
  }

  /// The AVX2 kernel `lnk_short_rows` where the CPU has it, else the portable loops.
  @inline(__always)
  public static func _shortRows(
    _ x: UnsafePointer<Double>, into y: UnsafeMutablePointer<Double>, rows: Int, count: Int,
    kind: _NormalizationKind, eps: Double,
    weight: UnsafePointer<Double>?, bias: UnsafePointer<Double>?,
    mean: UnsafeMutablePointer<Double>?, rstd: UnsafeMutablePointer<Double>?, streaming: Bool,
    extreme: UnsafeMutablePointer<Int>
  ) -> Int {
    guard hasVectorKernels else {
      return shortRows(
        x, into: y, rows: rows, count: count, kind: kind, eps: eps, weight: weight, bias: bias,
        mean: mean, rstd: rstd, extreme: extreme)
    }
    return lnk_short_rows_f64(
      x, y, rows, count, eps, kind == .layer ? 1 : 0, weight, bias, mean, rstd,
      streaming ? 1 : 0, extreme)
  }

  /// The AVX2 kernel `lnk_add_blocks` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _addBlocks(
    _ partials: UnsafePointer<Double>, blocks: Int, stride: Int, count: Int,
    into out: UnsafeMutablePointer<Double>
  ) {
    guard hasVectorKernels else {
      return addBlocks(partials, blocks: blocks, stride: stride, count: count, into: out)
    }
    lnk_add_blocks_f64(partials, blocks, stride, count, out)
  }

  /// The AVX2 kernel `lnk_backward_rows` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _backwardRows(
    outputGradient dy: UnsafePointer<Double>, input x: UnsafePointer<Double>,
    inputGradient dx: UnsafeMutablePointer<Double>?, rows: Int, count: Int,
    shift: UnsafePointer<Double>, center: UnsafePointer<Double>, centersAreZero: Bool,
    rstd: UnsafePointer<Double>, kind: _NormalizationKind, weight: UnsafePointer<Double>?,
    weightPartial: UnsafeMutablePointer<Double>?, biasPartial: UnsafeMutablePointer<Double>?,
    streaming: Bool
  ) {
    guard hasVectorKernels else {
      weightPartial?.initialize(repeating: 0, count: count)
      biasPartial?.initialize(repeating: 0, count: count)
      for r in 0..<rows {
        backwardRow(
          outputGradient: dy + r * count, input: x + r * count,
          inputGradient: dx.map { $0 + r * count }, count: count, shift: shift[r],
          center: center[r], rstd: rstd[r], kind: kind, weight: weight,
          weightPartial: weightPartial, biasPartial: biasPartial)
      }
      return
    }
    lnk_backward_rows_f64(
      dy, x, dx, rows, count, shift, center, rstd, kind == .layer ? (centersAreZero ? 2 : 1) : 0,
      weight, weightPartial, biasPartial, streaming ? 1 : 0)
  }
}
