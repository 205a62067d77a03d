// Float's BLAS level-1 routines: the only place `cblas_s*` is called.

internal import CBLAS
internal import _LayerNormKernels

extension Float: BLASScalar {
  /// `cblas_ssum` over blocks of ``blasBlockLength`` elements, the block sums added in
  /// `Double`. `ssum` (an OpenBLAS extension of CBLAS) reads one stream where a dot against
  /// ones reads two: on rows in cache, 768 floats 44 against 64 ns, 4096 floats 209 against
  /// 334 ns. Its AVX2 kernel keeps 32 partial sums, as `sdot` does, so within a block each
  /// adds at most 128 terms in `Float`; no block is long enough for OpenBLAS to split it
  /// over its own threads.
  @inline(__always)
  public static func _blasSum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var total = 0.0
    var start = 0
    while start < count {
      let length = min(blasBlockLength, count - start)
      total += Double(cblas_ssum(blasint(length), x + start, 1))
      start += length
    }
    return total
  }

  /// The AVX2 kernel `lnk_row_moments` (only where the CPU has it).
  @inline(__always)
  public static func _kernelMoments(
    _ x: UnsafePointer<Float>, count: Int, fetching next: UnsafePointer<Float>?
  ) -> (shift: Float, sum: Double, squares: Double) {
    var shift: Float = 0
    var sum = 0.0
    var squares = 0.0
    lnk_row_moments_f32(x, count, next, &shift, &sum, &squares)
    return (shift, sum, squares)
  }

  /// `cblas_sdot` over blocks of ``blasBlockLength`` elements, the block sums added in
  /// `Double` (`cblas_dsdot` has no vector kernel in OpenBLAS 0.3.21: 199-209 ns on a
  /// 768-row against 56-62), each partial sum adding at most 128 terms in `Float`.
  @inline(__always)
  public static func _blasDot(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int
  ) -> Double {
    var total = 0.0
    var start = 0
    while start < count {
      let length = min(blasBlockLength, count - start)
      total += Double(cblas_sdot(blasint(length), x + start, 1, y + start, 1))
      start += length
    }
    return total
  }

  /// BLAS `axpy` (see ``BLASScalar/_blasAxpy(_:_:_:count:)``).
  @inline(__always)
  public static func _blasAxpy(
    _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int
  ) {
    cblas_saxpy(blasint(count), alpha, x, 1, y, 1)
  }

  /// The AVX2 kernel `lnk_moments` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _shiftedMoments(
    _ x: UnsafePointer<Float>, shift: Float, count: Int, fetching next: UnsafePointer<Float>?
  ) -> (sum: Double, squares: Double) {
    guard hasVectorKernels else { return shiftedMoments(x, shift: shift, count: count) }
    var sum = 0.0
    var squares = 0.0
    lnk_moments_f32(x, shift, count, &sum, &squares, next)
    return (sum, squares)
  }

  /// The AVX2 kernel `lnk_normalize` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _normalize(
    _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int, shift: Float,
    center: Float, rstd: Float, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
    streaming: Bool, fetching ahead: UnsafeRawPointer?
  ) {
    guard hasVectorKernels else {
      return normalize(
        x, into: y, count: count, shift: shift, center: center, rstd: rstd, weight: weight,
        bias: bias)
    }
    lnk_normalize_f32(x, y, count, shift, center, rstd, weight, bias, streaming ? 1 : 0, ahead)
  }

  /// The AVX2 kernel `lnk_normalize_pair` where the CPU has it, else the portable loops.
  @inline(__always)
  public static func _normalizePair(
    _ x0: UnsafePointer<Float>, into y0: UnsafeMutablePointer<Float>, shift0: Float, center0: Float,
    rstd0: Float, _ x1: UnsafePointer<Float>, into y1: UnsafeMutablePointer<Float>, shift1: Float,
    center1: Float, rstd1: Float, count: Int, weight: UnsafePointer<Float>?,
    bias: UnsafePointer<Float>?, streaming: Bool
  ) {
    guard hasVectorKernels else {
      return normalizePair(
        x0, into: y0, shift0: shift0, center0: center0, rstd0: rstd0, x1, into: y1,
        shift1: shift1, center1: center1, rstd1: rstd1, count: count, weight: weight, bias: bias)
    }
    lnk_normalize_pair_f32(
      x0, y0, shift0, center0, rstd0, x1, y1, shift1, center1, rstd1, count, weight, bias,
      streaming ? 1 : 0)
  }

  /// The AVX2 kernel `lnk_add` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _add(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
    count: Int, streamingCopy: UnsafeMutablePointer<Float>?, ahead: Int
  ) {
    guard hasVectorKernels else {
      add(a, b, into: y, count: count)
      streamingCopy?.update(from: y, count: count)
      return
    }
    lnk_add_f32(a, b, y, count, streamingCopy, ahead)
  }

  /// The AVX2 kernel `lnk_finish_rows` where the CPU has it, else the portable loops.
  @inline(__always)
  public static func _finishRows(
    _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, count: Int,
    sums: UnsafePointer<Double>?, kind: _NormalizationKind, eps: Double,
    weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
    mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?, streaming: Bool,
    inCache: Bool, prefetch: UnsafeBufferPointer<Float>?, alsoPrefetch: UnsafePointer<Float>?,
    extreme: UnsafeMutablePointer<Int>
  ) -> Int {
    guard hasVectorKernels else {
      return finishRows(
        x, into: y, rows: rows, count: count, sums: sums, kind: kind, eps: eps,
        weight: weight, bias: bias, mean: mean, rstd: rstd, extreme: extreme)
    }
    return lnk_finish_rows_f32(
      x, y, rows, count, sums, eps, kind == .layer ? 1 : 0, weight, bias, mean, rstd,
      streaming ? 1 : 0, inCache ? 1 : 0, prefetch?.baseAddress, alsoPrefetch,
      (prefetch?.count ?? 0) * MemoryLayout<Float>.size, extreme)
  }

  /// The AVX2 kernel `lnk_short_rows` where the CPU has it, else the portable loops.
  @inline(__always)
  public static func _shortRows(
    _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, count: Int,
    kind: _NormalizationKind, eps: Double,
    weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
    mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?, streaming: Bool,
    extreme: UnsafeMutablePointer<Int>
  ) -> Int {
    guard hasVectorKernels else {
      return shortRows(
        x, into: y, rows: rows, count: count, kind: kind, eps: eps, weight: weight, bias: bias,
        mean: mean, rstd: rstd, extreme: extreme)
    }
    return lnk_short_rows_f32(
      x, y, rows, count, eps, kind == .layer ? 1 : 0, weight, bias, mean, rstd,
      streaming ? 1 : 0, extreme)
  }

  /// The AVX2 kernel `lnk_add_blocks` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _addBlocks(
    _ partials: UnsafePointer<Float>, blocks: Int, stride: Int, count: Int,
    into out: UnsafeMutablePointer<Float>
  ) {
    guard hasVectorKernels else {
      return addBlocks(partials, blocks: blocks, stride: stride, count: count, into: out)
    }
    lnk_add_blocks_f32(partials, blocks, stride, count, out)
  }

  /// The AVX2 kernel `lnk_backward_rows` where the CPU has it, else the portable loop.
  @inline(__always)
  public static func _backwardRows(
    outputGradient dy: UnsafePointer<Float>, input x: UnsafePointer<Float>,
    inputGradient dx: UnsafeMutablePointer<Float>?, rows: Int, count: Int,
    shift: UnsafePointer<Float>, center: UnsafePointer<Float>, centersAreZero: Bool,
    rstd: UnsafePointer<Float>, kind: _NormalizationKind, weight: UnsafePointer<Float>?,
    weightPartial: UnsafeMutablePointer<Float>?, biasPartial: UnsafeMutablePointer<Float>?,
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
    lnk_backward_rows_f32(
      dy, x, dx, rows, count, shift, center, rstd, kind == .layer ? (centersAreZero ? 2 : 1) : 0,
      weight, weightPartial, biasPartial, streaming ? 1 : 0)
  }
}
