// Residual blocks: pre-norm `x + f(norm(x))` and post-norm `norm(x + f(x))`.

extension Normalization {
  /// A pre-norm residual block, `x + sublayer(norm(x))`, as in GPT-2 and most current
  /// transformers.
  ///
  /// - Parameters:
  ///   - x: an array whose trailing dimensions equal ``normalizedShape``.
  ///   - sublayer: the block's body (attention, MLP); must return an array of `x.shape`.
  /// - Returns: `x + sublayer(norm(x))`, of `x.shape`.
  /// - Throws: ``LayerNormError`` (including
  ///   ``LayerNormError/sublayerShapeMismatch(inputShape:sublayerShape:)``), or what
  ///   `sublayer` throws.
  public func preNorm(
    _ x: ShapedArray<Scalar>, sublayer: (ShapedArray<Scalar>) throws -> ShapedArray<Scalar>
  ) throws -> ShapedArray<Scalar> {
    let normalized = try self(x)
    let update = try sublayer(normalized)
    guard update.shape == x.shape else {
      throw LayerNormError.sublayerShapeMismatch(inputShape: x.shape, sublayerShape: update.shape)
    }
    var result = x
    result.addInPlace(update)
    return result
  }

  /// A post-norm residual block, `norm(x + sublayer(x))`, as in the original Transformer and
  /// BERT. The add and the normalization run fused, in one pass, and the sum is not kept
  /// (``addAndNormalize(_:residual:shape:output:)``).
  ///
  /// - Parameters:
  ///   - x: an array whose trailing dimensions equal ``normalizedShape``.
  ///   - sublayer: the block's body; must return an array of `x.shape`.
  /// - Returns: `norm(x + sublayer(x))`, of `x.shape`.
  /// - Throws: ``LayerNormError`` (including
  ///   ``LayerNormError/sublayerShapeMismatch(inputShape:sublayerShape:)``), or what
  ///   `sublayer` throws.
  public func postNorm(
    _ x: ShapedArray<Scalar>, sublayer: (ShapedArray<Scalar>) throws -> ShapedArray<Scalar>
  ) throws -> ShapedArray<Scalar> {
    _ = try RowLayout(inputShape: x.shape, normalizedShape: normalizedShape)
    let update = try sublayer(x)
    guard update.shape == x.shape else {
      throw LayerNormError.sublayerShapeMismatch(inputShape: x.shape, sublayerShape: update.shape)
    }
    let output = try makeOutput(count: x.scalars.count) { (out) throws(LayerNormError) in
      try x.scalars.withUnsafeBufferPointer { (xs) throws(LayerNormError) in
        try update.scalars.withUnsafeBufferPointer { (rs) throws(LayerNormError) in
          try addAndNormalize(xs, residual: rs, shape: x.shape, output: out)
        }
      }
    }
    return ShapedArray(validatedShape: x.shape, scalars: output)
  }
}
