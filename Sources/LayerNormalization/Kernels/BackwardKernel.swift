// The backward kernel: input, weight and bias gradients, bitwise the same at any thread count.

import Synchronization

/// One validated backward call, raw pointers after every shape and count was checked.
struct BackwardProblem<Scalar: BLASScalar>: @unchecked Sendable {
  var kind: _NormalizationKind
  var rows: Int
  var features: Int
  var eps: Double
  var input: UnsafePointer<Scalar>
  var outputGradient: UnsafePointer<Scalar>
  /// The forward's saved statistics; without them each row's are computed again, exactly
  /// as the forward computes them.
  var mean: UnsafePointer<Scalar>?
  var rstd: UnsafePointer<Scalar>?
  var weight: UnsafePointer<Scalar>?
  var inputGradient: UnsafeMutablePointer<Scalar>?
  var weightGradient: UnsafeMutablePointer<Scalar>?
  var biasGradient: UnsafeMutablePointer<Scalar>?
}

/// Rows per block of the weight and bias column sums: a fixed function of the shape, never
/// of the thread count, so the sums are added in the same order on any number of threads.
/// At most 256 rows added in `Scalar` before the blocks are added in `Double`; about 4 MiB
/// of Float input a block, since every block keeps a partial sum of a whole row for each
/// gradient (at 1 MiB a block, 512x16384 allocated and faulted in 4 MiB of partial sums a
/// call and ran 25 % slower than now). An input of `backwardSplitElements` or more keeps at
/// least 4 blocks where it has 4 rows, so that a few long rows still split over threads; a
/// smaller one stays whole, on one thread.
func backwardBlockRows(rows: Int, features: Int) -> Int {
  let rowsByBytes = min(256, max(1, (1 << 20) / features))
  guard rows &* features >= backwardSplitElements else { return rowsByBytes }
  return min(rowsByBytes, max(1, (rows + 3) / 4))
}

/// Inputs from this many elements on are cut into at least 4 blocks (see
/// ``backwardBlockRows(rows:features:)``). Smaller ones stay one block: 64x768 in 4 blocks
/// measured 10 % slower than in one on one thread, and 1-42 % slower in three alternating
/// runs when this limit followed the forward's for a second thread down to 16384.
let backwardSplitElements = 1 << 16

/// Runs `problem`: rows split over threads at block boundaries, each block's weight and
/// bias sums kept apart, then the blocks added in order.
@specialized(where Scalar == Float)
@specialized(where Scalar == Double)
func runBackward<Scalar: BLASScalar>(_ p: BackwardProblem<Scalar>, maximumThreads: Int) {
  let n = p.features
  let blockRows = backwardBlockRows(rows: p.rows, features: n)
  let blocks = (p.rows + blockRows - 1) / blockRows
  // Each block's partial sums start on a 64-byte line: the kernels load and store them
  // once per vector of every row, and a 512-bit access that straddles two lines costs two.
  let stride = partialStride(features: n, scalarSize: MemoryLayout<Scalar>.size)
  let partialCount = p.weightGradient != nil || p.biasGradient != nil ? blocks * stride : 0
  // Both partial sums in one piece of memory, kept between calls (see PartialsMemory), the
  // bias's 4 KiB and four lines after the weight's: right after them, Float 2048x4096 ran
  // 2943-3102 against 2727-2973 us (two alternating runs, two copies of each build).
  let gap = (4096 + 256) / MemoryLayout<Scalar>.stride
  let partialBytes = (2 * partialCount + gap) * MemoryLayout<Scalar>.stride
  let memory = PartialsMemory.take(bytes: partialBytes)
  defer { PartialsMemory.give(back: memory) }
  let weightPartials = memory.pointer.bindMemory(to: Scalar.self, capacity: 2 * partialCount + gap)
  let biasPartials = weightPartials + partialCount + gap
  let partials = SendableBox((weightPartials, biasPartials))
  let streaming =
    p.inputGradient.map {
      shouldStream($0, rows: p.rows, rowBytes: n * MemoryLayout<Scalar>.size)
    } ?? false
  forEachRowBlock(rows: blocks, elementsPerRow: blockRows * n, maximumThreads: maximumThreads) {
    blockRange in
    let (weightPartials, biasPartials) = partials.value
    withUnsafeTemporaryAllocation(of: Scalar.self, capacity: 3 * blockRows) { statistics in
      let computedShift = statistics.baseAddress!
      let computedCenter = computedShift + blockRows
      let computedRstd = computedCenter + blockRows
      // With the forward's saved statistics the kernel reads them where they are (shift the
      // saved mean, or zeros without one, center zeros) instead of a copy made row by row,
      // which was 3.6 % of a profile of the Float backward at 32768x128 and most of the
      // difference at rows of 8: benchmark (three alternating runs) Float 1000000x8
      // 2764-2858 against 4054-4097 us, Double 4915-5107 against 6305-6505.
      if p.rstd != nil { computedCenter.initialize(repeating: 0, count: blockRows) }
      for block in blockRange {
        let dw = p.weightGradient == nil ? nil : weightPartials + block * stride
        let db = p.biasGradient == nil ? nil : biasPartials + block * stride
        let first = block * blockRows
        let count = min(p.rows, first + blockRows) - first
        let shift: UnsafePointer<Scalar>
        let center: UnsafePointer<Scalar>
        let rstd: UnsafePointer<Scalar>
        if let savedRstd = p.rstd {
          shift = p.mean.map { $0 + first } ?? UnsafePointer(computedCenter)
          center = UnsafePointer(computedCenter)
          rstd = savedRstd + first
        } else {
          for k in 0..<count {
            let s = rowStatistics(p.input + (first + k) * n, count: n, kind: p.kind, eps: p.eps)
            computedShift[k] = s.shift
            computedCenter[k] = s.center
            computedRstd[k] = Scalar(s.rstd)
          }
          shift = UnsafePointer(computedShift)
          center = UnsafePointer(computedCenter)
          rstd = UnsafePointer(computedRstd)
        }
        Scalar._backwardRows(
          outputGradient: p.outputGradient + first * n, input: p.input + first * n,
          inputGradient: p.inputGradient.map { $0 + first * n }, rows: count, count: n,
          shift: shift, center: center, centersAreZero: p.rstd != nil, rstd: rstd,
          kind: p.kind, weight: p.weight,
          weightPartial: dw, biasPartial: db, streaming: streaming)
      }
    }
    if streaming { orderStreamingStores() }
  }
  // The block sums, split by columns over the threads (each column is added in block
  // order whatever the split).
  let outputs = SendableBox((p.weightGradient, p.biasGradient))
  if p.weightGradient != nil || p.biasGradient != nil {
    forEachRowBlock(rows: n, elementsPerRow: blocks, maximumThreads: maximumThreads) { columns in
      let (weightPartials, biasPartials) = partials.value
      let (dweight, dbias) = outputs.value
      let j = columns.lowerBound
      if let dweight {
        Scalar._addBlocks(weightPartials + j, blocks: blocks, stride: stride, count: columns.count, into: dweight + j)
      }
      if let dbias {
        Scalar._addBlocks(biasPartials + j, blocks: blocks, stride: stride, count: columns.count, into: dbias + j)
      }
    }
  }
}

/// Elements from one block's partial sums to the next: `features` rounded up to whole
/// 64-byte lines.
func partialStride(features: Int, scalarSize: Int) -> Int {
  let perLine = 64 / scalarSize
  return (features + perLine - 1) / perLine * perLine
}

/// Memory for the backward's partial sums, kept for the next call, so that the zero-copy
/// backward does not allocate once it has run. Freshly allocated, partial sums of 128 KiB
/// or more came from a new mapping every call and were faulted in 4 KiB at a time: Double
/// 512x16384 took 480 page faults a call (2 MiB of partials), none now. Benchmark, one
/// thread, six alternating runs on two copies of each build: Float 512x16384 2921-3040
/// against 3308-3531 us; 8192x1024 and 2048x4096 in both dtypes and Double 512x16384
/// within noise. One piece of up to ``keptBytes`` is kept; calls that find it taken
/// (several threads at once) or too small allocate their own.
enum PartialsMemory {
  /// The largest piece kept between calls.
  static let keptBytes = 8 << 20

  /// Memory starting on a 64-byte line, `bytes` long.
  struct Piece: @unchecked Sendable {
    var pointer: UnsafeMutableRawPointer
    var bytes: Int
  }
  private static let kept = Mutex<Piece?>(nil)

  /// At least `bytes` of uninitialized memory; hand it back with ``give(back:)``.
  static func take(bytes: Int) -> Piece {
    let found = kept.withLock { (piece: inout Piece?) -> Piece? in
      guard let found = piece, found.bytes >= bytes else { return nil }
      piece = nil
      return found
    }
    if let found { return found }
    let size = max(bytes, 64)
    let pointer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    return Piece(pointer: pointer, bytes: size)
  }

  /// Returns memory from ``take(bytes:)``: kept when it is no larger than ``keptBytes``
  /// and larger than the piece kept now (which is then freed), else freed.
  static func give(back returned: Piece) {
    let freed = kept.withLock { (piece: inout Piece?) -> Piece? in
      guard returned.bytes <= keptBytes else { return returned }
      guard let current = piece, current.bytes >= returned.bytes else {
        let replaced = piece
        piece = returned
        return replaced
      }
      return returned
    }
    freed?.pointer.deallocate()
  }
}

/// `out[j] = sum over blocks of partials[block * stride + j]` for `j` in `0..<count`,
/// added in `Double` in block order: the portable version of the C kernel `lnk_add_blocks`.
func addBlocks<Scalar: BLASScalar>(
  _ partials: UnsafePointer<Scalar>, blocks: Int, stride: Int, count: Int,
  into out: UnsafeMutablePointer<Scalar>
) {
  withUnsafeTemporaryAllocation(of: Double.self, capacity: count) { total in
    total.initialize(repeating: 0)
    for block in 0..<blocks {
      let row = partials + block * stride
      for j in 0..<count { total[j] += Double(row[j]) }
    }
    for j in 0..<count { out[j] = Scalar(total[j]) }
  }
}
