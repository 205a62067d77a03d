// LayerNorm: layer normalization over the trailing dimensions, as torch.nn.LayerNorm.

/// Layer normalization over the trailing ``normalizedShape`` dimensions, as PyTorch's
/// `torch.nn.LayerNorm` and tch-rs's `nn::layer_norm` define it:
///
///     y = (x - mean) / sqrt(var + eps) * weight + bias
///
/// where `mean` and the biased `var` are taken over each row's own `normalizedShape`
/// elements. `weight` (initialized to ones) and `bias` (zeros) are optional and settable.
///
/// The moments are computed with BLAS level-1 row reductions accumulated in `Double` and a
/// shifted two-pass scheme, so rows with a large offset (mean 2000, std 1) keep their
/// digits in `Float`.
///
/// ```swift
/// let norm = try LayerNorm<Float>(normalizedShape: [768])
/// let y = try norm(ShapedArray(shape: [4, 128, 768], scalars: x))
/// ```
///
/// ### References
/// Ba, Kiros, Hinton, *Layer Normalization*, arXiv:1607.06450.
public struct LayerNorm<Scalar: BLASScalar>: Normalization {
  /// The trailing dimensions normalized together (PyTorch's `normalized_shape`).
  public let normalizedShape: [Int]
  /// Added to the variance inside the square root; finite and non-negative. Applied in
  /// `Double`.
  public var eps: Double
  /// The per-feature scale, `normalizedShape.reduce(1, *)` elements, or `nil` for none
  /// (PyTorch's `elementwise_affine=False`).
  public var weight: [Scalar]?
  /// The per-feature shift, `normalizedShape.reduce(1, *)` elements, or `nil` for none.
  public var bias: [Scalar]?
  /// The most threads one call may use; rows are split over them in fixed blocks, so the
  /// result is bitwise the same for any value. Defaults to the processors online; values
  /// below 1 count as 1. A call of 16384 elements or more runs on the package's worker
  /// threads too, which keep looking for the next call for 50 µs after each one (a busy
  /// core meanwhile); 1 keeps every call on the calling thread.
  public var maximumThreadCount: Int

  /// The number of elements in one normalized row, `normalizedShape.reduce(1, *)`.
  public let featureCount: Int

  /// Creates a layer norm, with PyTorch's defaults.
  ///
  /// - Parameters:
  ///   - normalizedShape: one or more positive trailing dimensions.
  ///   - eps: added to the variance inside the square root; default `1e-5`.
  ///   - elementwiseAffine: whether the layer has a weight (initialized to ones); default true.
  ///   - bias: whether the layer has a bias (initialized to zeros); default true. Used only
  ///     when `elementwiseAffine` is true, as in PyTorch.
  /// - Throws: ``LayerNormError/emptyNormalizedShape``,
  ///   ``LayerNormError/invalidNormalizedShape(_:)``, ``LayerNormError/invalidEpsilon(_:)``.
  public init(
    normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true,
    bias: Bool = true
  ) throws(LayerNormError) {
    let features = try validatedFeatureCount(normalizedShape)
    try validateEpsilon(eps)
    self.normalizedShape = normalizedShape
    self.featureCount = features
    self.eps = eps
    self.weight = elementwiseAffine ? Array(repeating: 1, count: features) : nil
    self.bias = elementwiseAffine && bias ? Array(repeating: 0, count: features) : nil
    self.maximumThreadCount = onlineProcessorCount
  }

  var call: ForwardCall<Scalar> {
    ForwardCall(
      kind: .layer, normalizedShape: normalizedShape, eps: eps, weight: weight, bias: bias,
      maximumThreadCount: maximumThreadCount)
  }

  /// Normalizes `input` into caller-owned `output`, and stores each row's statistics when
  /// asked (PyTorch's `native_layer_norm`), without allocating.
  ///
  /// - Parameters:
  ///   - input: `shape.reduce(1, *)` elements, row-major.
  ///   - shape: the input's shape, rank >= `normalizedShape.count`, ending with
  ///     ``normalizedShape``; `rows` is the product of the leading dimensions.
  ///   - output: as many elements as `input`; may be `input`'s own memory (in place).
  ///   - mean: `rows` elements receiving each row's mean, or `nil`.
  ///   - rstd: `rows` elements receiving `1 / sqrt(var + eps)`, or `nil`.
  /// - Throws: ``LayerNormError`` for a bad shape, buffer size, parameter count or eps;
  ///   nothing is written then.
  public func forward(
    _ input: UnsafeBufferPointer<Scalar>, shape: [Int],
    into output: UnsafeMutableBufferPointer<Scalar>,
    mean: UnsafeMutableBufferPointer<Scalar>?, rstd: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LayerNormError) {
    try call.run(input: input, shape: shape, output: output, mean: mean, rstd: rstd)
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
  /// the statistics of each row of the sum.
  ///
  /// - Parameters:
  ///   - mean: `rows` elements receiving each row's mean of `x + residual`, or `nil`.
  ///   - rstd: `rows` elements receiving `1 / sqrt(var + eps)`, or `nil`.
  public func addAndNormalize(
    _ x: UnsafeBufferPointer<Scalar>, residual: UnsafeBufferPointer<Scalar>, shape: [Int],
    sum: UnsafeMutableBufferPointer<Scalar>, output: UnsafeMutableBufferPointer<Scalar>,
    mean: UnsafeMutableBufferPointer<Scalar>?, rstd: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LayerNormError) {
    try call.run(
      input: x, shape: shape, residual: residual, sum: sum, output: output, mean: mean,
      rstd: rstd)
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

  /// Normalizes `input` and returns the output with each row's `mean` and `rstd`
  /// (PyTorch's `native_layer_norm`), as the backward pass needs them.
  ///
  /// - Parameter input: an array whose trailing dimensions equal ``normalizedShape``.
  /// - Returns: `output` of `input.shape`; `mean` and `rstd` with one element per row, of
  ///   the leading dimensions of `input.shape`.
  /// - Throws: ``LayerNormError``.
  public func forwardWithStatistics(_ input: ShapedArray<Scalar>) throws(LayerNormError)
    -> (output: ShapedArray<Scalar>, mean: ShapedArray<Scalar>, rstd: ShapedArray<Scalar>)
  {
    let layout = try RowLayout(inputShape: input.shape, normalizedShape: normalizedShape)
    var mean = [Scalar](), rstd = [Scalar]()
    let output = try makeOutput(count: layout.elementCount) { (y) throws(LayerNormError) in
      mean = try makeOutput(count: layout.rows) { (m) throws(LayerNormError) in
        rstd = try makeOutput(count: layout.rows) { (r) throws(LayerNormError) in
          try input.scalars.withUnsafeBufferPointer { (x) throws(LayerNormError) in
            try forward(x, shape: input.shape, into: y, mean: m, rstd: r)
          }
        }
      }
    }
    let statisticsShape = Array(input.shape.dropLast(normalizedShape.count))
    return (
      ShapedArray(validatedShape: input.shape, scalars: output),
      ShapedArray(validatedShape: statisticsShape, scalars: mean),
      ShapedArray(validatedShape: statisticsShape, scalars: rstd)
    )
  }

  var backwardCall: BackwardCall<Scalar> {
    BackwardCall(
      kind: .layer, normalizedShape: normalizedShape, eps: eps, weight: weight,
      hasBias: bias != nil, maximumThreadCount: maximumThreadCount)
  }

  /// The gradients of the layer norm (see ``Normalization/backward(_:input:request:)``),
  /// recomputing each row's statistics.
  public func backward(
    _ outputGradient: ShapedArray<Scalar>, input: ShapedArray<Scalar>, request: GradientRequest
  ) throws(LayerNormError) -> NormalizationGradients<Scalar> {
    try backwardCall.gradients(outputGradient, input: input, mean: nil, rstd: nil, request: request)
  }

  /// The gradients of the layer norm from the forward's saved statistics (PyTorch's
  /// `native_layer_norm_backward`):
  ///
  ///     xhat = (x - mean) * rstd,  g = dy * weight
  ///     dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
  ///     dweight = sum over rows of dy * xhat,  dbias = sum over rows of dy
  ///
  /// - Parameters:
  ///   - outputGradient: `d loss / d y`, of `input.shape`.
  ///   - input: the forward's input.
  ///   - mean: the forward's `mean`, one per row.
  ///   - rstd: the forward's `rstd`, one per row.
  ///   - request: which gradients to compute (default all the layer has).
  /// - Throws: ``LayerNormError``.
  public func backward(
    _ outputGradient: ShapedArray<Scalar>, input: ShapedArray<Scalar>, mean: ShapedArray<Scalar>,
    rstd: ShapedArray<Scalar>, request: GradientRequest = .all
  ) throws(LayerNormError) -> NormalizationGradients<Scalar> {
    try backwardCall.gradients(outputGradient, input: input, mean: mean, rstd: rstd, request: request)
  }

  /// The gradients of the layer norm into caller-owned buffers; each is computed only when
  /// its buffer is given.
  ///
  /// The weight and bias gradients are sums over blocks of rows (up to 256 rows and about
  /// 4 MiB of Float input a block) added in a fixed order; for them the call allocates one
  /// row of partial sums per gradient and block.
  ///
  /// - Parameters:
  ///   - outputGradient: `d loss / d y`, `shape.reduce(1, *)` elements.
  ///   - input: the forward's input, as many elements.
  ///   - shape: the input's shape, ending with ``normalizedShape``.
  ///   - mean: the forward's per-row means, or `nil` (with `rstd` `nil`) to recompute them.
  ///   - rstd: the forward's per-row rstd, or `nil`.
  ///   - inputGradient: receives `d loss / d x` (may alias `outputGradient` or `input`), or `nil`.
  ///   - weightGradient: receives `featureCount` sums, or `nil`; needs a weight.
  ///   - biasGradient: receives `featureCount` sums, or `nil`; needs a bias.
  /// - Throws: ``LayerNormError``, including ``LayerNormError/missingParameter(_:)`` and
  ///   ``LayerNormError/incompleteStatistics``; nothing is written then.
  public func backward(
    outputGradient: UnsafeBufferPointer<Scalar>, input: UnsafeBufferPointer<Scalar>,
    shape: [Int], mean: UnsafeBufferPointer<Scalar>?, rstd: UnsafeBufferPointer<Scalar>?,
    inputGradient: UnsafeMutableBufferPointer<Scalar>?,
    weightGradient: UnsafeMutableBufferPointer<Scalar>?,
    biasGradient: UnsafeMutableBufferPointer<Scalar>?
  ) throws(LayerNormError) {
    try backwardCall.run(
      outputGradient: outputGradient, input: input, shape: shape, mean: mean, rstd: rstd,
      inputGradient: inputGradient, weightGradient: weightGradient, biasGradient: biasGradient)
  }
}
