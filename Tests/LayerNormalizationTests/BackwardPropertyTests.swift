// Backward properties: finite differences, row sums, determinism across threads, training.

import LayerNormalization
import _LayerNormTestSupport
import Testing

/// A configuration for the finite-difference checks.
struct GradientCase: CustomStringConvertible, Sendable {
  var shape: [Int]
  var normalizedDims: Int
  var rms = false
  var weight = true
  var bias = true
  var offset = 0.0

  var normalizedShape: [Int] { Array(shape.suffix(normalizedDims)) }
  var features: Int { normalizedShape.reduce(1, *) }
  var description: String {
    "\(rms ? "RMS" : "LN") \(shape) over \(normalizedShape) weight \(weight) bias \(bias) offset \(offset)"
  }

  static let all: [GradientCase] = [
    GradientCase(shape: [3, 7], normalizedDims: 1),
    GradientCase(shape: [2, 3, 16], normalizedDims: 1),
    GradientCase(shape: [2, 3, 4, 5], normalizedDims: 2),
    GradientCase(shape: [4, 40], normalizedDims: 1, weight: false, bias: false),
    GradientCase(shape: [4, 40], normalizedDims: 1, bias: false),
    GradientCase(shape: [9, 3], normalizedDims: 1),
    GradientCase(shape: [5, 8], normalizedDims: 1, offset: 50),
    GradientCase(shape: [2, 70], normalizedDims: 1, offset: 3),
    GradientCase(shape: [3, 12], normalizedDims: 1, rms: true),
    GradientCase(shape: [2, 2, 3, 4], normalizedDims: 2, rms: true, weight: false),
    GradientCase(shape: [11, 5], normalizedDims: 1, rms: true),
  ]

  func layer() throws -> any Normalization<Double> {
    var generator = SeededGenerator(seed: 77)
    if rms {
      var norm = try RMSNorm<Double>(normalizedShape: normalizedShape, elementwiseAffine: weight)
      if weight { norm.weight = generator.values(features, as: Double.self, scale: 0.5, offset: 1) }
      return norm
    }
    var norm = try LayerNorm<Double>(normalizedShape: normalizedShape, elementwiseAffine: weight, bias: bias)
    if weight { norm.weight = generator.values(features, as: Double.self, scale: 0.5, offset: 1) }
    if bias { norm.bias = generator.values(features, as: Double.self, scale: 0.5) }
    return norm
  }
}

@Suite("Backward properties")
struct BackwardPropertyTests {
  @Test("Central finite differences in Double", arguments: GradientCase.all)
  func finiteDifferences(_ c: GradientCase) throws {
    let norm = try c.layer()
    var generator = SeededGenerator(seed: 5)
    let count = c.shape.reduce(1, *)
    let x = generator.values(count, as: Double.self, scale: 1, offset: c.offset)
    let dy = generator.values(count, as: Double.self)
    func loss(_ x: [Double], _ norm: any Normalization<Double>) throws -> Double {
      let y = try norm(ShapedArray(shape: c.shape, scalars: x))
      return compensatedSum(zip(y.scalars, dy).map { $0 * $1 })
    }
    let gradients = try norm.backward(ShapedArray(shape: c.shape, scalars: dy), input: ShapedArray(shape: c.shape, scalars: x))
    var numeric = [Double](repeating: 0, count: count)
    for i in 0..<count {
      let h = 1e-5 * max(1, abs(x[i]))
      var plus = x, minus = x
      plus[i] += h
      minus[i] -= h
      numeric[i] = (try loss(plus, norm) - loss(minus, norm)) / (plus[i] - minus[i])
    }
    expectGradient(gradients.input!.scalars, numeric, outputGradient: dy, tolerance: 1e-6, "\(c) dx")

    // Parameters: perturb one feature's weight or bias at a time.
    if var layer = norm as? LayerNorm<Double> {
      for parameter in ["weight", "bias"] {
        guard let values = parameter == "weight" ? layer.weight : layer.bias else { continue }
        var numericParameter = [Double](repeating: 0, count: values.count)
        for j in values.indices {
          let h = 1e-6
          var plus = values, minus = values
          plus[j] += h
          minus[j] -= h
          if parameter == "weight" { layer.weight = plus } else { layer.bias = plus }
          let up = try loss(x, layer)
          if parameter == "weight" { layer.weight = minus } else { layer.bias = minus }
          numericParameter[j] = (up - (try loss(x, layer))) / (2 * h)
          if parameter == "weight" { layer.weight = values } else { layer.bias = values }
        }
        let analytic = parameter == "weight" ? gradients.weight! : gradients.bias!
        expectGradient(analytic, numericParameter, outputGradient: dy, tolerance: 1e-6, "\(c) d\(parameter)")
      }
    }
    if var layer = norm as? RMSNorm<Double>, let values = layer.weight {
      var numericWeight = [Double](repeating: 0, count: values.count)
      for j in values.indices {
        var plus = values, minus = values
        plus[j] += 1e-6
        minus[j] -= 1e-6
        layer.weight = plus
        let up = try loss(x, layer)
        layer.weight = minus
        numericWeight[j] = (up - (try loss(x, layer))) / 2e-6
        layer.weight = values
      }
      expectGradient(gradients.weight!, numericWeight, outputGradient: dy, tolerance: 1e-6, "\(c) dweight")
    }
  }

  @Test("Without weight, each row's input gradient sums to zero", arguments: [[6, 5], [3, 768], [50, 8], [2, 9000]])
  func rowsSumToZero(_ shape: [Int]) throws {
    let norm = try LayerNorm<Double>(normalizedShape: [shape[1]], elementwiseAffine: false)
    var generator = SeededGenerator(seed: 8)
    let count = shape.reduce(1, *)
    let x = generator.values(count, as: Double.self, scale: 2, offset: 1)
    let dy = generator.values(count, as: Double.self)
    let dx = try norm.backward(ShapedArray(shape: shape, scalars: dy), input: ShapedArray(shape: shape, scalars: x)).input!
    for row in 0..<shape[0] {
      let slice = dx.scalars[row * shape[1]..<(row + 1) * shape[1]]
      let scale = slice.map(abs).reduce(0, +)
      #expect(abs(compensatedSum(slice)) <= 1e-12 * max(scale, 1), "row \(row)")
    }
  }

  // Every row path of the backward kernel: rows in cache, streamed rows, and rows of 64 KiB
  // or more, whose first row writes its block's weight and bias sums instead of adding into
  // zeros ([4, 20000] in Float and Double, [2, 70000] a block of one row a block).
  @Test("Gradients match a float64 reference", arguments: [[300, 768], [4, 20000], [13, 30000], [2, 70000], [5000, 8]])
  func againstReference(_ shape: [Int]) throws {
    try againstReference(Float.self, shape)
    try againstReference(Double.self, shape)
  }

  func againstReference<Scalar: TestScalar>(_ type: Scalar.Type, _ shape: [Int]) throws {
    var generator = SeededGenerator(seed: 31)
    let (rows, n) = (shape[0], shape[1])
    let x = generator.values(rows * n, as: Scalar.self, scale: 2, offset: 1)
    let dy = generator.values(rows * n, as: Scalar.self)
    let weight = generator.values(n, as: Scalar.self, scale: 0.5, offset: 1)
    var norm = try LayerNorm<Scalar>(normalizedShape: [n])
    norm.weight = weight.converted(to: Scalar.self)
    let outputGradient = ShapedArray(validating: dy.converted(to: Scalar.self), shape: shape)
    let input = ShapedArray(validating: x.converted(to: Scalar.self), shape: shape)
    // Twice: the second call's scratch memory is likely the first one's, not fresh zeros.
    _ = try norm.backward(outputGradient, input: input)
    let gradients = try norm.backward(outputGradient, input: input)
    // xhat is the reference's output without weight and bias.
    let xhat = referenceLayerNorm(x, rows: rows, features: n, weight: nil, bias: nil, eps: 1e-5)
    var dx = [Double](repeating: 0, count: rows * n)
    for r in 0..<rows {
      let row = r * n..<(r + 1) * n
      let g = row.map { dy[$0] * weight[$0 - r * n] }
      let a = compensatedSum(g) / Double(n)
      let b = compensatedSum(zip(g, row).map { $0 * xhat.y[$1] }) / Double(n)
      for (k, i) in row.enumerated() { dx[i] = xhat.rstd[r] * ((g[k] - a) - xhat.y[i] * b) }
    }
    let dw = (0..<n).map { j in compensatedSum((0..<rows).map { dy[$0 * n + j] * xhat.y[$0 * n + j] }) }
    let db = (0..<n).map { j in compensatedSum((0..<rows).map { dy[$0 * n + j] }) }
    let tolerance = Scalar.gradientTolerance
    let label = "\(Scalar.name) \(shape)"
    expectGradient(gradients.input!.scalars.map { Double($0) }, dx, outputGradient: dy, tolerance: tolerance, "\(label) dx")
    expectGradient(gradients.weight!.map { Double($0) }, dw, outputGradient: dy, tolerance: tolerance, "\(label) dweight")
    expectGradient(gradients.bias!.map { Double($0) }, db, outputGradient: dy, tolerance: tolerance, "\(label) dbias")
  }

  // The saved statistics are read in place, block by block: inputs of several blocks (300x768
  // in 4 of 75 rows, 40000x8 in 157, 13x30000 in 4 with a last row alone), each row's
  // statistics different (a per-row offset and scale), LayerNorm and RMSNorm.
  @Test("Saved statistics give the recomputed gradients in every block", arguments: [[300, 768], [40000, 8], [13, 30000]])
  func savedStatistics(_ shape: [Int]) throws {
    try savedStatistics(Float.self, shape)
    try savedStatistics(Double.self, shape)
  }

  func savedStatistics<Scalar: TestScalar>(_ type: Scalar.Type, _ shape: [Int]) throws {
    var generator = SeededGenerator(seed: 41)
    let (rows, n) = (shape[0], shape[1])
    let noise = generator.values(rows * n, as: Scalar.self)
    let x = (0..<rows * n).map { i in noise[i] * Double(1 + i / n % 7) + Double(i / n % 11) - 5 }
    let outputGradient = ShapedArray(validating: generator.values(rows * n, as: Scalar.self).converted(to: Scalar.self), shape: shape)
    let input = ShapedArray(validating: x.converted(to: Scalar.self), shape: shape)
    let dy = outputGradient.scalars.map { Double($0) }
    let tolerance = Scalar.gradientTolerance
    let label = "\(Scalar.name) \(shape)"
    var norm = try LayerNorm<Scalar>(normalizedShape: [n])
    norm.weight = generator.values(n, as: Scalar.self, scale: 0.5, offset: 1).converted(to: Scalar.self)
    let forward = try norm.forwardWithStatistics(input)
    let saved = try norm.backward(outputGradient, input: input, mean: forward.mean, rstd: forward.rstd)
    let recomputed = try norm.backward(outputGradient, input: input)
    expectGradient(saved.input!.scalars.map { Double($0) }, recomputed.input!.scalars.map { Double($0) }, outputGradient: dy, tolerance: tolerance, "\(label) dx")
    expectGradient(saved.weight!.map { Double($0) }, recomputed.weight!.map { Double($0) }, outputGradient: dy, tolerance: tolerance, "\(label) dweight")
    #expect(sameBits(saved.bias!, recomputed.bias!), "\(label) dbias")
    let rms = try RMSNorm<Scalar>(normalizedShape: [n])
    let rmsForward = try rms.forwardWithStatistics(input)
    let rmsSaved = try rms.backward(outputGradient, input: input, rstd: rmsForward.rstd)
    let rmsRecomputed = try rms.backward(outputGradient, input: input)
    expectGradient(rmsSaved.input!.scalars.map { Double($0) }, rmsRecomputed.input!.scalars.map { Double($0) }, outputGradient: dy, tolerance: tolerance, "\(label) RMS dx")
    expectGradient(rmsSaved.weight!.map { Double($0) }, rmsRecomputed.weight!.map { Double($0) }, outputGradient: dy, tolerance: tolerance, "\(label) RMS dweight")
  }

  // [13, 30000]: blocks of 4 rows (the floor of 4 blocks for an input worth two threads),
  // the last one a single row.
  @Test("Gradients are bitwise identical for any thread count", arguments: [[2000, 33], [300, 768], [4, 20000], [40000, 8], [4, 40000], [13, 30000]])
  func determinism(_ shape: [Int]) throws {
    try determinism(Float.self, shape)
    try determinism(Double.self, shape)
  }

  func determinism<Scalar: TestScalar>(_ type: Scalar.Type, _ shape: [Int]) throws {
    var generator = SeededGenerator(seed: 21)
    let count = shape.reduce(1, *)
    let x = ShapedArray(validating: generator.values(count, as: Scalar.self, scale: 2, offset: 1).converted(to: Scalar.self), shape: shape)
    let dy = ShapedArray(validating: generator.values(count, as: Scalar.self).converted(to: Scalar.self), shape: shape)
    var norm = try LayerNorm<Scalar>(normalizedShape: [shape[1]])
    norm.weight = generator.values(shape[1], as: Scalar.self, scale: 0.5, offset: 1).converted(to: Scalar.self)
    var rms = try RMSNorm<Scalar>(normalizedShape: [shape[1]])
    norm.maximumThreadCount = 1
    rms.maximumThreadCount = 1
    let reference = try norm.backward(dy, input: x)
    let referenceRMS = try rms.backward(dy, input: x)
    for threads in [2, 3, 4, 8, 64] {
      norm.maximumThreadCount = threads
      rms.maximumThreadCount = threads
      let many = try norm.backward(dy, input: x)
      let manyRMS = try rms.backward(dy, input: x)
      let label = "\(Scalar.name) \(shape) threads \(threads)"
      #expect(sameBits(many.input!.scalars, reference.input!.scalars), "\(label) dx")
      #expect(sameBits(many.weight!, reference.weight!), "\(label) dweight")
      #expect(sameBits(many.bias!, reference.bias!), "\(label) dbias")
      #expect(sameBits(manyRMS.input!.scalars, referenceRMS.input!.scalars), "\(label) RMS dx")
      #expect(sameBits(manyRMS.weight!, referenceRMS.weight!), "\(label) RMS dweight")
    }
  }

  /// Rows of whole lines up to 512 bytes whose input gradient starts on a 64-byte boundary
  /// take their first pass two rows at a time (lnk_backward_pairs), 16 bytes into a line
  /// one row at a time. Odd row counts end with a row alone; 20001 x 128 and 40001 x 64 are
  /// streamed.
  @Test(
    "Float rows on 64-byte boundaries give the bits of the same rows 16 bytes into a line",
    arguments: [[4096, 128], [20001, 128], [3001, 64], [40001, 64], [5001, 16], [2001, 48]])
  func alignedRows(_ shape: [Int]) throws {
    let (rows, features) = (shape[0], shape[1])
    let count = rows * features
    let arrayBytes = (count * 4 + 4095) / 4096 * 4096 + 4096
    let memory = UnsafeMutableRawPointer.allocate(byteCount: 3 * arrayBytes, alignment: 4096)
    defer { memory.deallocate() }
    func array(_ k: Int, extra: Int) -> UnsafeMutableBufferPointer<Float> {
      UnsafeMutableBufferPointer(
        start: (memory + k * arrayBytes + extra).assumingMemoryBound(to: Float.self), count: count)
    }
    var generator = SeededGenerator(seed: 9)
    let xValues = generator.values(count, as: Float.self, scale: 2, offset: 1).converted(to: Float.self)
    let dyValues = generator.values(count, as: Float.self).converted(to: Float.self)
    var norm = try LayerNorm<Float>(normalizedShape: [features])
    norm.weight = generator.values(features, as: Float.self, scale: 0.5, offset: 1).converted(to: Float.self)
    norm.bias = generator.values(features, as: Float.self, scale: 0.5).converted(to: Float.self)
    for threads in [1, 2] {
      norm.maximumThreadCount = threads
      var results: [(dx: [Float], dw: [Float], db: [Float])] = []
      for extra in [0, 16] {
        let x = array(0, extra: extra), dy = array(1, extra: extra), dx = array(2, extra: extra)
        _ = x.initialize(from: xValues)
        _ = dy.initialize(from: dyValues)
        var dw = [Float](repeating: .nan, count: features), db = dw
        try dw.withUnsafeMutableBufferPointer { dw in
          try db.withUnsafeMutableBufferPointer { db in
            try norm.backward(
              outputGradient: UnsafeBufferPointer(dy), input: UnsafeBufferPointer(x), shape: shape,
              mean: nil, rstd: nil, inputGradient: dx, weightGradient: dw, biasGradient: db)
          }
        }
        results.append((Array(dx), dw, db))
      }
      let (dx, dw, db) = (
        sameBits(results[0].dx, results[1].dx), sameBits(results[0].dw, results[1].dw),
        sameBits(results[0].db, results[1].db))
      #expect(dx && dw && db, "\(shape), \(threads) threads: dx \(dx), dw \(dw), db \(db)")
    }
  }

  /// From the forward's saved statistics every center is +0, and the kernels leave its
  /// subtraction out (`centersAreZero`); the bits must be those of subtracting it. Rows
  /// whose input gradient starts on a 64-byte line (Float 128: two rows at a time,
  /// lnk_backward_pairs) and 16 bytes in, 16 bytes after the input modulo 4096 (the second
  /// pass down the row), in cache and streamed (20001 x 128, over 8 MiB), masked ends
  /// (130), and rows holding -0 (about a zero shift), an infinity and a NaN.
  @Test(
    "Centers left out give the bits of zero centers subtracted",
    arguments: [[64, 128], [300, 130], [64, 768], [20001, 128]])
  func zeroCenters(_ shape: [Int]) {
    zeroCenters(Float.self, shape)
    zeroCenters(Double.self, shape)
  }

  func zeroCenters<Scalar: TestScalar>(_ type: Scalar.Type, _ shape: [Int]) {
    let (rows, n) = (shape[0], shape[1])
    let count = rows * n
    let size = MemoryLayout<Scalar>.size
    let arrayBytes = (count * size + 4095) / 4096 * 4096 + 4096
    let memory = UnsafeMutableRawPointer.allocate(byteCount: 3 * arrayBytes, alignment: 4096)
    defer { memory.deallocate() }
    var generator = SeededGenerator(seed: 77)
    var xValues = generator.values(count, as: Scalar.self, scale: 2, offset: 1).converted(to: Scalar.self)
    xValues[3] = -0.0
    xValues[n + 1] = .infinity
    xValues[2 * n + 3] = .nan
    let dyValues = generator.values(count, as: Scalar.self).converted(to: Scalar.self)
    let weight = generator.values(n, as: Scalar.self, scale: 0.5, offset: 1).converted(to: Scalar.self)
    let shift = (0..<rows).map { Scalar(Double($0 % 5) * 0.25) }
    let center = [Scalar](repeating: 0, count: rows)
    let rstd = (0..<rows).map { Scalar(0.5 + Double($0 % 3) * 0.25) }
    let streaming = count * size >= 8 << 20 && n * size % 16 == 0
    for (extra, after) in [(0, 0), (16, 0), (0, 16)] {
      let x = (memory + extra).assumingMemoryBound(to: Scalar.self)
      let dy = (memory + arrayBytes + extra).assumingMemoryBound(to: Scalar.self)
      let dx = (memory + 2 * arrayBytes + extra + after).assumingMemoryBound(to: Scalar.self)
      x.initialize(from: xValues, count: count)
      dy.initialize(from: dyValues, count: count)
      var results: [(dx: [Scalar], dw: [Scalar], db: [Scalar])] = []
      for centersAreZero in [false, true] {
        var dw = [Scalar](repeating: .nan, count: n), db = dw
        dx.initialize(repeating: .nan, count: count)
        dw.withUnsafeMutableBufferPointer { dw in
          db.withUnsafeMutableBufferPointer { db in
            Scalar._backwardRows(
              outputGradient: dy, input: x, inputGradient: dx, rows: rows, count: n,
              shift: shift, center: center, centersAreZero: centersAreZero, rstd: rstd,
              kind: .layer, weight: weight, weightPartial: dw.baseAddress,
              biasPartial: db.baseAddress, streaming: streaming)
          }
        }
        results.append((Array(UnsafeBufferPointer(start: dx, count: count)), dw, db))
      }
      let (sameDx, sameDw, sameDb) = (
        sameBits(results[0].dx, results[1].dx), sameBits(results[0].dw, results[1].dw),
        sameBits(results[0].db, results[1].db))
      #expect(
        sameDx && sameDw && sameDb,
        "\(Scalar.name) \(shape), x \(extra) bytes into a line, dx \(after) after: dx \(sameDx), dw \(sameDw), db \(sameDb)")
    }
  }

  /// The allocating backward takes its input gradient uninitialized, so the kernels must
  /// write every element: the zero-copy call into buffers full of NaN must leave none, and
  /// give the allocating call's bits. Rows of 8, of 33 (a masked tail), of 768, long rows
  /// (13x30000) and a streamed input gradient of 8.4 MiB (9000x244 Float) whose rows are
  /// taken two in flight.
  @Test("The allocating backward writes what the zero-copy one writes into NaN", arguments: [[5000, 8], [2000, 33], [300, 768], [13, 30000], [9000, 244]])
  func allocatingBackward(_ shape: [Int]) throws {
    try allocatingBackward(Float.self, shape)
    try allocatingBackward(Double.self, shape)
  }

  func allocatingBackward<Scalar: TestScalar>(_ type: Scalar.Type, _ shape: [Int]) throws {
    var generator = SeededGenerator(seed: 31)
    let count = shape.reduce(1, *)
    let features = shape[1]
    let x = ShapedArray(validating: generator.values(count, as: Scalar.self, scale: 2, offset: 1).converted(to: Scalar.self), shape: shape)
    let dy = ShapedArray(validating: generator.values(count, as: Scalar.self).converted(to: Scalar.self), shape: shape)
    var norm = try LayerNorm<Scalar>(normalizedShape: [features])
    norm.weight = generator.values(features, as: Scalar.self, scale: 0.5, offset: 1).converted(to: Scalar.self)
    let allocated = try norm.backward(dy, input: x)
    var dx = [Scalar](repeating: .nan, count: count)
    var dw = [Scalar](repeating: .nan, count: features)
    var db = [Scalar](repeating: .nan, count: features)
    try dy.scalars.withUnsafeBufferPointer { dyb in
      try x.scalars.withUnsafeBufferPointer { xb in
        try dx.withUnsafeMutableBufferPointer { dxb in
          try dw.withUnsafeMutableBufferPointer { dwb in
            try db.withUnsafeMutableBufferPointer { dbb in
              try norm.backward(
                outputGradient: dyb, input: xb, shape: shape, mean: nil, rstd: nil,
                inputGradient: dxb, weightGradient: dwb, biasGradient: dbb)
            }
          }
        }
      }
    }
    let label = "\(Scalar.name) \(shape)"
    #expect(!dx.contains { $0.isNaN } && !dw.contains { $0.isNaN } && !db.contains { $0.isNaN }, "\(label)")
    #expect(sameBits(dx, allocated.input!.scalars), "\(label) dx")
    #expect(sameBits(dw, allocated.weight!) && sameBits(db, allocated.bias!), "\(label) dweight, dbias")
  }

  @Test("Only the requested gradients are computed, and they equal the full set")
  func requests() throws {
    // The full request takes the kernel's common-case row, the others the general one:
    // the bits must not differ. Rows of 12, 40 and 77 cover the paired, single-vector and
    // scalar parts of a row in both.
    for features in [12, 40, 77] {
      try requests(Float.self, features: features)
      try requests(Double.self, features: features)
    }
  }

  func requests<Scalar: BLASScalar>(_ type: Scalar.Type, features: Int) throws {
    var generator = SeededGenerator(seed: 4)
    let count = 5 * features
    let x = ShapedArray(validating: generator.values(count, as: Scalar.self).converted(to: Scalar.self), shape: [5, features])
    let dy = ShapedArray(validating: generator.values(count, as: Scalar.self).converted(to: Scalar.self), shape: [5, features])
    var norm = try LayerNorm<Scalar>(normalizedShape: [features])
    norm.weight = generator.values(features, as: Scalar.self, scale: 0.5, offset: 1).converted(to: Scalar.self)
    let all = try norm.backward(dy, input: x)
    let inputOnly = try norm.backward(dy, input: x, request: .input)
    #expect(inputOnly.weight == nil && inputOnly.bias == nil && sameBits(inputOnly.input!.scalars, all.input!.scalars), "\(Scalar.self) D=\(features)")
    let weightOnly = try norm.backward(dy, input: x, request: .weight)
    #expect(weightOnly.input == nil && weightOnly.bias == nil && sameBits(weightOnly.weight!, all.weight!))
    let noAffine = try LayerNorm<Scalar>(normalizedShape: [features], elementwiseAffine: false)
    let plain = try noAffine.backward(dy, input: x)
    #expect(plain.weight == nil && plain.bias == nil && plain.input != nil)
  }

  @Test("Plain SGD on weight and bias fits a target affine map")
  func training() throws {
    // In the spirit of tch-rs's layer_norm_parameters_test: learn weight and bias so that
    // the normalized output of a fixed input approaches a * LN(x) + c.
    var generator = SeededGenerator(seed: 12)
    let shape = [8, 16]
    let x = ShapedArray(validating: generator.values(128, as: Float.self, scale: 3, offset: 2).converted(to: Float.self), shape: shape)
    let a: [Float] = generator.values(16, as: Float.self, scale: 1, offset: 1.5).converted(to: Float.self)
    let c: [Float] = generator.values(16, as: Float.self, scale: 1).converted(to: Float.self)
    let plain = try LayerNorm<Float>(normalizedShape: [16], elementwiseAffine: false)(x)
    let target = (0..<128).map { plain.scalars[$0] * a[$0 % 16] + c[$0 % 16] }
    var norm = try LayerNorm<Float>(normalizedShape: [16])
    func loss() throws -> (Float, ShapedArray<Float>) {
      let y = try norm(x)
      let residual = zip(y.scalars, target).map { $0 - $1 }
      let value = residual.map { $0 * $0 }.reduce(0, +) / 128
      return (value, ShapedArray(validating: residual.map { 2 * $0 / 128 }, shape: shape))
    }
    let (initial, _) = try loss()
    for _ in 0..<300 {
      let (_, dy) = try loss()
      let gradients = try norm.backward(dy, input: x, request: [.weight, .bias])
      norm.weight = zip(norm.weight!, gradients.weight!).map { $0 - 0.5 * $1 }
      norm.bias = zip(norm.bias!, gradients.bias!).map { $0 - 0.5 * $1 }
    }
    let (final, _) = try loss()
    #expect(initial > 0.5, "the target is not trivially met at the start: \(initial)")
    #expect(final < initial * 1e-4, "loss \(initial) -> \(final)")
  }

  @Test("Bad backward input throws and writes nothing")
  func badInput() throws {
    let sentinel: Float = -777
    let noBias = try LayerNorm<Float>(normalizedShape: [4], bias: false)
    let x = [Float](repeating: 1, count: 8)
    let dy = [Float](repeating: 1, count: 8)
    var dx = [Float](repeating: sentinel, count: 8)
    var dw = [Float](repeating: sentinel, count: 4)
    var db = [Float](repeating: sentinel, count: 4)
    let mean = [Float](repeating: 0, count: 2)
    func attempt(_ norm: LayerNorm<Float>, shape: [Int], dyCount: Int = 8, mean useMean: Bool = false, rstdCount: Int? = nil, dwCount: Int = 4, db useBias: Bool = false) -> LayerNormError? {
      let rstd = rstdCount.map { [Float](repeating: 1, count: $0) }
      let dyShort = Array(dy.prefix(dyCount))
      do {
        try dyShort.withUnsafeBufferPointer { dyb in
          try x.withUnsafeBufferPointer { xb in
            try mean.withUnsafeBufferPointer { mb in
              try rstd.withOptionalBuffer { rb in
                try dx.withUnsafeMutableBufferPointer { dxb in
                  try dw.withUnsafeMutableBufferPointer { dwb in
                    try db.withUnsafeMutableBufferPointer { dbb in
                      try norm.backward(
                        outputGradient: dyb, input: xb, shape: shape, mean: useMean ? mb : nil, rstd: rb,
                        inputGradient: dxb, weightGradient: UnsafeMutableBufferPointer(rebasing: dwb[0..<dwCount]),
                        biasGradient: useBias ? dbb : nil)
                    }
                  }
                }
              }
            }
          }
        }
        return nil
      } catch let error as LayerNormError {
        return error
      } catch {
        return nil
      }
    }
    #expect(attempt(noBias, shape: [2, 4], db: true) == .missingParameter("bias"))
    #expect(attempt(noBias, shape: [2, 4], mean: true) == .incompleteStatistics)
    #expect(attempt(noBias, shape: [2, 4], rstdCount: 3, ) == .incompleteStatistics)
    #expect(attempt(noBias, shape: [2, 4], mean: true, rstdCount: 3) == .bufferSizeMismatch(buffer: "rstd", count: 3, expected: 2, inputShape: [2, 4]))
    #expect(attempt(noBias, shape: [2, 4], dyCount: 7) == .bufferSizeMismatch(buffer: "outputGradient", count: 7, expected: 8, inputShape: [2, 4]))
    #expect(attempt(noBias, shape: [2, 4], dwCount: 3) == .parameterCountMismatch(parameter: "weightGradient", count: 3, expected: 4, normalizedShape: [4]))
    #expect(attempt(noBias, shape: [4, 2]) == .trailingShapeMismatch(inputShape: [4, 2], normalizedShape: [4]))
    let noWeight = try LayerNorm<Float>(normalizedShape: [4], elementwiseAffine: false)
    #expect(attempt(noWeight, shape: [2, 4]) == .missingParameter("weight"))
    #expect((dx + dw + db).allSatisfy { $0 == sentinel }, "caller memory was written")
  }
}

extension ShapedArray {
  /// Test shorthand for a shape the test knows to be right.
  init(validating scalars: [Scalar], shape: [Int]) {
    try! self.init(shape: shape, scalars: scalars)
  }
}

extension Optional {
  func withOptionalBuffer<Element, R>(_ body: (UnsafeBufferPointer<Element>?) throws -> R) rethrows -> R
  where Wrapped == [Element] {
    switch self {
    case .some(let array): return try array.withUnsafeBufferPointer { try body($0) }
    case .none: return try body(nil)
    }
  }
}
