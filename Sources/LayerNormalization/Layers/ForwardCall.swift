// One forward call, checked: every shape, count and eps is validated before any write.

/// The parameters of a layer as one forward call sees them.
struct ForwardCall<Scalar: BLASScalar> {
  var kind: _NormalizationKind
  var normalizedShape: [Int]
  var eps: Double
  var weight: [Scalar]?
  var bias: [Scalar]?
  var maximumThreadCount: Int

  /// Validates everything, then normalizes `input` (plus `residual`) into `output`.
  ///
  /// - Throws: ``LayerNormError`` before anything is written.
  func run(
    input: UnsafeBufferPointer<Scalar>, shape: [Int],
    residual: UnsafeBufferPointer<Scalar>? = nil,
    sum: UnsafeMutableBufferPointer<Scalar>? = nil,
    output: UnsafeMutableBufferPointer<Scalar>,
    mean: UnsafeMutableBufferPointer<Scalar>? = nil,
    rstd: UnsafeMutableBufferPointer<Scalar>? = nil
  ) throws(LayerNormError) {
    let layout = try RowLayout(inputShape: shape, normalizedShape: normalizedShape)
    try validateEpsilon(eps)
    try checkParameter(weight, name: "weight", features: layout.features)
    try checkParameter(bias, name: "bias", features: layout.features)
    try layout.checkElements(input.count, buffer: "input")
    if let residual { try layout.checkElements(residual.count, buffer: "residual") }
    if let sum { try layout.checkElements(sum.count, buffer: "sum") }
    try layout.checkElements(output.count, buffer: "output")
    try layout.checkStatistics(mean?.count, buffer: "mean")
    try layout.checkStatistics(rstd?.count, buffer: "rstd")
    guard layout.rows > 0 else { return }

    weight.withOptionalPointer { w in
      bias.withOptionalPointer { b in
        let problem = ForwardProblem(
          kind: kind, rows: layout.rows, features: layout.features, eps: eps,
          input: input.baseAddress!, residual: residual?.baseAddress,
          sum: sum?.baseAddress, output: output.baseAddress!, weight: w, bias: b,
          mean: mean?.baseAddress, rstd: rstd?.baseAddress)
        runForward(problem, maximumThreads: max(1, maximumThreadCount))
      }
    }
  }

  private func checkParameter(_ values: [Scalar]?, name: String, features: Int)
    throws(LayerNormError)
  {
    guard let values, values.count != features else { return }
    throw .parameterCountMismatch(
      parameter: name, count: values.count, expected: features, normalizedShape: normalizedShape)
  }
}

extension Optional {
  /// Calls `body` with the wrapped array's base address, or with `nil`.
  func withOptionalPointer<Element, Result>(_ body: (UnsafePointer<Element>?) -> Result) -> Result
  where Wrapped == [Element] {
    switch self {
    case .some(let array): return array.withUnsafeBufferPointer { body($0.baseAddress) }
    case .none: return body(nil)
    }
  }
}
