// Bad input: a typed error naming the shapes, and caller memory left exactly as it was.

import LayerNormalization
import Testing

@Suite("Bad input")
struct BadInputTests {
  let sentinel: Float = -12345

  /// Runs the zero-copy forward with buffers of the given sizes, all pre-filled with a
  /// sentinel, and checks that it throws `expected` and writes nothing.
  func expectRefused(
    _ norm: LayerNorm<Float>, shape: [Int], input: Int, output: Int, mean: Int? = nil,
    rstd: Int? = nil, throws expected: LayerNormError,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let x = [Float](repeating: 1.5, count: input)
    var y = [Float](repeating: sentinel, count: output)
    var m = [Float](repeating: sentinel, count: mean ?? 0)
    var r = [Float](repeating: sentinel, count: rstd ?? 0)
    let error = #expect(throws: LayerNormError.self, sourceLocation: sourceLocation) {
      try x.withUnsafeBufferPointer { x in
        try y.withUnsafeMutableBufferPointer { y in
          try m.withUnsafeMutableBufferPointer { m in
            try r.withUnsafeMutableBufferPointer { r in
              try norm.forward(x, shape: shape, into: y, mean: mean == nil ? nil : m, rstd: rstd == nil ? nil : r)
            }
          }
        }
      }
    }
    #expect(error == expected, sourceLocation: sourceLocation)
    #expect(!(error?.description.isEmpty ?? true), sourceLocation: sourceLocation)
    #expect((y + m + r).allSatisfy { $0 == sentinel }, "caller memory was written", sourceLocation: sourceLocation)
  }

  @Test("Trailing dims differ from normalizedShape")
  func trailingMismatch() throws {
    let norm = try LayerNorm<Float>(normalizedShape: [3, 4])
    expectRefused(norm, shape: [2, 4, 3], input: 24, output: 24,
                  throws: .trailingShapeMismatch(inputShape: [2, 4, 3], normalizedShape: [3, 4]))
    expectRefused(norm, shape: [2, 12], input: 24, output: 24,
                  throws: .trailingShapeMismatch(inputShape: [2, 12], normalizedShape: [3, 4]))
    #expect(LayerNormError.trailingShapeMismatch(inputShape: [2, 12], normalizedShape: [3, 4]).description.contains("[2, 12]"))
  }

  @Test("Input rank too small")
  func rankTooSmall() throws {
    let norm = try LayerNorm<Float>(normalizedShape: [2, 3, 4])
    expectRefused(norm, shape: [3, 4], input: 12, output: 12,
                  throws: .rankTooSmall(inputShape: [3, 4], normalizedShape: [2, 3, 4]))
  }

  @Test("Empty normalizedShape or a zero or negative dimension")
  func badNormalizedShape() {
    #expect(throws: LayerNormError.emptyNormalizedShape) { try LayerNorm<Float>(normalizedShape: []) }
    #expect(throws: LayerNormError.invalidNormalizedShape([4, 0])) { try LayerNorm<Float>(normalizedShape: [4, 0]) }
    #expect(throws: LayerNormError.invalidNormalizedShape([-2])) { try RMSNorm<Double>(normalizedShape: [-2]) }
    #expect(throws: LayerNormError.invalidNormalizedShape([Int.max, 4])) { try LayerNorm<Float>(normalizedShape: [Int.max, 4]) }
  }

  @Test("Negative or overflowing input dimensions")
  func badInputShape() throws {
    let norm = try LayerNorm<Float>(normalizedShape: [4])
    expectRefused(norm, shape: [-1, 4], input: 4, output: 4, throws: .invalidShape([-1, 4]))
    expectRefused(norm, shape: [Int.max / 2, 4], input: 4, output: 4, throws: .invalidShape([Int.max / 2, 4]))
    #expect(throws: LayerNormError.invalidShape([-3])) { try ShapedArray<Float>(shape: [-3], scalars: []) }
  }

  @Test("Weight or bias count differs from the normalized size")
  func parameterCounts() throws {
    var norm = try LayerNorm<Float>(normalizedShape: [2, 4])
    norm.weight = [1, 2, 3]
    expectRefused(norm, shape: [3, 2, 4], input: 24, output: 24,
                  throws: .parameterCountMismatch(parameter: "weight", count: 3, expected: 8, normalizedShape: [2, 4]))
    norm.weight = nil
    norm.bias = Array(repeating: 0, count: 9)
    expectRefused(norm, shape: [3, 2, 4], input: 24, output: 24,
                  throws: .parameterCountMismatch(parameter: "bias", count: 9, expected: 8, normalizedShape: [2, 4]))
    var rms = try RMSNorm<Float>(normalizedShape: [4])
    rms.weight = [1]
    #expect(throws: LayerNormError.parameterCountMismatch(parameter: "weight", count: 1, expected: 4, normalizedShape: [4])) {
      _ = try rms(ShapedArray(shape: [1, 4], scalars: [1, 2, 3, 4]))
    }
  }

  @Test("Output or statistics buffers of the wrong size")
  func bufferSizes() throws {
    let norm = try LayerNorm<Float>(normalizedShape: [4])
    expectRefused(norm, shape: [3, 4], input: 11, output: 12,
                  throws: .bufferSizeMismatch(buffer: "input", count: 11, expected: 12, inputShape: [3, 4]))
    expectRefused(norm, shape: [3, 4], input: 12, output: 13,
                  throws: .bufferSizeMismatch(buffer: "output", count: 13, expected: 12, inputShape: [3, 4]))
    expectRefused(norm, shape: [3, 4], input: 12, output: 12, mean: 2,
                  throws: .bufferSizeMismatch(buffer: "mean", count: 2, expected: 3, inputShape: [3, 4]))
    expectRefused(norm, shape: [3, 4], input: 12, output: 12, mean: 3, rstd: 4,
                  throws: .bufferSizeMismatch(buffer: "rstd", count: 4, expected: 3, inputShape: [3, 4]))
    #expect(throws: LayerNormError.bufferSizeMismatch(buffer: "scalars", count: 5, expected: 6, inputShape: [2, 3])) {
      try ShapedArray<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
    }
  }

  @Test("eps NaN, infinite or negative")
  func badEpsilon() throws {
    for eps in [Double.nan, .infinity, -.infinity, -1e-5] {
      #expect(throws: LayerNormError.self) { try LayerNorm<Float>(normalizedShape: [4], eps: eps) }
      #expect(throws: LayerNormError.self) { try RMSNorm<Double>(normalizedShape: [4], eps: eps) }
      var norm = try LayerNorm<Float>(normalizedShape: [4])
      norm.eps = eps
      let error = #expect(throws: LayerNormError.self) {
        _ = try norm(ShapedArray(shape: [1, 4], scalars: [1, 2, 3, 4]))
      }
      if case .invalidEpsilon = error {} else { Issue.record("eps \(eps): \(String(describing: error))") }
      if !eps.isNaN { expectRefusedAfterSetting(eps: eps) }  // NaN != NaN in the payload
    }
    // eps = 0 is allowed.
    _ = try LayerNorm<Float>(normalizedShape: [4], eps: 0)
  }

  func expectRefusedAfterSetting(eps: Double) {
    var norm = try! LayerNorm<Float>(normalizedShape: [4])
    norm.eps = eps
    expectRefused(norm, shape: [2, 4], input: 8, output: 8, mean: 2, rstd: 2, throws: .invalidEpsilon(eps))
  }

  @Test("Residual shape differs from the input")
  func residualShape() throws {
    let norm = try LayerNorm<Float>(normalizedShape: [4])
    let x = try ShapedArray<Float>(shape: [2, 4], scalars: Array(repeating: 1, count: 8))
    let r = try ShapedArray<Float>(shape: [4, 2], scalars: Array(repeating: 1, count: 8))
    #expect(throws: LayerNormError.residualShapeMismatch(inputShape: [2, 4], residualShape: [4, 2])) {
      _ = try norm.addAndNormalize(x, residual: r)
    }
    // Zero-copy: a residual buffer of the wrong size leaves sum and output untouched.
    var sum = [Float](repeating: sentinel, count: 8)
    var out = [Float](repeating: sentinel, count: 8)
    let shortResidual = [Float](repeating: 1, count: 7)
    #expect(throws: LayerNormError.bufferSizeMismatch(buffer: "residual", count: 7, expected: 8, inputShape: [2, 4])) {
      try x.scalars.withUnsafeBufferPointer { xs in
        try shortResidual.withUnsafeBufferPointer { rs in
          try sum.withUnsafeMutableBufferPointer { s in
            try out.withUnsafeMutableBufferPointer { o in
              try norm.addAndNormalize(xs, residual: rs, shape: [2, 4], sum: s, output: o)
            }
          }
        }
      }
    }
    #expect((sum + out).allSatisfy { $0 == sentinel })
    // Without a sum buffer, the same (RMSNorm too).
    let rms = try RMSNorm<Float>(normalizedShape: [4])
    for layer in [norm as any Normalization<Float>, rms] {
      #expect(throws: LayerNormError.bufferSizeMismatch(buffer: "residual", count: 7, expected: 8, inputShape: [2, 4])) {
        try x.scalars.withUnsafeBufferPointer { xs in
          try shortResidual.withUnsafeBufferPointer { rs in
            try out.withUnsafeMutableBufferPointer { o in
              try layer.addAndNormalize(xs, residual: rs, shape: [2, 4], output: o)
            }
          }
        }
      }
    }
    #expect(out.allSatisfy { $0 == sentinel })
  }

  @Test("A sublayer that changes the shape")
  func sublayerShape() throws {
    let norm = try RMSNorm<Double>(normalizedShape: [4])
    let x = try ShapedArray<Double>(shape: [2, 4], scalars: Array(repeating: 1, count: 8))
    let wrong = try ShapedArray<Double>(shape: [8], scalars: Array(repeating: 1, count: 8))
    #expect(throws: LayerNormError.sublayerShapeMismatch(inputShape: [2, 4], sublayerShape: [8])) {
      _ = try norm.preNorm(x, sublayer: { _ in wrong })
    }
    #expect(throws: LayerNormError.sublayerShapeMismatch(inputShape: [2, 4], sublayerShape: [8])) {
      _ = try norm.postNorm(x, sublayer: { _ in wrong })
    }
  }
}
