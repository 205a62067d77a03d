// Backward through the residual helpers: fused add-and-normalize, pre-norm and post-norm.

extension Normalization {
  /// All the gradients of `norm(input)` (see ``backward(_:input:request:)``).
  public func backward(_ outputGradient: ShapedArray<Scalar>, input: ShapedArray<Scalar>)
    throws(LayerNormError) -> NormalizationGradients<Scalar>
  {
    try backward(outputGradient, input: input, request: .all)
  }

  /// The backward of ``addAndNormalize(_:residual:)``: `sum = x + residual`,
  /// `output = norm(sum)`.
  ///
  /// The gradients for `x` and for `residual` are equal: the normalization's input gradient
  /// plus the gradient that reached the returned sum.
  ///
  /// - Parameters:
  ///   - outputGradient: `d loss / d output`, of `sum.shape`.
  ///   - sumGradient: `d loss / d sum` from the rest of the network (the residual stream),
  ///     of `sum.shape`, or `nil` when the sum was not used.
  ///   - sum: the forward's `sum`.
  ///   - request: which gradients to compute.
  /// - Returns: `input` is the gradient for both `x` and `residual`.
  /// - Throws: ``LayerNormError``.
  public func addAndNormalizeBackward(
    outputGradient: ShapedArray<Scalar>, sumGradient: ShapedArray<Scalar>?,
    sum: ShapedArray<Scalar>, request: GradientRequest = .all
  ) throws(LayerNormError) -> NormalizationGradients<Scalar> {
    if let sumGradient, sumGradient.shape != sum.shape {
      throw .residualShapeMismatch(inputShape: sum.shape, residualShape: sumGradient.shape)
    }
    var gradients = try backward(outputGradient, input: sum, request: request)
    if let sumGradient, gradients.input != nil {
      gradients.input!.addInPlace(sumGradient)
    }
    return gradients
  }

  /// The backward of ``preNorm(_:sublayer:)``, `out = x + sublayer(norm(x))`:
  /// `dx = dout + norm_backward(sublayer_backward(dout))`.
  ///
  /// - Parameters:
  ///   - x: the block's input.
  ///   - outputGradient: `d loss / d out`, of `x.shape`.
  ///   - sublayerBackward: maps `d loss / d sublayer output` to `d loss / d sublayer input`
  ///     (and may record the sublayer's own parameter gradients).
  ///   - request: which of the norm's gradients to compute; `input` is the block's `dx`.
  /// - Throws: ``LayerNormError``, or what `sublayerBackward` throws.
  public func preNormBackward(
    _ x: ShapedArray<Scalar>, outputGradient: ShapedArray<Scalar>,
    sublayerBackward: (ShapedArray<Scalar>) throws -> ShapedArray<Scalar>,
    request: GradientRequest = .all
  ) throws -> NormalizationGradients<Scalar> {
    let normGradient = try sublayerBackward(outputGradient)
    guard normGradient.shape == x.shape else {
      throw LayerNormError.sublayerShapeMismatch(inputShape: x.shape, sublayerShape: normGradient.shape)
    }
    var gradients = try backward(normGradient, input: x, request: request.union(.input))
    gradients.input!.addInPlace(outputGradient)
    if !request.contains(.input) { gradients.input = nil }
    return gradients
  }

  /// The backward of ``postNorm(_:sublayer:)``, `out = norm(s)` with `s = x + sublayer(x)`:
  /// `ds = norm_backward(dout)`, `dx = ds + sublayer_backward(ds)`.
  ///
  /// - Parameters:
  ///   - sum: the forward's `s = x + sublayer(x)`.
  ///   - outputGradient: `d loss / d out`, of `sum.shape`.
  ///   - sublayerBackward: maps `d loss / d sublayer output` to `d loss / d sublayer input`.
  ///   - request: which of the norm's gradients to compute; `input` is the block's `dx`.
  /// - Throws: ``LayerNormError``, or what `sublayerBackward` throws.
  public func postNormBackward(
    sum: ShapedArray<Scalar>, outputGradient: ShapedArray<Scalar>,
    sublayerBackward: (ShapedArray<Scalar>) throws -> ShapedArray<Scalar>,
    request: GradientRequest = .all
  ) throws -> NormalizationGradients<Scalar> {
    var gradients = try backward(outputGradient, input: sum, request: request.union(.input))
    let sumGradient = gradients.input!
    let through = try sublayerBackward(sumGradient)
    guard through.shape == sum.shape else {
      throw LayerNormError.sublayerShapeMismatch(inputShape: sum.shape, sublayerShape: through.shape)
    }
    gradients.input!.addInPlace(through)
    if !request.contains(.input) { gradients.input = nil }
    return gradients
  }
}

extension ShapedArray where Scalar: BLASScalar {
  /// `self += other` elementwise (BLAS `axpy`); the shapes are equal.
  mutating func addInPlace(_ other: ShapedArray<Scalar>) {
    precondition(other.scalars.count == scalars.count, "addInPlace: sizes differ")
    scalars.withUnsafeMutableBufferPointer { out in
      other.scalars.withUnsafeBufferPointer { x in
        guard let o = out.baseAddress, let a = x.baseAddress else { return }
        Scalar._blasAxpy(1, a, o, count: out.count)
      }
    }
  }
}
