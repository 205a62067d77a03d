// A row's statistics, one definition for the forward and for a backward that recomputes
// them: the shifted two-pass LayerNorm moments (a chunk at a time for long rows), RMSNorm's
// mean square, and the careful path's for rows the fast passes cannot represent.

internal import _LayerNormKernels

/// Rows of at least this many bytes (128 KiB) are long: the row, its weight, its bias and
/// (unless streamed) its output together outgrow one core's 512 KiB L2, so the
/// row-at-a-time passes would fetch each of them from farther out more than once.
/// LayerNorm takes a long row's statistics a chunk at a time
/// (``chunkedLayerStatistics(_:count:eps:forming:)``) and writes a group of long rows a
/// column chunk at a time, or a streamed row under 256 KiB whole
/// (``normalizeLongRows(_:into:rows:_:forming:mean:rstd:streaming:extreme:)``).
func isLongRow<Scalar: BLASScalar>(count n: Int, of type: Scalar.Type) -> Bool {
  n * MemoryLayout<Scalar>.size >= longRowBytes
}

/// See ``isLongRow(count:of:)``.
let longRowBytes = 1 << 17

/// The chunk of a long row whose statistics are taken while it sits in L1 (16 KiB).
func statisticsChunk<Scalar: BLASScalar>(of type: Scalar.Type) -> Int {
  (1 << 14) / MemoryLayout<Scalar>.size
}

/// LayerNorm's moments of a row that is not long, exactly as the forward takes them:
/// `(shift, sum(x - shift), sum((x - shift)^2))` in Double, fetching the first half of
/// `next` (`n` elements read next) along the way. Given the row's `sum` (the forward's BLAS
/// pass), the shift is the rounded mean. Otherwise, where the CPU runs the vector kernels,
/// it is the mean of the row's first 32 elements, or the rounded mean where that lies too
/// far from it (``BLASScalar/_kernelMoments(_:count:fetching:)``: one pass over most rows);
/// elsewhere it is the rounded mean from a BLAS sum, a pass of its own.
///
/// The pass saved, measured against the BLAS sum per row (the kernel's own sum for rows up
/// to 512 bytes) it replaced: two builds, one thread, three alternating runs, Float 64x768
/// 7.56-7.66 against 9.12-9.35 us, 4096x768 551-581 against 617-629, 8192x1024 1613-1654
/// against 1841-1945; Double 64x768 15.5-16.2 against 18.8-19.4, 4096x768 981-1049
/// against 1276-1318, 8192x1024 2786-3325 against 4025-4222. Rows of 16-64 KiB and rows up
/// to 512 bytes within noise (Float 2048x4096 2158-2335 against 2227-2339 us, four runs).
@inline(__always)
func layerMoments<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, count n: Int, sum: Double? = nil,
  fetching next: UnsafePointer<Scalar>? = nil
) -> (shift: Scalar, sum: Double, squares: Double) {
  if sum == nil && hasVectorKernels { return Scalar._kernelMoments(x, count: n, fetching: next) }
  let m0 = Scalar((sum ?? Scalar._blasSum(x, count: n)) / Double(n))
  let moments = Scalar._shiftedMoments(x, shift: m0, count: n, fetching: next)
  return (m0, moments.sum, moments.squares)
}

/// A row's statistics as the kernels use them: `xhat = ((x - shift) - center) * rstd`.
struct RowStatistics<Scalar: BLASScalar> {
  var shift: Scalar
  var center: Scalar
  var rstd: Double

  /// The mean these statistics stand for, rounded to `Scalar` (what the forward reports).
  var mean: Scalar { Scalar(Double(shift) + Double(center)) }
}

/// A row's statistics exactly as the forward computes them: LayerNorm's shifted moments
/// (``layerMoments(_:count:sum:fetching:)``; long rows a chunk at a time), RMSNorm's mean
/// of squares from a BLAS dot, and the careful path for the rows those cannot represent.
@inline(__always)
func rowStatistics<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, count n: Int, kind: _NormalizationKind, eps: Double
) -> RowStatistics<Scalar> {
  if let ordinary = ordinaryRowStatistics(x, count: n, kind: kind, eps: eps) {
    return ordinary
  }
  // The forward's careful path, its mean in the row's own units as a rounded shift and
  // the small remainder, so that x - shift stays exact.
  let extreme = extremeRowStatistics(x, count: n, kind: kind, eps: eps)
  guard kind == .layer else { return RowStatistics(shift: 0, center: 0, rstd: extreme.rstd) }
  let shift = Scalar(extreme.roughMean / extreme.scale)
  let remainder = (extreme.roughMean - Double(shift) * extreme.scale) + extreme.correction
  return RowStatistics(shift: shift, center: Scalar(remainder / extreme.scale), rstd: extreme.rstd)
}

/// A row's statistics from the fast passes, or `nil` when the row needs the careful path
/// (see ``momentsAreOrdinary(sum:squares:count:as:)``).
@inline(__always)
func ordinaryRowStatistics<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, count n: Int, kind: _NormalizationKind, eps: Double
) -> RowStatistics<Scalar>? {
  switch kind {
  case .layer:
    if isLongRow(count: n, of: Scalar.self) {
      return chunkedLayerStatistics(x, count: n, eps: eps)
    }
    let moments = layerMoments(x, count: n)
    return layerStatistics(
      shift: moments.shift, sum: moments.sum, squares: moments.squares, count: n, eps: eps)
  case .rms:
    let squares = Scalar._blasDot(x, x, count: n)
    guard momentsAreOrdinary(sum: 0, squares: squares, count: n, as: Scalar.self) else {
      return nil
    }
    return RowStatistics(shift: 0, center: 0, rstd: 1 / (squares / Double(n) + eps).squareRoot())
  }
}

/// LayerNorm's statistics from its moments about `shift` (see
/// ``layerMoments(_:count:sum:fetching:)``); `nil` when the moments need the careful path
/// (see ``momentsAreOrdinary(sum:squares:count:as:)``).
@inline(__always)
func layerStatistics<Scalar: BLASScalar>(
  shift: Scalar, sum: Double, squares: Double, count n: Int, eps: Double
) -> RowStatistics<Scalar>? {
  guard momentsAreOrdinary(sum: sum, squares: squares, count: n, as: Scalar.self) else {
    return nil
  }
  let count = Double(n)
  let c = sum / count
  let variance = max(squares / count - c * c, 0)
  return RowStatistics(shift: shift, center: Scalar(c), rstd: 1 / (variance + eps).squareRoot())
}

/// LayerNorm's statistics of a long row, a 16 KiB chunk at a time: each chunk's moments
/// about its own shift `m` (``layerMoments(_:count:sum:fetching:)``: a rough shift kept
/// only close to the chunk's mean where the CPU runs the vector kernels, else the chunk's
/// rounded mean from a BLAS sum, which reads it into L1 first), merged in Double (Chan,
/// Golub and LeVeque's pairwise update), so the row is read from memory once for its
/// statistics instead of twice. Each chunk is shifted by a value near its own mean, so a
/// large offset cancels no digits, as in the row-at-a-time scheme. The shifts are kept as
/// offsets from the first chunk's `m`, and the row's mean is returned as a rounded shift
/// and the remainder (the center), which the write pass subtracts one after the other: a
/// Double row keeps the digits below its mean's last bit, as ``layerStatistics(shift:sum:squares:count:eps:)`` does. `nil` when the row needs
/// the careful path.
///
/// With `forming`, the row is `input + residual`, stored into `x` a chunk at a time just
/// before that chunk's statistics, so that the fused add-and-normalize reads its long rows'
/// sum for the statistics from L1 instead of from farther out a second time.
func chunkedLayerStatistics<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, count n: Int, eps: Double,
  forming: (input: UnsafePointer<Scalar>, residual: UnsafePointer<Scalar>)? = nil
) -> RowStatistics<Scalar>? {
  let chunk = statisticsChunk(of: Scalar.self)
  var reference = 0.0  // the first chunk's rounded mean
  var merged = 0.0  // elements merged so far
  var offset = 0.0  // their mean, minus `reference`
  var squares = 0.0  // their sum of squared deviations from the mean
  var start = 0
  while start < n {
    let length = min(chunk, n - start)
    let count = Double(length)
    if let (input, residual) = forming {
      // The chunk's sum, fetching the next chunk's two inputs along the way.
      Scalar._add(
        input + start, residual + start, into: UnsafeMutablePointer(mutating: x + start),
        count: length, streamingCopy: nil, ahead: start + 2 * chunk <= n ? chunk : 0)
    }
    // Fetching the next chunk (measured at 16x65536 in Scripts/probe.sh long-rows: 7-15 %
    // faster).
    let next = forming == nil && start + 2 * chunk <= n ? x + start + chunk : nil
    let moments = layerMoments(x + start, count: length, fetching: next)
    let m = moments.shift
    if start == 0 { reference = Double(m) }
    guard moments.sum.isFinite, moments.squares.isFinite else {
      if let (input, residual) = forming, start + length < n {
        // The rest of the sum, for the careful path.
        let rest = start + length
        Scalar._add(
          input + rest, residual + rest, into: UnsafeMutablePointer(mutating: x + rest),
          count: n - rest, streamingCopy: nil, ahead: 0)
      }
      return nil
    }
    let chunkOffset = (Double(m) - reference) + moments.sum / count
    let chunkSquares = max(moments.squares - moments.sum * (moments.sum / count), 0)
    let total = merged + count
    let delta = chunkOffset - offset
    offset += delta * (count / total)
    squares += chunkSquares + delta * delta * (merged * count / total)
    merged = total
    start += length
  }
  guard momentsAreOrdinary(sum: offset, squares: squares, count: n, as: Scalar.self) else {
    return nil
  }
  let shift = Scalar(reference + offset)
  return RowStatistics(
    shift: shift, center: Scalar((reference - Double(shift)) + offset),
    rstd: 1 / (squares / Double(n) + eps).squareRoot())
}
