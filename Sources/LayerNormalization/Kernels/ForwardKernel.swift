// The forward row kernel shared by LayerNorm and RMSNorm, with and without a residual add.

/// Which normalization a kernel computes.
enum NormalizationKind: Sendable {
  /// `(x - mean) * rstd * weight + bias`, `rstd = 1 / sqrt(var + eps)`.
  case layer
  /// `x * rstd * weight`, `rstd = 1 / sqrt(mean(x^2) + eps)`.
  case rms
}

/// One validated forward call: raw pointers to `rows * features` elements each, and the
/// per-row statistics buffers. Built only after every shape and count has been checked.
struct ForwardProblem<Scalar: BLASScalar>: @unchecked Sendable {
  var kind: NormalizationKind
  var rows: Int
  var features: Int
  var eps: Double
  /// The input rows. May equal `output` (in place).
  var input: UnsafePointer<Scalar>
  /// When set, `input + residual` is normalized instead of `input`.
  var residual: UnsafePointer<Scalar>?
  /// Where `input + residual` is stored; may equal `input`. Without it the sum is formed in
  /// `output` and normalized there.
  var sum: UnsafeMutablePointer<Scalar>?
  var output: UnsafeMutablePointer<Scalar>
  var weight: UnsafePointer<Scalar>?
  var bias: UnsafePointer<Scalar>?
  /// `features` ones, the other operand of the BLAS row sums.
  var ones: UnsafePointer<Scalar>
  var mean: UnsafeMutablePointer<Scalar>?
  var rstd: UnsafeMutablePointer<Scalar>?
}

/// Runs `problem` over all its rows, on up to `maximumThreads` threads.
@specialized(where Scalar == Float)
@specialized(where Scalar == Double)
func runForward<Scalar: BLASScalar>(_ problem: ForwardProblem<Scalar>, maximumThreads: Int) {
  let streaming = shouldStream(
    problem.output, rows: problem.rows, rowBytes: problem.features * MemoryLayout<Scalar>.size)
  forEachRowBlock(
    rows: problem.rows, elementsPerRow: problem.features, maximumThreads: maximumThreads
  ) { rows in
    forwardRows(problem, rows: rows, streaming: streaming)
    if streaming { orderStreamingStores() }
  }
}

/// Rows are taken in blocks of about this many elements (64 KiB of Float): the block is
/// first streamed from memory once by the BLAS row reductions, then finished in cache.
let forwardBlockElements = 1 << 14

/// Normalizes `rows` of `problem`, a block at a time.
@inline(__always)
func forwardRows<Scalar: BLASScalar>(
  _ p: ForwardProblem<Scalar>, rows: Range<Int>, streaming: Bool
) {
  let n = p.features
  let blockRows = max(1, min(rows.count, forwardBlockElements / n))
  withUnsafeTemporaryAllocation(of: Double.self, capacity: blockRows) { sums in
    var blockStart = rows.lowerBound
    while blockStart < rows.upperBound {
      let block = blockStart..<min(rows.upperBound, blockStart + blockRows)
      // Pass 1, streaming from memory: form x + residual where asked, and each row's BLAS
      // reduction (sum(x) for LayerNorm, sum(x * x) for RMSNorm).
      for row in block {
        let x = rowInput(p, row: row)
        switch p.kind {
        case .layer: sums[row - block.lowerBound] = rowSum(x, ones: p.ones, count: n)
        case .rms: sums[row - block.lowerBound] = rowDot(x, x, count: n)
        }
      }
      // Passes 2 and 3, in cache.
      for row in block {
        finishRow(p, row: row, firstSum: sums[row - block.lowerBound], streaming: streaming)
      }
      blockStart = block.upperBound
    }
  }
}

/// The row to normalize: the input row, or `input + residual` formed in the sum buffer (or
/// in the output row, when the caller did not ask for the sum).
@inline(__always)
func rowInput<Scalar: BLASScalar>(_ p: ForwardProblem<Scalar>, row: Int) -> UnsafePointer<Scalar> {
  let offset = row * p.features
  guard let residual = p.residual else { return p.input + offset }
  let sum = (p.sum ?? p.output) + offset
  Scalar._add(p.input + offset, residual + offset, into: sum, count: p.features)
  return UnsafePointer(sum)
}

/// Where ``rowInput(_:row:)`` left the row to normalize, without forming it again.
@inline(__always)
func formedRowInput<Scalar: BLASScalar>(_ p: ForwardProblem<Scalar>, row: Int)
  -> UnsafePointer<Scalar>
{
  let offset = row * p.features
  guard p.residual != nil else { return p.input + offset }
  return UnsafePointer((p.sum ?? p.output) + offset)
}

/// Normalizes one row of `problem`, given its first-pass reduction.
///
/// LayerNorm uses a shifted two-pass scheme so that a large offset does not cancel:
/// 1. `m0 = sum(x) / n` (BLAS dot against ones, accumulated in Double), rounded to Scalar;
/// 2. `c = sum(x - m0) / n` and `q = sum((x - m0)^2) / n` in Double, where `x - m0` is
///    exact for values close to `m0`; then `mean = m0 + c` and `var = q - c^2` (`c` is only
///    the rounding error of `m0`, so `c^2` is tiny);
/// 3. `y = ((x - m0) - c) * rstd * weight + bias` in one vector pass (BLAS has no
///    elementwise product), the row's only write.
@inline(__always)
func finishRow<Scalar: BLASScalar>(
  _ p: ForwardProblem<Scalar>, row: Int, firstSum: Double, streaming: Bool
) {
  let n = p.features
  let x = formedRowInput(p, row: row)
  let y = p.output + row * n
  let count = Double(n)
  switch p.kind {
  case .layer:
    let m0 = Scalar(firstSum / count)
    let moments = Scalar._shiftedMoments(x, shift: m0, count: n)
    let c = moments.sum / count
    let variance = max(moments.squares / count - c * c, 0)
    let rstd = 1 / (variance + p.eps).squareRoot()
    p.mean?[row] = Scalar(Double(m0) + c)
    p.rstd?[row] = Scalar(rstd)
    Scalar._normalize(
      x, into: y, count: n, shift: m0, center: Scalar(c), rstd: Scalar(rstd),
      weight: p.weight, bias: p.bias, streaming: streaming)
  case .rms:
    let rstd = 1 / (firstSum / count + p.eps).squareRoot()
    p.rstd?[row] = Scalar(rstd)
    Scalar._normalize(
      x, into: y, count: n, shift: 0, center: 0, rstd: Scalar(rstd), weight: p.weight,
      bias: nil, streaming: streaming)
  }
}
