// One fuzz input: a normalization call decoded from bytes, run both ways, checked.
//
// The libFuzzer target (Sources/LayerNormFuzz) and the regression tests share this file.

import LayerNormalization

/// A normalization call decoded from arbitrary bytes: shapes (possibly invalid), flags,
/// eps, parameters and values (possibly NaN, Inf, subnormal or huge).
public struct FuzzCase: CustomStringConvertible {
  public var double: Bool
  public var rms: Bool
  public var weight: [Double]?
  public var bias: [Double]?
  public var residual: [Double]?
  public var inputShape: [Int]
  public var normalizedShape: [Int]
  public var eps: Double
  public var threads: Int
  public var values: [Double]
  /// Buffer size offsets: a nonzero value makes the zero-copy output that much off.
  public var outputSizeError: Int

  public var description: String {
    "\(double ? "Double" : "Float") \(rms ? "RMSNorm" : "LayerNorm") input \(inputShape) over "
      + "\(normalizedShape) eps \(eps) weight \(weight?.count ?? -1) bias \(bias?.count ?? -1) "
      + "residual \(residual != nil) threads \(threads) output off by \(outputSizeError)"
  }

  /// Decodes a case; at most `maximumElements` values are materialized.
  public init(bytes: [UInt8], maximumElements: Int = 1 << 14) {
    var reader = ByteReader(bytes: bytes)
    let flags = reader.byte()
    double = flags & 1 != 0
    rms = flags & 2 != 0
    let hasWeight = flags & 4 != 0
    let hasBias = flags & 8 != 0 && !rms
    let hasResidual = flags & 16 != 0
    let breakTrailing = flags & 32 != 0 && reader.byte() < 64
    let breakParameters = flags & 64 != 0 && reader.byte() < 64
    outputSizeError = flags & 128 != 0 && reader.byte() < 64 ? Int(reader.byte() % 3) + 1 : 0
    let normalizedRank = Int(reader.byte() % 4)
    let batchRank = Int(reader.byte() % 4)
    func dimension() -> Int {
      let b = reader.byte()
      return b == 255 ? -1 : Int(b % 12)
    }
    normalizedShape = (0..<normalizedRank).map { _ in dimension() }
    var leading = (0..<batchRank).map { _ in dimension() }
    // Keep the case small enough to check quickly.
    let features = normalizedShape.reduce(1) { $0 * max($1, 1) }
    if features * leading.reduce(1, { $0 * max($1, 1) }) > maximumElements { leading = [1] }
    var trailing = normalizedShape
    if breakTrailing {
      if trailing.isEmpty { leading.append(3) } else { trailing[trailing.count - 1] += 1 }
    }
    inputShape = leading + trailing
    let epsChoices: [Double] = [1e-5, 0, 1e-3, 1, 1e-12, -1e-5, .nan, .infinity]
    eps = epsChoices[Int(reader.byte() % UInt8(epsChoices.count))]
    threads = Int(reader.byte() % 4) + 1
    let exponent = Int(reader.byte() % 81) - 40
    let valueScale = double ? pow10(exponent * 7) : pow10(exponent)
    let isDouble = double
    func value() -> Double { reader.value(scale: valueScale, double: isDouble) }
    let inputCount = inputShape.allSatisfy { $0 >= 0 } ? inputShape.reduce(1, *) : 0
    let parameterCount = max(0, normalizedShape.reduce(1) { $0 * max($1, 0) }) + (breakParameters ? 1 : 0)
    weight = hasWeight ? (0..<parameterCount).map { _ in value() } : nil
    bias = hasBias ? (0..<parameterCount).map { _ in value() } : nil
    values = (0..<min(inputCount, maximumElements)).map { _ in value() }
    residual = hasResidual ? (0..<values.count).map { _ in value() } : nil
  }

  /// The error the package must throw for this case, or `nil` when the call is valid.
  public var expectedError: Bool {
    if normalizedShape.isEmpty || normalizedShape.contains(where: { $0 <= 0 }) { return true }
    if inputShape.contains(where: { $0 < 0 }) { return true }
    if inputShape.count < normalizedShape.count { return true }
    if Array(inputShape.suffix(normalizedShape.count)) != normalizedShape { return true }
    if !(eps.isFinite && eps >= 0) { return true }
    let features = normalizedShape.reduce(1, *)
    if let weight, weight.count != features { return true }
    if let bias, bias.count != features { return true }
    if values.count != inputShape.reduce(1, *) { return true }
    return outputSizeError != 0
  }

  /// Runs the case through the package and checks it; returns a description of the first
  /// violation, or `nil` when all is well.
  public func check() -> String? {
    double ? check(Double.self) : check(Float.self)
  }

  func check<Scalar: BLASScalar>(_ type: Scalar.Type) -> String? {
    let x = values.map { Scalar($0) }
    let r = residual?.map { Scalar($0) }
    let w = weight?.map { Scalar($0) }
    let b = bias?.map { Scalar($0) }
    // Building the layer may itself refuse normalizedShape or eps.
    let layer: any Normalization<Scalar>
    do {
      if rms {
        var norm = try RMSNorm<Scalar>(normalizedShape: normalizedShape, eps: eps, elementwiseAffine: w != nil)
        norm.weight = w
        norm.maximumThreadCount = threads
        layer = norm
      } else {
        var norm = try LayerNorm<Scalar>(normalizedShape: normalizedShape, eps: eps, elementwiseAffine: w != nil || b != nil, bias: b != nil)
        norm.weight = w
        norm.bias = b
        norm.maximumThreadCount = threads
        layer = norm
      }
    } catch {
      return expectedError ? nil : "refused at init (\(error)) a valid case: \(self)"
    }
    // Zero-copy into sentinel-filled buffers.
    let sentinel = Scalar(-12345.5)
    let count = x.count
    var output = [Scalar](repeating: sentinel, count: max(0, count + outputSizeError))
    var sum = [Scalar](repeating: sentinel, count: count)
    var zeroCopyError: LayerNormError?
    do {
      try x.withUnsafeBufferPointer { xs in
        try output.withUnsafeMutableBufferPointer { out in
          if let r {
            try r.withUnsafeBufferPointer { rs in
              try sum.withUnsafeMutableBufferPointer { s in
                try layer.addAndNormalize(xs, residual: rs, shape: inputShape, sum: s, output: out)
              }
            }
          } else {
            try layer.forward(xs, shape: inputShape, into: out)
          }
        }
      }
    } catch let error as LayerNormError {
      zeroCopyError = error
    } catch {
      return "threw a non-LayerNormError \(error): \(self)"
    }
    if expectedError {
      guard zeroCopyError != nil else { return "accepted an invalid case: \(self)" }
      if output.contains(where: { $0 != sentinel }) || sum.contains(where: { $0 != sentinel }) {
        return "wrote to caller memory before throwing: \(self)"
      }
      return nil
    }
    if let zeroCopyError { return "refused a valid case (\(zeroCopyError)): \(self)" }
    // The allocating path must agree bit for bit.
    do {
      let input = try ShapedArray(shape: inputShape, scalars: x)
      let allocated =
        r == nil
        ? try layer(input).scalars
        : try layer.addAndNormalize(input, residual: ShapedArray(shape: inputShape, scalars: r!)).output.scalars
      let same = allocated.withUnsafeBytes { a in output.withUnsafeBytes { o in a.elementsEqual(o) } }
      if !same { return "allocating and zero-copy paths differ: \(self)" }
    } catch {
      return "allocating path threw \(error) on a valid case: \(self)"
    }
    // Without keeping the sum, the fused add writes the same output.
    if let r {
      var withoutSum = [Scalar](repeating: sentinel, count: count)
      do {
        try x.withUnsafeBufferPointer { xs in
          try r.withUnsafeBufferPointer { rs in
            try withoutSum.withUnsafeMutableBufferPointer { out in
              try layer.addAndNormalize(xs, residual: rs, shape: inputShape, output: out)
            }
          }
        }
      } catch {
        return "the fused add without a sum threw \(error) on a valid case: \(self)"
      }
      let same = withoutSum.withUnsafeBytes { a in output.withUnsafeBytes { o in a.elementsEqual(o) } }
      if !same { return "the fused add with and without a sum differ: \(self)" }
    }
    // Against the float64 reference.
    let features = normalizedShape.reduce(1, *)
    let rows = features == 0 ? 0 : count / features
    let normalizedInput: [Double] = r.map { r in zip(x, r).map { Double($0 + $1) } } ?? x.map { Double($0) }
    let reference: [Double] =
      rms
      ? referenceRMSNorm(normalizedInput, rows: rows, features: features, weight: w?.map { Double($0) }, eps: eps).y
      : referenceLayerNorm(
        normalizedInput, rows: rows, features: features, weight: w?.map { Double($0) },
        bias: b?.map { Double($0) }, eps: eps
      ).y
    let tolerance = Scalar.self == Float.self ? 2e-5 : 1e-12
    for i in 0..<count {
      let expected = reference[i]
      let actual = output[i]
      let feature = i % features
      let parameters = [w?[feature], b?[feature]].compactMap { $0 }
      if !parameters.allSatisfy(\.isFinite) {
        // A non-finite weight or bias makes its feature non-finite (NaN or ±Inf, as IEEE
        // arithmetic in Scalar gives: a product that underflows to 0 meets Inf as NaN).
        if actual.isFinite { return "[\(i)] = \(actual) beside a non-finite parameter: \(self)" }
        continue
      }
      if expected.isNaN {
        // NaN exactly where the reference is NaN (a non-finite row, or NaN parameters).
        if !actual.isNaN { return "[\(i)] = \(actual), expected NaN: \(self)" }
        continue
      }
      let rounded = Scalar(expected)
      // The package computes in Scalar as PyTorch does: (normalized * weight) + bias, so a
      // product beyond the type's range is ±Inf even where the sum would fit.
      let product = abs(expected - Double(b?[feature] ?? 0))
      if product > Double(Scalar.greatestFiniteMagnitude) * 0.99 && actual.isInfinite { continue }
      if rounded.isInfinite {
        if actual != rounded && !(actual.isInfinite || abs(Double(actual)) >= Double(Scalar.greatestFiniteMagnitude) * 0.99) {
          return "[\(i)] = \(actual), expected \(rounded): \(self)"
        }
        continue
      }
      // The error scales with the weight and bias that multiply and shift the normalized value.
      let scale = 1 + abs(Double(w?[feature] ?? 1)) * 4 + abs(Double(b?[feature] ?? 0))
      if actual.isNaN || abs(Double(actual) - expected) > tolerance * scale * 8 + Double(Scalar.leastNormalMagnitude) {
        return "[\(i)] = \(actual), expected \(expected) (tolerance \(tolerance * scale * 8)): \(self)"
      }
    }
    return nil
  }
}

/// Reads bytes, giving zeros past the end.
struct ByteReader {
  var bytes: [UInt8]
  var position = 0

  mutating func byte() -> UInt8 {
    guard position < bytes.count else { return 0 }
    defer { position += 1 }
    return bytes[position]
  }

  /// A value: mostly small numbers times `scale`, sometimes raw bit patterns or specials.
  mutating func value(scale: Double, double: Bool) -> Double {
    let kind = byte()
    switch kind {
    case 0..<200:
      return (Double(kind) - 100) / 16 * scale
    case 200..<240:
      if double {
        var bits: UInt64 = 0
        for _ in 0..<8 { bits = bits << 8 | UInt64(byte()) }
        return Double(bitPattern: bits)
      }
      var bits: UInt32 = 0
      for _ in 0..<4 { bits = bits << 8 | UInt32(byte()) }
      return Double(Float(bitPattern: bits))
    default:
      let specials: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 1, -1, 1e-40, 3e38, 1e308, Double.leastNonzeroMagnitude, 7, 7, 7, 7, 7]
      return specials[Int(kind - 240)]
    }
  }
}

/// 10^exponent as a Double (0 or infinity beyond the range).
func pow10(_ exponent: Int) -> Double {
  var result = 1.0
  let step = exponent < 0 ? 0.1 : 10.0
  for _ in 0..<abs(exponent) { result *= step }
  return result
}
