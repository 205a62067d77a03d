// The element types the package computes with, and the BLAS level-1 routines each one brings.

/// A floating-point element type with BLAS level-1 routines: `Float` (`cblas_s*`) and
/// `Double` (`cblas_d*`), and the elementwise passes BLAS has no routine for.
///
/// Every kernel in the package is written once, generically over `BLASScalar`; only the two
/// conformances (`Float+BLASScalar.swift`, `Double+BLASScalar.swift`) call CBLAS or the
/// AVX2 kernels of `_LayerNormKernels` (on CPUs without AVX2 they run the portable Swift
/// loops of `VectorLoops.swift`). Reductions
/// return `Double`: BLAS sums blocks of at most ``blasBlockLength`` elements, whose results
/// are added in `Double`, and the moments are accumulated in `Double`, so that a row's
/// statistics do not lose digits to its length or its offset.
///
/// The requirements take raw pointers and do no bounds checking: they are the package's
/// internal building blocks, public only so that the conformances can be written outside
/// the generic code. Call the layer types (``LayerNorm``, ``RMSNorm``) instead.
public protocol BLASScalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
  /// `sum(x[i])` for `i` in `0..<count`, in `Double` (OpenBLAS's `ssum` / `dsum`, over
  /// blocks of ``blasBlockLength`` elements).
  ///
  /// - Parameters:
  ///   - x: `count` contiguous elements.
  ///   - count: the number of elements, at least 0.
  static func _blasSum(_ x: UnsafePointer<Self>, count: Int) -> Double

  /// A LayerNorm row's moments as the AVX2 kernels take them for a row handed no sum (the
  /// C kernel `lnk_row_moments`): `(shift, sum(x[i] - shift), sum((x[i] - shift)^2))` for
  /// `i` in `0..<count`, in `Double`, where `shift` is the mean of the first 32 elements,
  /// or the rounded mean where that lies too far from it (see `LNK_ROUGH_SHIFTS`); a row of
  /// fewer than 32 elements takes the rounded mean. Only where the CPU runs the vector
  /// kernels (see `layerMoments(_:count:sum:fetching:)`).
  ///
  /// - Parameters:
  ///   - x: `count` contiguous elements.
  ///   - count: the number of elements, at least 1.
  ///   - next: `count` elements the caller reads next, or `nil`: their first half is
  ///     fetched into cache along the way.
  static func _kernelMoments(
    _ x: UnsafePointer<Self>, count: Int, fetching next: UnsafePointer<Self>?
  ) -> (shift: Self, sum: Double, squares: Double)

  /// `sum(x[i] * y[i])` for `i` in `0..<count`, in `Double` (BLAS `sdot` / `ddot`, over
  /// blocks of ``blasBlockLength`` elements).
  ///
  /// - Parameters:
  ///   - x: `count` contiguous elements.
  ///   - y: `count` contiguous elements.
  ///   - count: the number of elements, at least 0.
  static func _blasDot(
    _ x: UnsafePointer<Self>, _ y: UnsafePointer<Self>, count: Int
  ) -> Double

  /// `y[i] += alpha * x[i]` for `i` in `0..<count` (BLAS `axpy`).
  ///
  /// - Parameters:
  ///   - alpha: the scale applied to `x`.
  ///   - x: `count` contiguous elements.
  ///   - y: `count` contiguous elements, updated in place.
  ///   - count: the number of elements, at least 0.
  static func _blasAxpy(
    _ alpha: Self, _ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, count: Int)

  /// `(sum(x[i] - shift), sum((x[i] - shift)^2))` for `i` in `0..<count`, in `Double`.
  ///
  /// - Parameters:
  ///   - x: `count` contiguous elements.
  ///   - shift: subtracted before summing; close to the mean, so nothing cancels.
  ///   - count: the number of elements, at least 0.
  ///   - next: `count` elements the caller reads next, or `nil`: where the CPU allows,
  ///     their first half is fetched into cache along the way.
  static func _shiftedMoments(
    _ x: UnsafePointer<Self>, shift: Self, count: Int, fetching next: UnsafePointer<Self>?
  ) -> (sum: Double, squares: Double)

  /// `y[i] = ((x[i] - shift) - center) * rstd * weight[i] + bias[i]` for `i` in
  /// `0..<count`, a missing weight read as ones and a missing bias as zeros.
  ///
  /// - Parameters:
  ///   - x: `count` contiguous elements; may equal `y`.
  ///   - y: `count` contiguous elements, written.
  ///   - streaming: write `y` past the caches (non-temporal stores) where the CPU has them;
  ///     the caller then fences the stores before the result is read.
  ///   - ahead: memory read next, or `nil`: the vector kernel fetches half as many bytes of
  ///     it as it reads of `x`, along the way. Never read for its values.
  static func _normalize(
    _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, count: Int, shift: Self,
    center: Self, rstd: Self, weight: UnsafePointer<Self>?, bias: UnsafePointer<Self>?,
    streaming: Bool, fetching ahead: UnsafeRawPointer?)

  /// Two rows normalized as ``_normalize(_:into:count:shift:center:rstd:weight:bias:streaming:fetching:)``
  /// normalizes each (the same bits), with each stretch of the weight and bias read once
  /// for both: `x0` into `y0` with `shift0`, `center0`, `rstd0`, and `x1` into `y1` with
  /// `shift1`, `center1`, `rstd1`.
  static func _normalizePair(
    _ x0: UnsafePointer<Self>, into y0: UnsafeMutablePointer<Self>, shift0: Self, center0: Self,
    rstd0: Self, _ x1: UnsafePointer<Self>, into y1: UnsafeMutablePointer<Self>, shift1: Self,
    center1: Self, rstd1: Self, count: Int, weight: UnsafePointer<Self>?,
    bias: UnsafePointer<Self>?, streaming: Bool)

  /// Finishes `rows` rows of `count` elements given their first-pass reductions `sums`
  /// (`sum(x)` for LayerNorm, `sum(x^2)` for RMSNorm): passes 2 and 3 of the forward.
  /// For LayerNorm only, `sums` may be nil: each row's moments are then taken as
  /// `layerMoments(_:count:sum:fetching:)` takes them.
  /// Rows whose moments the fast passes cannot represent are left for the careful path:
  /// their indices go to `extreme`, and their count is returned. `prefetch` names memory
  /// the caller reads next (the next block of rows), and `alsoPrefetch` as many elements
  /// more (the fused add's residual): where the CPU allows, they are fetched into cache
  /// while these rows compute. `inCache` says that the caller's whole input stays in
  /// cache, so that `prefetch` comes from cache rather than memory.
  static func _finishRows(
    _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, rows: Int, count: Int,
    sums: UnsafePointer<Double>?, kind: _NormalizationKind, eps: Double,
    weight: UnsafePointer<Self>?, bias: UnsafePointer<Self>?,
    mean: UnsafeMutablePointer<Self>?, rstd: UnsafeMutablePointer<Self>?, streaming: Bool,
    inCache: Bool, prefetch: UnsafeBufferPointer<Self>?, alsoPrefetch: UnsafePointer<Self>?,
    extreme: UnsafeMutablePointer<Int>) -> Int

  /// The whole normalization of `rows` short rows (`count` below 32), several rows at a
  /// time; rows for the careful path are reported in `extreme` as by ``_finishRows``.
  static func _shortRows(
    _ x: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>, rows: Int, count: Int,
    kind: _NormalizationKind, eps: Double,
    weight: UnsafePointer<Self>?, bias: UnsafePointer<Self>?,
    mean: UnsafeMutablePointer<Self>?, rstd: UnsafeMutablePointer<Self>?, streaming: Bool,
    extreme: UnsafeMutablePointer<Int>) -> Int

  /// The backward pass over `rows` rows of `count` elements: for each row, with
  /// `xhat = ((x - shift[r]) - center[r]) * rstd[r]` and `g = dy * weight`, writes
  /// `weightPartial` and `biasPartial` where given: the sums over the rows, in row order, of
  /// `dy * xhat` and of `dy` (overwritten, not added into; no zeroing needed), and
  /// writes `dx = rstd * ((g - mean(g)) - xhat * mean(g * xhat))` (LayerNorm; RMSNorm drops
  /// `mean(g)`) where given. `dx` may alias `dy` or `x`; `streaming` writes it past the
  /// caches, as in ``_normalize``. `centersAreZero` says that every `center[r]` is +0 (the
  /// forward's saved statistics: the mean as the shift), so that the kernels may leave out
  /// its subtraction: the same bits, since `v - 0` is `v` for every `v`.
  static func _backwardRows(
    outputGradient dy: UnsafePointer<Self>, input x: UnsafePointer<Self>,
    inputGradient dx: UnsafeMutablePointer<Self>?, rows: Int, count: Int,
    shift: UnsafePointer<Self>, center: UnsafePointer<Self>, centersAreZero: Bool,
    rstd: UnsafePointer<Self>, kind: _NormalizationKind, weight: UnsafePointer<Self>?,
    weightPartial: UnsafeMutablePointer<Self>?, biasPartial: UnsafeMutablePointer<Self>?,
    streaming: Bool)

  /// `out[j] = Self(sum of Double(partials[b * stride + j]) for b in 0..<blocks)` for `j`
  /// in `0..<count`: the backward's per-block weight and bias sums, added in block order.
  static func _addBlocks(
    _ partials: UnsafePointer<Self>, blocks: Int, stride: Int, count: Int,
    into out: UnsafeMutablePointer<Self>)

  /// `y[i] = a[i] + b[i]` for `i` in `0..<count`; `y` may equal `a` or `b`. With
  /// `streamingCopy`, the same values also go there past the caches (16-byte aligned
  /// memory; it may equal `a` or `b`, not `y`). `a` and `b` are fetched `ahead` elements
  /// further on along the way (0: not), where the CPU allows.
  static func _add(
    _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, into y: UnsafeMutablePointer<Self>,
    count: Int, streamingCopy: UnsafeMutablePointer<Self>?, ahead: Int)
}

/// The longest vector handed to one BLAS reduction. OpenBLAS 0.3.21 splits `sdot`/`ddot`
/// over its own threads above 10000 elements; blocks of 4096 stay on the calling thread and
/// bound the `Float` accumulation error (`sdot` and `ssum` keep 32 partial sums, so each
/// adds at most 128 terms in `Float`).
let blasBlockLength = 4096
