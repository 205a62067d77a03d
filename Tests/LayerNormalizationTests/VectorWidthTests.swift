// The 512-bit loops (where the CPU has AVX-512) against the 256-bit ones: the same bits,
// forward and backward.

import LayerNormalization
import Testing
import _LayerNormKernels

@Suite("Vector widths")
struct VectorWidthTests {
  /// Row lengths around the vector widths (masked tails of every length, rows under one
  /// 512-bit vector) and longer rows, in inputs of a few rows that stay in cache (5x4100 and
  /// 3x17000: rows of 16 KiB or more, whose backward takes its first pass two rows at a
  /// time, a second pair adding into the first's sums and a last row alone); and
  /// inputs of 8 MiB or more (outputs streamed) with rows from 768 bytes to 3 KiB, which
  /// stream from 512-bit vectors too (Float 3000x740 and Double 4400x250, rows ending 16
  /// bytes past a whole vector), and with rows of 256 bytes to 1 KiB, whose backward streams
  /// two rows in flight (9000x244 and 17000x124: rows that start at every 16-byte offset
  /// of a line, so each row's first and last pieces differ).
  static let shapes: [[Int]] = [
    [3, 1], [5, 7], [4, 15], [6, 16], [3, 17], [7, 31], [2, 33], [9, 63], [3, 65], [4, 100],
    [2, 3, 768], [5, 1000], [5, 4100], [3, 17000], [3000, 740], [4400, 250], [9000, 244],
    [17000, 124],
  ]

  /// Runs `body` with the 512-bit loops on, then off, and returns both results (the same
  /// twice on a CPU without AVX-512). Other tests running meanwhile see either setting,
  /// which gives them the same bits too.
  func bothWidths<R>(_ body: () throws -> R) rethrows -> (wide: R, narrow: R) {
    let previous = lnk_select_avx512(1)
    defer { _ = lnk_select_avx512(previous) }
    let wide = try body()
    _ = lnk_select_avx512(0)
    return (wide, try body())
  }

  @Test("Forward, fused add and RMSNorm give the same bits at both widths", arguments: shapes)
  func forward(_ shape: [Int]) throws {
    try forward(Float.self, shape)
    try forward(Double.self, shape)
  }

  /// Seeded data of `shape`: an input with an offset of 100 (so the shift matters), a
  /// second array (the residual or the output gradient), a weight and a bias.
  func data<Scalar: BLASScalar>(_ type: Scalar.Type, _ shape: [Int], seed: UInt64) throws -> (
    input: ShapedArray<Scalar>, other: ShapedArray<Scalar>, weight: [Scalar], bias: [Scalar]
  ) {
    let count = shape.reduce(1, *)
    let features = shape.last!
    var generator = SeededGenerator(seed: seed)
    let x = generator.values(count, as: Scalar.self, scale: 3, offset: 100).converted(to: Scalar.self)
    let other = generator.values(count, as: Scalar.self, scale: 1, offset: 0.2).converted(to: Scalar.self)
    let weight = generator.values(features, as: Scalar.self, scale: 0.5, offset: 1).converted(to: Scalar.self)
    let bias = generator.values(features, as: Scalar.self, scale: 0.5, offset: 0).converted(to: Scalar.self)
    return (try ShapedArray(shape: shape, scalars: x), try ShapedArray(shape: shape, scalars: other), weight, bias)
  }

  func forward<Scalar: BLASScalar>(_ type: Scalar.Type, _ shape: [Int]) throws {
    let features = shape.last!
    let (input, other, weight, bias) = try data(Scalar.self, shape, seed: UInt64(shape.reduce(1, *)))
    for (useWeight, useBias) in [(true, true), (true, false), (false, true), (false, false)] {
      var norm = try LayerNorm<Scalar>(normalizedShape: [features])
      norm.weight = useWeight ? weight : nil
      norm.bias = useBias ? bias : nil
      let plain = try bothWidths { try norm(input).scalars }
      let plainSame = sameBits(plain.wide, plain.narrow)
      #expect(plainSame, "\(Scalar.self) \(shape) weight \(useWeight) bias \(useBias)")
      let fused = try bothWidths { try norm.addAndNormalize(input, residual: other).output.scalars }
      let fusedSame = sameBits(fused.wide, fused.narrow)
      #expect(fusedSame, "\(Scalar.self) \(shape) fused add, weight \(useWeight) bias \(useBias)")
    }
    var rms = try RMSNorm<Scalar>(normalizedShape: [features])
    rms.weight = weight
    let rmsOutput = try bothWidths { try rms(input).scalars }
    let rmsSame = sameBits(rmsOutput.wide, rmsOutput.narrow)
    #expect(rmsSame, "\(Scalar.self) \(shape) RMSNorm")
  }

  @Test(
    "Rows of 8 give the same bits at both widths, extreme rows among them",
    arguments: [13, 1003, 140_003])
  func rowsOfEight(rows: Int) throws {
    try rowsOfEight(Float.self, rows: rows)
    try rowsOfEight(Double.self, rows: rows)
  }

  /// Double rows of 8 take eight rows at a time in 512-bit vectors (`lnk_rows_of_8_wide_f64`),
  /// the 256-bit kernel four, and both leave their extreme rows (constant, tiny, huge, Inf,
  /// NaN) to the careful path. 140003 Double rows are 8.96 MB, streamed to a 64-byte-aligned
  /// output; 13 and 1003 rows end with rows the 256-bit kernel takes (a group of four and a
  /// padded last group). The statistics are compared too.
  func rowsOfEight<Scalar: BLASScalar>(_ type: Scalar.Type, rows: Int) throws {
    let count = rows * 8
    var generator = SeededGenerator(seed: UInt64(rows))
    var x = generator.values(count, as: Scalar.self, scale: 3, offset: 100).converted(to: Scalar.self)
    // Extreme rows in different lanes of the first groups and further on.
    for k in 0..<8 { x[3 * 8 + k] = 7 }  // constant
    for k in 0..<8 { x[6 * 8 + k] = Scalar(k) * Scalar.leastNormalMagnitude }  // tiny
    for k in 0..<8 { x[9 * 8 + k] = Scalar(k % 2 == 0 ? 1 : -1) * Scalar.greatestFiniteMagnitude / 2 }
    if rows > 12 { x[11 * 8 + 5] = .infinity }
    if rows > 1000 { x[997 * 8 + 2] = .nan }
    let weight = generator.values(8, as: Scalar.self, scale: 0.5, offset: 1).converted(to: Scalar.self)
    let bias = generator.values(8, as: Scalar.self, scale: 0.5).converted(to: Scalar.self)
    let memory = UnsafeMutableRawPointer.allocate(
      byteCount: (count + 2 * rows) * MemoryLayout<Scalar>.stride, alignment: 64)
    defer { memory.deallocate() }
    let y = UnsafeMutableBufferPointer(
      start: memory.bindMemory(to: Scalar.self, capacity: count + 2 * rows), count: count)
    let mean = UnsafeMutableBufferPointer(start: y.baseAddress! + count, count: rows)
    let rstd = UnsafeMutableBufferPointer(start: y.baseAddress! + count + rows, count: rows)
    func run(_ body: () throws -> Void) rethrows -> [Scalar] {
      _ = (y.initialize(repeating: .nan), mean.initialize(repeating: .nan), rstd.initialize(repeating: .nan))
      try body()
      return Array(y) + Array(mean) + Array(rstd)
    }
    for (useWeight, useBias) in [(true, true), (false, false), (true, false)] {
      var norm = try LayerNorm<Scalar>(normalizedShape: [8])
      norm.weight = useWeight ? weight : nil
      norm.bias = useBias ? bias : nil
      let both = try x.withUnsafeBufferPointer { xs in
        try bothWidths {
          try run { try norm.forward(xs, shape: [rows, 8], into: y, mean: mean, rstd: rstd) }
        }
      }
      let same = sameBits(both.wide, both.narrow)
      #expect(same, "\(Scalar.self) \(rows)x8 weight \(useWeight) bias \(useBias)")
    }
    var rms = try RMSNorm<Scalar>(normalizedShape: [8])
    rms.weight = weight
    let both = try x.withUnsafeBufferPointer { xs in
      try bothWidths { try run { try rms.forward(xs, shape: [rows, 8], into: y, rstd: rstd) } }
    }
    let same = sameBits(both.wide, both.narrow)
    #expect(same, "\(Scalar.self) \(rows)x8 RMSNorm")
  }

  @Test("Backward gives the same bits at both widths", arguments: shapes)
  func backward(_ shape: [Int]) throws {
    try backward(Float.self, shape)
    try backward(Double.self, shape)
  }

  func backward<Scalar: BLASScalar>(_ type: Scalar.Type, _ shape: [Int]) throws {
    let features = shape.last!
    let (input, outputGradient, weight, _) = try data(Scalar.self, shape, seed: UInt64(shape.reduce(1, *)) + 1)
    func expectSame(_ g: (wide: NormalizationGradients<Scalar>, narrow: NormalizationGradients<Scalar>), _ what: String) {
      let inputSame = sameBits(g.wide.input?.scalars ?? [], g.narrow.input?.scalars ?? [])
      let weightSame = sameBits(g.wide.weight ?? [], g.narrow.weight ?? [])
      let biasSame = sameBits(g.wide.bias ?? [], g.narrow.bias ?? [])
      #expect(inputSame && weightSame && biasSame, "\(Scalar.self) \(shape) \(what): input \(inputSame) weight \(weightSame) bias \(biasSame)")
    }
    for useWeight in [true, false] {
      var norm = try LayerNorm<Scalar>(normalizedShape: [features])
      norm.weight = useWeight ? weight : nil
      expectSame(try bothWidths { try norm.backward(outputGradient, input: input) }, "LayerNorm weight \(useWeight)")
    }
    var rms = try RMSNorm<Scalar>(normalizedShape: [features])
    rms.weight = weight
    expectSame(try bothWidths { try rms.backward(outputGradient, input: input) }, "RMSNorm")
  }
}
