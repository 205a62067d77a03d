// The forward kernel shared by LayerNorm and RMSNorm, with and without a residual add.

/// Which normalization a kernel computes. Public only because the ``BLASScalar``
/// requirements take it.
public enum _NormalizationKind: Sendable {
  /// `(x - mean) * rstd * weight + bias`, `rstd = 1 / sqrt(var + eps)`.
  case layer
  /// `x * rstd * weight`, `rstd = 1 / sqrt(mean(x^2) + eps)`.
  case rms
}

/// One validated forward call: raw pointers to `rows * features` elements each, and the
/// per-row statistics buffers. Built only after every shape and count has been checked.
struct ForwardProblem<Scalar: BLASScalar>: @unchecked Sendable {
  var kind: _NormalizationKind
  var rows: Int
  var features: Int
  var eps: Double
  /// The input rows. May equal `output` (in place).
  var input: UnsafePointer<Scalar>
  /// When set, `input + residual` is normalized instead of `input`.
  var residual: UnsafePointer<Scalar>?
  /// Where `input + residual` is stored; may equal `input`. Without it the sum is formed in
  /// a block-sized scratch buffer (rows longer than a block: in `output`) and normalized
  /// from there, never written out.
  var sum: UnsafeMutablePointer<Scalar>?
  var output: UnsafeMutablePointer<Scalar>
  var weight: UnsafePointer<Scalar>?
  var bias: UnsafePointer<Scalar>?
  var mean: UnsafeMutablePointer<Scalar>?
  var rstd: UnsafeMutablePointer<Scalar>?
}

/// Rows shorter than this take the short-row kernel, which holds several rows per vector:
/// a BLAS call costs about 5 ns before any work, more than such a row takes.
let shortRowLength = 32

/// Rows are taken in blocks of at most this many elements (32 KiB of Float): pass 1
/// streams the block from memory, and passes 2 and 3 then find it in cache.
let rowBlockElements = 8192

/// Long rows (see ``isLongRow(count:of:)``) are taken in groups of about this many bytes
/// (1 MiB): the weight and bias are read once per group.
let longRowGroupBytes = 1 << 20

/// Inputs larger than this (the 512 KiB L2 of one core) fetch each next block ahead.
let prefetchInputBytes = 1 << 19

/// The fused add-and-LayerNorm forms each block's sum in a scratch block and, for rows up to
/// this long (Double 8 KiB; Float: ``fusedAddFetchInPassesFloatRowBytes``), fetches a later
/// block's two inputs during passes 2 and 3, into L2 and spread along the rows (see
/// `lnk_finish_rows`); longer rows (and RMSNorm's, which have one pass) fetch them during
/// the add. A short row's fixed cost (its BLAS call, sums, square root) leaves memory idle
/// unless the fetches are spread over it. Both places alternated in one process (benchmark,
/// one thread, medians of 15-21, two runs), Float: 32768x128 1.28x faster, 16384x256
/// 1.29-1.35x, 8192x512 1.19x, 4096x768 1.17x, 8192x1024 1.11-1.17x; Double: 32768x128
/// 1.22x, 16384x256 1.03-1.10x, 8192x512 1.05x. Without a sum output such blocks are
/// small (``fusedAddScratchBytes``), which moved Double's limit from 6 to 8 KiB: rows of
/// 8 KiB in small blocks fetching in passes 2 and 3 against 64 KiB blocks fetching during
/// the add (two alternating runs, one thread): 8192x1024 5.3-5.6 against 6.1 ms, 2048x1024
/// 0.89-1.06 against 1.34-1.39; rows of 16 KiB were slower so (4096x2048 6.1-6.5 against
/// 6.0).
/// (`Scripts/probe.sh fused-add-fetch` has both places in C, in the large blocks.)
let fusedAddFetchInPassesRowBytes = 8 << 10

/// ``fusedAddFetchInPassesRowBytes`` for Float: rows up to 16 KiB. Against 4 KiB (three
/// alternating runs, one thread): 4096x1536 1.94-2.07 against 2.40-2.72 ms, 2048x2048
/// 1.13-1.16 against 1.62-1.71, 2048x4096 3.06-3.25 against 3.23-3.30; rows of 32 KiB
/// were slower (1024x8192 3.52-3.63 against 3.18-3.28).
let fusedAddFetchInPassesFloatRowBytes = 1 << 14

/// The same limit when the sum is also streamed out (`add_forward_sum`, large inputs): rows
/// of 1 KiB or less were 1.10-1.23x faster fetching in passes 2 and 3, rows of 2-4 KiB
/// 0.86-1.09x (Float 8192x1024 0.86x and 0.96x, Double 8192x512 0.89x).
let fusedAddWithSumFetchInPassesRowBytes = 1 << 10

/// The fused add without a sum output that fetches in passes 2 and 3 (and the one with a
/// streamed sum, for rows up to ``fusedAddWithSumSmallBlockRowBytes``) forms its sum in
/// blocks of this many bytes (at least one row), each fetching the inputs of the block
/// ``fusedAddFetchAheadBytes`` on. In blocks of 32 KiB the add's reads of the input and the
/// residual (64 KiB through the 48 KiB L1) pushed the block's own sum out of L1 before
/// passes 1-3 read it: in `Scripts/probe.sh fused-add-fetch` at 8192x1024, the one-pass
/// floor (1.61 ms) that also stores each sum into a 32 KiB ring in L1 ran 1.96 ms, and
/// 1.59 with a 4 KiB ring. Benchmark, one thread, against 32 KiB blocks fetching the next
/// block (Double: 32 KiB blocks of rows up to 6 KiB), two or three alternating runs of one
/// binary switched by the environment: Float 8192x1024 1.90-2.34 against 2.90-3.32 ms,
/// 4096x1536 1.39-1.41 against 1.76-1.91, 4096x2048 2.19-2.45 against 2.68-3.02, 8192x896
/// 2.00 against 2.28-2.34, 2048x4096 2.54-2.63 against 2.84-3.15, 16384x512 1.95-2.09
/// against 2.08-2.37; Double 4096x768 1.35-1.47 against 1.87-2.22, 16384x512 4.95-5.18
/// against 6.41-6.47, 8192x512 2.06-2.12 against 2.86-2.88. Float rows of 3 KiB were within
/// 5 % either way (4096x768 0.73-0.75 against 0.72, 8192x768 1.48-1.64 against 1.55-1.62).
/// Blocks of 8 and 16 KiB were slower than 4 at 8192x1024 (2.5-3.3 ms).
let fusedAddScratchBytes = 4 << 10

/// The fused add with a streamed sum output (`add_forward_sum`, large inputs) that fetches
/// during the add (rows over ``fusedAddWithSumFetchInPassesRowBytes``) takes the small blocks
/// of ``fusedAddScratchBytes`` too, fetching as far ahead, for rows up to this long.
/// Benchmark, one thread, two alternating runs of one binary switched by the environment,
/// against 32 KiB blocks fetching the next block: Float 4096x768 850-860 against 1011-1034
/// us, 16384x512 2.66-3.00 against 3.39-3.47 ms, 8192x512 1.31-1.34 against 1.54-1.75,
/// 8192x1024 3.02-3.03 against 3.14-3.16; Double 4096x768 2.18-2.27 against 2.70-2.71,
/// 16384x512 6.54-6.66 against 7.46-7.53, 8192x512 2.98-3.06 against 3.54-3.56. Rows of
/// 8 KiB and more were slower (Double 8192x1024 7.40-7.66 against 7.26-7.33 ms) or the
/// same (Float 2048x4096, Double 2048x4096 and 512x16384).
let fusedAddWithSumSmallBlockRowBytes = 6 << 10

/// How far ahead (bytes of each input) the fused add's small blocks fetch; see
/// ``fusedAddScratchBytes``. `Scripts/probe.sh fused-add-fetch` (one run): 8192x1024 (one
/// row a block) 2.04 ms, against 2.83 fetching the next block and 3.23 in 32 KiB blocks;
/// 16384x512 2.00 against 2.38 and 2.37. 8 KiB ahead measured within noise of 16 in the
/// benchmark.
let fusedAddFetchAheadBytes = 16 << 10

/// Whether the fused add without a sum output forms a long row's sum in a scratch row
/// rather than in the output: LayerNorm rows under 256 KiB whose output is streamed, so
/// that the row is read from memory once (input and residual), its sum stays in L2 for the
/// statistics and the write, and the output is streamed out. Formed in the output, the
/// output's lines are read from memory before they are written (ordinary stores) and
/// written back later. Benchmark, three alternating runs, one thread: Double 512x16384
/// 6.5-7.2 against 7.8-8.2 ms, Float 128x32768 1.38-1.51 against 1.50-1.79 (noisy); two
/// threads Double 512x16384 3.3-4.6 against 4.5-5.1. Rows up to 512 KiB (the scratch row
/// written whole, as the shorter ones) were mixed: Double 128x32768 3.5-3.8 against 3.9 ms,
/// Float 64x65536 1.58-1.75 against 1.46-1.57.
func longRowSumInScratch<Scalar: BLASScalar>(_ p: ForwardProblem<Scalar>, rowBytes: Int) -> Bool {
  p.kind == .layer && rowBytes < 2 * longRowBytes
    && shouldStream(p.output, rows: p.rows, rowBytes: rowBytes)
}

/// Runs `problem` over all its rows, on up to `maximumThreads` threads.
@specialized(where Scalar == Float)
@specialized(where Scalar == Double)
func runForward<Scalar: BLASScalar>(_ problem: ForwardProblem<Scalar>, maximumThreads: Int) {
  let rowBytes = problem.features * MemoryLayout<Scalar>.size
  let streamingSum =
    problem.residual != nil && problem.features <= rowBlockElements
    && problem.sum.map { shouldStream($0, rows: problem.rows, rowBytes: rowBytes) } ?? false
  // Where `input + residual` is formed: a scratch block in cache with a streamed sum, or
  // without a sum output for rows under 128 KiB (the scratch holds at most one such row or
  // 32 KiB of rows); else in the sum output or, failing that, in the output itself.
  let sumInScratch =
    problem.residual != nil
    && (problem.sum == nil
      ? !isLongRow(count: problem.features, of: Scalar.self)
        || longRowSumInScratch(problem, rowBytes: rowBytes)
      : streamingSum)
  // An output the sum was just formed in is in cache, dirty: it is normalized in place with
  // ordinary stores (streaming over those lines measured 512x16384 1.5x slower).
  let formedInOutput = problem.residual != nil && problem.sum == nil && !sumInScratch
  let streaming =
    !formedInOutput && shouldStream(problem.output, rows: problem.rows, rowBytes: rowBytes)
  forEachRowBlock(
    rows: problem.rows, elementsPerRow: problem.features, maximumThreads: maximumThreads
  ) { rows in
    forwardRows(
      problem, rows: rows, streaming: streaming, streamingSum: streamingSum,
      sumInScratch: sumInScratch)
    if streaming || streamingSum { orderStreamingStores() }
  }
}

/// Normalizes `rows` of `problem`, a block at a time. With `sumInScratch`,
/// `input + residual` is formed in a scratch block, where the normalization finds it in
/// cache: with `streamingSum` (a large sum output) it is also written to the sum output past
/// the caches in the same pass, so the sum costs one write instead of a read and a write;
/// without a sum output it is not written at all.
@inline(__always)
func forwardRows<Scalar: BLASScalar>(
  _ p: ForwardProblem<Scalar>, rows: Range<Int>, streaming: Bool, streamingSum: Bool,
  sumInScratch: Bool
) {
  let n = p.features
  // RMSNorm's long rows stay row at a time: their statistics are one BLAS pass already,
  // and the column-chunked write alone measured 10 % slower on Double 32x32768.
  let long = p.kind == .layer && isLongRow(count: n, of: Scalar.self)
  let fetchAhead = p.rows * n * MemoryLayout<Scalar>.size > prefetchInputBytes
  // The input (with the fused add's residual) is small enough to stay in cache between
  // calls (the size above which outputs are streamed): its next block comes from L3.
  let inCache =
    p.rows * n * MemoryLayout<Scalar>.size * (p.residual == nil ? 1 : 2) < streamingOutputBytes
  let fetchInPassesRowBytes =
    streamingSum
    ? fusedAddWithSumFetchInPassesRowBytes
    : Scalar.self == Float.self ? fusedAddFetchInPassesFloatRowBytes : fusedAddFetchInPassesRowBytes
  let fetchSumInputsInPasses =
    p.kind == .layer && sumInScratch && fetchAhead
    && n * MemoryLayout<Scalar>.size <= fetchInPassesRowBytes
  // Blocks of `rowBlockElements`, but small ones, fetching further ahead, for the fused add
  // without a sum output that fetches in passes 2 and 3 (see fusedAddScratchBytes) and the
  // one with a streamed sum that fetches during the add (rows of 1-6 KiB, see
  // fusedAddWithSumSmallBlockRowBytes); a long row's sum formed in the scratch: one row a
  // block (see longRowSumInScratch).
  let smallBlocks =
    p.kind == .layer && fetchAhead
    && (p.sum == nil
      ? fetchSumInputsInPasses
      : streamingSum && !fetchSumInputsInPasses
        && n * MemoryLayout<Scalar>.size <= fusedAddWithSumSmallBlockRowBytes)
  let blockElements =
    smallBlocks ? fusedAddScratchBytes / MemoryLayout<Scalar>.size : rowBlockElements
  let blockRows = max(
    1,
    min(
      rows.count,
      long ? (sumInScratch ? 1 : longRowGroupBytes / (n * MemoryLayout<Scalar>.size))
        : blockElements / n))
  let fetchDistance =
    smallBlocks
    ? max(1, fusedAddFetchAheadBytes / (blockRows * n * MemoryLayout<Scalar>.size)) : 1
  // The scratch block starts on a 64-byte line: the add's stores and the passes' loads then
  // split no line, where Swift's own alignment of the buffer (16 bytes) left it 16, 32 or 48
  // bytes into one by the depth of the stack.
  withUnsafeTemporaryAllocation(
    byteCount: sumInScratch ? blockRows * n * MemoryLayout<Scalar>.stride : 0, alignment: 64
  ) { scratchBytes in
  let scratch = scratchBytes.bindMemory(to: Scalar.self)
  withUnsafeTemporaryAllocation(of: Double.self, capacity: blockRows) { sums in
   withUnsafeTemporaryAllocation(of: Int.self, capacity: blockRows) { extreme in
    var start = rows.lowerBound
    while start < rows.upperBound {
      let count = min(rows.upperBound - start, blockRows)
      let offset = start * n
      // The rows to normalize: the input, or input + residual formed in the sum buffer (or
      // in the output, when the caller did not ask for the sum).
      var x = p.input + offset
      // Long rows form their sum a chunk at a time while taking their statistics, which then
      // read it from L1 instead of from L3 or memory (both ways alternated in one process:
      // Float 16x65536 and 2x524288 one thread 9-14 % faster, two threads 3-16 %; Double
      // -4 to +8 %, two threads 3-10 %).
      var forming: (input: UnsafePointer<Scalar>, residual: UnsafePointer<Scalar>)? = nil
      if let residual = p.residual, long {
        forming = (x, residual + offset)
        x = UnsafePointer(sumInScratch ? scratch.baseAddress! : (p.sum ?? p.output) + offset)
      } else if let residual = p.residual {
        // In the scratch block: copied out past the caches with a streamed sum, and the
        // next block's input and residual fetched in passes 2 and 3 (longer rows and
        // RMSNorm's: during this one's add; see fusedAddFetchInPassesRowBytes).
        let formed = sumInScratch ? scratch.baseAddress! : (p.sum ?? p.output) + offset
        let copy = streamingSum ? p.sum.map { $0 + offset } : nil
        let ahead =
          sumInScratch && fetchAhead && !fetchSumInputsInPasses
            && start + (fetchDistance + 1) * count <= rows.upperBound
          ? fetchDistance * count * n : 0
        Scalar._add(
          x, residual + offset, into: formed, count: count * n, streamingCopy: copy,
          ahead: ahead)
        x = UnsafePointer(formed)
      }
      let y = p.output + offset
      let mean = p.mean.map { $0 + start }
      let rstd = p.rstd.map { $0 + start }
      let extremes: Int
      if n < shortRowLength {
        extremes = Scalar._shortRows(
          x, into: y, rows: count, count: n, kind: p.kind, eps: p.eps, weight: p.weight,
          bias: p.bias, mean: mean, rstd: rstd, streaming: streaming,
          extreme: extreme.baseAddress!)
      } else if long {
        extremes = normalizeLongRows(
          x, into: y, rows: count, p, forming: forming, mean: mean, rstd: rstd,
          streaming: streaming, extreme: extreme.baseAddress!)
      } else {
        // Pass 1, streaming the block from memory: the BLAS reductions.
        // One BLAS call per row (not one gemv per block): a row's result must not depend
        // on which rows share its block, and OpenBLAS's gemv rounds rows differently by
        // their position in the block. LayerNorm skips it where the CPU runs the vector
        // kernels: they take each row's moments about a rough shift (see layerMoments).
        let momentsInKernel = p.kind == .layer && hasVectorKernels
        for r in 0..<count where !momentsInKernel {
          let row = x + r * n
          switch p.kind {
          case .layer: sums[r] = Scalar._blasSum(row, count: n)
          case .rms: sums[r] = Scalar._blasDot(row, row, count: n)
          }
        }
        // Passes 2 and 3, in cache, while the next block's input is fetched from memory
        // (measured at 32768x128: 4.0-4.6 ms without, 2.7-2.9 ms with). Not when the
        // input fits in L2 (it is there already, and fetching into L1 evicts this block);
        // for the fused add, a later block's two inputs, when they are fetched here.
        let next = start + fetchDistance * count
        let nextCount = max(0, min(rows.upperBound - next, blockRows))
        let fetchNext = fetchAhead && nextCount > 0 && (p.residual == nil || fetchSumInputsInPasses)
        let prefetch =
          fetchNext ? UnsafeBufferPointer(start: p.input + next * n, count: nextCount * n) : nil
        let alsoPrefetch = fetchNext ? p.residual.map { $0 + next * n } : nil
        extremes = Scalar._finishRows(
          x, into: y, rows: count, count: n, sums: momentsInKernel ? nil : sums.baseAddress!,
          kind: p.kind, eps: p.eps,
          weight: p.weight, bias: p.bias, mean: mean, rstd: rstd, streaming: streaming,
          inCache: inCache, prefetch: prefetch, alsoPrefetch: alsoPrefetch,
          extreme: extreme.baseAddress!)
      }
      // Rows near the limits of Scalar, constant rows, rows with Inf or NaN: done again the
      // careful way, one element at a time in Double.
      for k in 0..<extremes {
        let r = extreme[k]
        normalizeExtremeRow(
          x + r * n, into: y + r * n, count: n, kind: p.kind, eps: p.eps, weight: p.weight,
          bias: p.bias, mean: mean.map { $0 + r }, rstd: rstd.map { $0 + r })
      }
      start += count
    }
   }
  }
  }
}

/// LayerNorm of a group of long rows (see ``isLongRow(count:of:)``): each row's statistics
/// a chunk at a time (``chunkedLayerStatistics(_:count:eps:forming:)``; with `forming`,
/// `x` is filled with `input + residual` along the way), then the rows
/// written a column chunk at a time across the group, so that the chunk of weight and bias
/// stays in cache for all of them, two rows a call where the output stays in cache, so that
/// each vector of it is loaded once for both (`Scripts/probe.sh long-rows`). Streamed rows
/// under 256 KiB are instead written whole right after their statistics. Rows for the
/// careful path are left unwritten (the input may be the output) and reported in `extreme`;
/// returns their count.
@inline(__always)
func normalizeLongRows<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, rows: Int,
  _ p: ForwardProblem<Scalar>,
  forming: (input: UnsafePointer<Scalar>, residual: UnsafePointer<Scalar>)?,
  mean: UnsafeMutablePointer<Scalar>?, rstd: UnsafeMutablePointer<Scalar>?, streaming: Bool,
  extreme: UnsafeMutablePointer<Int>
) -> Int {
  let n = p.features
  // A streamed row of less than 256 KiB is written whole as soon as its statistics are
  // known: the row just read, its weight and its bias fit in L2 together (3 x 128 KiB at
  // most), where the column-chunked write would read the group's rows back from L3. Both
  // alternated in one process (benchmark, medians of 21, four runs on one thread, two on
  // two): Float 64x32768 6-17 % faster, 128x32768 18-31 %, 256x32768 and 1024x32768 0-8 %;
  // Double 128x16384 13-27 %, 512x16384 and 2048x16384 2-6 %; two threads Float 4-22 %,
  // Double 3-19 %; add_forward_sum Float 64x32768 9-10 %, elsewhere no different. Never
  // slower; the same bits (the write's arithmetic is per element; checked on Float
  // 64x32768 and 80x32767, Double 64x16384 and 70x16383). An output that stays in cache
  // keeps the column-chunked write: whole rows there measured 3-25 % slower (Float 8x32768
  // and 32x32768, Double 16x16384 and 48x16384, forward and add_forward_sum, two runs).
  let writeAtOnce = streaming && n * MemoryLayout<Scalar>.size < 2 * longRowBytes
  // Each row's statistics, or nil for a row left to the careful path.
  return withUnsafeTemporaryAllocation(of: RowStatistics<Scalar>?.self, capacity: rows) {
    statistics in
    var extremes = 0
    for r in 0..<rows {
      let s = chunkedLayerStatistics(
        x + r * n, count: n, eps: p.eps,
        forming: forming.map { ($0.input + r * n, $0.residual + r * n) })
      statistics.initializeElement(at: r, to: s)
      guard let s else {
        extreme[extremes] = r
        extremes += 1
        continue
      }
      mean?[r] = s.mean
      rstd?[r] = Scalar(s.rstd)
      if writeAtOnce {
        // The forward's next input row (when there is one) streams in while this one is
        // written from L2: half of it along the write, the rest found by the statistics.
        // Three alternating runs, one thread: Double 512x16384 3.92-3.95 against 4.18-4.26
        // ms, Float 256x32768 1.79-1.81 against 1.90-1.99. (Not measured for the fused add,
        // whose next rows are two.)
        let next = x + (r + 1) * n
        let ahead = forming == nil && next < p.input + p.rows * n ? UnsafeRawPointer(next) : nil
        Scalar._normalize(
          x + r * n, into: y + r * n, count: n, shift: s.shift, center: s.center,
          rstd: Scalar(s.rstd), weight: p.weight, bias: p.bias, streaming: true, fetching: ahead)
      }
    }
    if writeAtOnce { return extremes }
    let chunk = statisticsChunk(of: Scalar.self)
    var start = 0
    while start < n {
      let length = min(chunk, n - start)
      let weight = p.weight.map { $0 + start }
      let bias = p.bias.map { $0 + start }
      // The ordinary rows two a call, so that each vector of weight and bias is loaded once
      // for both; streamed rows one a call (two rows 4 KiB-aligned apart made 32x65536 ten
      // times slower: their stores match each other's and the loads' low 12 bits).
      func writeRow(_ r: Int, _ s: RowStatistics<Scalar>) {
        let at = r * n + start
        Scalar._normalize(
          x + at, into: y + at, count: length, shift: s.shift, center: s.center,
          rstd: Scalar(s.rstd), weight: weight, bias: bias, streaming: streaming, fetching: nil)
      }
      var waiting: (row: Int, statistics: RowStatistics<Scalar>)? = nil
      for r in 0..<rows {
        guard let s = statistics[r] else { continue }
        if streaming {
          writeRow(r, s)
        } else if let (first, f) = waiting {
          let at0 = first * n + start
          let at1 = r * n + start
          Scalar._normalizePair(
            x + at0, into: y + at0, shift0: f.shift, center0: f.center, rstd0: Scalar(f.rstd),
            x + at1, into: y + at1, shift1: s.shift, center1: s.center, rstd1: Scalar(s.rstd),
            count: length, weight: weight, bias: bias, streaming: false)
          waiting = nil
        } else {
          waiting = (r, s)
        }
      }
      if let (row, s) = waiting { writeRow(row, s) }
      start += length
    }
    return extremes
  }
}

/// Passes 2 and 3 over `rows` rows, given their first-pass reductions (taken here when
/// `sums` is nil): the portable Swift version of the C kernel `lnk_finish_rows`.
///
/// LayerNorm uses a shifted two-pass scheme so that a large offset does not cancel:
/// 1. `m0 = sum(x) / n` (pass 1, BLAS, rounded to Scalar; when handed no sums,
///    ``layerMoments(_:count:sum:fetching:)`` takes steps 1 and 2);
/// 2. `c = sum(x - m0) / n` and `q = sum((x - m0)^2) / n` in Double, where `x - m0` is
///    exact for values close to `m0`; then `mean = m0 + c` and `var = q - c^2` (`c` is only
///    the rounding error of `m0`, so `c^2` is tiny);
/// 3. `y = ((x - m0) - c) * rstd * weight + bias` in one vector pass (BLAS has no
///    elementwise product), the row's only write.
@inline(__always)
func finishRows<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, rows: Int, count n: Int,
  sums: UnsafePointer<Double>?, kind: _NormalizationKind, eps: Double,
  weight: UnsafePointer<Scalar>?, bias: UnsafePointer<Scalar>?,
  mean: UnsafeMutablePointer<Scalar>?, rstd: UnsafeMutablePointer<Scalar>?,
  extreme: UnsafeMutablePointer<Int>
) -> Int {
  let count = Double(n)
  var extremes = 0
  for r in 0..<rows {
    let xr = x + r * n
    let yr = y + r * n
    switch kind {
    case .layer:
      let moments = layerMoments(xr, count: n, sum: sums?[r])
      guard
        let statistics = layerStatistics(
          shift: moments.shift, sum: moments.sum, squares: moments.squares, count: n, eps: eps)
      else {
        extreme[extremes] = r
        extremes += 1
        continue
      }
      mean?[r] = statistics.mean
      rstd?[r] = Scalar(statistics.rstd)
      normalize(
        xr, into: yr, count: n, shift: statistics.shift, center: statistics.center,
        rstd: Scalar(statistics.rstd), weight: weight, bias: bias)
    case .rms:
      let squares = sums?[r] ?? Scalar._blasDot(xr, xr, count: n)
      guard momentsAreOrdinary(sum: 0, squares: squares, count: n, as: Scalar.self) else {
        extreme[extremes] = r
        extremes += 1
        continue
      }
      let s = 1 / (squares / count + eps).squareRoot()
      rstd?[r] = Scalar(s)
      normalize(xr, into: yr, count: n, shift: 0, center: 0, rstd: Scalar(s), weight: weight, bias: nil)
    }
  }
  return extremes
}

/// The whole normalization of short rows, one row at a time: the portable Swift version of
/// the C kernel `lnk_short_rows`.
@inline(__always)
func shortRows<Scalar: BLASScalar>(
  _ x: UnsafePointer<Scalar>, into y: UnsafeMutablePointer<Scalar>, rows: Int, count n: Int,
  kind: _NormalizationKind, eps: Double,
  weight: UnsafePointer<Scalar>?, bias: UnsafePointer<Scalar>?,
  mean: UnsafeMutablePointer<Scalar>?, rstd: UnsafeMutablePointer<Scalar>?,
  extreme: UnsafeMutablePointer<Int>
) -> Int {
  var extremes = 0
  for r in 0..<rows {
    let xr = x + r * n
    var sum = 0.0
    switch kind {
    case .layer: for i in 0..<n { sum += Double(xr[i]) }
    case .rms: for i in 0..<n { sum += Double(xr[i]) * Double(xr[i]) }
    }
    var ignored = 0
    let isExtreme = withUnsafePointer(to: sum) { sums in
      finishRows(
        xr, into: y + r * n, rows: 1, count: n, sums: sums, kind: kind, eps: eps, weight: weight,
        bias: bias, mean: mean.map { $0 + r }, rstd: rstd.map { $0 + r }, extreme: &ignored) == 1
    }
    if isExtreme {
      extreme[extremes] = r
      extremes += 1
    }
  }
  return extremes
}
