// What a backward call returns, and which gradients it is asked for.

/// Which gradients a backward call computes (PyTorch's `output_mask`).
public struct GradientRequest: OptionSet, Sendable {
  /// The raw bits.
  public let rawValue: Int
  /// Creates a request from its raw bits.
  public init(rawValue: Int) { self.rawValue = rawValue }

  /// The gradient with respect to the input.
  public static let input = GradientRequest(rawValue: 1 << 0)
  /// The gradient with respect to the weight (when the layer has one).
  public static let weight = GradientRequest(rawValue: 1 << 1)
  /// The gradient with respect to the bias (when the layer has one).
  public static let bias = GradientRequest(rawValue: 1 << 2)
  /// Every gradient the layer has.
  public static let all: GradientRequest = [.input, .weight, .bias]
}

/// The gradients of a normalization (or of a residual block built on one).
public struct NormalizationGradients<Scalar: BLASScalar>: Sendable {
  /// d loss / d input, of the input's shape; `nil` when not requested.
  public var input: ShapedArray<Scalar>?
  /// d loss / d weight, `featureCount` elements summed over all rows; `nil` when not
  /// requested or the layer has no weight.
  public var weight: [Scalar]?
  /// d loss / d bias, `featureCount` elements; `nil` when not requested or no bias.
  public var bias: [Scalar]?

  /// Creates gradients from their parts.
  public init(input: ShapedArray<Scalar>?, weight: [Scalar]?, bias: [Scalar]?) {
    self.input = input
    self.weight = weight
    self.bias = bias
  }
}
