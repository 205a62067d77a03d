// Shared test helpers: seeded data (from _LayerNormTestSupport), tolerances per scalar type, comparisons that say where.

import LayerNormalization
import Testing
@_exported import _LayerNormTestSupport

extension SeededGenerator {
  /// `count` values uniform in `offset ± scale`, representable in `Scalar`, as Double.
  mutating func values<Scalar: BLASScalar>(
    _ count: Int, as type: Scalar.Type, scale: Double = 1, offset: Double = 0
  ) -> [Double] {
    (0..<count).map { _ in Double(Scalar(Double.random(in: -scale...scale, using: &self) + offset)) }
  }
}

/// The accuracy each scalar type promises against the float64 reference.
protocol TestScalar: BLASScalar {
  /// Forward: `|y - ref| <= tolerance * (1 + |ref|)`.
  static var forwardTolerance: Double { get }
  static var name: String { get }
}

extension Float: TestScalar {
  static var forwardTolerance: Double { 2e-5 }
  static var name: String { "Float" }
}

extension Double: TestScalar {
  static var forwardTolerance: Double { 1e-12 }
  static var name: String { "Double" }
}

/// Checks `|actual - expected| <= tolerance * (1 + |expected|)` everywhere, NaN exactly
/// where `expected` is NaN, and reports the worst index. Returns the worst error.
@discardableResult
func expectClose(
  _ actual: [Double], _ expected: [Double], tolerance: Double, _ what: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Double {
  guard actual.count == expected.count else {
    Issue.record("\(what()): count \(actual.count) != \(expected.count)", sourceLocation: sourceLocation)
    return .infinity
  }
  var worst = 0.0
  var worstIndex = -1
  for i in actual.indices {
    if expected[i].isNaN {
      if !actual[i].isNaN {
        Issue.record("\(what()): [\(i)] = \(actual[i]), expected NaN", sourceLocation: sourceLocation)
        return .infinity
      }
      continue
    }
    let error = abs(actual[i] - expected[i]) / (1 + abs(expected[i]))
    if !(error <= worst) {
      worst = error.isNaN ? .infinity : error
      worstIndex = i
    }
  }
  if worst > tolerance {
    let message =
      "\(what()): [\(worstIndex)] = \(actual[worstIndex]), expected \(expected[worstIndex]); "
      + "relative error \(worst) > \(tolerance)"
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
  }
  return worst
}

/// Prints one line of the accuracy report: `swift test 2>&1 | grep '^accuracy:'` lists the
/// worst error of every golden comparison (the numbers the README and notes quote).
func reportAccuracy(_ what: String, _ error: Double) {
  print("accuracy: \(what) \(error)")
}

/// The largest `|actual - expected| / (1 + |expected|)` over finite expected values.
func maximumRelativeError(_ actual: [Double], _ expected: [Double]) -> Double {
  zip(actual, expected).reduce(0) { worst, pair in
    pair.1.isNaN ? worst : max(worst, abs(pair.0 - pair.1) / (1 + abs(pair.1)))
  }
}

/// Whether two arrays hold the same bits, NaN payloads included.
func sameBits<Scalar: BLASScalar>(_ a: [Scalar], _ b: [Scalar]) -> Bool {
  a.count == b.count
    && a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
}

extension Array where Element == Double {
  func converted<Scalar: BLASScalar>(to type: Scalar.Type) -> [Scalar] { map { Scalar($0) } }
}

extension Array where Element: BLASScalar {
  var asDoubles: [Double] { map { Double($0) } }
}
