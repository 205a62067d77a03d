// The one error type the package throws: bad shapes, parameters, buffers or eps.

/// Why a normalization call was refused. Nothing is written to caller memory when one of
/// these is thrown.
///
/// Every case carries the shapes or counts involved, and ``description`` names them.
public enum LayerNormError: Error, Equatable, Sendable, CustomStringConvertible {
  /// `normalizedShape` has no dimensions.
  case emptyNormalizedShape
  /// A dimension of `normalizedShape` is zero or negative, or their product overflows `Int`.
  case invalidNormalizedShape([Int])
  /// A dimension of an input shape is negative, or the element count overflows `Int`.
  case invalidShape([Int])
  /// The input has fewer dimensions than `normalizedShape`.
  case rankTooSmall(inputShape: [Int], normalizedShape: [Int])
  /// The input's trailing dimensions differ from `normalizedShape`.
  case trailingShapeMismatch(inputShape: [Int], normalizedShape: [Int])
  /// A weight or bias holds `count` values where the layer normalizes over `expected`
  /// features (`normalizedShape`).
  case parameterCountMismatch(
    parameter: String, count: Int, expected: Int, normalizedShape: [Int])
  /// The residual's shape differs from the input's.
  case residualShapeMismatch(inputShape: [Int], residualShape: [Int])
  /// A sublayer returned a shape other than the input's.
  case sublayerShapeMismatch(inputShape: [Int], sublayerShape: [Int])
  /// A caller's buffer has `count` elements where the shape needs `expected`.
  case bufferSizeMismatch(buffer: String, count: Int, expected: Int, inputShape: [Int])
  /// eps is NaN, infinite or negative.
  case invalidEpsilon(Double)
  /// A gradient was asked for a parameter the layer does not have (`"weight"`, `"bias"`).
  case missingParameter(String)
  /// LayerNorm's saved `mean` and `rstd` must be passed together, or neither.
  case incompleteStatistics

  /// A sentence that names what was wrong and the shapes involved.
  public var description: String {
    switch self {
    case .emptyNormalizedShape:
      return "normalizedShape must have at least one dimension"
    case .invalidNormalizedShape(let shape):
      return "normalizedShape \(shape) must have positive dimensions whose product fits in Int"
    case .invalidShape(let shape):
      return "shape \(shape) must have non-negative dimensions whose product fits in Int"
    case .rankTooSmall(let input, let normalized):
      return "input shape \(input) has rank \(input.count), "
        + "less than the \(normalized.count) dimensions of normalizedShape \(normalized)"
    case .trailingShapeMismatch(let input, let normalized):
      return "input shape \(input) does not end with normalizedShape \(normalized)"
    case .parameterCountMismatch(let name, let count, let expected, let normalized):
      return "\(name) has \(count) elements, expected \(expected) "
        + "for normalizedShape \(normalized)"
    case .residualShapeMismatch(let input, let residual):
      return "residual shape \(residual) differs from input shape \(input)"
    case .sublayerShapeMismatch(let input, let sublayer):
      return "sublayer returned shape \(sublayer), expected the input shape \(input)"
    case .bufferSizeMismatch(let name, let count, let expected, let input):
      return "\(name) buffer has \(count) elements, expected \(expected) "
        + "for input shape \(input)"
    case .invalidEpsilon(let eps):
      return "eps must be finite and non-negative, got \(eps)"
    case .missingParameter(let name):
      return "a \(name) gradient was requested, but the layer has no \(name)"
    case .incompleteStatistics:
      return "pass both the saved mean and rstd, or neither to recompute them"
    }
  }
}
