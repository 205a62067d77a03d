// The Span entry points: zero-copy over caller-owned memory, with in-place variants.

extension Normalization {
  /// Normalizes `input` into caller-owned `output` without allocating.
  ///
  /// - Parameters:
  ///   - input: `shape.reduce(1, *)` elements, row-major.
  ///   - shape: trailing dimensions equal ``normalizedShape``.
  ///   - output: as many elements as `input`.
  /// - Throws: ``LayerNormError``; `output` is untouched then.
  public func forward(
    _ input: Span<Scalar>, shape: [Int], into output: inout MutableSpan<Scalar>
  ) throws(LayerNormError) {
    try input.withUnsafeBufferPointer { (x) throws(LayerNormError) in
      try output.withUnsafeMutableBufferPointer { (y) throws(LayerNormError) in
        try forward(x, shape: shape, into: y)
      }
    }
  }

  /// Normalizes `data` in place.
  ///
  /// - Parameters:
  ///   - data: `shape.reduce(1, *)` elements, overwritten with the normalized values.
  ///   - shape: trailing dimensions equal ``normalizedShape``.
  /// - Throws: ``LayerNormError``; `data` is untouched then.
  public func forwardInPlace(_ data: inout MutableSpan<Scalar>, shape: [Int])
    throws(LayerNormError)
  {
    try data.withUnsafeMutableBufferPointer { (y) throws(LayerNormError) in
      try forward(UnsafeBufferPointer(y), shape: shape, into: y)
    }
  }

  /// Fused add-and-normalize into caller-owned buffers: `sum = x + residual`,
  /// `output = norm(sum)`.
  ///
  /// - Parameters:
  ///   - x: `shape.reduce(1, *)` elements.
  ///   - residual: as many elements as `x`.
  ///   - shape: trailing dimensions equal ``normalizedShape``.
  ///   - sum: receives `x + residual`.
  ///   - output: receives the normalized sum.
  /// - Throws: ``LayerNormError``; `sum` and `output` are untouched then.
  public func addAndNormalize(
    _ x: Span<Scalar>, residual: Span<Scalar>, shape: [Int],
    sum: inout MutableSpan<Scalar>, output: inout MutableSpan<Scalar>
  ) throws(LayerNormError) {
    try x.withUnsafeBufferPointer { (xs) throws(LayerNormError) in
      try residual.withUnsafeBufferPointer { (rs) throws(LayerNormError) in
        try sum.withUnsafeMutableBufferPointer { (s) throws(LayerNormError) in
          try output.withUnsafeMutableBufferPointer { (y) throws(LayerNormError) in
            try addAndNormalize(xs, residual: rs, shape: shape, sum: s, output: y)
          }
        }
      }
    }
  }

  /// `output = norm(x + residual)` on spans, without keeping the sum (see the protocol
  /// requirement of the same name on buffer pointers).
  ///
  /// - Parameters:
  ///   - x: `shape.reduce(1, *)` elements.
  ///   - residual: as many elements as `x`.
  ///   - shape: trailing dimensions equal ``normalizedShape``.
  ///   - output: receives the normalized sum.
  /// - Throws: ``LayerNormError``; `output` is untouched then.
  public func addAndNormalize(
    _ x: Span<Scalar>, residual: Span<Scalar>, shape: [Int], output: inout MutableSpan<Scalar>
  ) throws(LayerNormError) {
    try x.withUnsafeBufferPointer { (xs) throws(LayerNormError) in
      try residual.withUnsafeBufferPointer { (rs) throws(LayerNormError) in
        try output.withUnsafeMutableBufferPointer { (y) throws(LayerNormError) in
          try addAndNormalize(xs, residual: rs, shape: shape, output: y)
        }
      }
    }
  }

  /// Fused add-and-normalize in the residual stream's own memory: `stream += x`, then
  /// `output = norm(stream)`.
  ///
  /// - Parameters:
  ///   - x: the sublayer's output, `shape.reduce(1, *)` elements.
  ///   - stream: the residual stream, updated to `stream + x`.
  ///   - shape: trailing dimensions equal ``normalizedShape``.
  ///   - output: receives the normalized sum.
  /// - Throws: ``LayerNormError``; `stream` and `output` are untouched then.
  public func addAndNormalize(
    _ x: Span<Scalar>, into stream: inout MutableSpan<Scalar>, shape: [Int],
    output: inout MutableSpan<Scalar>
  ) throws(LayerNormError) {
    try x.withUnsafeBufferPointer { (xs) throws(LayerNormError) in
      try stream.withUnsafeMutableBufferPointer { (s) throws(LayerNormError) in
        try output.withUnsafeMutableBufferPointer { (y) throws(LayerNormError) in
          try addAndNormalize(
            xs, residual: UnsafeBufferPointer(s), shape: shape, sum: s, output: y)
        }
      }
    }
  }
}
