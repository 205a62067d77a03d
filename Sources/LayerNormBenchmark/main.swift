// The benchmark: the package against the naive loops, on the shapes of a transformer's life.
//
//   swift run -c release layernorm-benchmark [--json] [--threads 1,2] [--dtype float32,float64]
//       [--ops forward,...] [--shapes 64x768,...] [--samples N] [--no-naive]

import LayerNormalization

#if canImport(Glibc)
  import Glibc
#endif

let options = BenchmarkOptions(arguments: Array(CommandLine.arguments.dropFirst()))
var records: [BenchmarkRecord] = []
for dtype in options.dtypes {
  for threads in options.threads {
    for op in options.ops {
      for shape in options.shapes {
        let result: [BenchmarkRecord]
        switch dtype {
        case "float64": result = measure(Double.self, op: op, shape: shape, threads: threads, options: options)
        default: result = measure(Float.self, op: op, shape: shape, threads: threads, options: options)
        }
        for record in result {
          if options.json { print(record.json) }
          records.append(record)
        }
        if !options.json { printRow(result) }
      }
    }
  }
}
