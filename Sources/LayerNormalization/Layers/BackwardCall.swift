// One backward call, checked: every shape, count and eps is validated before any write.

/// The parameters of a layer as one backward call sees them.
struct BackwardCall<Scalar: BLASScalar> {
  var kind: _NormalizationKind
  var normalizedShape: [Int]
  var eps: Double
  var weight: [Scalar]?
  var hasBias: Bool
  var maximumThreadCount: Int

  /// Validates everything, then writes the requested gradients.
  ///
  /// - Throws: ``LayerNormError`` before anything is written.
  func run(
    outputGradient: UnsafeBufferPointer<Scalar>, input: UnsafeBufferPointer<Scalar>,
    shape: [Int], mean: UnsafeBufferPointer<Scalar>?, rstd: UnsafeBufferPointer<Scalar>?,
    inputGradient: UnsafeMutableBufferPointer<Scalar>?,
    weightGradient: UnsafeMutableBufferPointer<Scalar>?,
    biasGradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LayerNormError) {
    let layout = try RowLayout(inputShape: shape, normalizedShape: normalizedShape)
    try validateEpsilon(eps)
    if let weight, weight.count != layout.features {
      throw .parameterCountMismatch(
        parameter: "weight", count: weight.count, expected: layout.features,
        normalizedShape: normalizedShape)
    }
    try layout.checkElements(outputGradient.count, buffer: "outputGradient")
    try layout.checkElements(input.count, buffer: "input")
    if kind == .layer, (mean == nil) != (rstd == nil) { throw .incompleteStatistics }
    try layout.checkStatistics(mean?.count, buffer: "mean")
    try layout.checkStatistics(rstd?.count, buffer: "rstd")
    if let inputGradient { try layout.checkElements(inputGradient.count, buffer: "inputGradient") }
    if let weightGradient {
      guard weight != nil else { throw .missingParameter("weight") }
      try checkParameterGradient(weightGradient.count, name: "weightGradient", features: layout.features)
    }
    if let biasGradient {
      guard hasBias else { throw .missingParameter("bias") }
      try checkParameterGradient(biasGradient.count, name: "biasGradient", features: layout.features)
    }
    guard layout.rows > 0 else {
      // No rows: the parameter gradients are sums over nothing.
      weightGradient?.update(repeating: 0)
      biasGradient?.update(repeating: 0)
      return
    }
    weight.withOptionalPointer { w in
      let problem = BackwardProblem(
        kind: kind, rows: layout.rows, features: layout.features, eps: eps,
        input: input.baseAddress!, outputGradient: outputGradient.baseAddress!,
        mean: mean?.baseAddress, rstd: rstd?.baseAddress, weight: w,
        inputGradient: inputGradient?.baseAddress,
        weightGradient: weightGradient?.baseAddress, biasGradient: biasGradient?.baseAddress)
      runBackward(problem, maximumThreads: max(1, maximumThreadCount))
    }
  }

  private func checkParameterGradient(_ count: Int, name: String, features: Int)
    throws(LayerNormError)
  {
    guard count == features else {
      throw .parameterCountMismatch(
        parameter: name, count: count, expected: features, normalizedShape: normalizedShape)
    }
  }

  /// The allocating form: validates, allocates what `request` asks for (and the layer has),
  /// and runs.
  func gradients(
    _ outputGradient: ShapedArray<Scalar>, input: ShapedArray<Scalar>,
    mean: ShapedArray<Scalar>?, rstd: ShapedArray<Scalar>?, request: GradientRequest
  ) throws(LayerNormError) -> NormalizationGradients<Scalar> {
    guard outputGradient.shape == input.shape else {
      throw .bufferSizeMismatch(
        buffer: "outputGradient", count: outputGradient.scalars.count,
        expected: input.scalars.count, inputShape: input.shape)
    }
    let layout = try RowLayout(inputShape: input.shape, normalizedShape: normalizedShape)
    let wantInput = request.contains(.input)
    let wantWeight = request.contains(.weight) && weight != nil
    let wantBias = request.contains(.bias) && hasBias
    // The input gradient is written whole by the kernel: allocated as the forward's output
    // is (makeOutput), not zeroed first.
    var dw = [Scalar](repeating: 0, count: wantWeight ? layout.features : 0)
    var db = [Scalar](repeating: 0, count: wantBias ? layout.features : 0)
    let dx = try makeOutput(count: wantInput ? layout.elementCount : 0) {
      (dx) throws(LayerNormError) in
      try outputGradient.scalars.withUnsafeBufferPointer { (dy) throws(LayerNormError) in
        try input.scalars.withUnsafeBufferPointer { (x) throws(LayerNormError) in
          try (mean?.scalars).withOptionalBufferPointer { (m) throws(LayerNormError) in
            try (rstd?.scalars).withOptionalBufferPointer { (r) throws(LayerNormError) in
              try dw.withUnsafeMutableBufferPointer { (dw) throws(LayerNormError) in
                try db.withUnsafeMutableBufferPointer { (db) throws(LayerNormError) in
                  try run(
                    outputGradient: dy, input: x, shape: input.shape, mean: m, rstd: r,
                    inputGradient: wantInput ? dx : nil, weightGradient: wantWeight ? dw : nil,
                    biasGradient: wantBias ? db : nil)
                }
              }
            }
          }
        }
      }
    }
    return NormalizationGradients(
      input: wantInput ? ShapedArray(validatedShape: input.shape, scalars: dx) : nil,
      weight: wantWeight ? dw : nil, bias: wantBias ? db : nil)
  }
}

extension Optional {
  /// Calls `body` with the wrapped array's buffer, or with `nil`, passing on typed errors.
  func withOptionalBufferPointer<Element, Result>(
    _ body: (UnsafeBufferPointer<Element>?) throws(LayerNormError) -> Result
  ) throws(LayerNormError) -> Result where Wrapped == [Element] {
    switch self {
    case .some(let array):
      return try array.withUnsafeBufferPointer { (buffer) throws(LayerNormError) in try body(buffer) }
    case .none:
      return try body(nil)
    }
  }
}
