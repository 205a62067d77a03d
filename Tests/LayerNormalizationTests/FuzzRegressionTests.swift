// Every input the fuzzer found, and its seed corpus, replayed through the fuzz checks.

import Foundation
import Testing
import _LayerNormTestSupport

@Suite("Fuzz corpus and regressions")
struct FuzzRegressionTests {
  static let inputs: [String] = ["fuzz-corpus", "fuzz-regressions"].flatMap { folder in
    let directory = Fixtures.url(folder)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
  }

  @Test("Each saved input passes the fuzz checks", arguments: inputs)
  func replay(_ name: String) throws {
    let bytes = [UInt8](try Data(contentsOf: Fixtures.url(name)))
    let failure = FuzzCase(bytes: bytes).check()
    #expect(failure == nil, "\(name): \(failure ?? "")")
  }

  @Test("The corpus and the regressions are there")
  func present() {
    #expect(Self.inputs.contains { $0.hasPrefix("fuzz-corpus/") })
    #expect(Self.inputs.contains { $0.hasPrefix("fuzz-regressions/") })
  }
}
