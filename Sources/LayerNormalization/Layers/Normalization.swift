// What LayerNorm and RMSNorm share: the protocol, its allocating and Span entry points.

#if canImport(Glibc)
  import Glibc
#endif

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
  /// call and faulted in as they are written. Results of 4 MiB or more ask for 2 MiB pages
  /// first (`madvise`, where transparent huge pages are set to `madvise` or `always`), so
  /// that a fresh 32 MiB Float result costs 3.7-4.3 ms here against 1.2-1.3 ms for the
  /// zero-copy call (15.7-16.1 ms on 4 KiB pages; `layernorm-benchmark --ops
  /// forward_allocating,forward --shapes 8192x1024`). Use ``forward(_:shape:into:)`` with a
  /// reused buffer on hot paths.
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
    adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
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

/// Results from this size on ask for 2 MiB pages before they are first written, as NumPy
/// does for its arrays of 4 MiB or more.
let hugePageAdviceBytes = 4 << 20

/// Asks the kernel to back the whole 2 MiB pages inside `buffer` with huge pages
/// (`madvise(MADV_HUGEPAGE)`, a hint: without transparent huge pages, or with them set to
/// `never`, nothing changes). A fresh mapping of glibc is then faulted in 2 MiB at a time
/// instead of 4 KiB.
func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
  #if canImport(Glibc)
    guard buffer.count >= hugePageAdviceBytes, let base = buffer.baseAddress else { return }
    let page = 2 << 20
    let start = (Int(bitPattern: base) + page - 1) & ~(page - 1)
    let end = (Int(bitPattern: base) + buffer.count) & ~(page - 1)
    guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(aligned, end - start, MADV_HUGEPAGE)
  #endif
}
