// RMSNorm: root-mean-square normalization over the trailing dimensions, as torch.nn.RMSNorm.

/// Root-mean-square normalization over the trailing ``normalizedShape`` dimensions, as
/// PyTorch's `torch.nn.RMSNorm` defines it (with an explicit eps):
///
///     y = x / sqrt(mean(x^2) + eps) * weight
///
/// The mean of squares is a BLAS dot product accumulated in `Double`.
///
/// ```swift
/// let norm = try RMSNorm<Float>(normalizedShape: [4096])
/// let y = try norm(ShapedArray(shape: [1, 4096], scalars: x))
/// ```
///
/// ### References
/// Zhang, Sennrich, *Root Mean Square Layer Normalization*, arXiv:1910.07467.
public struct RMSNorm<Scalar: BLASScalar>: Normalization {
  /// The trailing dimensions normalized together.
  public let normalizedShape: [Int]
  /// Added to the mean of squares inside the square root; finite and non-negative.
  /// Default `1e-5`. (PyTorch's `eps=None` means `Scalar.ulpOfOne`; pass that to match.)
  public var eps: Double
  /// The per-feature scale, `normalizedShape.reduce(1, *)` elements, or `nil` for none.
  public var weight: [Scalar]?
  /// The most threads one call may use (see ``LayerNorm/maximumThreadCount``).
  public var maximumThreadCount: Int
  /// The number of elements in one normalized row, `normalizedShape.reduce(1, *)`.
  public let featureCount: Int

  /// Creates an RMSNorm.
  ///
  /// - Parameters:
  ///   - normalizedShape: one or more positive trailing dimensions.
  ///   - eps: added inside the square root; default `1e-5`.
  ///   - elementwiseAffine: whether the layer has a weight (initialized to ones); default true.
  /// - Throws: ``LayerNormError/emptyNormalizedShape``,
  ///   ``LayerNormError/invalidNormalizedShape(_:)``, ``LayerNormError/invalidEpsilon(_:)``.
  public init(normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true)
    throws(LayerNormError)
  {
    let features = try validatedFeatureCount(normalizedShape)
    try validateEpsilon(eps)
    self.normalizedShape = normalizedShape
    self.featureCount = features
    self.eps = eps
    self.weight = elementwiseAffine ? Array(repeating: 1, count: features) : nil
    self.maximumThreadCount = onlineProcessorCount
  }

  var call: ForwardCall<Scalar> {
    ForwardCall(
      kind: .rms, normalizedShape: normalizedShape, eps: eps, weight: weight, bias: nil,
      maximumThreadCount: maximumThreadCount)
  }

  /// Normalizes `input` into caller-owned `output`, storing each row's
  /// `rstd = 1 / sqrt(mean(x^2) + eps)` when asked, without allocating.
  ///
  /// - Parameters:
  ///   - input: `shape.reduce(1, *)` elements, row-major.
  ///   - shape: ends with ``normalizedShape``; `rows` is the product of the leading dims.
  ///   - output: as many elements as `input`; may be `input`'s own memory.
  ///   - rstd: `rows` elements, or `nil`.
  /// - Throws: ``LayerNormError``; nothing is written then.
  public func forward(
    _ input: UnsafeBufferPointer<Scalar>, shape: [Int],
    into output: UnsafeMutableBufferPointer<Scalar>, rstd: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LayerNormError) {
    try call.run(input: input, shape: shape, output: output, rstd: rstd)
  }

  /// Normalizes `input` into caller-owned `output` (see ``Normalization/forward(_:shape:into:)``).
  public func forward(
    _ input: UnsafeBufferPointer<Scalar>, shape: [Int],
    into output: UnsafeMutableBufferPointer<Scalar>
  ) throws(LayerNormError) {
    try call.run(input: input, shape: shape, output: output)
  }

  /// Fused add-and-normalize into caller-owned buffers (see
  /// ``Normalization/addAndNormalize(_:residual:shape:sum:output:)``), optionally storing
  /// each row's `rstd`.
  public func addAndNormalize(
    _ x: UnsafeBufferPointer<Scalar>, residual: UnsafeBufferPointer<Scalar>, shape: [Int],
    sum: UnsafeMutableBufferPointer<Scalar>, output: UnsafeMutableBufferPointer<Scalar>,
    rstd: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LayerNormError) {
    try call.run(input: x, shape: shape, residual: residual, sum: sum, output: output, rstd: rstd)
  }

  /// Fused add-and-normalize into caller-owned buffers.
  public func addAndNormalize(
    _ x: UnsafeBufferPointer<Scalar>, residual: UnsafeBufferPointer<Scalar>, shape: [Int],
    sum: UnsafeMutableBufferPointer<Scalar>, output: UnsafeMutableBufferPointer<Scalar>
  ) throws(LayerNormError) {
    try call.run(input: x, shape: shape, residual: residual, sum: sum, output: output)
  }

  /// `output = norm(x + residual)` without keeping the sum (see
  /// ``Normalization/addAndNormalize(_:residual:shape:output:)``).
  public func addAndNormalize(
    _ x: UnsafeBufferPointer<Scalar>, residual: UnsafeBufferPointer<Scalar>, shape: [Int],
    output: UnsafeMutableBufferPointer<Scalar>
  ) throws(LayerNormError) {
    try call.run(input: x, shape: shape, residual: residual, output: output)
  }

  /// Normalizes `input` and returns the output with each row's `rstd`.
  ///
  /// - Returns: `output` of `input.shape`; `rstd` of the leading dimensions of `input.shape`.
  /// - Throws: ``LayerNormError``.
  public func forwardWithStatistics(_ input: ShapedArray<Scalar>) throws(LayerNormError)
    -> (output: ShapedArray<Scalar>, rstd: ShapedArray<Scalar>)
  {
    let layout = try RowLayout(inputShape: input.shape, normalizedShape: normalizedShape)
    var rstd = [Scalar]()
    let output = try makeOutput(count: layout.elementCount) { (y) throws(LayerNormError) in
      rstd = try makeOutput(count: layout.rows) { (r) throws(LayerNormError) in
        try input.scalars.withUnsafeBufferPointer { (x) throws(LayerNormError) in
          try forward(x, shape: input.shape, into: y, rstd: r)
        }
      }
    }
    return (
      ShapedArray(validatedShape: input.shape, scalars: output),
      ShapedArray(validatedShape: Array(input.shape.dropLast(normalizedShape.count)), scalars: rstd)
    )
  }

  var backwardCall: BackwardCall<Scalar> {
    BackwardCall(
      kind: .rms, normalizedShape: normalizedShape, eps: eps, weight: weight, hasBias: false,
      maximumThreadCount: maximumThreadCount)
  }

  /// The gradients of the RMSNorm (see ``Normalization/backward(_:input:request:)``),
  /// recomputing each row's `rstd`.
  public func backward(
    _ outputGradient: ShapedArray<Scalar>, input: ShapedArray<Scalar>, request: GradientRequest
  ) throws(LayerNormError) -> NormalizationGradients<Scalar> {
    try backwardCall.gradients(outputGradient, input: input, mean: nil, rstd: nil, request: request)
  }

  /// The gradients of the RMSNorm from the forward's saved `rstd`:
  ///
  ///     xhat = x * rstd,  g = dy * weight
  ///     dx = rstd * (g - xhat * mean(g * xhat)),  dweight = sum over rows of dy * xhat
  ///
  /// - Parameters:
  ///   - outputGradient: `d loss / d y`, of `input.shape`.
  ///   - input: the forward's input.
  ///   - rstd: the forward's `rstd`, one per row.
  ///   - request: which gradients to compute (default all the layer has).
  /// - Throws: ``LayerNormError``.
  public func backward(
    _ outputGradient: ShapedArray<Scalar>, input: ShapedArray<Scalar>, rstd: ShapedArray<Scalar>,
    request: GradientRequest = .all
  ) throws(LayerNormError) -> NormalizationGradients<Scalar> {
    try backwardCall.gradients(outputGradient, input: input, mean: nil, rstd: rstd, request: request)
  }

  /// The gradients of the RMSNorm into caller-owned buffers; each is computed only when its
  /// buffer is given.
  ///
  /// The weight gradient is a sum over blocks of rows (up to 256 rows and about 4 MiB of
  /// Float input a block) added in a fixed order; for it the call allocates one row of
  /// partial sums per block.
  ///
  /// - Parameters:
  ///   - outputGradient: `d loss / d y`, `shape.reduce(1, *)` elements.
  ///   - input: the forward's input.
  ///   - shape: ends with ``normalizedShape``.
  ///   - rstd: the forward's per-row rstd, or `nil` to recompute it.
  ///   - inputGradient: receives `d loss / d x`, or `nil`.
  ///   - weightGradient: receives `featureCount` sums, or `nil`; needs a weight.
  /// - Throws: ``LayerNormError``; nothing is written then.
  public func backward(
    outputGradient: UnsafeBufferPointer<Scalar>, input: UnsafeBufferPointer<Scalar>,
    shape: [Int], rstd: UnsafeBufferPointer<Scalar>?,
    inputGradient: UnsafeMutableBufferPointer<Scalar>?,
    weightGradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LayerNormError) {
    try backwardCall.run(
      outputGradient: outputGradient, input: input, shape: shape, mean: nil, rstd: rstd,
      inputGradient: inputGradient, weightGradient: weightGradient, biasGradient: nil)
  }
}
