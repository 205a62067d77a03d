// What LayerNorm and RMSNorm share: the protocol, its allocating and Span entry points.

/// A normalization layer over the trailing `normalizedShape` dimensions of its input:
/// ``LayerNorm`` or ``RMSNorm``.
///
/// A conforming type supplies two zero-copy primitives over caller-owned memory,
/// ``forward(_:shape:into:)`` and ``addAndNormalize(_:residual:shape:sum:output:)``; the
/// protocol builds on them the allocating API (``callAsFunction(_:)``), the `Span` API and
/// the residual helpers for transformer blocks (``preNorm(_:sublayer:)``,
/// ``postNorm(_:sublayer:)``).
///
/// Each row (the trailing dimensions) is normalized with its own statistics only: the
/// result is the same in training and inference, for a batch of one or of many.
///
/// Where the caller's buffers start changes the speed, never the results. Buffers on a
/// 64-byte boundary (`UnsafeMutableRawPointer.allocate(byteCount:alignment: 64)`, as
/// PyTorch aligns its tensors) ran most shapes 5-37 % faster than buffers 48 bytes into a
/// cache line, where a Swift `Array` of 128 KiB or more starts (Float backward at 64x768
/// and 32768x128, forward at 8192x1024), but long streamed rows (16 KiB or more) up to
/// 20 % slower (`layernorm-benchmark --offset 48` against the default; the README's
/// performance section has the numbers).
public protocol Normalization<Scalar>: Sendable {
  /// The element type, `Float` or `Double`.
  associatedtype Scalar: BLASScalar

  /// The trailing dimensions normalized together, as in PyTorch's `normalized_shape`.
  var normalizedShape: [Int] { get }

  /// Normalizes `input` into `output`, which may be the same memory (in place).
  ///
  /// - Parameters:
  ///   - input: `shape.reduce(1, *)` elements, row-major.
  ///   - shape: the input's shape; its trailing dimensions equal ``normalizedShape``.
  ///   - output: as many elements as `input`; may alias `input` exactly.
  /// - Throws: ``LayerNormError`` for a bad shape, buffer size, parameter count or eps;
  ///   nothing is written then.
  func forward(
    _ input: UnsafeBufferPointer<Scalar>, shape: [Int],
    into output: UnsafeMutableBufferPointer<Scalar>
  ) throws(LayerNormError)

  /// Fused add-and-normalize: `sum = x + residual`, `output = norm(sum)`, in one pass over
  /// the rows (the pre-norm residual stream of a transformer, as ONNX Runtime's
  /// SkipLayerNormalization and vLLM's `fused_add_rms_norm` do).
  ///
  /// - Parameters:
  ///   - x: `shape.reduce(1, *)` elements.
  ///   - residual: as many elements as `x`, of the same shape.
  ///   - shape: the shape of `x` and `residual`; trailing dimensions equal ``normalizedShape``.
  ///   - sum: receives `x + residual`; may alias `x` or `residual` exactly.
  ///   - output: receives `norm(x + residual)`; may alias `x` or `residual` exactly, but not `sum`.
  /// - Throws: ``LayerNormError``; nothing is written then.
  func addAndNormalize(
    _ x: UnsafeBufferPointer<Scalar>, residual: UnsafeBufferPointer<Scalar>, shape: [Int],
    sum: UnsafeMutableBufferPointer<Scalar>, output: UnsafeMutableBufferPointer<Scalar>
  ) throws(LayerNormError)

  /// Fused add-and-normalize that does not keep the sum: `output = norm(x + residual)`, the
  /// post-norm residual block `norm(x + f(x))` and PyTorch's `F.layer_norm(x + r)`. The sum
  /// is formed a block of rows at a time in cache and never written out, so `x` and
  /// `residual` are read once and `output` written once.
  ///
  /// - Parameters:
  ///   - x: `shape.reduce(1, *)` elements.
  ///   - residual: as many elements as `x`, of the same shape.
  ///   - shape: the shape of `x` and `residual`; trailing dimensions equal ``normalizedShape``.
  ///   - output: receives `norm(x + residual)`; may alias `x` or `residual` exactly.
  /// - Throws: ``LayerNormError``; nothing is written then.
  func addAndNormalize(
    _ x: UnsafeBufferPointer<Scalar>, residual: UnsafeBufferPointer<Scalar>, shape: [Int],
    output: UnsafeMutableBufferPointer<Scalar>
  ) throws(LayerNormError)

  /// The gradients of `norm(input)` given `outputGradient = d loss / d output`, with each
  /// row's statistics computed again exactly as the forward computed them.
  ///
  /// - Parameters:
  ///   - outputGradient: of `input.shape`.
  ///   - input: the forward's input.
  ///   - request: which gradients to compute; those the layer has no parameter for are `nil`.
  /// - Returns: the requested gradients; weight and bias gradients are summed over all
  ///   rows in a fixed order, bitwise the same for any thread count.
  /// - Throws: ``LayerNormError``.
  func backward(
    _ outputGradient: ShapedArray<Scalar>, input: ShapedArray<Scalar>, request: GradientRequest
  ) throws(LayerNormError) -> NormalizationGradients<Scalar>
}

// MARK: - Allocating API

extension Normalization {
  /// Normalizes `input` and returns a new array of the same shape.
  ///
  /// Allocates the result; results of 32 MiB or more are mapped afresh by glibc on every
  /// call and faulted in as they are written: 6-36 ms more than the zero-copy call for a
  /// 32 MiB Float result here (`layernorm-benchmark --ops forward_allocating,forward
  /// --shapes 8192x1024`, whose kernel takes about 4.4 ms). Use ``forward(_:shape:into:)``
  /// with a reused buffer on hot paths.
  ///
  /// - Parameter input: an array whose trailing dimensions equal ``normalizedShape``.
  /// - Returns: the normalized array, of `input.shape`.
  /// - Throws: ``LayerNormError``.
  public func callAsFunction(_ input: ShapedArray<Scalar>) throws(LayerNormError)
    -> ShapedArray<Scalar>
  {
    let output = try makeOutput(count: input.scalars.count) { (buffer) throws(LayerNormError) in
      try input.scalars.withUnsafeBufferPointer { (x) throws(LayerNormError) in
        try forward(x, shape: input.shape, into: buffer)
      }
    }
    return ShapedArray(validatedShape: input.shape, scalars: output)
  }

  /// Fused add-and-normalize on arrays: returns `norm(x + residual)` and `x + residual`.
  ///
  /// - Parameters:
  ///   - x: an array whose trailing dimensions equal ``normalizedShape``.
  ///   - residual: an array of the same shape as `x`.
  /// - Returns: `output`, the normalized sum, and `sum`, the sum itself (the next residual).
  /// - Throws: ``LayerNormError``, including
  ///   ``LayerNormError/residualShapeMismatch(inputShape:residualShape:)``.
  public func addAndNormalize(_ x: ShapedArray<Scalar>, residual: ShapedArray<Scalar>)
    throws(LayerNormError) -> (output: ShapedArray<Scalar>, sum: ShapedArray<Scalar>)
  {
    guard x.shape == residual.shape else {
      throw .residualShapeMismatch(inputShape: x.shape, residualShape: residual.shape)
    }
    var sum = [Scalar]()
    let output = try makeOutput(count: x.scalars.count) { (out) throws(LayerNormError) in
      sum = try makeOutput(count: x.scalars.count) { (sumBuffer) throws(LayerNormError) in
        try x.scalars.withUnsafeBufferPointer { (xs) throws(LayerNormError) in
          try residual.scalars.withUnsafeBufferPointer { (rs) throws(LayerNormError) in
            try addAndNormalize(xs, residual: rs, shape: x.shape, sum: sumBuffer, output: out)
          }
        }
      }
    }
    return (
      ShapedArray(validatedShape: x.shape, scalars: output),
      ShapedArray(validatedShape: x.shape, scalars: sum)
    )
  }
}

/// Allocates `count` uninitialized elements, lets `fill` write all of them, and returns them.
/// When `fill` throws, the storage is released and nothing escapes.
func makeOutput<Scalar>(
  count: Int,
  _ fill: (UnsafeMutableBufferPointer<Scalar>) throws(LayerNormError) -> Void
) throws(LayerNormError) -> [Scalar] {
  var failure: LayerNormError?
  let result = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
    do throws(LayerNormError) {
      try fill(buffer)
      initialized = count
    } catch {
      failure = error
      initialized = 0
    }
  }
  if let failure { throw failure }
  return result
}
