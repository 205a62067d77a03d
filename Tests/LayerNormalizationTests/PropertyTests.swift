// Properties: invariances, shapes that must agree, and the paths that must agree bit for bit.

import LayerNormalization
import Testing

@Suite("Properties")
struct PropertyTests {
  static let shapes: [[Int]] = [[4, 8], [3, 5, 64], [2, 3, 768], [6, 33], [2, 5000], [40, 3]]

  func random<Scalar: BLASScalar>(_ count: Int, seed: UInt64, as type: Scalar.Type) -> [Scalar] {
    var generator = SeededGenerator(seed: seed)
    return generator.values(count, as: Scalar.self, scale: 2, offset: 0.5).converted(to: Scalar.self)
  }

  @Test("LN(a*x + c) == LN(x) for a > 0", arguments: shapes)
  func affineInvariance(_ shape: [Int]) throws {
    let count = shape.reduce(1, *)
    let norm = try LayerNorm<Double>(normalizedShape: [shape.last!], eps: 0)
    let x = random(count, seed: 7, as: Double.self)
    let base = try norm(ShapedArray(shape: shape, scalars: x))
    for (a, c) in [(3.0, 0.0), (0.001, 5.0), (1000.0, -7.0), (0.5, 1e4)] {
      let moved = try norm(ShapedArray(shape: shape, scalars: x.map { a * $0 + c }))
      expectClose(moved.scalars, base.scalars, tolerance: 1e-9, "\(shape) a=\(a) c=\(c)")
    }
    let normFloat = try LayerNorm<Float>(normalizedShape: [shape.last!], eps: 0)
    let xf = random(count, seed: 7, as: Float.self)
    let baseFloat = try normFloat(ShapedArray(shape: shape, scalars: xf))
    let movedFloat = try normFloat(ShapedArray(shape: shape, scalars: xf.map { 4 * $0 + 3 }))
    expectClose(movedFloat.scalars.asDoubles, baseFloat.scalars.asDoubles, tolerance: 4e-5, "\(shape) Float")
  }

  @Test("(N, S, D) gives the same bits as (N*S, D)")
  func batchShapes() throws {
    let x = random(2 * 3 * 4 * 96, seed: 3, as: Float.self)
    let norm = try LayerNorm<Float>(normalizedShape: [96])
    let a = try norm(ShapedArray(shape: [2, 3, 4, 96], scalars: x))
    let b = try norm(ShapedArray(shape: [24, 96], scalars: x))
    let c = try norm(ShapedArray(shape: [2, 12, 96], scalars: x))
    #expect(sameBits(a.scalars, b.scalars) && sameBits(b.scalars, c.scalars))
    // A batch of one is the same as that row inside a batch.
    let one = try norm(ShapedArray(shape: [1, 96], scalars: Array(x[96..<192])))
    #expect(sameBits(one.scalars, Array(b.scalars[96..<192])))
  }

  @Test("Zero-copy, Span, in-place and allocating paths agree bit for bit", arguments: shapes)
  func pathsAgree(_ shape: [Int]) throws {
    try pathsAgree(Float.self, shape)
    try pathsAgree(Double.self, shape)
  }

  func pathsAgree<Scalar: BLASScalar>(_ type: Scalar.Type, _ shape: [Int]) throws {
    let count = shape.reduce(1, *)
    var norm = try LayerNorm<Scalar>(normalizedShape: [shape.last!])
    norm.weight = random(shape.last!, seed: 11, as: Scalar.self)
    norm.bias = random(shape.last!, seed: 12, as: Scalar.self)
    let x = random(count, seed: 5, as: Scalar.self)
    let allocated = try norm(ShapedArray(shape: shape, scalars: x))

    var zeroCopy = [Scalar](repeating: .nan, count: count)
    try x.withUnsafeBufferPointer { input in
      try zeroCopy.withUnsafeMutableBufferPointer { output in
        try norm.forward(input, shape: shape, into: output)
      }
    }
    #expect(sameBits(zeroCopy, allocated.scalars), "buffer pointers")

    var spanOutput = [Scalar](repeating: .nan, count: count)
    var outputSpan = spanOutput.mutableSpan
    try norm.forward(x.span, shape: shape, into: &outputSpan)
    _ = consume outputSpan
    #expect(sameBits(spanOutput, allocated.scalars), "Span")

    var inPlace = x
    var inPlaceSpan = inPlace.mutableSpan
    try norm.forwardInPlace(&inPlaceSpan, shape: shape)
    _ = consume inPlaceSpan
    #expect(sameBits(inPlace, allocated.scalars), "in place")

    var aliased = x
    try aliased.withUnsafeMutableBufferPointer { buffer in
      try norm.forward(UnsafeBufferPointer(buffer), shape: shape, into: buffer)
    }
    #expect(sameBits(aliased, allocated.scalars), "aliased buffer pointers")

    // Statistics requested or not, the output is the same.
    let withStatistics = try norm.forwardWithStatistics(ShapedArray(shape: shape, scalars: x))
    #expect(sameBits(withStatistics.output.scalars, allocated.scalars), "with statistics")

    // Fused add in the residual stream's memory equals the allocating fused add.
    let r = random(count, seed: 6, as: Scalar.self)
    let fused = try norm.addAndNormalize(ShapedArray(shape: shape, scalars: x), residual: ShapedArray(shape: shape, scalars: r))
    var stream = r
    var streamSpan = stream.mutableSpan
    var fusedOutput = [Scalar](repeating: .nan, count: count)
    var fusedSpan = fusedOutput.mutableSpan
    try norm.addAndNormalize(x.span, into: &streamSpan, shape: shape, output: &fusedSpan)
    _ = consume streamSpan
    _ = consume fusedSpan
    #expect(sameBits(stream, fused.sum.scalars) && sameBits(fusedOutput, fused.output.scalars), "stream add")

    // Without keeping the sum (post-norm): the same output, also when written over x.
    var withoutSum = [Scalar](repeating: .nan, count: count)
    var withoutSumSpan = withoutSum.mutableSpan
    try norm.addAndNormalize(x.span, residual: r.span, shape: shape, output: &withoutSumSpan)
    _ = consume withoutSumSpan
    var overX = x
    try overX.withUnsafeMutableBufferPointer { xs in
      try r.withUnsafeBufferPointer { rs in
        try norm.addAndNormalize(UnsafeBufferPointer(xs), residual: rs, shape: shape, output: xs)
      }
    }
    #expect(sameBits(withoutSum, fused.output.scalars) && sameBits(overX, fused.output.scalars), "without the sum")
    var rms = try RMSNorm<Scalar>(normalizedShape: [shape.last!])
    rms.weight = norm.weight
    let rmsFused = try rms.addAndNormalize(ShapedArray(shape: shape, scalars: x), residual: ShapedArray(shape: shape, scalars: r))
    var rmsWithoutSum = [Scalar](repeating: .nan, count: count)
    try x.withUnsafeBufferPointer { xs in
      try r.withUnsafeBufferPointer { rs in
        try rmsWithoutSum.withUnsafeMutableBufferPointer { ys in
          try rms.addAndNormalize(xs, residual: rs, shape: shape, output: ys)
        }
      }
    }
    #expect(sameBits(rmsWithoutSum, rmsFused.output.scalars), "RMSNorm without the sum")
  }

  @Test("Any thread count gives the same bits", arguments: [[3, 7], [64, 768], [1000, 40], [9, 20000], [4096, 8], [9, 40000]])
  func threadCounts(_ shape: [Int]) throws {
    let count = shape.reduce(1, *)
    let x = random(count, seed: 9, as: Float.self)
    var norm = try LayerNorm<Float>(normalizedShape: [shape.last!])
    var rms = try RMSNorm<Float>(normalizedShape: [shape.last!])
    norm.maximumThreadCount = 1
    rms.maximumThreadCount = 1
    let single = try norm.forwardWithStatistics(ShapedArray(shape: shape, scalars: x))
    let singleRMS = try rms(ShapedArray(shape: shape, scalars: x))
    for threads in [2, 3, 4, 8, 64] {
      norm.maximumThreadCount = threads
      rms.maximumThreadCount = threads
      let many = try norm.forwardWithStatistics(ShapedArray(shape: shape, scalars: x))
      #expect(sameBits(many.output.scalars, single.output.scalars), "\(shape) threads \(threads)")
      #expect(sameBits(many.mean.scalars, single.mean.scalars) && sameBits(many.rstd.scalars, single.rstd.scalars))
      let manyRMS = try rms(ShapedArray(shape: shape, scalars: x))
      #expect(sameBits(manyRMS.scalars, singleRMS.scalars))
    }
  }

  @Test("A row's result does not depend on where it sits in the batch", arguments: [3, 4, 8, 12, 64, 100, 768, 17000, 40000])
  func rowPosition(_ features: Int) throws {
    try rowPosition(Float.self, features, rows: 37)
    try rowPosition(Double.self, features, rows: 37)
  }

  /// The same in a batch of 0.5-8 MiB, whose next block comes from L3 while one is
  /// normalized, and whose rows up to 2 KiB take their statistics eight at a time.
  @Test("A row's result does not depend on where it sits in a batch larger than L2", arguments: [200, 300, 500])
  func rowPositionLargerThanL2(_ features: Int) throws {
    try rowPosition(Float.self, features, rows: 2001, checked: [0, 1, 2, 3, 4, 9, 1000, 1997, 2000])
    try rowPosition(Double.self, features, rows: 1001, checked: [0, 1, 2, 3, 4, 9, 500, 997, 1000])
  }

  /// Each of the `checked` rows (all by default) of a batch of `rows` (37: full groups of
  /// the several-rows kernels, up to sixteen rows, and a padded last group), normalized
  /// alone, gives the bits it gets inside the batch; also with an offset row (4), a NaN
  /// row (9), and rows whose first 32 elements lie apart from the rest (1, 6, 17, 30: the
  /// vector kernels take their moments again about the rounded mean, see
  /// `LNK_ROUGH_SHIFTS`; a group of rows tests that several at once) among them.
  func rowPosition<Scalar: BLASScalar>(
    _ type: Scalar.Type, _ features: Int, rows: Int, checked: [Int]? = nil
  ) throws {
    var x = random(rows * features, seed: 21, as: Scalar.self)
    for i in 0..<features {
      x[4 * features + i] += 1000  // an offset row
    }
    x[9 * features + features / 2] = .nan
    if features > 32 {
      for (r, push) in [(1, 2.0), (6, 8), (17, 1000), (30, -50)] where r < rows {
        for i in 0..<32 { x[r * features + i] += Scalar(push) }
      }
    }
    var norm = try LayerNorm<Scalar>(normalizedShape: [features])
    norm.weight = random(features, seed: 22, as: Scalar.self)
    norm.bias = random(features, seed: 23, as: Scalar.self)
    var rms = try RMSNorm<Scalar>(normalizedShape: [features])
    rms.weight = norm.weight
    let batch = try norm.forwardWithStatistics(ShapedArray(shape: [rows, features], scalars: x))
    let batchRMS = try rms(ShapedArray(shape: [rows, features], scalars: x))
    for r in checked ?? Array(0..<rows) {
      let row = Array(x[r * features..<(r + 1) * features])
      let alone = try norm.forwardWithStatistics(ShapedArray(shape: [1, features], scalars: row))
      let slice = Array(batch.output.scalars[r * features..<(r + 1) * features])
      #expect(sameBits(alone.output.scalars, slice), "\(Scalar.self) D=\(features) row \(r)")
      #expect(sameBits(alone.mean.scalars, [batch.mean.scalars[r]]))
      #expect(sameBits(alone.rstd.scalars, [batch.rstd.scalars[r]]))
      let aloneRMS = try rms(ShapedArray(shape: [1, features], scalars: row))
      #expect(sameBits(aloneRMS.scalars, Array(batchRMS.scalars[r * features..<(r + 1) * features])))
    }
  }

  @Test("Constant rows give the bias exactly")
  func constantRows() throws {
    for features in [1, 5, 8, 40, 768, 5000, 40000] {
      var norm = try LayerNorm<Float>(normalizedShape: [features])
      norm.bias = random(features, seed: 2, as: Float.self)
      norm.weight = random(features, seed: 3, as: Float.self)
      for value: Float in [0, 1, -3.5, 0.1, 1e4, 123_456.7] {
        let y = try norm(ShapedArray(repeating: value, shape: [2, features]))
        #expect(y.scalars == norm.bias! + norm.bias!, "D=\(features) value \(value)")
      }
      var normDouble = try LayerNorm<Double>(normalizedShape: [features])
      normDouble.bias = random(features, seed: 2, as: Double.self)
      for value in [0.1, 1.0 / 3.0, -2.7e5] {
        let y = try normDouble(ShapedArray(repeating: value, shape: [1, features]))
        #expect(y.scalars == normDouble.bias!, "Double D=\(features) value \(value)")
      }
    }
  }

  @Test("A row holding NaN or Inf is NaN; every other row is exactly as without it", arguments: [1, 2, 4])
  func nonFiniteRows(_ threads: Int) throws {
    // 64 rows, so that the longer rows are really split over the threads.
    let rows = 64
    for features in [4, 8, 33, 768, 5000, 40000] {
      let clean = random(rows * features, seed: 4, as: Float.self)
      var norm = try LayerNorm<Float>(normalizedShape: [features])
      norm.maximumThreadCount = threads
      let base = try norm(ShapedArray(shape: [rows, features], scalars: clean))
      for poison: Float in [.nan, .infinity, -.infinity] {
        var x = clean
        x[37 * features + features / 2] = poison
        let y = try norm(ShapedArray(shape: [rows, features], scalars: x))
        for row in 0..<rows {
          let slice = Array(y.scalars[row * features..<(row + 1) * features])
          if row == 37 {
            #expect(slice.allSatisfy { $0.isNaN }, "D=\(features) \(poison)")
          } else {
            #expect(sameBits(slice, Array(base.scalars[row * features..<(row + 1) * features])))
          }
        }
      }
    }
  }

  @Test("Empty batch returns an empty result")
  func emptyBatch() throws {
    let norm = try LayerNorm<Float>(normalizedShape: [3, 4])
    let y = try norm.forwardWithStatistics(ShapedArray(shape: [0, 5, 3, 4], scalars: []))
    #expect(y.output.shape == [0, 5, 3, 4] && y.output.scalars.isEmpty)
    #expect(y.mean.shape == [0, 5] && y.rstd.scalars.isEmpty)
  }

  @Test("Defaults follow PyTorch")
  func defaults() throws {
    let norm = try LayerNorm<Float>(normalizedShape: [2, 3])
    #expect(norm.eps == 1e-5 && norm.featureCount == 6)
    #expect(norm.weight == [Float](repeating: 1, count: 6) && norm.bias == [Float](repeating: 0, count: 6))
    let noAffine = try LayerNorm<Float>(normalizedShape: [4], elementwiseAffine: false)
    #expect(noAffine.weight == nil && noAffine.bias == nil)
    let noBias = try LayerNorm<Double>(normalizedShape: [4], bias: false)
    #expect(noBias.weight != nil && noBias.bias == nil)
    let rms = try RMSNorm<Float>(normalizedShape: [4])
    #expect(rms.weight == [1, 1, 1, 1] && rms.eps == 1e-5)
  }
}

@Suite("Large outputs")
struct LargeOutputTests {
  @Test("Outputs written past the caches equal the row-by-row results bit for bit")
  func streamingStores() throws {
    // 4096 x 1024 Float = 16 MiB: large enough for the non-temporal stores.
    let shape = [4096, 1024]
    var generator = SeededGenerator(seed: 99)
    let x: [Float] = generator.values(shape[0] * shape[1], as: Float.self, scale: 3, offset: 1).converted(to: Float.self)
    var norm = try LayerNorm<Float>(normalizedShape: [1024])
    norm.maximumThreadCount = 2
    let whole = try norm(ShapedArray(shape: shape, scalars: x))
    for row in stride(from: 0, to: 4096, by: 97) {
      let one = try norm(ShapedArray(shape: [1, 1024], scalars: Array(x[row * 1024..<(row + 1) * 1024])))
      #expect(sameBits(one.scalars, Array(whole.scalars[row * 1024..<(row + 1) * 1024])), "row \(row)")
    }
    // The backward writes dx past the caches too; each row's dx depends on that row only.
    let dy: [Float] = generator.values(shape[0] * shape[1], as: Float.self).converted(to: Float.self)
    let gradients = try norm.backward(ShapedArray(shape: shape, scalars: dy), input: ShapedArray(shape: shape, scalars: x))
    for row in stride(from: 0, to: 4096, by: 211) {
      let range = row * 1024..<(row + 1) * 1024
      let one = try norm.backward(
        ShapedArray(shape: [1, 1024], scalars: Array(dy[range])), input: ShapedArray(shape: [1, 1024], scalars: Array(x[range])),
        request: .input)
      #expect(sameBits(one.input!.scalars, Array(gradients.input!.scalars[range])), "dx row \(row)")
    }
    // The fused add-and-normalize forms the sum in a scratch block and streams it out:
    // the sum is x + r exactly, each row as alone, also when the sum goes into r itself.
    let r: [Float] = generator.values(shape[0] * shape[1], as: Float.self).converted(to: Float.self)
    let fused = try norm.addAndNormalize(ShapedArray(shape: shape, scalars: x), residual: ShapedArray(shape: shape, scalars: r))
    #expect(sameBits(fused.sum.scalars, zip(x, r).map { $0 + $1 }))
    for row in stride(from: 0, to: 4096, by: 101) {
      let range = row * 1024..<(row + 1) * 1024
      let one = try norm.addAndNormalize(
        ShapedArray(shape: [1, 1024], scalars: Array(x[range])), residual: ShapedArray(shape: [1, 1024], scalars: Array(r[range])))
      #expect(sameBits(one.output.scalars, Array(fused.output.scalars[range])), "fused row \(row)")
    }
    var stream = r
    var output = [Float](repeating: 0, count: x.count)
    try x.withUnsafeBufferPointer { xs in
      try stream.withUnsafeMutableBufferPointer { rs in
        try output.withUnsafeMutableBufferPointer { ys in
          try norm.addAndNormalize(xs, residual: UnsafeBufferPointer(rs), shape: shape, sum: rs, output: ys)
        }
      }
    }
    #expect(sameBits(stream, fused.sum.scalars) && sameBits(output, fused.output.scalars))
    // Long rows (256 KiB each), 10 MiB in all: statistics a chunk at a time and the column-
    // chunked write, streamed; each row as alone (where it is not streamed), also with the
    // rows in pairs (a group of 6 rows, 1.5 MiB, written two rows a call).
    let long = try LayerNorm<Float>(normalizedShape: [65536])
    let xl: [Float] = generator.values(40 * 65536, as: Float.self, scale: 2, offset: 3).converted(to: Float.self)
    let yl = try long(ShapedArray(shape: [40, 65536], scalars: xl))
    let group = try long(ShapedArray(shape: [6, 65536], scalars: Array(xl[0..<6 * 65536])))
    for row in [0, 1, 5, 17, 39] {
      let range = row * 65536..<(row + 1) * 65536
      let one = try long(ShapedArray(shape: [1, 65536], scalars: Array(xl[range])))
      #expect(sameBits(one.scalars, Array(yl.scalars[range])), "long row \(row)")
      if row < 6 { #expect(sameBits(one.scalars, Array(group.scalars[range])), "paired long row \(row)") }
    }
    // The fused add without a sum output on streamed long rows under 256 KiB (72 x 40000
    // Float, rows of 160 KB, 11.5 MB): each row's sum formed in a scratch row, the output
    // streamed from there. The same bits as the call that keeps the sum (formed in the sum
    // output) and as each row alone (not streamed: formed in the output).
    let addLong = try LayerNorm<Float>(normalizedShape: [40000])
    let xa: [Float] = generator.values(72 * 40000, as: Float.self, scale: 2, offset: 3).converted(to: Float.self)
    let ra: [Float] = generator.values(72 * 40000, as: Float.self).converted(to: Float.self)
    let keptSum = try addLong.addAndNormalize(ShapedArray(shape: [72, 40000], scalars: xa), residual: ShapedArray(shape: [72, 40000], scalars: ra))
    var postNorm = [Float](repeating: .nan, count: xa.count)
    try xa.withUnsafeBufferPointer { xs in
      try ra.withUnsafeBufferPointer { rs in
        try postNorm.withUnsafeMutableBufferPointer { ys in
          try addLong.addAndNormalize(xs, residual: rs, shape: [72, 40000], output: ys)
        }
      }
    }
    let sameWithoutSum = sameBits(postNorm, keptSum.output.scalars)  // (a Bool: a failure prints no arrays)
    #expect(sameWithoutSum, "long rows added without the sum")
    for row in [0, 33, 71] {
      let range = row * 40000..<(row + 1) * 40000
      let one = try addLong.addAndNormalize(
        ShapedArray(shape: [1, 40000], scalars: Array(xa[range])), residual: ShapedArray(shape: [1, 40000], scalars: Array(ra[range])))
      let asAlone = sameBits(one.output.scalars, Array(postNorm[range]))
      #expect(asAlone, "long row \(row) added alone")
    }
    // And the short-row kernel: 1M x 8 Float is 32 MiB.
    let short = try LayerNorm<Float>(normalizedShape: [8])
    let xs: [Float] = generator.values(1 << 22, as: Float.self).converted(to: Float.self)
    let y = try short(ShapedArray(shape: [1 << 19, 8], scalars: xs))
    for row in stride(from: 0, to: 1 << 19, by: 4099) {
      let one = try short(ShapedArray(shape: [8, 8], scalars: Array(xs[row * 8..<(row + 8) * 8])))
      #expect(sameBits(Array(one.scalars[0..<8]), Array(y.scalars[row * 8..<(row + 1) * 8])), "row \(row)")
    }
  }

  @Test(
    "The fused add in small blocks fetching ahead gives the unfused bits, with the sum and without",
    arguments: [[2100, 1024], [3001, 768], [300, 4000], [9000, 100]])
  func fusedAddSmallBlocks(_ shape: [Int]) throws {
    // Inputs over 512 KiB take blocks of 4 KiB (at least a row) that fetch 16 KiB on
    // (fusedAddScratchBytes): Float rows of 4 KiB (one a block), 3 KiB, 16000 bytes and 400
    // (ten a block, the last block short); Double rows of 8 KiB (the limit), 6 KiB, 32000
    // bytes (fetched during the add instead) and 800. With the sum (streamed from 8 MiB),
    // Float rows of 4 and 3 KiB and Double rows of 6 KiB take them too
    // (fusedAddWithSumSmallBlockRowBytes).
    try fusedAddSmallBlocks(Float.self, shape)
    try fusedAddSmallBlocks(Double.self, shape)
  }

  func fusedAddSmallBlocks<Scalar: BLASScalar>(_ type: Scalar.Type, _ shape: [Int]) throws {
    let count = shape[0] * shape[1]
    var generator = SeededGenerator(seed: 12)
    let x: [Scalar] = generator.values(count, as: Scalar.self, scale: 2, offset: 1).converted(to: Scalar.self)
    let r: [Scalar] = generator.values(count, as: Scalar.self).converted(to: Scalar.self)
    var norm = try LayerNorm<Scalar>(normalizedShape: [shape[1]])
    norm.weight = generator.values(shape[1], as: Scalar.self, scale: 0.5, offset: 1).converted(to: Scalar.self)
    norm.bias = generator.values(shape[1], as: Scalar.self, scale: 0.5).converted(to: Scalar.self)
    let withSum = try norm.addAndNormalize(ShapedArray(shape: shape, scalars: x), residual: ShapedArray(shape: shape, scalars: r))
    let sum = zip(x, r).map { $0 + $1 }
    let unfused = try norm(ShapedArray(shape: shape, scalars: sum))
    let sumExact = sameBits(withSum.sum.scalars, sum), withSumAsUnfused = sameBits(withSum.output.scalars, unfused.scalars)
    #expect(sumExact && withSumAsUnfused, "\(Scalar.self) \(shape) with the sum")
    for threads in [1, 2] {
      norm.maximumThreadCount = threads
      var output = [Scalar](repeating: .nan, count: count)
      try x.withUnsafeBufferPointer { xs in
        try r.withUnsafeBufferPointer { rs in
          try output.withUnsafeMutableBufferPointer { ys in
            try norm.addAndNormalize(xs, residual: rs, shape: shape, output: ys)
          }
        }
      }
      let asWithSum = sameBits(output, withSum.output.scalars), asUnfused = sameBits(output, unfused.scalars)
      #expect(asWithSum && asUnfused, "\(Scalar.self) \(shape), \(threads) threads")
    }
  }

  @Test(
    "Streamed outputs just after their inputs (modulo 4096) equal the same call elsewhere",
    arguments: [16, 48, 112, 128], [1004, 244])
  func outputsJustAfterInputs(offset: Int, features: Int) throws {
    // There the streamed loops load ahead of their stores (4K aliasing, KernelTemplate.h),
    // and the backward of rows of 256 bytes to 1 KiB runs its second pass down each row
    // (up to 128 bytes, but 112 for the backward's rows under 1 KiB): different loops,
    // which must write the same bits. 2201 x 1004 Float is 8.4 MiB; rows
    // of 125 vectors and a half end with a step of fewer than four vectors and 16 bytes
    // streamed on their own (the fused add's sum too, in its last block of one row);
    // 9000 x 244 (8.4 MiB) has rows of 976 bytes, each starting at another 16-byte offset
    // of a line. A few rows are checked against the same row alone (too small to stream).
    let shape = [features == 1004 ? 2201 : 9000, features]
    let count = shape[0] * shape[1]
    let arrayBytes = (count * 4 + 4095) / 4096 * 4096 + 4096
    let memory = UnsafeMutableRawPointer.allocate(byteCount: 5 * arrayBytes, alignment: 4096)
    defer { memory.deallocate() }
    // Array k starts `extra` bytes after a 4 KiB boundary: the inputs at 0, the outputs at
    // `offset` (just after) or 2048 (far from every input).
    func array(_ k: Int, extra: Int) -> UnsafeMutableBufferPointer<Float> {
      UnsafeMutableBufferPointer(
        start: (memory + k * arrayBytes + extra).assumingMemoryBound(to: Float.self), count: count)
    }
    var generator = SeededGenerator(seed: 5)
    let x = array(0, extra: 0), second = array(1, extra: 0)
    _ = x.initialize(from: generator.values(count, as: Float.self, scale: 2, offset: 1).converted(to: Float.self))
    _ = second.initialize(from: generator.values(count, as: Float.self).converted(to: Float.self))
    var norm = try LayerNorm<Float>(normalizedShape: [features])
    norm.weight = generator.values(features, as: Float.self, scale: 0.5, offset: 1).converted(to: Float.self)
    norm.bias = generator.values(features, as: Float.self, scale: 0.5).converted(to: Float.self)
    let checkedRows = [0, 1, 1099, shape[0] - 1]
    func row(_ buffer: UnsafeMutableBufferPointer<Float>, _ r: Int) -> [Float] {
      Array(buffer[r * features..<(r + 1) * features])
    }
    func alone(_ r: Int) throws -> ShapedArray<Float> {
      try ShapedArray(shape: [1, features], scalars: row(x, r))
    }
    norm.maximumThreadCount = 1
    let near = array(2, extra: offset), far = array(3, extra: 2048), nearSum = array(4, extra: offset)
    // Forward: y after x.
    try norm.forward(UnsafeBufferPointer(x), shape: shape, into: near)
    try norm.forward(UnsafeBufferPointer(x), shape: shape, into: far)
    let sameForward = sameBits(Array(near), Array(far))  // (a Bool: a failure prints no arrays)
    #expect(sameForward, "forward, y \(offset) bytes after x")
    for r in checkedRows {
      let asAlone = sameBits(row(far, r), try norm(alone(r)).scalars)
      #expect(asAlone, "forward row \(r)")
    }
    // Backward: dx after x and dy (the second array).
    try norm.backward(
      outputGradient: UnsafeBufferPointer(second), input: UnsafeBufferPointer(x), shape: shape,
      mean: nil, rstd: nil, inputGradient: near, weightGradient: nil, biasGradient: nil)
    try norm.backward(
      outputGradient: UnsafeBufferPointer(second), input: UnsafeBufferPointer(x), shape: shape,
      mean: nil, rstd: nil, inputGradient: far, weightGradient: nil, biasGradient: nil)
    let sameBackward = sameBits(Array(near), Array(far))
    #expect(sameBackward, "backward, dx \(offset) bytes after x and dy")
    for r in checkedRows {
      let one = try norm.backward(
        ShapedArray(shape: [1, features], scalars: row(second, r)), input: alone(r), request: .input)
      let asAlone = sameBits(row(far, r), one.input!.scalars)
      #expect(asAlone, "backward row \(r)")
    }
    // Fused add: the sum after x and the residual, the output far; then the output after.
    let farOutput = array(2, extra: 2048)
    try norm.addAndNormalize(
      UnsafeBufferPointer(x), residual: UnsafeBufferPointer(second), shape: shape, sum: nearSum,
      output: farOutput)
    let sum = Array(nearSum), output = Array(farOutput)
    let exactSum = sameBits(sum, zip(x, second).map { $0 + $1 })
    #expect(exactSum, "sum \(offset) bytes after x")
    for r in checkedRows {
      let one = try norm.addAndNormalize(
        alone(r), residual: ShapedArray(shape: [1, features], scalars: row(second, r)))
      let asAlone = sameBits(row(farOutput, r), one.output.scalars)
      #expect(asAlone, "fused row \(r)")
    }
    try norm.addAndNormalize(
      UnsafeBufferPointer(x), residual: UnsafeBufferPointer(second), shape: shape, sum: far,
      output: near)
    let sameFused = sameBits(Array(far), sum) && sameBits(Array(near), output)
    #expect(sameFused, "fused output \(offset) bytes after x")
    // Without keeping the sum: the same output, streamed just after x.
    try norm.addAndNormalize(
      UnsafeBufferPointer(x), residual: UnsafeBufferPointer(second), shape: shape, output: near)
    let sameWithoutSum = sameBits(Array(near), output)
    #expect(sameWithoutSum, "output without the sum \(offset) bytes after x")
  }
}
