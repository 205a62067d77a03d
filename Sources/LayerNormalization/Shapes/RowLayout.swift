// Shape validation: an input shape seen as rows of features, and the checks on caller buffers.

/// An input viewed as `rows` rows of `features` contiguous elements: the trailing
/// `normalizedShape` dimensions flattened into one row, every leading dimension into the
/// row count.
struct RowLayout: Equatable, Sendable {
  /// The number of normalized rows (product of the leading dimensions), zero or more.
  let rows: Int
  /// The number of elements in one row (product of `normalizedShape`), one or more.
  let features: Int
  /// The input shape this layout was made from, kept for error messages.
  let inputShape: [Int]

  /// The total element count, `rows * features`.
  var elementCount: Int { rows * features }

  /// Checks `inputShape` against `normalizedShape` and splits it into rows and features.
  ///
  /// - Throws: ``LayerNormError/invalidShape(_:)``, ``LayerNormError/rankTooSmall(inputShape:normalizedShape:)``,
  ///   ``LayerNormError/trailingShapeMismatch(inputShape:normalizedShape:)``.
  init(inputShape: [Int], normalizedShape: [Int]) throws(LayerNormError) {
    let total = try LayerNormalization.elementCount(of: inputShape)
    guard inputShape.count >= normalizedShape.count else {
      throw .rankTooSmall(inputShape: inputShape, normalizedShape: normalizedShape)
    }
    guard inputShape.suffix(normalizedShape.count).elementsEqual(normalizedShape) else {
      throw .trailingShapeMismatch(inputShape: inputShape, normalizedShape: normalizedShape)
    }
    let features = try validatedFeatureCount(normalizedShape)
    self.rows = total / features
    self.features = features
    self.inputShape = inputShape
  }

  /// Throws unless `count` equals the element count of the input.
  func checkElements(_ count: Int, buffer: String) throws(LayerNormError) {
    guard count == elementCount else {
      throw .bufferSizeMismatch(
        buffer: buffer, count: count, expected: elementCount, inputShape: inputShape)
    }
  }

  /// Throws unless an optional per-row statistics buffer has exactly `rows` elements.
  func checkStatistics(_ count: Int?, buffer: String) throws(LayerNormError) {
    guard let count else { return }
    guard count == rows else {
      throw .bufferSizeMismatch(buffer: buffer, count: count, expected: rows, inputShape: inputShape)
    }
  }
}

/// The product of `normalizedShape`, after checking that it is non-empty and positive.
///
/// - Throws: ``LayerNormError/emptyNormalizedShape``,
///   ``LayerNormError/invalidNormalizedShape(_:)``.
func validatedFeatureCount(_ normalizedShape: [Int]) throws(LayerNormError) -> Int {
  guard !normalizedShape.isEmpty else { throw .emptyNormalizedShape }
  guard normalizedShape.allSatisfy({ $0 > 0 }) else {
    throw .invalidNormalizedShape(normalizedShape)
  }
  do {
    return try elementCount(of: normalizedShape)
  } catch {
    throw .invalidNormalizedShape(normalizedShape)
  }
}

/// Throws unless eps is finite and non-negative.
func validateEpsilon(_ eps: Double) throws(LayerNormError) {
  guard eps.isFinite, eps >= 0 else { throw .invalidEpsilon(eps) }
}
