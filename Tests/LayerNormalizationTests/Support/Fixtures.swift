// The golden cases written by Scripts/make_golden.py, loaded from the test bundle.

import Foundation

/// One case of `Fixtures/manifest.json`.
struct GoldenCase: Decodable, CustomStringConvertible, Sendable {
  var `case`: String
  var op: String
  var shape: [Int]
  var normalizedShape: [Int]
  var eps: Double
  var weight: Bool
  var bias: Bool

  enum CodingKeys: String, CodingKey {
    case `case`, op, shape, eps, weight, bias
    case normalizedShape = "normalized_shape"
  }

  var description: String { `case` }

  /// The array `CASE.NAME.npy`.
  func array(_ name: String) throws -> NPYArray {
    try readNPY(Data(contentsOf: Fixtures.url("\(`case`).\(name).npy")))
  }

  /// The array `CASE.NAME.npy` if the case has one.
  func optionalArray(_ name: String) throws -> NPYArray? {
    FileManager.default.fileExists(atPath: Fixtures.url("\(`case`).\(name).npy").path)
      ? try array(name) : nil
  }
}

enum Fixtures {
  static let directory: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

  static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

  /// Every case in the manifest whose op is one of `ops`.
  static func cases(_ ops: String...) -> [GoldenCase] {
    struct Manifest: Decodable { var cases: [GoldenCase] }
    do {
      let data = try Data(contentsOf: url("manifest.json"))
      return try JSONDecoder().decode(Manifest.self, from: data).cases.filter { ops.contains($0.op) }
    } catch {
      fatalError("cannot read Fixtures/manifest.json: \(error)")
    }
  }
}
