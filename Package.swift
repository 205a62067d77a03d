// swift-tools-version:6.1
//
// LayerNormalization: layer normalization and RMSNorm for Swift on Linux, with
// OpenBLAS doing the row reductions. The library depends on nothing but CBLAS.

import PackageDescription

let package = Package(
  name: "LayerNormalization",
  products: [
    .library(name: "LayerNormalization", targets: ["LayerNormalization"]),
    .executable(name: "layernorm-benchmark", targets: ["LayerNormBenchmark"]),
    .executable(name: "layernorm-fuzz", targets: ["LayerNormFuzz"]),
  ],
  targets: [
    // MARK: - System libraries

    /// OpenBLAS's CBLAS header, found with pkg-config.
    .systemLibrary(
      name: "CBLAS",
      path: "Modules/CBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
    ),

    // MARK: - The library

    /// AVX2+FMA kernels for the elementwise passes (512-bit loops for rows in cache and
    /// streamed rows of 768 bytes to 3 KiB where the CPU has AVX-512), selected at run time
    /// (function-level target attributes: no unsafe flags, so the package works as a
    /// dependency).
    .target(name: "_LayerNormKernels"),

    .target(
      name: "LayerNormalization",
      dependencies: ["CBLAS", "_LayerNormKernels"],
      linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]
    ),

    // MARK: - The benchmark (the main job)

    .executableTarget(
      name: "LayerNormBenchmark",
      dependencies: ["LayerNormalization", "_LayerNormTestSupport"]
    ),

    // MARK: - Test support, tests and the fuzzer (none of it reaches library users)

    /// The float64 reference, the fuzz-case checker and the seeded generator, shared by the
    /// tests, the fuzzer and the benchmark.
    .target(
      name: "_LayerNormTestSupport",
      dependencies: ["LayerNormalization"]
    ),

    .executableTarget(
      name: "LayerNormFuzz",
      dependencies: ["_LayerNormTestSupport"]
    ),

    .testTarget(
      name: "LayerNormalizationTests",
      dependencies: ["LayerNormalization", "_LayerNormTestSupport", "_LayerNormKernels"],
      resources: [.copy("Fixtures")]
    ),
  ]
)
