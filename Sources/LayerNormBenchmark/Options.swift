// Command-line options of the benchmark.

/// What to measure, from the command line.
struct BenchmarkOptions {
  var json = false
  var threads = [1]
  var dtypes = ["float32"]
  var ops = ["forward"]
  var shapes: [(rows: Int, features: Int)] = [
    (64, 768), (4096, 768), (8192, 1024), (2048, 4096), (512, 16384), (16, 65536),
    (32768, 128), (1_000_000, 8),
  ]
  /// Timed samples per measurement; the median is reported.
  var samples = 15
  var naive = true
  /// Bytes from a 64-byte boundary to the first element of every buffer the package is
  /// timed on: 0 as PyTorch's allocator aligns its tensors, 48 where a large Swift `Array`
  /// starts.
  var offset = 0

  init(arguments: [String]) {
    var rest = arguments[...]
    func values() -> [String] {
      guard let value = rest.popFirst() else { fatal("missing value") }
      return value.split(separator: ",").map(String.init)
    }
    while let argument = rest.popFirst() {
      switch argument {
      case "--json": json = true
      case "--threads": threads = values().map { text -> Int in
          guard let n = Int(text), n > 0 else { fatal("bad thread count \(text)") }
          return n
        }
      case "--dtype": dtypes = values()
      case "--ops": ops = values()
      case "--samples":
        guard let n = Int(values()[0]), n > 0 else { fatal("bad sample count") }
        samples = n
      case "--no-naive": naive = false
      case "--offset":
        guard let n = Int(values()[0]), n >= 0, n < 64, n % 8 == 0 else {
          fatal("bad offset: expected a multiple of 8 bytes below 64")
        }
        offset = n
      case "--shapes":
        shapes = values().map { text in
          let parts = text.split(separator: "x").compactMap { Int($0) }
          guard parts.count == 2 else { fatal("bad shape \(text), expected NxD") }
          return (parts[0], parts[1])
        }
      case "--help", "-h":
        print(
          """
          usage: layernorm-benchmark [--json] [--threads 1,2] [--dtype float32,float64]
                                     [--ops forward,backward,rms_forward,add_forward,
                                            add_forward_sum,forward_allocating,
                                            backward_allocating]
                                     [--shapes 64x768,...] [--samples N] [--no-naive]
                                     [--offset BYTES]
          """)
        exit(0)
      default: fatal("unknown argument \(argument)")
      }
    }
  }
}

func fatal(_ message: String) -> Never {
  FileHandleOut.standardError("layernorm-benchmark: \(message)\n")
  exit(2)
}

enum FileHandleOut {
  static func standardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
  }
}

#if canImport(Glibc)
  import Glibc
#endif
