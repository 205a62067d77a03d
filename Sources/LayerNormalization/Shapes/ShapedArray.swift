// A row-major array with a shape: what the allocating API takes and returns.

/// A dense, row-major (C order) array of scalars with a shape, as the allocating API takes
/// and returns it.
///
/// `scalars.count` always equals the product of `shape`.
public struct ShapedArray<Scalar>: Sendable, Equatable where Scalar: Sendable & Equatable {
  /// The dimensions, outermost first; each is zero or more.
  public let shape: [Int]
  /// The elements in row-major order.
  public var scalars: [Scalar]

  /// Wraps `scalars` with `shape`.
  ///
  /// - Parameters:
  ///   - shape: the dimensions, each zero or more.
  ///   - scalars: `shape.reduce(1, *)` elements in row-major order.
  /// - Throws: ``LayerNormError/invalidShape(_:)`` for a negative dimension or an overflowing
  ///   product, ``LayerNormError/bufferSizeMismatch(buffer:count:expected:inputShape:)``
  ///   when the count differs from the product of `shape`.
  public init(shape: [Int], scalars: [Scalar]) throws(LayerNormError) {
    let expected = try elementCount(of: shape)
    guard scalars.count == expected else {
      throw .bufferSizeMismatch(
        buffer: "scalars", count: scalars.count, expected: expected, inputShape: shape)
    }
    self.shape = shape
    self.scalars = scalars
  }

  /// An array of `shape` with every element equal to `value`.
  ///
  /// - Throws: ``LayerNormError/invalidShape(_:)`` for a negative dimension or an
  ///   overflowing product.
  public init(repeating value: Scalar, shape: [Int]) throws(LayerNormError) {
    let count = try elementCount(of: shape)
    self.shape = shape
    self.scalars = Array(repeating: value, count: count)
  }

  /// Trusted initializer for results the package built itself.
  init(validatedShape shape: [Int], scalars: [Scalar]) {
    precondition(scalars.count == shape.reduce(1, *), "ShapedArray: count differs from shape")
    self.shape = shape
    self.scalars = scalars
  }
}

/// The product of `shape`, or a throw when a dimension is negative or the product overflows.
func elementCount(of shape: [Int]) throws(LayerNormError) -> Int {
  var count = 1
  for dimension in shape {
    guard dimension >= 0 else { throw .invalidShape(shape) }
    let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
    guard !overflow else { throw .invalidShape(shape) }
    count = product
  }
  return count
}
